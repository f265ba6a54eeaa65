"""Adding judge configurations, one way for every entry point (command, API)."""

from __future__ import annotations

from judges.base import ConfigurationError
from judges.registry import NUMERIC_OPTIONS, options_from_spec

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
    check_options(options or {})
    if not name.strip():
        raise JudgeConfigError("a judge configuration needs a name")
    if backend not in BACKENDS:
        raise JudgeConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if protocol not in JudgeConfig.Protocol.values:
        raise JudgeConfigError(f"unknown protocol {protocol!r}; choose one of {', '.join(JudgeConfig.Protocol.values)}")
    if prompt_style not in ("chat", "completion"):
        raise JudgeConfigError(f"prompt_style must be 'chat' or 'completion', got {prompt_style!r}")
    found = Rubric.objects.latest_named(rubric)
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
