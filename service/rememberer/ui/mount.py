"""Adds the inspector to the service: its routes, its static files, `GET /` leading to it,
its security headers, and the answers to a missing login or a page that cannot be shown."""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from rememberer.config import Settings
from rememberer.ui import account_pages, episode_pages, memory_pages
from rememberer.ui.rendering import STATIC, render
from rememberer.ui.security import LoginRequired, PageError, UiHeadersMiddleware


def mount(app: FastAPI, settings: Settings) -> None:
    # The CSRF secret of an open service (with an admin key it is derived from that key).
    app.state.ui_secret = secrets.token_bytes(32)
    for pages in (memory_pages, episode_pages, account_pages):
        app.include_router(pages.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_middleware(UiHeadersMiddleware, open_service=settings.admin_key is None)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui", status_code=307)

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, __: LoginRequired) -> Response:
        return RedirectResponse("/ui/login", status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return render(request, "error.html", None, status=exc.status, message=exc.message)
