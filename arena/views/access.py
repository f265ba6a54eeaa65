"""The pages' side of scopes: an action a token needs a scope for, a person needs the scope's
permission for (or to be staff); see ``arena.scopes``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from ..scopes import permission, user_may


def scope_required(scope: str) -> Callable:
    """Anonymous visitors go to the login page; signed-in people without the permission get a 403
    that names it."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_may(request.user, scope):
                raise PermissionDenied(f"this needs the {permission(scope)} permission (or staff)")
            return view(request, *args, **kwargs)

        return guarded

    return decorator
