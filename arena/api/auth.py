"""Bearer-token authentication for the API's writes, each write declaring the scope it needs.

Every write endpoint says ``auth=scoped(<scope>)`` and nothing else checks scopes: a missing or
unknown token is a 401, a token without the scope a 403 naming it.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from .. import scopes
from ..models import ApiToken


def _bearer(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without the header; 401 if malformed."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(401, "Authorization header must be 'Bearer <token>'")
    return token.strip()


def _token_row(token: str) -> ApiToken:
    row = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(token)).first()
    if row is None or not row.user.is_active:
        raise AuthenticationError(401, "invalid API token")
    return row


class ScopedToken(HttpBearer):
    """``Authorization: Bearer <token>`` whose token holds ``scope``."""

    def __init__(self, scope: str):
        if scope not in scopes.SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest):
        token = _bearer(request)
        if token is None:
            raise AuthenticationError(401, "missing Authorization header: send 'Authorization: Bearer <token>'")
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str):
        row = _token_row(token)
        if self.scope not in row.scope_list:
            raise AuthenticationError(
                403, f"this token lacks the '{self.scope}' scope ({scopes.SCOPES[self.scope]}); it has "
                f"{', '.join(row.scope_list) or 'none'}. An operator can add it in the admin or issue a "
                f"token with create_api_token --scope")
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.api_token = row
        return row.user


def scoped(scope: str) -> ScopedToken:
    """The ``auth=`` of an endpoint that needs ``scope``."""
    return ScopedToken(scope)


def may(request: HttpRequest, scope: str) -> bool:
    """On a public endpoint: whether this request may also see what ``scope`` shows. A bearer token
    decides by its scopes (a bad one is a 401); without one, the signed-in person's permissions do."""
    token = _bearer(request)
    if token is not None:
        return scope in _token_row(token).scope_list
    return scopes.user_may(request.user, scope)
