"""Login, logout, and the destructive actions: deleting a record or a memory, each behind
a confirmation page whose form carries the session's CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rememberer.api.deps import SessionDep
from rememberer.errors import RecordNotFound, Unauthorized
from rememberer.memories import catalog
from rememberer.memories import records as record_store
from rememberer.memories.access import MAX_KEY_CHARS, identify
from rememberer.ui.rendering import query_value, render, services_from, visible_memory
from rememberer.ui.security import (
    PageError,
    ViewerDep,
    check_csrf,
    cookie_header,
    cookie_value,
    read_form,
)

router = APIRouter(prefix="/ui", include_in_schema=False)


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    if services_from(request).settings.admin_key is None:
        return _redirect("/ui")
    return render(request, "login.html", None, problem=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: SessionDep) -> Response:
    admin_key = services_from(request).settings.admin_key
    if admin_key is None:
        return _redirect("/ui")
    key = (await read_form(request)).get("key", "").strip()
    try:
        if not key or len(key) > MAX_KEY_CHARS:
            raise Unauthorized("unknown API key")
        await identify(session, admin_key, key)
    except Unauthorized:
        return render(request, "login.html", None, status=401, problem="unknown or revoked key")
    response = _redirect("/ui")
    secure = request.url.scheme == "https"
    response.headers.append("set-cookie", cookie_header(cookie_value(key), secure))
    return response


@router.post("/logout")
async def logout(request: Request, viewer: ViewerDep) -> Response:
    check_csrf(request, viewer, await read_form(request))
    response = _redirect("/ui/login" if viewer.signed_in else "/ui")
    response.headers.append("set-cookie", cookie_header("", request.url.scheme == "https", 0))
    return response


@router.get("/memories/{memory}/delete", response_class=HTMLResponse)
async def confirm_memory_delete(
    request: Request, memory: str, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    info = await visible_memory(session, services_from(request), viewer, memory)
    return render(request, "confirm_delete.html", viewer, memory=info, record=None)


@router.post("/memories/{memory}/delete")
async def delete_memory(
    request: Request, memory: str, viewer: ViewerDep, session: SessionDep
) -> Response:
    services = services_from(request)
    await visible_memory(session, services, viewer, memory)
    check_csrf(request, viewer, await read_form(request))
    deleted = await catalog.delete_memory(session, memory)
    services.search.indexes.drop(deleted)
    services.memories.forget(memory)
    return _redirect("/ui")


@router.get("/memories/{memory}/records/{record_id}/delete", response_class=HTMLResponse)
async def confirm_record_delete(
    request: Request, memory: str, record_id: int, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    info = await visible_memory(session, services_from(request), viewer, memory)
    try:
        record = await record_store.get_record(session, info, record_id)
    except RecordNotFound as exc:
        raise PageError(404, "no such record in this memory") from exc
    return render(request, "confirm_delete.html", viewer, memory=info, record=record)


@router.post("/memories/{memory}/records/{record_id}/delete")
async def delete_record(
    request: Request, memory: str, record_id: int, viewer: ViewerDep, session: SessionDep
) -> Response:
    info = await visible_memory(session, services_from(request), viewer, memory)
    check_csrf(request, viewer, await read_form(request))
    try:
        await record_store.delete_record(session, info, record_id)
    except RecordNotFound as exc:
        raise PageError(404, "no such record in this memory") from exc
    return _redirect(f"/ui/memories/{query_value(memory)}/records")
