"""From a judge spec (a plain dict stored on a judge configuration) to a working judge.

Spec format::

    {
        "backend": "transformers" | "openai" | "fake",
        "model": str,                         # backend-specific: path, HF id, served model name
        "protocol": "logprob" | "generate" | "per_criterion" | "pointwise",
        "prompt_style": "chat" | "completion",  # default "chat"
        "params": {...},                      # backend params, see each backend's docstring
        "max_output_tokens": int | None,      # budget outputs are cut to (default 2048; None: no cut)
        "max_new_tokens": int,                # generation limit (default 512)
        "tie_margin": float,                  # |prob_a - 0.5| <= margin is a tie (default 0)
        "via": "generate" | "logprob",        # per_criterion (default generate), pointwise (default logprob)
        "rubric": {"name", "version", "instructions", "criteria": [{"name", "description", "weight"}]},
    }

Backends are named in an explicit dict of dotted paths and imported only when used, so the web
tier never imports torch. Unknown names are ``ConfigurationError``s naming them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from typing import Any

from judges.base import Backend, ConfigurationError, Rubric
from judges.cache import ScoreCache
from judges.listwise import LISTWISE_VERSION
from judges.panel import panel_settings
from judges.prompts import PROMPT_VERSIONS, rubric_from_dict
from judges.protocols import PROTOCOLS, JudgeOptions, ListwiseProtocolJudge, PointwiseJudge, ProtocolJudge
from judges.protocols.listwise import LISTWISE_SPEC_KEYS, listwise_settings

BACKENDS: dict[str, str] = {
    "transformers": "judges.backends.transformers.TransformersBackend",
    "openai": "judges.backends.openai.OpenAIBackend",
    "fake": "judges.backends.fake.FakeBackend",
}

PANEL_SPEC_KEYS = ("members", "member_ids", "rule", "self_preference_guard")
SPEC_KEYS = {
    "backend", "model", "protocol", "prompt_style", "params", "max_output_tokens",
    "max_new_tokens", "tie_margin", "via", "rubric", *LISTWISE_SPEC_KEYS, *PANEL_SPEC_KEYS,
}  # fmt: skip
DEFAULT_VIA = {"per_criterion": "generate", "pointwise": "logprob", "listwise": "logprob"}

# Backend params that change how fast a judgment comes back, never what it says: left out of the
# fingerprint so retuning a worker does not throw away cached scores.
OPERATIONAL_PARAMS = {
    "timeout", "max_concurrency", "max_retries", "backoff_s", "max_backoff_s", "max_retry_after_s",
    "api_key_env", "batch_size", "threads", "device", "prefix_reuse", "prefix_min_tokens",
}  # fmt: skip
FINGERPRINT_VERSION = 1


def backend_class(name: str) -> type:
    try:
        dotted = BACKENDS[name]
    except KeyError:
        raise ConfigurationError(f"unknown judge backend {name!r}; known: {sorted(BACKENDS)}") from None
    module_name, _, class_name = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"judge backend {name!r} is not installed here: {exc}") from exc
    return getattr(module, class_name)


def load_backend(spec: Mapping[str, Any]) -> Backend:
    cls = backend_class(str(spec.get("backend")))
    return cls(
        model=spec.get("model", ""),
        params=dict(spec.get("params") or {}),
        prompt_style=spec.get("prompt_style", "chat"),
    )


def options_from_spec(spec: Mapping[str, Any]) -> JudgeOptions:
    """Validate the whole spec (backend name included, without importing it) and read the options."""
    if spec.get("protocol") == "panel":
        return _panel_options(spec)
    if any(key in spec for key in PANEL_SPEC_KEYS):
        raise ConfigurationError(f"{', '.join(PANEL_SPEC_KEYS)} are options of a panel only")
    if spec.get("backend") not in BACKENDS:
        raise ConfigurationError(f"unknown judge backend {spec.get('backend')!r}; known: {sorted(BACKENDS)}")
    protocol = spec.get("protocol")
    if protocol not in PROTOCOLS:
        raise ConfigurationError(f"unknown judge protocol {protocol!r}; known: {sorted(PROTOCOLS)}")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ConfigurationError(f"unknown judge spec keys: {sorted(unknown)}")
    style = spec.get("prompt_style", "chat")
    via = spec.get("via", DEFAULT_VIA.get(protocol, "generate"))
    if style not in ("chat", "completion"):
        raise ConfigurationError(f"unknown prompt_style {style!r}; known: ['chat', 'completion']")
    if via not in ("generate", "logprob"):
        raise ConfigurationError(f"unknown via {via!r}; known: ['generate', 'logprob']")
    try:
        budget = spec.get("max_output_tokens", JudgeOptions.max_output_tokens)
        options = JudgeOptions(
            prompt_style=style,
            max_output_tokens=None if budget is None else int(budget),
            max_new_tokens=int(spec.get("max_new_tokens", JudgeOptions.max_new_tokens)),
            tie_margin=float(spec.get("tie_margin", 0.0)),
            via=via,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"invalid judge spec value: {exc}") from exc
    if (options.max_output_tokens is not None and options.max_output_tokens < 1) or options.max_new_tokens < 1:
        raise ConfigurationError("max_output_tokens and max_new_tokens must be positive")
    if not 0.0 <= options.tie_margin < 0.5:
        raise ConfigurationError(f"tie_margin must be in [0, 0.5), got {options.tie_margin}")
    if protocol == "listwise":
        listwise_settings(spec)
    elif any(key in spec for key in LISTWISE_SPEC_KEYS):
        raise ConfigurationError(f"{', '.join(LISTWISE_SPEC_KEYS)} are options of the listwise protocol only")
    return options


def _panel_options(spec: Mapping[str, Any]) -> JudgeOptions:
    """A panel (``judges.panel``) has no backend of its own and no prompt: only members, a rule and
    a tie margin."""
    if spec.get("backend") != "panel":
        raise ConfigurationError("a panel's backend is 'panel'")
    unknown = set(spec) - {"backend", "model", "protocol", "prompt_style", "params", "rubric", "tie_margin",
                           *PANEL_SPEC_KEYS}
    if unknown:
        raise ConfigurationError(f"unknown panel spec keys: {sorted(unknown)}")
    panel_settings(spec)
    try:
        options = JudgeOptions(tie_margin=float(spec.get("tie_margin", 0.0)))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"invalid judge spec value: {exc}") from exc
    if not 0.0 <= options.tie_margin < 0.5:
        raise ConfigurationError(f"tie_margin must be in [0, 0.5), got {options.tie_margin}")
    return options


def build_judge(
    spec: Mapping[str, Any], *, backend: Backend | None = None, score_cache: ScoreCache | None = None
) -> ProtocolJudge:
    """The judge a spec describes. ``backend`` overrides loading one (tests, a shared loaded model);
    ``score_cache`` is where ``pointwise`` keeps output scores (default: in memory)."""
    options = options_from_spec(spec)
    rubric: Rubric = rubric_from_dict(spec.get("rubric"))
    if backend is None:
        backend = load_backend(spec)
    cls = PROTOCOLS[spec["protocol"]]
    if cls is ListwiseProtocolJudge:
        return ListwiseProtocolJudge(backend, options=options, rubric=rubric, settings=listwise_settings(spec))
    if cls is PointwiseJudge:
        return PointwiseJudge(
            backend, options=options, rubric=rubric, score_cache=score_cache, fingerprint=spec_fingerprint(spec)
        )
    return cls(backend, options=options, rubric=rubric)


def spec_fingerprint(spec: Mapping[str, Any]) -> str:
    """A stable sha256 of what determines a judgment: the spec (minus operational params), with
    defaults filled in, and the prompt template versions."""
    options = options_from_spec(spec)
    params = {k: v for k, v in (spec.get("params") or {}).items() if k not in OPERATIONAL_PARAMS}
    payload = {
        "fingerprint_version": FINGERPRINT_VERSION,
        "backend": spec.get("backend"),
        "model": spec.get("model", ""),
        "protocol": spec.get("protocol"),
        "options": options.__dict__,
        "params": params,
        "rubric": spec.get("rubric"),
        "prompt_versions": PROMPT_VERSIONS,
    }
    if spec.get("protocol") == "listwise":
        # Only for listwise judges, so every other judge's fingerprint (and cache) stays as it was.
        payload["listwise"] = {**listwise_settings(spec).__dict__, "version": LISTWISE_VERSION}
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
