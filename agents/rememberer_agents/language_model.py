"""Policies that ask a language model: REMEMBERER's prompt, reply parsing, fallbacks.

:class:`LanguageModelPolicy` builds the prompt (the retrieved exemplars with their
encouraged and discouraged actions, the task's reflections, the task, the observation and
the admissible actions), parses the reply to an admissible action, asks once more when the
reply is unusable, and otherwise lets the exemplar rule decide, counting each such case.
Where the model comes from is a :class:`Completer`: an OpenAI-compatible endpoint
(:mod:`rememberer_agents.chat`) or a local model (:mod:`rememberer_agents.local`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rememberer_client import format_exemplars

from rememberer_agents.policy import (
    Decision,
    ExemplarRule,
    Situation,
    StepRecord,
    template_reflection,
)

__all__ = [
    "Completer",
    "Completion",
    "CompletionFailed",
    "LanguageModelPolicy",
    "Message",
    "build_prompt",
    "parse_action",
]

log = logging.getLogger(__name__)

Message = dict[str, str]

SYSTEM_PROMPT = (
    "You play a text adventure game. Each turn you get examples of similar situations "
    "from your memory, with the actions that paid off (encouraged) and those that did not "
    "(discouraged), then the current situation. Reply with exactly one of the admissible "
    "actions, copied as written, and nothing else."
)
_TEXT_CHARS = 500


@dataclass(frozen=True)
class Completion:
    """A model's reply and what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    timeouts: int = 0


class CompletionFailed(Exception):
    """The model gave no reply (after the completer's own retries)."""

    def __init__(self, message: str, retries: int = 0, timeouts: int = 0) -> None:
        super().__init__(message)
        self.retries = retries
        self.timeouts = timeouts


class Completer(Protocol):
    """Turns chat messages into one reply."""

    async def complete(self, messages: Sequence[Message], max_tokens: int) -> Completion: ...

    async def aclose(self) -> None: ...


def build_prompt(situation: Situation) -> str:
    """REMEMBERER's prompt. The exemplars come most similar last, right before the current
    situation, where small models attend best; the prompt ends at "Action:"."""
    examples = format_exemplars(
        list(reversed(situation.exemplars)),
        reflections=list(situation.reflections),
        max_text_chars=_TEXT_CHARS,
        max_actions=0,
    )
    actions = "\n".join(f"- {action}" for action in situation.actions)
    current = (
        f"Current situation:\nTask: {situation.task}\nObservation: {situation.observation}\n"
        f"Admissible actions:\n{actions}\nAction:"
    )
    return f"{examples}\n\n{current}" if examples else current


def parse_action(reply: str, actions: Sequence[str]) -> str | None:
    """The admissible action a reply names, or None.

    Accepted: the action alone (any case, quotes, backticks, a leading "Action:" or "- ",
    a final period), on the first non-empty line; else the one admissible action the
    reply contains (the longest, when one contains another, e.g. "take coin" in
    "take coin from table"); replies naming several different actions are unusable.
    """
    by_lower = {action.lower(): action for action in actions}
    for line in reply.splitlines():
        cleaned = _clean(line)
        if cleaned:
            if cleaned in by_lower:
                return by_lower[cleaned]
            break
    text = reply.lower()
    contained = [a for a in by_lower if re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", text)]
    maximal = [a for a in contained if not any(a != b and a in b for b in contained)]
    return by_lower[maximal[0]] if len(maximal) == 1 else None


def _clean(line: str) -> str:
    line = line.strip().strip("`*\"' ").lower()
    line = re.sub(r"^(action|answer|command)\s*:\s*", "", line)
    line = re.sub(r"^[-*>]\s*", "", line)
    return line.strip().strip("`\"' ").rstrip(".!").strip()


class LanguageModelPolicy:
    """Asks a model for each action; falls back on the exemplar rule when it cannot."""

    def __init__(
        self,
        name: str,
        completer: Completer,
        fallback: ExemplarRule | None = None,
        max_tokens: int = 24,
    ) -> None:
        self.name = name
        self._completer = completer
        self._fallback = fallback or ExemplarRule()
        self._max_tokens = max_tokens

    async def decide(self, situation: Situation) -> Decision:
        messages: list[Message] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": build_prompt(situation)},
        ]
        cost = _Cost()
        started = time.perf_counter()
        # One reply, and one more chance if it is unusable.
        for attempt in range(2):
            try:
                completion = await self._completer.complete(messages, self._max_tokens)
            except CompletionFailed as failure:
                log.warning("model gave no reply: %s", failure)
                cost.retries += failure.retries
                cost.timeouts += failure.timeouts
                break
            cost.add(completion)
            action = parse_action(completion.text, situation.actions)
            if action is not None:
                return cost.decision(action, "model", time.perf_counter() - started)
            cost.unusable += 1
            if attempt == 0:
                messages += [
                    {"role": "assistant", "content": completion.text},
                    {
                        "role": "user",
                        "content": "That is not one of the admissible actions. Reply with "
                        "one of them exactly:\n" + "\n".join(situation.actions),
                    },
                ]
        fallback = self._fallback.choose(situation)
        return cost.decision(fallback.action, "fallback", time.perf_counter() - started)

    async def reflect(
        self, task: str, steps: Sequence[StepRecord], final_observation: str, won: bool
    ) -> str:
        trajectory = "\n".join(
            f"{i}. {step.action} (reward {step.reward:.2f})" for i, step in enumerate(steps, 1)
        )
        messages: list[Message] = [
            {
                "role": "system",
                "content": "You review a failed attempt at a text game task and write a short "
                "plan for the next attempt.",
            },
            {
                "role": "user",
                "content": f"Task: {task}\nActions taken:\n{trajectory[-3000:]}\nWhere it "
                f"ended: {final_observation[:_TEXT_CHARS]}\nIn two sentences: what went "
                "wrong, and what should be done differently next time?",
            },
        ]
        try:
            completion = await self._completer.complete(messages, max_tokens=120)
        except CompletionFailed as failure:
            log.warning("no reflection from the model (%s); using the template", failure)
            return template_reflection(steps, final_observation, won)
        return completion.text.strip() or template_reflection(steps, final_observation, won)

    async def aclose(self) -> None:
        await self._completer.aclose()


@dataclass
class _Cost:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    timeouts: int = 0
    unusable: int = 0

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.retries += completion.retries
        self.timeouts += completion.timeouts

    def decision(self, action: str, source: str, seconds: float) -> Decision:
        return Decision(
            action=action,
            source=source,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            model_seconds=seconds,
            retries=self.retries,
            timeouts=self.timeouts,
            unusable=self.unusable,
        )
