"""Messages for requests that are wrong before any route runs: they say what to send instead.

- a body without `Content-Type: application/json` (pydantic would say "Input should be a
  valid dictionary or object to extract fields from");
- a body that is not JSON (pydantic: "12: JSON decode error");
- a path with a trailing slash (Starlette would answer an empty 307 redirect, which clients
  that POST do not follow with their body).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.routing import Match

JSON_TYPE = "application/json"


def describe_validation(request: Request, exc: RequestValidationError) -> str:
    """Up to five problems, each as `where: what` (and what to send instead, if known)."""
    parts = []
    for error in exc.errors()[:5]:
        special = _body_problem(request, error)
        if special is not None:
            return special
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"


def _body_problem(request: Request, error: dict[str, Any]) -> str | None:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        position = loc[1] if len(loc) > 1 else "?"
        reason = (error.get("ctx") or {}).get("error", "invalid JSON")
        return (
            f"the body is not valid JSON ({reason} at character {position}); send one JSON "
            f"object with Content-Type: {JSON_TYPE}"
        )
    content_type = request.headers.get("content-type", "")
    if loc == ("body",) and JSON_TYPE not in content_type.lower():
        given = f"Content-Type: {content_type}" if content_type else "no Content-Type"
        return (
            f"the body must be a JSON object sent with Content-Type: {JSON_TYPE} "
            f"(this request had {given})"
        )
    return None


def trailing_slash_hint(app: FastAPI, request: Request) -> str | None:
    """For a 404 on `/path/`: the route `/path` exists, so say to drop the slash."""
    path = request.url.path
    if not path.endswith("/") or path == "/":
        return None
    scope = {**request.scope, "path": path.rstrip("/")}
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            return f"no route {path}; drop the trailing slash: {path.rstrip('/')}"
    return None
