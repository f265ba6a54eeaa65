"""Adding judge configurations, one way for every entry point (command, API, admin), and what of
one anyone may read.

A configuration can make a worker send requests, with a key from the worker's environment, to a URL
it names. So its backend params are checked when it is saved, against the backend's own settings
(``judges.registry.check_params``: names, types, ranges) and against what the operator allows
(``secret_policy``: which variables a key may come from, which hosts may be called); the worker
checks the same policy again when it builds the backend.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError

from judges.base import ConfigurationError
from judges.panel import panel_settings
from judges.policy import SecretPolicy
from judges.registry import NUMERIC_OPTIONS, check_params, options_from_spec, public_params

from . import limits
from .models import JUDGE_QUEUE, JudgeConfig, Rubric, validate_queue_name

BACKENDS = ("openai", "transformers", "fake")
# Params and options are a few settings each; a bound keeps a stored spec (and every worker's
# cache key, which is the whole spec) small.
MAX_SPEC_JSON_BYTES = 16 * 1024


class JudgeConfigError(ValueError):
    pass


def secret_policy() -> SecretPolicy:
    """What judge backends may read and call, as the operator set it (``ARENA_JUDGE_KEY_ENVS``,
    ``ARENA_JUDGE_ALLOWED_HOSTS``)."""
    return SecretPolicy(key_envs=frozenset(settings.ARENA_JUDGE_KEY_ENVS),
                        hosts=frozenset(h.lower() for h in settings.ARENA_JUDGE_ALLOWED_HOSTS))


def check_spec(config: JudgeConfig) -> None:
    """``JudgeConfigError`` naming the problem unless ``config`` (saved or not) would run in a worker
    and stays within what the operator allows."""
    for path, problem in limits.json_problems({"params": config.params, "options": config.options}, "judge"):
        raise JudgeConfigError(f"{path} {problem}")
    for field in ("params", "options"):
        value = getattr(config, field)
        if not isinstance(value, dict):
            raise JudgeConfigError(f"{field} must be a JSON object, got {type(value).__name__}")
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > MAX_SPEC_JSON_BYTES:
            raise JudgeConfigError(f"{field} is {size} bytes of JSON; at most {MAX_SPEC_JSON_BYTES} are accepted")
    check_options(config.options)
    panel = config.protocol == JudgeConfig.Protocol.PANEL
    if panel and config.params:
        raise JudgeConfigError("a panel has no backend params: its members carry their own")
    if not panel and config.backend not in BACKENDS:
        raise JudgeConfigError(f"unknown backend {config.backend!r}; choose one of {', '.join(BACKENDS)}")
    try:
        if not panel:
            check_params(config.backend, config.params, secret_policy())
        options_from_spec(config.spec())  # fail here, not in a worker, on a bad spec
    except ConfigurationError as exc:
        raise JudgeConfigError(str(exc)) from None


def create_judge_config(*, name: str, backend: str, model: str, protocol: str = "generate",
                        prompt_style: str = "chat", params: dict | None = None, options: dict | None = None,
                        rubric: str = "general", both_orders: bool = True, notes: str = "",
                        queue: str = JUDGE_QUEUE) -> JudgeConfig:
    """A new configuration (an existing name gets the next version), refused before it is saved when
    the spec would fail in a worker or reach for a secret or host the operator does not allow. ``queue``
    is the Celery queue its matches are published to."""
    for field, value in {"name": name, "backend": backend, "model": model, "protocol": protocol,
                         "prompt_style": prompt_style, "rubric": rubric, "notes": notes}.items():
        column = "name" if field == "rubric" else field
        model_class = Rubric if field == "rubric" else JudgeConfig
        max_chars = None if field == "notes" else limits.column_chars(model_class, column)
        try:
            limits.check_text(value, name=field, max_chars=max_chars)
        except ValueError as exc:
            raise JudgeConfigError(str(exc)) from None
    if not name.strip():
        raise JudgeConfigError("a judge configuration needs a name")
    try:
        validate_queue_name(queue)
    except ValidationError as exc:
        raise JudgeConfigError(exc.messages[0]) from None
    if protocol == JudgeConfig.Protocol.PANEL:
        options = panel_options(options or {})
        backend = "panel"
    if protocol not in JudgeConfig.Protocol.values:
        raise JudgeConfigError(f"unknown protocol {protocol!r}; choose one of {', '.join(JudgeConfig.Protocol.values)}")
    if prompt_style not in ("chat", "completion"):
        raise JudgeConfigError(f"prompt_style must be 'chat' or 'completion', got {prompt_style!r}")
    found = Rubric.objects.latest_named(rubric)
    if found is None:
        raise JudgeConfigError(f"no rubric named {rubric!r}")
    config = JudgeConfig(name=name.strip(), backend=backend, model=model, protocol=protocol,
                         prompt_style=prompt_style, params={} if params is None else params,
                         options={} if options is None else options, rubric=found, both_orders=both_orders,
                         notes=notes, queue=queue)
    check_spec(config)
    config.version = config.next_version_number()
    config.save()
    return config


def check_options(options: dict) -> dict:
    """The numeric protocol options in their ranges (``judges.registry.NUMERIC_OPTIONS``), checked by
    ``limits`` so that a 400-digit ``tie_margin`` is refused by name, never an OverflowError. Returns
    ``options`` unchanged; a None ``max_output_tokens`` means no cut."""
    for key, bounds in NUMERIC_OPTIONS.items():
        if options.get(key) is not None:
            try:
                limits.check_number(options[key], name=f"options.{key}", **bounds)
            except ValueError as exc:
                raise JudgeConfigError(str(exc)) from None
    return options


VIEW_FIELDS = ("id", "name", "version", "backend", "model", "protocol", "prompt_style", "options", "both_orders",
               "queue")


def judge_view(config: JudgeConfig, *, private: bool) -> dict:
    """A configuration as the API shows it; without ``private``, minus the params that say where
    requests go and with which key (``base_url``, ``api_key_env``, ...)."""
    params = config.params if private else public_params(config.backend, config.params or {})
    return {**{f: getattr(config, f) for f in VIEW_FIELDS}, "params": params, "rubric": str(config.rubric)}


def panel_options(options: dict) -> dict:
    """A panel's options with its members pinned: each name resolves to that configuration's latest
    version now, so a later version of a member does not change what the panel is."""
    try:
        settings = panel_settings(options)
    except ConfigurationError as exc:
        raise JudgeConfigError(str(exc)) from None
    member_ids = []
    for name in settings.members:
        member = JudgeConfig.objects.latest_named(name)
        if member is None:
            raise JudgeConfigError(f"no judge configuration named {name!r} for the panel")
        if member.protocol == JudgeConfig.Protocol.PANEL:
            raise JudgeConfigError(f"{name!r} is a panel itself; a panel's members are single judges")
        member_ids.append(member.pk)
    return {**options, "members": list(settings.members), "member_ids": member_ids, "rule": settings.rule}
