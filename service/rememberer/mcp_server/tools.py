"""The tools (and a settings resource), defined once over a `Backend` that hands out an
SDK client for the current call. Every failure becomes a tool error carrying the service's
message, so the model reads why and the session goes on."""

# No `from __future__ import annotations`: MCPServer reads the tools' signatures at runtime.

from collections.abc import Awaitable
from typing import Annotated, Protocol, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field
from rememberer_client import (
    APIStatusError,
    AsyncMemoryClient,
    EpisodeSummary,
    Exemplar,
    Memory,
    NotFoundError,
    Reflection,
    RemembererError,
    UpdateResult,
    format_exemplars,
)

from rememberer.schemas.common import (
    MAX_K,
    MAX_TRANSITIONS_PER_CALL,
    ActionText,
    EpisodeId,
    Finite,
    MemoryName,
    Text,
)

RECENT_EPISODES = 10
T = TypeVar("T")


class Backend(Protocol):
    def client(self, ctx: Context) -> AsyncMemoryClient: ...


class Step(BaseModel):
    """One step of an episode, as the agent lived it."""

    step: int = Field(ge=0, le=10_000_000, description="0 for the first step, then 1, 2, …")
    observation: Text = Field(description="what the agent saw before acting")
    action: ActionText = Field(description="the action it took, exactly as it would be retrieved")
    reward: Finite = Field(description="the reward the environment gave for this action")
    next_observation: Text = Field(description="what the agent saw after acting")
    done: bool = Field(False, description="true on the episode's last step")
    truncated: bool = Field(
        False,
        description="true on the last step of an episode cut short (a step limit, a "
        "time-out) rather than ended by the environment; never together with done",
    )
    note: Text | None = Field(None, description="optional: why this action, shown with it later")


class Experiences(BaseModel):
    exemplars: list[Exemplar]
    reflections: list[Reflection] = Field(default_factory=list)


class Memories(BaseModel):
    memories: list[Memory]


class MemoryDescription(BaseModel):
    memory: Memory
    recent_episodes: list[EpisodeSummary] | None = Field(
        None, description="newest first; null when the service cannot list episodes"
    )


def tool_error(exc: RemembererError) -> ToolError:
    if isinstance(exc, APIStatusError):
        return ToolError(f"{exc.code or exc.status_code}: {exc.message}")
    return ToolError(f"the memory service could not be reached: {exc}")


async def guarded(call: Awaitable[T]) -> T:
    try:
        return await call
    except RemembererError as exc:
        raise tool_error(exc) from exc


def answer(text: str, data: BaseModel) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=data.model_dump(mode="json", by_alias=True),
    )


def render_update(result: UpdateResult) -> str:
    lines = [
        f"- {v.action} in '{v.observation[:80]}': Q = {v.q:.2f} ({v.visits} visits)"
        + (" [not kept: memory full]" if v.dropped else "")
        for v in result.updated
    ]
    state = "finished" if result.episode.done else f"next step {result.episode.next_step}"
    head = f"Recorded. Episode {result.episode.episode_id!r}: {state}."
    return "\n".join([head, "Values learned:" if lines else "No value changed yet.", *lines])


def render_description(described: MemoryDescription) -> str:
    m = described.memory
    lines = [
        f"Memory {m.name!r}: {m.records} states, {m.actions} action values, "
        f"{m.episodes_open} open episodes.",
        f"Settings: gamma={m.gamma}, n_step={m.n_step}, update_mode={m.update_mode}, "
        f"learning_rate={m.learning_rate}, lambda={m.lambda_}, embedder={m.embedder}.",
    ]
    if described.recent_episodes:
        returns = ", ".join(
            f"{e.return_:g}" + ("" if e.status == "done" else f" ({e.status})")
            for e in described.recent_episodes
        )
        lines.append(f"Recent returns (newest first): {returns}")
    return "\n".join(lines)


async def recent_episodes(client: AsyncMemoryClient, memory: str) -> list[EpisodeSummary] | None:
    """The newest episodes; None from an older service without the episodes listing."""
    try:
        page = await client.list_episodes(memory, limit=RECENT_EPISODES)
    except NotFoundError:
        return None
    return list(page.items)


MemoryArg = Annotated[MemoryName, Field(description="memory name, as list_memories shows")]
TaskArg = Annotated[Text, Field(description="the task the agent is solving, in its own words")]


class MemoryTools:
    """The tools over one backend; `register` adds them to an MCPServer."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def list_memories(self, ctx: Context) -> Annotated[CallToolResult, Memories]:
        """List the experience memories this key can use. Call first to pick a memory."""
        client = self.backend.client(ctx)

        async def every() -> list[Memory]:
            return [m async for m in client.iter_memories()]

        found = await guarded(every())
        text = "\n".join(f"- {m.name} (embedder {m.embedder})" for m in found) or "(none)"
        return answer("Memories:\n" + text, Memories(memories=found))

    async def describe_memory(
        self, memory: MemoryArg, ctx: Context
    ) -> Annotated[CallToolResult, MemoryDescription]:
        """Describe one memory: its learning settings, how much it holds, and the returns
        of its most recent episodes (is the agent getting better?)."""
        client = self.backend.client(ctx)
        info = await guarded(client.get_memory(memory))
        recent = await recent_episodes(client, memory)
        described = MemoryDescription(memory=info, recent_episodes=recent)
        return answer(render_description(described), described)

    async def retrieve_experiences(
        self,
        memory: MemoryArg,
        task: TaskArg,
        observation: Annotated[Text, Field(description="what the agent sees right now")],
        ctx: Context,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="how many past states")] = 2,
        include_reflections: Annotated[
            bool, Field(description="also return lessons written after earlier attempts")
        ] = False,
    ) -> Annotated[CallToolResult, Experiences]:
        """Before choosing an action: recall the most similar past situations and what was
        learned there. Each shows an encouraged action (highest learned value Q > 0) and
        discouraged ones (Q <= 0). Prefer encouraged actions; avoid discouraged ones."""
        client = self.backend.client(ctx)
        if include_reflections:
            got = await guarded(client.retrieve_with_reflections(memory, task, observation, k=k))
            found = Experiences(exemplars=got.exemplars, reflections=got.reflections)
        else:
            found = Experiences(
                exemplars=await guarded(client.retrieve(memory, task, observation, k=k))
            )
        text = format_exemplars(found.exemplars, include_scores=True, reflections=found.reflections)
        return answer(text or "No past experience yet: act on your own judgement.", found)

    async def record_steps(
        self,
        memory: MemoryArg,
        episode_id: Annotated[EpisodeId, Field(description="one id per attempt at a task")],
        task: TaskArg,
        transitions: Annotated[
            list[Step], Field(min_length=1, max_length=MAX_TRANSITIONS_PER_CALL)
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, UpdateResult]:
        """After acting: record the steps of an episode (in order, from step 0, one or
        several per call; mark the last with done=true) so the memory learns the value of
        each action. Sending a step again is safe: it answers as the first time."""
        sent = [t.model_dump(exclude_none=True) for t in transitions]
        result = await guarded(self.backend.client(ctx).update(memory, episode_id, task, sent))
        return answer(render_update(result), result)

    async def add_reflection(
        self,
        memory: MemoryArg,
        task: TaskArg,
        episode_id: Annotated[EpisodeId, Field(description="the finished episode reflected on")],
        text: Annotated[Text, Field(min_length=1, description="the lesson, for the next try")],
        ctx: Context,
    ) -> Annotated[CallToolResult, Reflection]:
        """After a finished episode that went wrong: write a short lesson (what failed, what
        to do instead). retrieve_experiences shows it on later attempts at the task."""
        client = self.backend.client(ctx)
        made = await guarded(client.create_reflection(memory, task, episode_id, text))
        return answer(f"Reflection {made.reflection_id} saved.", made)

    async def memory_settings(self, memory: str, ctx: Context) -> str:
        """A memory's settings and counts, as JSON."""
        info = await guarded(self.backend.client(ctx).get_memory(memory))
        return info.model_dump_json(by_alias=True, indent=2)

    def register(self, server: MCPServer) -> None:
        for tool in (
            self.list_memories,
            self.describe_memory,
            self.retrieve_experiences,
            self.record_steps,
            self.add_reflection,
        ):
            server.add_tool(tool)
        server.resource("rememberer://memories/{memory}/settings", mime_type="application/json")(
            self.memory_settings
        )


INSTRUCTIONS = (
    "Rememberer is an experience memory. Before each action call retrieve_experiences; "
    "after acting call record_steps with the step (done=true on the last); after a failed "
    "episode, add_reflection with a one-paragraph lesson."
)


def build_server(backend: Backend) -> MCPServer:
    server: MCPServer = MCPServer("rememberer", instructions=INSTRUCTIONS)
    MemoryTools(backend).register(server)
    return server
