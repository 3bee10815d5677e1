"""Domain errors. Each carries its HTTP status and contract error code; one handler in
`rememberer.app` turns them into `{"error": {"code", "message"}}` bodies."""

from __future__ import annotations


class RemembererError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(RemembererError):
    status_code = 404
    code = "not_found"


class MemoryNotFound(NotFound):
    code = "memory_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"memory {name!r} does not exist; create it with POST /v1/memories")


class RecordNotFound(NotFound):
    code = "record_not_found"

    def __init__(self, record_id: int) -> None:
        super().__init__(f"record {record_id} does not exist in this memory")


class Conflict(RemembererError):
    status_code = 409
    code = "conflict"


class MemoryExists(Conflict):
    code = "memory_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"memory {name!r} already exists; pick another name or delete it first")


class OutOfOrder(Conflict):
    code = "out_of_order"


class StepConflict(Conflict):
    code = "step_conflict"


class Unprocessable(RemembererError):
    status_code = 422
    code = "invalid_request"


class MissingEmbedding(Unprocessable):
    code = "missing_embedding"

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 200 else text[:200] + "…"
        super().__init__(
            f"no vector for text {shown!r}: this memory uses embedder 'client'; "
            "PUT it to /v1/memories/{memory}/embeddings first"
        )
        self.text = text


class Unavailable(RemembererError):
    status_code = 503
    code = "unavailable"


class EpisodeNotFound(NotFound):
    code = "episode_not_found"

    def __init__(self, episode_id: str) -> None:
        super().__init__(
            f"episode {episode_id!r} does not exist in this memory; send its transitions "
            "to /v1/memories/{memory}/update first"
        )


class EpisodeNotFinished(Conflict):
    code = "episode_not_finished"

    def __init__(self, episode_id: str) -> None:
        super().__init__(
            f"episode {episode_id!r} has not ended: reflect on it after its transition "
            "with done=true"
        )


class TaskMismatch(Conflict):
    code = "task_mismatch"


class ReflectionNotFound(NotFound):
    code = "reflection_not_found"

    def __init__(self, reflection_id: int) -> None:
        super().__init__(f"reflection {reflection_id} does not exist in this memory")


class UnknownReflection(Unprocessable):
    code = "unknown_reflection"


class ReflectionSelfUse(Unprocessable):
    code = "reflection_self_use"
