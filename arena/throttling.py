"""The client address login throttling counts failures by (django-axes' ``AXES_CLIENT_IP_CALLABLE``)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """``REMOTE_ADDR``, unless the operator says ``ARENA_PROXY_COUNT`` reverse proxies stand in front
    of the arena: each appends the address it saw to X-Forwarded-For, so the client is the entry that
    many places from the end. Anything before it was written by the client and is ignored: trusting
    it would let an attacker claim a new address on every try and never be locked out."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.ARENA_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    return hops[-count] if len(hops) >= count else remote
