"""Attempts to get around the control view's scoping, on every endpoint including the stream
and the CAP export: no token, a wrong token, forged or expired cookies, cross-site requests,
another department's alert ids, and enumeration of ids."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.view.auth import SESSION_COOKIE, Principal, Sessions, hash_token
from tests.view.support import (
    TOKENS,
    CommandApplier,
    Hub,
    RunningView,
    SseReader,
    bearer,
    make_alert,
    serve_view,
    wait_for,
)

SECRET = "test-secret-0123456789"  # the Hub's view_session_secret


@pytest.fixture(scope="module")
def view(hub: Hub) -> Iterator[RunningView]:
    hub.publish_alert(make_alert("mine-1", departments=["safety"]))
    hub.publish_alert(make_alert("theirs-1", departments=["security"], headline="theirs"))
    with CommandApplier(hub), serve_view(hub) as v:
        with v.client("operator") as c:
            wait_for(lambda: c.get("/api/alerts").json()["total"] >= 2)
        yield v


# Every route of the API: (method, path template, json body). {id} is an alert id.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/alerts", None),
    ("GET", "/api/alerts/{id}", None),
    ("GET", "/api/alerts/{id}/cap", None),
    ("POST", "/api/alerts/{id}/acknowledge", {}),
    ("POST", "/api/alerts/{id}/resolve", {"note": "n"}),
    ("POST", "/api/alerts/{id}/comment", {"text": "t"}),
    ("POST", "/api/alerts/{id}/assign", {"department": "safety"}),
    ("GET", "/api/stream", None),
    ("GET", "/api/departments/ranking", None),
    ("GET", "/api/map", None),
    ("GET", "/api/session", None),
    ("DELETE", "/api/session", None),
]
ALERT_ROUTES = [r for r in ROUTES if "{id}" in r[1]]


def call(
    view: RunningView,
    route: tuple[str, str, dict[str, Any] | None],
    alert_id: str = "mine-1",
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> httpx.Response:
    method, path, body = route
    url = view.url + path.replace("{id}", alert_id)
    with httpx.Client(timeout=10, cookies=cookies) as c:
        if path == "/api/stream":  # read only the head of the stream
            with c.stream(method, url, headers=headers) as r:
                if r.status_code == 200:
                    return r
                r.read()
                return r
        return c.request(method, url, headers=headers, json=body)


def ids(route: tuple[str, str, dict[str, Any] | None]) -> str:
    return f"{route[0]} {route[1]}"


@pytest.mark.parametrize("route", ROUTES, ids=ids)
def test_no_token_is_refused(view: RunningView, route: Any) -> None:
    r = call(view, route)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["reason"] == "unauthorized"


@pytest.mark.parametrize("route", ROUTES, ids=ids)
@pytest.mark.parametrize(
    "auth",
    [
        "Bearer wrong-token-0123456789",
        "Bearer " + TOKENS["operator"][0] + "x",
        "Bearer " + hash_token(TOKENS["operator"][0]),  # the stored hash is not a token
        "Basic " + "b3A6b3A=",
    ],
    ids=["wrong", "near-miss", "the-hash", "basic"],
)
def test_a_wrong_token_is_refused(view: RunningView, route: Any, auth: str) -> None:
    assert call(view, route, headers={"Authorization": auth}).status_code == 401


def forged_cookies() -> dict[str, str]:
    op = Principal("x", "operator", hash_token(TOKENS["operator"][0]))
    genuine = Sessions(hashlib.sha256(SECRET.encode()).digest()).issue(op)
    digest, expires, sig = genuine.split(".")
    return {
        "other-key": Sessions(b"k" * 32).issue(op),
        "expired": Sessions(hashlib.sha256(SECRET.encode()).digest()).issue(
            op, now=time.time() - 86400
        ),
        "tampered-expiry": f"{digest}.{int(expires) + 3600}.{sig}",
        "unknown-hash": Sessions(hashlib.sha256(SECRET.encode()).digest()).issue(
            Principal("x", "operator", hash_token("not-in-the-file"))
        ),
        "garbage": "a.b.c",
        "empty-sig": f"{digest}.{expires}.",
    }


@pytest.mark.parametrize("route", ROUTES, ids=ids)
@pytest.mark.parametrize("kind", list(forged_cookies()))
def test_a_forged_session_cookie_is_refused(view: RunningView, route: Any, kind: str) -> None:
    r = call(
        view,
        route,
        headers={"X-OneNet-CSRF": "1"},
        cookies={SESSION_COOKIE: forged_cookies()[kind]},
    )
    assert r.status_code == 401


@pytest.mark.parametrize("route", ALERT_ROUTES, ids=ids)
def test_another_departments_alert_is_indistinguishable_from_an_unknown_one(
    view: RunningView, route: Any
) -> None:
    headers = bearer("safety")
    theirs = call(view, route, "theirs-1", headers=headers)
    unknown = call(view, route, "no-such-alert-id", headers=headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.content == unknown.content
    assert "theirs" not in theirs.text or theirs.json()["detail"] == unknown.json()["detail"]


def test_ids_cannot_be_enumerated(view: RunningView) -> None:
    """Lists, searches, facets, the map and the stream of a department hold only its alerts."""
    with view.client("safety") as c:
        listing = c.get("/api/alerts", params={"limit": 1000}).json()
        searched = c.get("/api/alerts", params={"q": "theirs"}).json()
        mapped = c.get("/api/map").json()
    seen = {i["alert"]["alert_id"] for i in listing["items"]}
    assert "mine-1" in seen
    assert "theirs-1" not in seen
    assert searched["total"] == 0
    assert "security" not in listing["facets"]["departments"]
    assert all("theirs-1" not in cell["alert_ids"] for cell in mapped["alerts"])
    with SseReader(
        f"{view.url}/api/stream?after={listing['cursor'].split('-')[0]}-0", bearer("safety")
    ) as s:
        wait_for(lambda: s.of("hello"))
        assert "theirs-1" not in s.alert_ids()


@pytest.mark.parametrize("route", [r for r in ROUTES if r[0] == "POST"], ids=ids)
def test_a_viewer_may_read_but_not_act(view: RunningView, route: Any) -> None:
    r = call(view, route, "mine-1", headers=bearer("viewer"))
    assert r.status_code == 403
    assert r.json()["reason"] == "forbidden"
    with view.client("viewer") as c:
        assert c.get("/api/alerts/mine-1").status_code == 200
        assert c.get("/api/alerts/mine-1/cap").status_code == 200


def session(view: RunningView, who: str) -> dict[str, str]:
    r = httpx.post(f"{view.url}/api/session", json={"token": TOKENS[who][0]})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    return {SESSION_COOKIE: r.cookies[SESSION_COOKIE]}


def test_session_cookie_works_for_reads_and_the_stream(view: RunningView) -> None:
    cookies = session(view, "safety")
    with httpx.Client(base_url=view.url, cookies=cookies) as c:
        assert c.get("/api/session").json()["role"] == "department:safety"
        assert c.get("/api/alerts/mine-1").status_code == 200
        assert c.get("/api/alerts/theirs-1").status_code == 404
    with SseReader(f"{view.url}/api/stream", {}, cookies=cookies) as s:
        assert s.status == 200
        wait_for(lambda: s.of("hello"))


def test_cookie_changes_need_the_csrf_header_or_the_public_origin(view: RunningView) -> None:
    cookies = session(view, "operator")
    url = f"{view.url}/api/alerts/mine-1/comment"
    body = {"text": "hello"}
    with httpx.Client(cookies=cookies) as c:
        plain = c.post(url, json=body)
        assert plain.status_code == 403
        assert plain.json()["reason"] == "csrf"
        evil = c.post(url, json=body, headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        assert c.post(url, json=body, headers={"X-OneNet-CSRF": "1"}).status_code == 202
        assert c.post(url, json=body, headers={"Origin": view.url}).status_code == 202
        # The Host header is the client's to choose: a matching forged pair proves nothing.
        forged = {"Origin": "http://evil.example", "Host": "evil.example"}
        refused = c.post(url, json=body, headers=forged)
        assert refused.status_code == 403
        assert refused.json()["reason"] == "csrf"
        # bearer requests are not cookie-driven: no CSRF proof needed
    with view.client("operator") as b:
        assert b.post(url, json=body).status_code == 202


def test_sign_in_refuses_bad_tokens_and_sign_out_clears(view: RunningView) -> None:
    assert httpx.post(f"{view.url}/api/session", json={"token": "nope"}).status_code == 401
    assert httpx.post(f"{view.url}/api/session", json={}).status_code == 401
    cookies = session(view, "viewer")
    with httpx.Client(base_url=view.url, cookies=cookies) as c:
        r = c.delete("/api/session", headers={"X-OneNet-CSRF": "1"})
        assert r.status_code == 204
        assert (
            'onenet_session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
        )


def test_revoking_a_token_ends_its_sessions(hub: Hub, view: RunningView) -> None:
    cookies = session(view, "service")
    path = hub.settings.view_tokens_file
    original = path.read_text()
    try:
        kept = original.replace(hash_token(TOKENS["service"][0]), "0" * 64)
        path.write_text(kept)
        with httpx.Client(base_url=view.url, cookies=cookies) as c:
            wait_for(lambda: c.get("/api/session").status_code == 401, timeout=5)
        assert httpx.get(f"{view.url}/api/alerts", headers=bearer("service")).status_code == 401
    finally:
        path.write_text(original)
