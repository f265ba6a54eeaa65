"""Who may do what: the scopes of API tokens, and the Django permissions the pages check for the
same actions (the README has the table of actions and scopes).

A token carries scopes, chosen when it is issued (``create_api_token --scope``) and editable in the
admin. People on the pages are allowed an action when they are staff or hold the scope's permission
(``arena.scope_run``, ...), which an operator can grant to a group. Reads are public and need no scope.
"""

from __future__ import annotations

READ, UPLOAD, RUN, ADMIN = "read", "upload", "run", "admin"

SCOPES: dict[str, str] = {
    READ: "read what the API serves (reads are public: this scope adds nothing to them yet)",
    UPLOAD: "upload prompts, outputs and battles",
    RUN: "create tournaments, start, pause, resume, cancel them, retry failed matches, add models",
    ADMIN: "add judge configurations (and rubrics, in the admin); see judges' endpoints and key variables",
}
DEFAULT_SCOPES: tuple[str, ...] = (READ, UPLOAD)


class ScopeError(ValueError):
    pass


def parse_scopes(text: str) -> list[str]:
    """``"read, upload"`` → ``["read", "upload"]`` in the canonical order; ``ScopeError`` naming any
    unknown scope."""
    wanted = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ScopeError(f"unknown scope(s) {', '.join(map(repr, unknown))}; choose from {', '.join(SCOPES)}")
    if not wanted:
        raise ScopeError(f"a token needs at least one scope; choose from {', '.join(SCOPES)}")
    return [scope for scope in SCOPES if scope in wanted]


def permission(scope: str) -> str:
    """The Django permission that lets a person do on the pages what ``scope`` lets a token do."""
    return f"arena.scope_{scope}"


def user_may(user, scope: str) -> bool:
    """Whether a signed-in person may take the actions of ``scope`` on the pages."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or scope == READ or user.has_perm(permission(scope))
