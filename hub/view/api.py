"""The HTTP API: alerts (list, detail, actions, CAP), the change stream, the red/black list,
the city map, sessions. Every route resolves the caller first and filters by what they may see;
an alert the caller may not see answers exactly like an unknown one (404)."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from hub.alerts.lifecycle import Action, Rejected, needs_acknowledgement
from hub.alerts.model import Alert, Severity, Status
from hub.clock import utcnow
from hub.view import cap
from hub.view.auth import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Principal,
    Sessions,
    TokenStore,
    origin_of,
)
from hub.view.citymap import RESOLUTION, CityMap, alert_cells
from hub.view.commands import CommandSender, NotAllowed, NotVisible, prepare
from hub.view.readmodel import AppliedChange, ReadModel
from hub.view.sla import Ranking
from hub.view.sse import alert_stream

AlertId = Annotated[str, Field(min_length=1, max_length=128)]
DEPARTMENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


# --- context and errors -----------------------------------------------------------------------


@dataclass
class ViewContext:
    """What the routes need, held on `app.state.view` by the app factory."""

    model: ReadModel
    tokens: TokenStore
    sessions: Sessions
    sender: CommandSender | None
    ready: asyncio.Event
    secure_cookie: bool = False
    cap_sender: str = cap.DEFAULT_SENDER
    feed_error: str | None = None
    public_origin: str | None = None  # of ONENET_VIEW_PUBLIC_URL; None: only the CSRF header


class ApiError(Exception):
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


class Problem(BaseModel):
    """Every error body: a stable `reason` code and a sentence for people."""

    reason: str
    detail: str


def _ctx(request: Request) -> ViewContext:
    ctx: ViewContext = request.app.state.view
    return ctx


NOT_FOUND = "no such alert"  # the same words for unknown and for not yours


def _not_found() -> ApiError:
    return ApiError(404, "not-found", NOT_FOUND)


# --- authentication ---------------------------------------------------------------------------

bearer_scheme = HTTPBearer(auto_error=False, description="A token from the tokens file.")
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Session from POST /api/session."
)


@dataclass(frozen=True)
class Caller:
    principal: Principal
    via: Literal["bearer", "cookie"]


def _resolve(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> Caller:
    ctx = _ctx(request)
    if credentials is not None:
        found = ctx.tokens.authenticate(credentials.credentials)
        if found is None:
            raise ApiError(401, "unauthorized", "the bearer token is not valid")
        return Caller(found, "bearer")
    if cookie:
        digest = ctx.sessions.verify(cookie)
        found = ctx.tokens.by_hash(digest) if digest else None
        if found is None:
            raise ApiError(401, "unauthorized", "the session has ended; sign in again")
        return Caller(found, "cookie")
    raise ApiError(401, "unauthorized", "sign in, or send Authorization: Bearer <token>")


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Caller:
    return _resolve(request, credentials, cookie)


def _same_origin(request: Request) -> bool:
    """`Origin` is the configured public URL's: the Host header is the client's to choose."""
    expected = _ctx(request).public_origin
    origin = origin_of(request.headers.get("origin", ""))
    return bool(expected and origin) and hmac.compare_digest(str(origin), str(expected))


def acting_caller(request: Request, who: Annotated[Caller, Depends(caller)]) -> Caller:
    """A caller allowed to change state: with a cookie, also proof the page itself asks."""
    if who.via == "cookie" and not (request.headers.get(CSRF_HEADER) or _same_origin(request)):
        raise ApiError(403, "csrf", f"cookie-authenticated changes need the {CSRF_HEADER} header")
    return who


Who = Annotated[Caller, Depends(caller)]
Actor = Annotated[Caller, Depends(acting_caller)]

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid token or session."}
}
NOT_VISIBLE: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such alert, or not one the caller may see."}
}
BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not JSON."}
}
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **UNAUTHORIZED,
    **BAD_BODY,
    **NOT_VISIBLE,
    403: {"model": Problem, "description": "The caller's role may not act (or a CSRF failure)."},
    409: {"model": Problem, "description": "The action cannot apply to the alert's state."},
    503: {"model": Problem, "description": "The command could not be sent to Kafka."},
}

router = APIRouter(prefix="/api")


# --- models -----------------------------------------------------------------------------------


class SessionInfo(BaseModel):
    name: str
    role: str
    department: str | None
    can_act: bool


class SignIn(BaseModel):
    token: str | None = Field(default=None, min_length=1, max_length=512)


class AlertItem(BaseModel):
    """An alert with where it stands in the change log."""

    alert: Alert
    seq: int = Field(description="Sequence number of its latest change in this view process.")
    kind: str = Field(description="Its latest change: firing, updated, acknowledged, ...")
    received_at: datetime = Field(description="When the view received that change.")
    first_seen_at: datetime = Field(
        description="When the hub first wrote the alert: ages count from it, not event times."
    )
    needs_acknowledgement: bool = Field(
        description="Extreme or Severe and not acknowledged yet, even if the hub resolved it."
    )


class Facets(BaseModel):
    open_by_severity: dict[str, int]
    districts: list[str]
    departments: list[str]
    categories: list[str]


class AlertList(BaseModel):
    items: list[AlertItem]
    total: int
    cursor: str = Field(description="Pass as ?after= to /api/stream to miss nothing.")
    facets: Facets


class EvidenceEvent(BaseModel):
    id: str
    source: str
    type: str
    time: str
    district: str | None = None
    subject: str | None = None
    topic: str
    data: dict[str, Any]


class AlertDetail(BaseModel):
    item: AlertItem
    evidence: list[EvidenceEvent]
    missing_evidence: list[str] = Field(
        description="Evidence ids whose events the view no longer (or does not yet) hold."
    )


class NoteBody(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class ResolveBody(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


class CommentBody(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class AssignBody(BaseModel):
    department: str = Field(pattern=DEPARTMENT_PATTERN)


class Accepted(BaseModel):
    """The command was accepted by Kafka; the change arrives on the stream when applied."""

    command_id: str
    alert_id: str
    action: str
    expected_status: Status


def _item(entry: AppliedChange | None, alert: Alert) -> AlertItem:
    if entry is None:  # not reachable: every held alert has an entry; keeps types honest
        now = utcnow()
        seq, kind, received, first_seen = 0, "firing", now, now
    else:
        seq, kind, received, first_seen = (
            entry.seq,
            entry.kind,
            entry.received_at,
            entry.first_seen_at,
        )
    return AlertItem(
        alert=alert,
        seq=seq,
        kind=kind,
        received_at=received,
        first_seen_at=first_seen,
        needs_acknowledgement=needs_acknowledgement(alert),
    )


def _visible(model: ReadModel, who: Caller, alert_id: str) -> Alert:
    alert = model.alerts.get(alert_id)
    if alert is None or not who.principal.sees(alert):
        raise _not_found()
    return alert


# --- sessions ---------------------------------------------------------------------------------


def _session_info(p: Principal) -> SessionInfo:
    return SessionInfo(name=p.name, role=p.role, department=p.department, can_act=p.can_act)


@router.post(
    "/session",
    response_model=SessionInfo,
    responses={**UNAUTHORIZED, **BAD_BODY},
    summary="Sign in: trade a token (body or bearer) for a session cookie",
)
def sign_in(
    request: Request,
    response: Response,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    body: Annotated[SignIn | None, Body()] = None,
) -> SessionInfo:
    ctx = _ctx(request)
    token = (
        body.token if body and body.token else (credentials.credentials if credentials else None)
    )
    found = ctx.tokens.authenticate(token) if token else None
    if found is None:
        raise ApiError(401, "unauthorized", "that token is not valid")
    response.set_cookie(
        SESSION_COOKIE,
        ctx.sessions.issue(found),
        max_age=ctx.sessions.ttl_s,
        httponly=True,
        samesite="strict",
        secure=ctx.secure_cookie,
        path="/",
    )
    return _session_info(found)


@router.get("/session", response_model=SessionInfo, responses=UNAUTHORIZED, summary="Who am I")
def whoami(who: Who) -> SessionInfo:
    return _session_info(who.principal)


@router.delete(
    "/session",
    status_code=204,
    responses={**UNAUTHORIZED, 403: {"model": Problem}},
    summary="Sign out",
)
def sign_out(who: Actor, response: Response) -> Response:
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- alerts -----------------------------------------------------------------------------------


@router.get("/alerts", response_model=AlertList, responses=UNAUTHORIZED, summary="List alerts")
def list_alerts(
    request: Request,
    who: Who,
    status: Annotated[list[Status], Query()] = [],  # noqa: B006 (FastAPI reads, never mutates)
    severity: Annotated[list[Severity], Query()] = [],  # noqa: B006
    category: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="last event at or after")] = None,
    until: Annotated[datetime | None, Query(description="first event at or before")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="text in id, rule, headline")
    ] = None,
    sort: Annotated[Literal["severity", "recent"], Query()] = "severity",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AlertList:
    model = _ctx(request).model
    p = who.principal
    found = model.select(
        p.sees,
        status=status,
        severity=[s.value for s in severity],
        category=category,
        district=district,
        department=department,
        since=_aware(since),
        until=_aware(until),
        text=q,
    )
    if sort == "severity":
        open_first = {"firing": 0, "acknowledged": 1, "resolved": 2}
        found.sort(
            key=lambda a: (open_first[a.status], -a.severity.rank, -a.last_event_time.timestamp())
        )
    else:
        found.sort(key=lambda a: -model.last_entry[a.alert_id].seq)
    page = found[offset : offset + limit]
    return AlertList(
        items=[_item(model.last_entry.get(a.alert_id), a) for a in page],
        total=len(found),
        cursor=str(model.cursor),
        facets=Facets(**model.facets(p.sees)),
    )


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertDetail,
    responses={**UNAUTHORIZED, **NOT_VISIBLE},
    summary="One alert with its evidence timeline",
)
def get_alert(request: Request, who: Who, alert_id: str) -> AlertDetail:
    model = _ctx(request).model
    alert = _visible(model, who, alert_id)
    found, missing = model.evidence.timeline(alert.evidence)
    return AlertDetail(
        item=_item(model.last_entry.get(alert_id), alert),
        evidence=[EvidenceEvent.model_validate(r) for r in found],
        missing_evidence=missing,
    )


@router.get(
    "/alerts/{alert_id}/cap",
    response_class=Response,
    responses={
        **UNAUTHORIZED,
        **NOT_VISIBLE,
        200: {"content": {cap.MEDIA_TYPE: {"schema": {"type": "string"}}}, "description": "CAP"},
    },
    summary="The alert as a CAP 1.2 XML message",
)
def get_cap(request: Request, who: Who, alert_id: str) -> Response:
    ctx = _ctx(request)
    alert = _visible(ctx.model, who, alert_id)
    return Response(
        cap.to_cap(alert, sender=ctx.cap_sender),
        media_type=cap.MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="alert-{alert.alert_id[:64]}.xml"'},
    )


async def _act(
    request: Request,
    who: Caller,
    alert_id: str,
    action: Action,
    *,
    note: str | None = None,
    department: str | None = None,
) -> Accepted:
    ctx = _ctx(request)
    try:
        cmd, change = prepare(
            ctx.model, who.principal, alert_id, action, note=note, department=department
        )
    except NotVisible:
        raise _not_found() from None
    except NotAllowed as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except Rejected as exc:
        raise ApiError(403 if exc.reason == "forbidden" else 409, exc.reason, exc.detail) from None
    if ctx.sender is None:
        raise ApiError(503, "read-only", "this view was started without a command producer")
    try:
        await ctx.sender.send(cmd)
    except Exception as exc:  # kafka errors are many; the person needs to know it did not go
        raise ApiError(503, "not-sent", f"the command could not be sent: {exc}") from None
    return Accepted(
        command_id=cmd.command_id,
        alert_id=alert_id,
        action=action,
        expected_status=change.alert.status,
    )


@router.post(
    "/alerts/{alert_id}/acknowledge",
    status_code=202,
    response_model=Accepted,
    responses=ACTION_ERRORS,
    summary="Acknowledge: someone is on it",
)
async def acknowledge(
    request: Request, who: Actor, alert_id: str, body: Annotated[NoteBody | None, Body()] = None
) -> Accepted:
    return await _act(request, who, alert_id, "acknowledge", note=body.note if body else None)


@router.post(
    "/alerts/{alert_id}/resolve",
    status_code=202,
    response_model=Accepted,
    responses=ACTION_ERRORS,
    summary="Resolve, with a note saying why",
)
async def resolve(request: Request, who: Actor, alert_id: str, body: ResolveBody) -> Accepted:
    return await _act(request, who, alert_id, "resolve", note=body.note)


@router.post(
    "/alerts/{alert_id}/comment",
    status_code=202,
    response_model=Accepted,
    responses=ACTION_ERRORS,
    summary="Add a comment",
)
async def comment(request: Request, who: Actor, alert_id: str, body: CommentBody) -> Accepted:
    return await _act(request, who, alert_id, "comment", note=body.text)


@router.post(
    "/alerts/{alert_id}/assign",
    status_code=202,
    response_model=Accepted,
    responses=ACTION_ERRORS,
    summary="Assign to a department (it then sees and may act on the alert)",
)
async def assign(request: Request, who: Actor, alert_id: str, body: AssignBody) -> Accepted:
    return await _act(request, who, alert_id, "assign", department=body.department)


# --- stream -----------------------------------------------------------------------------------


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        **UNAUTHORIZED,
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Server-Sent Events: alert, hello, heartbeat, reset, unauthorized.",
        },
    },
    summary="Alert changes as Server-Sent Events, resumable with Last-Event-ID",
)
async def stream(
    request: Request,
    who: Who,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
    after: Annotated[
        str | None, Query(max_length=64, description="cursor from /api/alerts")
    ] = None,
) -> StreamingResponse:
    ctx = _ctx(request)
    credentials = await bearer_scheme(request)
    cookie = request.cookies.get(SESSION_COOKIE)

    def still_allowed() -> bool:
        try:
            _resolve(request, credentials, cookie)
        except ApiError:
            return False
        return True

    return StreamingResponse(
        alert_stream(
            ctx.model,
            who.principal,
            last_event_id or after,
            still_allowed=still_allowed,
            disconnected=request.is_disconnected,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --- departments and map ----------------------------------------------------------------------


@router.get(
    "/departments/ranking",
    response_model=Ranking,
    responses=UNAUTHORIZED,
    summary="Red/black list: departments by SLA compliance over the rolling window",
)
def ranking(request: Request, who: Who, size: Annotated[int, Query(ge=1, le=50)] = 3) -> Ranking:
    sla = _ctx(request).model.sla
    now = sla.clock(utcnow())
    sla.prune(now)
    return sla.ranking(now, size=size)


@router.get(
    "/map", response_model=CityMap, responses=UNAUTHORIZED, summary="City grid and alert cells"
)
def city_map(request: Request, who: Who) -> CityMap:
    model = _ctx(request).model
    background, labels = model.city.background()
    visible = [a for a in model.alerts.values() if who.principal.sees(a)]
    return CityMap(
        resolution=RESOLUTION,
        background=background,
        background_capped=model.city.capped,
        districts=labels,
        alerts=alert_cells(visible),
    )
