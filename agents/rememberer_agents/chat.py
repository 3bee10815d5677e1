"""An OpenAI-compatible chat-completions endpoint as a :class:`Completer`: llama.cpp's
server, Ollama, vLLM or a hosted API."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from rememberer_agents.language_model import (
    Completion,
    CompletionFailed,
    LanguageModelPolicy,
    Message,
)
from rememberer_agents.policy import ExemplarRule

__all__ = ["ChatEndpoint", "ChatSettings", "chat_policy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatSettings:
    """Where the model is. Unset values come from ``REMEMBERER_AGENTS_CHAT_URL`` /
    ``_MODEL`` / ``_KEY``, then ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    timeout: float = 30.0
    max_retries: int = 2
    temperature: float = 0.0

    def resolved(self) -> ChatSettings:
        env = os.environ
        base_url = (
            self.base_url
            or env.get("REMEMBERER_AGENTS_CHAT_URL")
            or env.get("OPENAI_BASE_URL")
            or "http://127.0.0.1:8080/v1"
        )
        return ChatSettings(
            base_url=base_url.rstrip("/"),
            model=self.model or env.get("REMEMBERER_AGENTS_CHAT_MODEL") or "default",
            api_key=self.api_key
            or env.get("REMEMBERER_AGENTS_CHAT_KEY")
            or env.get("OPENAI_API_KEY"),
            timeout=self.timeout,
            max_retries=self.max_retries,
            temperature=self.temperature,
        )


class ChatEndpoint:
    """POSTs ``/chat/completions``; retries timeouts, connection errors, 429 and 5xx
    (``max_retries`` times, with a short backoff) and reports them with the reply."""

    def __init__(self, settings: ChatSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings.resolved()
        headers = {}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()
        self._headers = headers

    async def complete(self, messages: Sequence[Message], max_tokens: int) -> Completion:
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": self.settings.temperature,
        }
        retries = timeouts = 0
        while True:
            problem = ""
            try:
                response = await self._client.post(
                    f"{self.settings.base_url}/chat/completions",
                    json=body,
                    headers=self._headers,
                    timeout=self.settings.timeout,
                )
            except httpx.TimeoutException:
                timeouts += 1
                problem = "timed out"
            except httpx.TransportError as exc:
                problem = f"connection failed: {exc}"
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"HTTP {response.status_code}"
                elif response.is_error:
                    raise CompletionFailed(
                        f"HTTP {response.status_code}: {response.text[:200]}", retries, timeouts
                    )
                else:
                    return _completion(response, retries, timeouts)
            if retries >= self.settings.max_retries:
                raise CompletionFailed(problem, retries, timeouts)
            retries += 1
            log.info("chat completion %s; retry %d", problem, retries)
            await asyncio.sleep(min(0.25 * 2**retries, 4.0))

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _completion(response: httpx.Response, retries: int, timeouts: int) -> Completion:
    try:
        answer = response.json()
        text = answer["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CompletionFailed(f"not a chat completion: {exc}", retries, timeouts) from exc
    usage = answer.get("usage") or {}
    return Completion(
        text=str(text),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        retries=retries,
        timeouts=timeouts,
    )


def chat_policy(
    settings: ChatSettings, fallback: ExemplarRule | None = None
) -> LanguageModelPolicy:
    """The ``chat`` policy: REMEMBERER's prompt to an OpenAI-compatible endpoint."""
    return LanguageModelPolicy("chat", ChatEndpoint(settings), fallback)
