"""Bearer-token authentication for the API's writes."""

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from ..models import ApiToken


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; a missing or unknown token is a 401 that says which."""

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        if not header:
            raise AuthenticationError(401, "missing Authorization header: send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(401, "Authorization header must be 'Bearer <token>'")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str):
        row = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(token)).first()
        if row is None or not row.user.is_active:
            raise AuthenticationError(401, "invalid API token")
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        return row.user

