"""From a judge spec (a plain dict stored on a judge configuration) to a working judge.

Spec format::

    {
        "backend": "transformers" | "openai" | "fake",
        "model": str,                         # backend-specific: path, HF id, served model name
        "protocol": "logprob" | "generate" | "per_criterion" | "pointwise" | "listwise" | "pair_criteria" | ...,
        "prompt_style": "chat" | "completion",  # default "chat"
        "params": {...},                      # backend params, see each backend's docstring
        "max_output_tokens": int | None,      # budget outputs are cut to (default 2048; None: no cut)
        "max_new_tokens": int,                # generation limit (default: the protocol's; generate 80, others 512)
        "tie_margin": float,                  # |prob_a - 0.5| <= margin is a tie (default 0)
        "via": "generate" | "logprob",        # per_criterion (default generate), pointwise, pair_criteria (logprob)
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
from judges.policy import SecretPolicy
from judges.prompts import PAIR_CRITERIA_VERSION, PROMPT_VERSIONS, rubric_from_dict
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
    "max_new_tokens", "tie_margin", "via", "rubric", "length_rule_chars",
    *LISTWISE_SPEC_KEYS, *PANEL_SPEC_KEYS,
}  # fmt: skip
DEFAULT_VIA = {"per_criterion": "generate", "pointwise": "logprob", "listwise": "logprob", "pair_criteria": "logprob"}
# The numeric options' ranges, as keyword bounds (``at_least``, ``at_most``, ``below``, ``whole``):
# checked here for the worker, and by the arena (``arena.limits.number_problem``) when a
# configuration is saved. Token counts fit a 32-bit integer, as every backend's limit does.
MAX_TOKENS = 2**31 - 1
NUMERIC_OPTIONS: dict[str, dict[str, Any]] = {
    "max_output_tokens": {"at_least": 1, "at_most": MAX_TOKENS, "whole": True},
    "max_new_tokens": {"at_least": 1, "at_most": MAX_TOKENS, "whole": True},
    "tie_margin": {"at_least": 0.0, "below": 0.5},
}

# Backend params that change how fast a judgment comes back, never what it says: left out of the
# fingerprint so retuning a worker does not throw away cached scores.
OPERATIONAL_PARAMS = {
    "timeout", "max_concurrency", "max_retries", "backoff_s", "max_backoff_s", "max_retry_after_s",
    "api_key_env", "batch_size", "threads", "device", "prefix_reuse", "prefix_min_tokens",
    "stream", "first_token_timeout", "concurrency", "initial_concurrency",
}  # fmt: skip
FINGERPRINT_VERSION = 1


def _backend_module(name: str) -> tuple[Any, str]:
    try:
        dotted = BACKENDS[name]
    except KeyError:
        raise ConfigurationError(f"unknown judge backend {name!r}; known: {sorted(BACKENDS)}") from None
    module_name, _, class_name = dotted.rpartition(".")
    try:
        # Backend modules import their heavy libraries (torch) lazily, so this is cheap on the web tier.
        return importlib.import_module(module_name), class_name
    except ImportError as exc:
        raise ConfigurationError(f"judge backend {name!r} is not installed here: {exc}") from exc


def backend_class(name: str) -> type:
    module, class_name = _backend_module(name)
    return getattr(module, class_name)


def check_params(backend: str, params: Any, policy: SecretPolicy) -> None:
    """``ConfigurationError`` naming the problem unless ``backend`` accepts ``params`` (names, types,
    ranges) under ``policy`` (which keys it may read, which hosts it may call)."""
    module, _ = _backend_module(backend)
    module.check_params(params, policy)


def public_params(backend: str, params: Mapping[str, Any]) -> dict:
    """``params`` without those that say where requests go and with which key (a backend's
    ``PRIVATE_PARAMS``): what anyone may read about a judge configuration."""
    if not isinstance(params, Mapping):
        return {}
    try:
        private = getattr(_backend_module(backend)[0], "PRIVATE_PARAMS", frozenset())
    except ConfigurationError:
        return {}  # a backend we cannot read the rules of: show nothing rather than too much
    return {k: v for k, v in params.items() if k not in private}


def load_backend(spec: Mapping[str, Any], *, policy: SecretPolicy | None = None) -> Backend:
    cls = backend_class(str(spec.get("backend")))
    return cls(
        model=spec.get("model", ""),
        params=dict(spec.get("params") or {}),
        prompt_style=spec.get("prompt_style", "chat"),
        policy=policy or SecretPolicy(),
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
            max_new_tokens=None if spec.get("max_new_tokens") is None else int(spec["max_new_tokens"]),
            tie_margin=float(spec.get("tie_margin", 0.0)),
            via=via,
            length_rule_chars=None if spec.get("length_rule_chars") is None else int(spec["length_rule_chars"]),
        )
    except (TypeError, ValueError, OverflowError) as exc:
        # OverflowError: float() of an integer past ~1.8e308, such as a 400-digit tie_margin.
        raise ConfigurationError(f"invalid judge spec value: {str(exc)[:200]}") from exc
    tokens = [n for n in (options.max_new_tokens, options.max_output_tokens) if n is not None]
    if not all(1 <= count <= MAX_TOKENS for count in tokens):
        raise ConfigurationError(f"max_output_tokens and max_new_tokens must be 1 to {MAX_TOKENS}")
    if options.length_rule_chars is not None and options.length_rule_chars < 0:
        raise ConfigurationError("length_rule_chars must be a non-negative number of characters")
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
    spec: Mapping[str, Any], *, backend: Backend | None = None, score_cache: ScoreCache | None = None,
    policy: SecretPolicy | None = None,
) -> ProtocolJudge:
    """The judge a spec describes. ``backend`` overrides loading one (tests, a shared loaded model);
    ``score_cache`` is where ``pointwise`` keeps output scores (default: in memory); ``policy`` is
    what the backend may read and call (default: only ``OPENAI_API_KEY``, any host)."""
    options = options_from_spec(spec)
    rubric: Rubric = rubric_from_dict(spec.get("rubric"))
    if backend is None:
        backend = load_backend(spec, policy=policy)
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
    if spec.get("protocol") == "pair_criteria":
        payload["pair_criteria_version"] = PAIR_CRITERIA_VERSION
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
