"""The real llama.cpp OpenAI-compatible server (llama-cpp-python serving the tiny Gemma 3 270M GGUF on
127.0.0.1), started once per test session for every module that needs it: loading the model is the
expensive part, and the tests only send it independent requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from judges.llama_server import LlamaServer
from judges.llama_server import llama_server as start_llama_server


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory) -> Iterator[LlamaServer]:
    with start_llama_server(tmp_path_factory.mktemp("llama") / "server.log", chat_format="gemma") as server:
        yield server


@pytest.fixture(scope="session")
def server_url(llama_server: LlamaServer) -> str:
    return llama_server.url
