"""The request body limit, as a pure ASGI middleware.

A declared `Content-Length` over the limit is refused before a byte of the body is read; a
body sent without one (chunked) is counted as it streams and refused as soon as it passes the
limit, so no request makes the service buffer more than the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rememberer.errors import PayloadTooLarge
from rememberer.observability import header


def declared_length(scope: Scope) -> int | None:
    value = header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            refusal = PayloadTooLarge(self.max_bytes)
            response = JSONResponse(status_code=refusal.status_code, content=refusal.body())
            await response(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app's body read: FastAPI lets an HTTPException through
                    # and the app's one error handler turns it into the contract's 413 body.
                    raise HTTPException(413, PayloadTooLarge(self.max_bytes).message)
            return message

        await self.app(scope, counted_receive, send)
