"""The `chat` policy against a real HTTP server that speaks chat completions, with
scripted replies: good ones, garbage, and ones that come too late."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rememberer_agents.chat import ChatSettings, chat_policy
from rememberer_agents.policy import ExemplarRule, Situation, StepRecord
from rememberer_client import ActionValue, Exemplar

ACTIONS = ("go east", "go west", "take coin")


@dataclass
class Script:
    """Replies to hand out in order: text, or ("sleep", seconds) to answer too late."""

    replies: list[str | tuple[str, float]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


class ChatServer:
    """A chat-completions endpoint on a free loopback port, in a thread."""

    def __init__(self) -> None:
        self.script = Script()
        script = self.script

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                script.requests.append(body)
                script.headers.append(dict(self.headers))
                reply = script.replies.pop(0) if script.replies else "take coin"
                if isinstance(reply, tuple):
                    time.sleep(reply[1])
                    reply = "take coin"
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                answer = {
                    "choices": [{"message": {"role": "assistant", "content": reply}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 3},
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/v1"


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer()
    server.thread.start()
    yield server
    server.http.shutdown()
    server.http.server_close()


def situation() -> Situation:
    found = Exemplar(
        record_id=1,
        task="find the coin",
        observation="-= Hall =-",
        visits=3,
        last_reward=0.0,
        total_reward=0.0,
        action_history=[],
        actions=[
            ActionValue(action="go west", q=0.81, reward=0.0, visits=2),
            ActionValue(action="go east", q=0.0, reward=0.0, visits=1),
        ],
        score=0.99,
        task_score=1.0,
        observation_score=0.98,
    )
    return Situation("find the coin", "-= Hall =-", ACTIONS, [found])


def settings(server: ChatServer, timeout: float = 5.0) -> ChatSettings:
    return ChatSettings(server.url, "scripted", "secret-key", timeout=timeout, max_retries=1)


def fallback() -> ExemplarRule:
    return ExemplarRule(rng=random.Random(0), epsilon=0.0)


async def test_a_good_reply_is_the_action_with_its_token_usage(chat_server: ChatServer) -> None:
    chat_server.script.replies = ["take coin"]
    policy = chat_policy(settings(chat_server), fallback())
    decision = await policy.decide(situation())
    await policy.aclose()
    assert (decision.action, decision.source) == ("take coin", "model")
    assert (decision.prompt_tokens, decision.completion_tokens) == (100, 3)
    assert (decision.retries, decision.timeouts, decision.unusable) == (0, 0, 0)
    request = chat_server.script.requests[0]
    assert request["model"] == "scripted"
    prompt = request["messages"][-1]["content"]
    # REMEMBERER's prompt: the exemplar with its encouraged and discouraged actions, then
    # the current situation and the admissible actions.
    assert "Encouraged:\n- go west -> Q = 0.81" in prompt
    assert "Discouraged:\n- go east -> Q = 0.00" in prompt
    assert prompt.endswith("Admissible actions:\n- go east\n- go west\n- take coin\nAction:")
    assert chat_server.script.headers[0]["Authorization"] == "Bearer secret-key"


async def test_garbage_is_asked_again_once(chat_server: ChatServer) -> None:
    chat_server.script.replies = ["I would like to dance", "Action: go east"]
    policy = chat_policy(settings(chat_server), fallback())
    decision = await policy.decide(situation())
    await policy.aclose()
    assert (decision.action, decision.source, decision.unusable) == ("go east", "model", 1)
    assert decision.prompt_tokens == 200
    second = chat_server.script.requests[1]["messages"]
    assert second[-2] == {"role": "assistant", "content": "I would like to dance"}
    assert "not one of the admissible actions" in second[-1]["content"]


async def test_garbage_twice_falls_back_on_the_exemplar_rule(chat_server: ChatServer) -> None:
    chat_server.script.replies = ["dance", "sing"]
    policy = chat_policy(settings(chat_server), fallback())
    decision = await policy.decide(situation())
    await policy.aclose()
    # The exemplar rule follows the encouraged action.
    assert (decision.action, decision.source, decision.unusable) == ("go west", "fallback", 2)
    assert len(chat_server.script.requests) == 2


async def test_a_timeout_is_retried_and_counted(chat_server: ChatServer) -> None:
    chat_server.script.replies = [("sleep", 1.5), "go west"]
    policy = chat_policy(settings(chat_server, timeout=0.5), fallback())
    decision = await policy.decide(situation())
    await policy.aclose()
    assert (decision.action, decision.source) == ("go west", "model")
    assert (decision.retries, decision.timeouts) == (1, 1)


async def test_timeouts_beyond_the_retries_fall_back(chat_server: ChatServer) -> None:
    chat_server.script.replies = [("sleep", 1.5), ("sleep", 1.5)]
    policy = chat_policy(settings(chat_server, timeout=0.5), fallback())
    decision = await policy.decide(situation())
    await policy.aclose()
    assert (decision.action, decision.source) == ("go west", "fallback")
    assert (decision.retries, decision.timeouts, decision.unusable) == (1, 2, 0)


async def test_a_reflection_is_the_models_text(chat_server: ChatServer) -> None:
    chat_server.script.replies = ["I walked east in circles; next time go west first."]
    policy = chat_policy(settings(chat_server), fallback())
    steps = [StepRecord("-= Hall =-", "go east", 0.0)]
    text = await policy.reflect("find the coin", steps, "-= Attic =-", won=False)
    await policy.aclose()
    assert text == "I walked east in circles; next time go west first."
    assert "1. go east (reward 0.00)" in chat_server.script.requests[0]["messages"][-1]["content"]
