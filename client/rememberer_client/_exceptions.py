"""Exception tree of the SDK.

Everything the SDK raises on purpose derives from :class:`RemembererError`, so one
``except RemembererError`` is enough for callers that do not care about the details.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EpisodeFinishedError",
    "InternalServerError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RemembererError",
    "RequestTooLargeError",
    "UnprocessableEntityError",
]


class RemembererError(Exception):
    """Base class of every error raised by this SDK."""


class InvalidArgumentError(RemembererError, TypeError, ValueError):
    """An argument of the wrong type or value, refused before anything is sent.

    Types are strict, as the service's are: ``"1.0"`` is no ``float`` and ``True`` no
    ``int``. It is also a :class:`TypeError` and a :class:`ValueError`, so code written
    against either built-in convention catches it too.
    """


class EpisodeFinishedError(RemembererError):
    """``Episode.step`` was called after a transition with ``done=True``.

    Raised locally, before any request: the server would answer ``409 out_of_order``.
    """


class APIError(RemembererError):
    """Something went wrong while talking to the service."""

    message: str
    request: httpx.Request | None

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIConnectionError(APIError):
    """The service could not be reached, or the connection broke before an answer."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APIResponseValidationError(APIError):
    """A successful answer did not have the shape this SDK expects."""

    response: httpx.Response
    status_code: int

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code


class APIStatusError(APIError):
    """The service answered with a 4xx or 5xx status.

    ``code`` is the machine-readable ``error.code`` of the body (for example
    ``"memory_not_found"``), or ``None`` when the body was not the documented error
    shape (a proxy's HTML page, say). ``body`` is the decoded JSON body, if any.
    """

    status_code: int
    code: str | None
    response: httpx.Response
    body: Any

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, request=response.request)
        self.status_code = response.status_code
        self.code = code
        self.response = response
        self.body = body

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"{self.status_code}{code}: {self.message}"


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401: missing or wrong API key."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404: ``memory_not_found``, ``record_not_found`` or ``not_found``."""


class ConflictError(APIStatusError):
    """409: ``memory_exists``, ``out_of_order`` or ``step_conflict``."""


class RequestTooLargeError(APIStatusError):
    """413: ``payload_too_large``."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed JSON but broke a documented bound."""


class RateLimitError(APIStatusError):
    """429: slow down (the SDK already retried, honouring ``Retry-After``)."""


class InternalServerError(APIStatusError):
    """Any status of 500 or more (the SDK already retried)."""
