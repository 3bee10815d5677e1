"""Who looks at the inspector, and what protects it.

With an admin key configured, the key a user typed on the login page is kept in an HttpOnly,
SameSite=Strict cookie (scripts cannot read it, other sites cannot send it) and checked on
every page exactly as `/v1` checks a bearer key (`memories.access.identify`): a scoped key
sees its memories only, and any other memory answers 404 as on `/v1`. Without an admin key
the service is open, and the cookie holds a random session value instead.

The one destructive action (deleting a record or a memory) is a POST that carries a CSRF
token: an HMAC of the cookie's value under a server secret. A page of another site can
neither read the token nor compute it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request
from pydantic import SecretStr
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rememberer.api.deps import SessionDep, services_of
from rememberer.errors import Unauthorized
from rememberer.memories.access import Principal, identify

COOKIE = "rememberer_ui"
UI_PREFIX = "/ui"
SESSION_STATE = "ui_session"  # where the middleware leaves a freshly minted session value
# Forms carry a key and a token at most: anything longer is not a form of these pages.
MAX_FORM_BYTES = 4096

# No inline script may run: the pages load their one script from /ui/static. Inline SVG is
# markup, not an image, so img-src needs nothing more.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class LoginRequired(Exception):
    """No valid key in the cookie: the page answers with the login form."""


class PageError(Exception):
    """A page that cannot be shown (not found, forbidden, bad input): an HTML error page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf: str
    # Keys are in use: the pages offer a logout.
    signed_in: bool


def server_secret(admin_key: SecretStr | None, fallback: bytes) -> bytes:
    """With an admin key, a secret derived from it (the same in every worker process);
    without one, the process's own random `fallback`."""
    if admin_key is None:
        return fallback
    material = admin_key.get_secret_value().encode("utf-8", errors="surrogateescape")
    return hmac.new(material, b"rememberer-ui-csrf", hashlib.sha256).digest()


def csrf_token(secret: bytes, session_value: str) -> str:
    message = session_value.encode("utf-8", errors="surrogateescape")
    return hmac.new(secret, b"csrf:" + message, hashlib.sha256).hexdigest()


def secret_of(request: Request) -> bytes:
    fallback: bytes = request.app.state.ui_secret
    return server_secret(services_of(request).settings.admin_key, fallback)


def cookie_value(key: str) -> str:
    """A key as a cookie value: base64url, so that no character of it can end the cookie."""
    raw = key.encode("utf-8", errors="surrogateescape")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def session_value(request: Request) -> str | None:
    """The key (or, on an open service, the session value) the cookie holds."""
    stored = request.cookies.get(COOKIE)
    if stored is None:
        fresh: str | None = request.scope.get("state", {}).get(SESSION_STATE)
        return fresh
    try:
        return base64.urlsafe_b64decode(stored.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError):
        return None


async def current_viewer(request: Request, session: SessionDep) -> Viewer:
    admin_key = services_of(request).settings.admin_key
    value = session_value(request)
    try:
        principal = await identify(session, admin_key, value)
    except Unauthorized as refusal:
        raise LoginRequired() from refusal
    token = csrf_token(secret_of(request), value or "")
    return Viewer(principal=principal, csrf=token, signed_in=admin_key is not None)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (first value of each field); larger bodies are refused."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageError(413, "this form is larger than any form of these pages")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PageError(400, "the form could not be read") from exc
    return {name: values[0] for name, values in fields.items()}


def check_csrf(request: Request, viewer: Viewer, form: dict[str, str]) -> None:
    """A POST must carry the token of this session's pages."""
    sent = form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent.encode(), viewer.csrf.encode()):
        raise PageError(403, "the form's CSRF token is missing or wrong; reload the page")
    if request.headers.get("sec-fetch-site") not in (None, "same-origin", "none"):
        raise PageError(403, "a form of another site cannot change this service")


def cookie_header(value: str, secure: bool, max_age: int | None = None) -> str:
    parts = [f"{COOKIE}={value}", f"Path={UI_PREFIX}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def _has_cookie(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"cookie" and f"{COOKIE}=".encode() in value:
            return True
    return False


class UiHeadersMiddleware:
    """For every answer under /ui: the security headers; and, on an open service, a session
    cookie for the CSRF tokens when the browser has none yet."""

    def __init__(self, app: ASGIApp, open_service: bool) -> None:
        self.app = app
        self.open_service = open_service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == UI_PREFIX or path.startswith("/ui/")):
            await self.app(scope, receive, send)
            return
        fresh = None
        if self.open_service and not _has_cookie(scope):
            fresh = secrets.token_urlsafe(32)
            scope.setdefault("state", {})[SESSION_STATE] = fresh
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if fresh is not None:
                    headers.append("set-cookie", cookie_header(cookie_value(fresh), secure))
            await send(message)

        await self.app(scope, receive, send_with_headers)
