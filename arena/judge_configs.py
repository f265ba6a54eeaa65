"""Adding judge configurations, one way for every entry point (command, API)."""

from __future__ import annotations

from judges.base import ConfigurationError
from judges.panel import panel_settings
from judges.registry import options_from_spec

from . import limits
from .models import JudgeConfig, Rubric

BACKENDS = ("openai", "transformers", "fake")


class JudgeConfigError(ValueError):
    pass


def create_judge_config(*, name: str, backend: str, model: str, protocol: str = "generate",
                        prompt_style: str = "chat", params: dict | None = None, options: dict | None = None,
                        rubric: str = "general", both_orders: bool = True, notes: str = "") -> JudgeConfig:
    """A new configuration (an existing name gets the next version), refused before it is saved when
    the spec would fail in a worker."""
    for field, value in {"name": name, "backend": backend, "model": model, "protocol": protocol,
                         "prompt_style": prompt_style, "rubric": rubric, "notes": notes}.items():
        column = "name" if field == "rubric" else field
        model_class = Rubric if field == "rubric" else JudgeConfig
        max_chars = None if field == "notes" else limits.column_chars(model_class, column)
        try:
            limits.check_text(value, name=field, max_chars=max_chars)
        except ValueError as exc:
            raise JudgeConfigError(str(exc)) from None
    for path, problem in limits.json_problems({"params": params or {}, "options": options or {}}, "judge"):
        raise JudgeConfigError(f"{path} {problem}")
    if not name.strip():
        raise JudgeConfigError("a judge configuration needs a name")
    if protocol == JudgeConfig.Protocol.PANEL:
        options = panel_options(options or {})
        backend = "panel"
    elif backend not in BACKENDS:
        raise JudgeConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if protocol not in JudgeConfig.Protocol.values:
        raise JudgeConfigError(f"unknown protocol {protocol!r}; choose one of {', '.join(JudgeConfig.Protocol.values)}")
    if prompt_style not in ("chat", "completion"):
        raise JudgeConfigError(f"prompt_style must be 'chat' or 'completion', got {prompt_style!r}")
    found = Rubric.objects.filter(name=rubric).order_by("-version").first()
    if found is None:
        raise JudgeConfigError(f"no rubric named {rubric!r}")
    config = JudgeConfig(name=name.strip(), backend=backend, model=model, protocol=protocol,
                         prompt_style=prompt_style, params=params or {}, options=options or {}, rubric=found,
                         both_orders=both_orders, notes=notes)
    try:
        options_from_spec(config.spec())  # fail here, not in a worker, on a bad spec
    except ConfigurationError as exc:
        raise JudgeConfigError(str(exc)) from None
    config.version = config.next_version_number()
    config.save()
    return config


def panel_options(options: dict) -> dict:
    """A panel's options with its members pinned: each name resolves to that configuration's latest
    version now, so a later version of a member does not change what the panel is."""
    try:
        settings = panel_settings(options)
    except ConfigurationError as exc:
        raise JudgeConfigError(str(exc)) from None
    member_ids = []
    for name in settings.members:
        member = JudgeConfig.objects.filter(name=name).order_by("-version").first()
        if member is None:
            raise JudgeConfigError(f"no judge configuration named {name!r} for the panel")
        if member.protocol == JudgeConfig.Protocol.PANEL:
            raise JudgeConfigError(f"{name!r} is a panel itself; a panel's members are single judges")
        member_ids.append(member.pk)
    return {**options, "members": list(settings.members), "member_ids": member_ids, "rule": settings.rule}
