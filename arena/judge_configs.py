"""Adding judge configurations, one way for every entry point (command, API)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from judges.base import ConfigurationError
from judges.registry import options_from_spec

from . import limits
from .models import JUDGE_QUEUE, JudgeConfig, Rubric, validate_queue_name

BACKENDS = ("openai", "transformers", "fake")


class JudgeConfigError(ValueError):
    pass


def create_judge_config(*, name: str, backend: str, model: str, protocol: str = "generate",
                        prompt_style: str = "chat", params: dict | None = None, options: dict | None = None,
                        rubric: str = "general", both_orders: bool = True, notes: str = "",
                        queue: str = JUDGE_QUEUE) -> JudgeConfig:
    """A new configuration (an existing name gets the next version), refused before it is saved when
    the spec would fail in a worker. ``queue`` is the Celery queue its matches are published to."""
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
    try:
        validate_queue_name(queue)
    except ValidationError as exc:
        raise JudgeConfigError(exc.messages[0]) from None
    if backend not in BACKENDS:
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
                         both_orders=both_orders, notes=notes, queue=queue)
    try:
        options_from_spec(config.spec())  # fail here, not in a worker, on a bad spec
    except ConfigurationError as exc:
        raise JudgeConfigError(str(exc)) from None
    config.version = config.next_version_number()
    config.save()
    return config
