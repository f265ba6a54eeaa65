"""A local causal LM as a judge backend, through Hugging Face transformers (CPU or CUDA).

``model`` is a model directory, an id already in the local Hugging Face cache, a ``.gguf`` file, or
``""``/``"default"`` for the default judge model (``judges.weights.default_model_dir()``). Nothing is
ever downloaded: loads are ``local_files_only`` with ``HF_HUB_OFFLINE`` set, and a model that is
not on disk is a permanent ``ConfigurationError`` naming it.

Params (all optional)::

    device          "auto" | "cpu" | "cuda"       auto: CUDA when available
    dtype           "auto" | "float32" | "bfloat16" | "float16"
                                                  auto: float32 on CPU (bf16 matmuls are slow on
                                                  most CPUs), bfloat16 on CUDA when supported
    batch_size      prompts per forward pass (default 8)
    max_length      longest prompt + generation in tokens (default 4096); longer items fail alone
    threads         torch intra-op threads (process-wide, so set once per worker)
    chat_template   "auto" | "never": apply the tokenizer's template to chat prompts when it has one
    prompt_style    "chat" | "completion" (normally the spec's top-level prompt_style, which the
                    registry passes in): with "completion", chat prompts on a model without a
                    template are flattened to "User: ... Assistant:" text instead of refused
    prefix_reuse    true | false (default true): score prompts that share a long token prefix
                    (both orders of one pair: system text + question) from one prefix KV cache
    prefix_min_tokens  shortest shared prefix worth a separate pass (default 32)
    gguf_file       a GGUF file name inside the ``model`` directory
    attn_implementation  passed to ``from_pretrained`` (e.g. "sdpa", "eager")

Models are loaded lazily on first use and kept per process (keyed by path, GGUF file, dtype and
device), because a Celery worker judges many batches and a reload costs seconds.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judges.backends.prefixes import PrefixStore, group_by_prefix
from judges.base import Completion, ConfigurationError, JudgeError, LabelScores, Prompt, SequenceScores
from judges.policy import SecretPolicy, settings_from_params

DEFAULT_BATCH_SIZE = 8
DEFAULT_MAX_LENGTH = 4096
DEFAULT_PREFIX_MIN_TOKENS = 32

_LOADED: dict[tuple[str, str, str, str, str], Loaded] = {}
# Celery's threads pool may build several backends at once: load each model only once.
_LOAD_LOCK = threading.Lock()


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    prefixes: PrefixStore = field(default_factory=PrefixStore)


@dataclass(frozen=True)
class Settings:
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    max_length: int = DEFAULT_MAX_LENGTH
    threads: int | None = None
    chat_template: str = "auto"
    prompt_style: str = "chat"
    prefix_reuse: bool = True
    prefix_min_tokens: int = DEFAULT_PREFIX_MIN_TOKENS
    gguf_file: str | None = None
    attn_implementation: str | None = None


def parse_settings(params: Mapping[str, Any]) -> Settings:
    """Validate params up front so a typo is a ConfigurationError, not a worker crash later."""
    settings = settings_from_params(Settings, params, backend="transformers")
    choices = {
        "device": ("auto", "cpu", "cuda"),
        "dtype": ("auto", "float32", "bfloat16", "float16"),
        "chat_template": ("auto", "never"),
        "prompt_style": ("chat", "completion"),
    }
    for name, allowed in choices.items():
        if getattr(settings, name) not in allowed:
            raise ConfigurationError(f"{name} must be one of {allowed}, got {getattr(settings, name)!r}")
    for name in ("batch_size", "max_length", "prefix_min_tokens"):
        value = getattr(settings, name)
        if not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
    return settings


def check_params(params: Mapping[str, Any], policy: SecretPolicy) -> Settings:
    """The params' settings, or ``ConfigurationError`` (``prompt_style`` is the spec's, not a param)."""
    return parse_settings(params)


def resolve_model(model: str, gguf_file: str | None) -> tuple[str, str | None]:
    """Turn the spec's model into (path or cache id, gguf file name) without touching the network."""
    if model in ("", "default"):
        return "", gguf_file  # resolved at load time: preparing it may take a 40 s conversion
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigurationError(f"GGUF model file not found: {path}")
        return str(path.parent), path.name
    looks_like_path = model.startswith(("/", ".", "~")) or path.exists()
    if looks_like_path:
        if not path.is_dir():
            raise ConfigurationError(f"model directory not found: {path}")
        if gguf_file and not (path / gguf_file).is_file():
            raise ConfigurationError(f"GGUF model file not found: {path / gguf_file}")
    return (str(path) if looks_like_path else model), gguf_file


class TransformersBackend:
    """Backend protocol on a local causal LM; see the module docstring for ``params``."""

    def __init__(self, model: str = "", params: Mapping[str, Any] | None = None, *, prompt_style: str = "chat",
                 policy: SecretPolicy | None = None):
        # ``policy`` is accepted like every backend's; a local model reads no key and calls no host.
        params = dict(params or {})
        # The spec's prompt_style (a protocol option) also tells the backend whether a chat prompt
        # on a model without a chat template may be flattened to text.
        params.setdefault("prompt_style", prompt_style)
        self.settings = parse_settings(params)
        self.model_name = model
        self._source, self._gguf_file = resolve_model(model, self.settings.gguf_file)
        self._loaded: Loaded | None = None

    # --- Backend protocol ------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def label_logprobs(self, prompts: list[Prompt], labels: list[str]) -> list[LabelScores | JudgeError]:
        """Log-probability that the next token starts each label, in one forward pass per batch.

        A label counts by its first token only, written either directly after the prompt ("A") or
        after a space (" A"): a prompt ending in "Answer:" is followed by " A" while one ending in
        a newline is followed by "A", and SentencePiece tokenizers spell the two differently. The
        label's log-prob is the log of the summed probability of its variants, under a softmax
        over the whole vocabulary (not renormalised over the labels), so the labels' probabilities
        add up to at most 1 and the protocol can see how much mass they got.
        """
        import torch

        variants = self._label_token_ids(labels)
        encoded = self._encode_all(prompts, reserve=1)
        results: list[LabelScores | JudgeError] = [item if isinstance(item, JudgeError) else None for item in encoded]
        ok = [(i, ids) for i, ids in enumerate(encoded) if not isinstance(ids, JudgeError)]
        size = self.settings.batch_size
        for members, prefix_len in self._plan_groups([ids for _, ids in ok]):
            start = time.perf_counter()
            prefix = self._prefix_cache(ok[members[0]][1][:prefix_len]) if prefix_len else None
            prefix_share = (time.perf_counter() - start) / len(members)
            for chunk_at in range(0, len(members), size):
                rows = [ok[i] for i in members[chunk_at : chunk_at + size]]
                start = time.perf_counter()
                try:
                    logprobs = self._score_rows([ids for _, ids in rows], prefix_len, prefix)
                except (MemoryError, torch.OutOfMemoryError) as error:
                    for slot, _ in rows:
                        results[slot] = out_of_memory(error)
                    continue
                share = (time.perf_counter() - start) / len(rows) + prefix_share
                for (slot, ids), row_logprobs in zip(rows, logprobs, strict=True):
                    results[slot] = LabelScores(
                        logprobs=_label_scores(row_logprobs, variants),
                        prompt_tokens=len(ids),
                        latency_s=share,
                    )
        return results

    def complete(self, prompts: list[Prompt], *, max_tokens: int) -> list[Completion | JudgeError]:
        """Greedy generation of up to ``max_tokens`` new tokens, left-padded batches."""
        import torch

        encoded = self._encode_all(prompts, reserve=max_tokens)
        results: list[Completion | JudgeError] = [item if isinstance(item, JudgeError) else None for item in encoded]
        ok = [(i, ids) for i, ids in enumerate(encoded) if not isinstance(ids, JudgeError)]
        size = self.settings.batch_size
        for start_at in range(0, len(ok), size):
            rows = ok[start_at : start_at + size]
            start = time.perf_counter()
            try:
                generated = self._generate([ids for _, ids in rows], max_tokens)
            except (MemoryError, torch.OutOfMemoryError) as error:
                for slot, _ in rows:
                    results[slot] = out_of_memory(error)
                continue
            share = (time.perf_counter() - start) / len(rows)
            for (slot, ids), new_ids in zip(rows, generated, strict=True):
                results[slot] = Completion(
                    text=self.tokenizer.decode(new_ids, skip_special_tokens=True),
                    prompt_tokens=len(ids),
                    completion_tokens=len(new_ids),
                    latency_s=share,
                )
        return results

    def continuation_logprobs(self, pairs: list[tuple[Prompt, str]]) -> list[SequenceScores | JudgeError]:
        """Summed log-probability of each continuation's tokens after its prompt, one row at a time.

        Logits are projected only over the continuation (``logits_to_keep``): for a 262k vocabulary
        a full-sequence projection would cost more memory than the model. The prompt is encoded on
        its own and the continuation appended token by token, so the split point is exact.
        """
        import torch

        encoded = self._encode_all([prompt for prompt, _ in pairs], reserve=0)
        results: list[SequenceScores | JudgeError] = []
        for ids, (_, continuation) in zip(encoded, pairs, strict=True):
            if isinstance(ids, JudgeError):
                results.append(ids)
                continue
            tail = self.tokenizer(continuation, add_special_tokens=False)["input_ids"]
            tail = tail[: max(0, self.settings.max_length - len(ids))]
            if not tail:
                results.append(SequenceScores(logprob=0.0, tokens=0, prompt_tokens=len(ids)))
                continue
            start = time.perf_counter()
            try:
                with torch.inference_mode():
                    input_ids = torch.tensor([ids + tail], device=self.device)
                    # The logits at position i predict token i+1: keep the last len(tail)+1 positions.
                    logits = self.model(input_ids=input_ids, logits_to_keep=len(tail) + 1).logits[0, :-1, :]
                    logprobs = torch.log_softmax(logits.float(), dim=-1)
                    picked = logprobs.gather(1, torch.tensor(tail, device=logprobs.device).unsqueeze(1))
                    total = float(picked.sum())
            except (MemoryError, torch.OutOfMemoryError) as error:
                results.append(out_of_memory(error))
                continue
            results.append(SequenceScores(logprob=total, tokens=len(tail), prompt_tokens=len(ids),
                                          latency_s=time.perf_counter() - start))
        return results

    # --- loading ---------------------------------------------------------------------------------

    @property
    def loaded(self) -> Loaded:
        if self._loaded is None:
            if not self._source:
                from judges.weights import default_model_dir

                self._source = str(default_model_dir())
            self._loaded = _load(self._source, self._gguf_file, self.settings)
        return self._loaded

    @property
    def tokenizer(self) -> Any:
        return self.loaded.tokenizer

    @property
    def model(self) -> Any:
        return self.loaded.model

    @property
    def device(self) -> Any:
        return self.model.device

    # --- prompts ---------------------------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees (special tokens included) for one prompt."""
        if not prompt.is_chat:
            return self.tokenizer.bos_token + prompt.text if self.tokenizer.bos_token else prompt.text
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        if has_template and self.settings.chat_template == "auto":
            return self.tokenizer.apply_chat_template(list(prompt.messages), tokenize=False, add_generation_prompt=True)
        if self.settings.prompt_style == "completion":
            return (self.tokenizer.bos_token or "") + flatten_messages(prompt.messages)
        raise ConfigurationError(
            f"model {self.model_name or 'default'!r} has no chat template (a base model?) and got a chat "
            "prompt; use a completion-style protocol or set prompt_style='completion'"
        )

    def _encode_all(self, prompts: Sequence[Prompt], *, reserve: int) -> list[list[int] | JudgeError]:
        """Token ids per prompt, or the item's own error (bad prompt shape, too long)."""
        encoded: list[list[int] | JudgeError] = []
        for prompt in prompts:
            try:
                text = self.render(prompt)
            except ConfigurationError as error:
                encoded.append(error)
                continue
            # render() already wrote the special tokens (BOS, template markers) into the text.
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(ids) + reserve > self.settings.max_length:
                encoded.append(
                    JudgeError(
                        f"prompt has {len(ids)} tokens, over max_length {self.settings.max_length} "
                        f"with {reserve} reserved for the answer",
                        retryable=False,
                    )
                )
                continue
            encoded.append(ids)
        return encoded

    def _label_token_ids(self, labels: Sequence[str]) -> dict[str, list[int]]:
        variants: dict[str, list[int]] = {}
        owner: dict[int, str] = {}
        for label in labels:
            ids = []
            for spelling in (label.lstrip(), " " + label.lstrip()):
                tokens = self.tokenizer(spelling, add_special_tokens=False)["input_ids"]
                if tokens and tokens[0] not in ids:
                    ids.append(tokens[0])
            if not ids:
                raise ConfigurationError(f"label {label!r} encodes to no token")
            for token in ids:
                # Two labels starting with the same token cannot be told apart by one forward pass.
                if owner.get(token, label) != label:
                    raise ConfigurationError(f"labels {owner[token]!r} and {label!r} share a first token")
                owner[token] = label
            variants[label] = ids
        return variants

    # --- batching --------------------------------------------------------------------------------

    def _plan_groups(self, sequences: list[list[int]]) -> list[tuple[list[int], int]]:
        """Groups as (indices into ``sequences``, shared prefix length; 0 for none).

        Sequences with no worthwhile shared prefix are pooled into one group so they still batch.
        """
        if not self.settings.prefix_reuse:
            return [(list(range(len(sequences))), 0)] if sequences else []
        if len(sequences) == 1:
            # Nothing to share within the call; the prefix store may still know its beginning.
            return [([0], len(sequences[0]) - 1)]
        groups: list[tuple[list[int], int]] = []
        singles: list[int] = []
        for members, prefix_len in group_by_prefix(sequences, min_prefix=self.settings.prefix_min_tokens):
            if prefix_len:
                groups.append((members, prefix_len))
            else:
                singles.extend(members)
        if singles:
            groups.append((sorted(singles), 0))
        return groups

    def _score_rows(self, sequences: list[list[int]], prefix_len: int, prefix: Any = None) -> Any:
        """Next-token log-softmax after each sequence, shape (rows, vocab).

        Rows are right-padded: a forward pass needs no generation, so padding at the end keeps
        every real token at its own position (no position-id correction) and lets the suffixes
        continue a shared prefix cache without a hole of padding in the middle, which would also
        shift sliding-window attention. The logits are projected only at each row's last token:
        for a 262k vocabulary the output projection costs more than the rest of a small model.
        """
        import torch

        past = None
        if prefix is not None:
            # Each forward pass extends its cache in place, so every batch gets its own copy.
            past = copy.deepcopy(prefix)
            past.batch_repeat_interleave(len(sequences))
            sequences = [ids[prefix_len:] for ids in sequences]
        input_ids, attention = self._right_pad(sequences)
        last = attention.sum(dim=1) - 1
        if past is not None:
            attention = torch.cat(
                [torch.ones(len(sequences), prefix_len, dtype=attention.dtype, device=attention.device), attention],
                dim=1,
            )
        with torch.inference_mode():
            out = self.model(
                input_ids=input_ids,
                attention_mask=attention,
                cache=past,
                use_cache=past is not None,
                logits_to_keep=last.unsqueeze(1),
            )
            return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1).cpu()

    def _prefix_cache(self, prefix: list[int]) -> Any:
        """KV cache of ``prefix`` (batch of one), starting from the longest kept prefix of it.

        The caller owns the returned cache only through a copy: kept entries are shared.
        """
        store = self.loaded.prefixes
        known, cache = store.longest(prefix)
        if known < len(prefix):
            shared = store.shared_with_recent(prefix)
            if known < shared < len(prefix) and shared >= self.settings.prefix_min_tokens:
                cache = self._extend(cache, prefix[known:shared])
                store.put(prefix[:shared], cache)
                known = shared
            cache = self._extend(cache, prefix[known:])
        return cache

    def _extend(self, cache: Any, tokens: list[int]) -> Any:
        """A new cache: ``cache`` (or nothing) continued by ``tokens``, leaving ``cache`` as it was."""
        import torch

        past = copy.deepcopy(cache) if cache is not None else None
        with torch.inference_mode():
            ids = torch.tensor([tokens], device=self.device)
            return self.model(input_ids=ids, cache=past, use_cache=True, logits_to_keep=1).cache

    def _right_pad(self, sequences: list[list[int]]) -> tuple[Any, Any]:
        import torch

        width = max(len(ids) for ids in sequences)
        pad = self._pad_id()
        input_ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        attention = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, ids in enumerate(sequences):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention[row, : len(ids)] = 1
        return input_ids.to(self.device), attention.to(self.device)

    def _generate(self, sequences: list[list[int]], max_tokens: int) -> list[list[int]]:
        """Greedy decoding from left-padded rows; new tokens per row, up to and including EOS."""
        import torch

        width = max(len(ids) for ids in sequences)
        pad = self._pad_id()
        input_ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        attention = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, ids in enumerate(sequences):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention[row, width - len(ids) :] = 1
        eos = self._eos_ids()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=pad,
                eos_token_id=eos,
            )
        new_rows = []
        for row in out[:, width:].tolist():
            kept = []
            for token in row:
                kept.append(token)
                if token in eos:
                    break
            new_rows.append(kept)
        return new_rows

    def _pad_id(self) -> int:
        tok = self.tokenizer
        return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def _eos_ids(self) -> list[int]:
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        if configured is None:
            configured = self.tokenizer.eos_token_id
        return list(configured) if isinstance(configured, list | tuple) else [configured]


def out_of_memory(error: BaseException) -> JudgeError:
    # Retryable: another worker may have been holding the memory; a smaller batch_size is the fix
    # when it keeps happening.
    return JudgeError(f"out of memory judging a batch ({error}); try a smaller batch_size", retryable=True)


def flatten_messages(messages: Sequence[Mapping[str, str]]) -> str:
    """Chat messages as plain text for a base model, ending where the assistant would answer."""
    roles = {"user": "User", "assistant": "Assistant"}
    parts = []
    for message in messages:
        role = message.get("role", "user")
        content = message.get("content", "")
        parts.append(content if role == "system" else f"{roles.get(role, role.title())}: {content}")
    return "\n\n".join(parts) + "\n\nAssistant:"


def _label_scores(row_logprobs: Any, variants: Mapping[str, list[int]]) -> dict[str, float]:
    import torch

    return {label: float(torch.logsumexp(row_logprobs[ids], dim=0)) for label, ids in variants.items()}


# --- process-wide model cache -------------------------------------------------------------------


def _load(source: str, gguf_file: str | None, settings: Settings) -> Loaded:
    device = _pick_device(settings.device)
    dtype = _pick_dtype(settings.dtype, device)
    key = (source, gguf_file or "", dtype, device, settings.attn_implementation or "")
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = Loaded(*_load_uncached(source, gguf_file, dtype, device, settings))
        return _LOADED[key]


def _load_uncached(source: str, gguf_file: str | None, dtype: str, device: str, settings: Settings) -> tuple[Any, Any]:
    # Judges never download: a missing model must fail loudly, not fetch gigabytes mid-batch.
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if settings.threads:
        torch.set_num_threads(settings.threads)
    extra: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
    if settings.attn_implementation:
        extra["attn_implementation"] = settings.attn_implementation
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True, **extra)
        model = AutoModelForCausalLM.from_pretrained(
            source, local_files_only=True, dtype=getattr(torch, dtype), **extra
        )
    except OSError as error:
        raise ConfigurationError(f"cannot load model {source!r} offline: {error}") from error
    model.to(device)
    model.eval()
    return model, tokenizer


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError("device 'cuda' requested but torch sees no CUDA device")
    return device


def _pick_dtype(dtype: str, device: str) -> str:
    import torch

    if dtype != "auto":
        return dtype
    if device == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"
