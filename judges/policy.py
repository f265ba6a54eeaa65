"""What a judge backend may read from the worker's environment, and where it may send requests.

The operator decides (the arena sets ``ARENA_JUDGE_KEY_ENVS`` and ``ARENA_JUDGE_ALLOWED_HOSTS``); a
judge configuration only chooses among what is allowed. Whoever can write a configuration must not
be able to make a worker send another secret of the process (``SECRET_KEY``, ``DATABASE_URL``) as a
bearer token to a server of their choosing: the check runs when a configuration is saved and again
when a worker builds the backend, for rows stored before the rule existed.

Also the types of backend params: each backend declares its params as a frozen dataclass, and
``settings_from_params`` checks names and types against it, so a typo or a wrong type is refused
when the configuration is saved, not in a worker hours later.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar
from urllib.parse import urlsplit

from judges.base import ConfigurationError

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
# Shown instead of the reason when a policy refuses a configuration: the reason names variables
# and hosts, which only the operator should read.
REFUSED = "the judge configuration names an environment variable or a host the operator does not allow"


@dataclass(frozen=True)
class SecretPolicy:
    """``key_envs``: the environment variables a backend may read an API key from; ``hosts``: the
    hosts a backend may send requests to (empty: any)."""

    key_envs: frozenset[str] = frozenset({DEFAULT_KEY_ENV})
    hosts: frozenset[str] = frozenset()

    def check_key_env(self, name: str) -> None:
        if name not in self.key_envs:
            allowed = ", ".join(sorted(self.key_envs)) or "none"
            raise ConfigurationError(
                f"api_key_env {name!r} is not allowed: judges may read only the variables named in "
                f"ARENA_JUDGE_KEY_ENVS (now: {allowed})", public=REFUSED)

    def check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as exc:
            raise ConfigurationError(f"base_url {url!r} is not a URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise ConfigurationError(f"base_url must be an http:// or https:// URL with a host, got {url!r}")
        if self.hosts and host.lower() not in self.hosts:
            raise ConfigurationError(
                f"base_url host {host!r} is not allowed: judges may only call the hosts named in "
                f"ARENA_JUDGE_ALLOWED_HOSTS (now: {', '.join(sorted(self.hosts))})", public=REFUSED)


S = TypeVar("S")


def settings_from_params(cls: type[S], params: Mapping[str, Any], *, backend: str) -> S:
    """``cls(**params)`` once every name is a field of ``cls`` and every value has its field's type
    (an int is a fine float; a bool is not a number)."""
    if not isinstance(params, Mapping):
        raise ConfigurationError(f"{backend} backend params must be an object, got {type(params).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigurationError(f"unknown {backend} backend params: {unknown}; known: {sorted(known)}")
    for name, value in params.items():
        expected = hints[name]
        if not _has_type(value, expected):
            raise ConfigurationError(f"{backend} backend param {name} must be {_describe(expected)}, "
                                     f"got {type(value).__name__} {value!r:.60}")
    return cls(**params)


def _alternatives(expected: Any) -> tuple:
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        return typing.get_args(expected)
    return (expected,)


def _has_type(value: Any, expected: Any) -> bool:
    for option in _alternatives(expected):
        origin = typing.get_origin(option) or option
        if option is type(None) and value is None:
            return True
        if origin is bool and isinstance(value, bool):
            return True
        if isinstance(value, bool):
            continue  # True is an int to Python, never a number to us
        if origin is float and isinstance(value, int | float):
            return True
        if origin in (int, str, dict, list) and isinstance(value, origin):
            return True
    return False


def _describe(expected: Any) -> str:
    names = {type(None): "null", bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             dict: "an object", list: "a list"}
    return " or ".join(names.get(typing.get_origin(o) or o, str(o)) for o in _alternatives(expected))
