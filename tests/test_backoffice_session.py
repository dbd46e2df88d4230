"""Browser sessions and the back office's files, over real HTTP against a real daemon: who gets in, and what a session may do."""

from __future__ import annotations

import gzip

import pytest

from appliance.api.sessions import COOKIE, IDLE, IN_ALL, LIFETIME, MAX_SESSIONS, PER_CLIENT, WINDOW, Sessions, SignInLimit
from appliance.core.operators import Operator
from appliance.store.db import Store
from tests.conftest import CASHIER, MANAGER, SUPERVISOR, make_settings
from tests.test_api import serve


async def sign_in(client, code: str, pin: str, **headers) -> tuple[int, dict, str | None]:
    async with client.session.post(client.base + "/session", json={"code": code, "pin": pin}, headers=headers) as r:
        cookie = r.cookies.get(COOKIE)
        if cookie is not None:
            assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
            assert int(cookie["max-age"]) == LIFETIME
        return r.status, await r.json(), cookie.value if cookie is not None else None


async def as_browser(client, method: str, path: str, sid: str, csrf: str | None = None, **kwargs) -> tuple[int, dict]:
    headers = {"Cookie": f"{COOKIE}={sid}", **kwargs.pop("headers", {})}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    async with client.session.request(method, client.base + path, headers=headers, **kwargs) as r:
        return r.status, await r.json()


def test_a_manager_signs_in_and_the_session_carries_the_api_with_csrf_on_changes(tmp_path):
    async def scenario(client, daemon):
        status, body, sid = await sign_in(client, *MANAGER)
        assert status == 200 and body["operator"] == {"code": MANAGER[0], "name": "Manager", "role": "manager"}
        assert sid and body["csrf"] and body["idle_s"] == IDLE
        assert (await as_browser(client, "GET", "/dashboard", sid))[0] == 200
        product = {"name": "新品", "unit": "piece", "price": 500}
        # A change without the page's token, or from another site, is refused and changes nothing.
        status, body = await as_browser(client, "PUT", "/products/NEW1", sid, json=product)
        assert status == 403 and "X-CSRF-Token" in body["message"]
        status, _ = await as_browser(client, "PUT", "/products/NEW1", sid, "wrong", json=product)
        assert status == 403
        csrf = (await as_browser(client, "GET", "/session", sid))[1]["csrf"]
        status, _ = await as_browser(client, "PUT", "/products/NEW1", sid, csrf, json=product,
                                     headers={"Origin": "http://evil.example"})  # fmt: skip
        assert status == 403
        assert (await client.call("GET", "/products/NEW1"))[0] == 404
        status, saved = await as_browser(client, "PUT", "/products/NEW1", sid, csrf, json=product)
        assert status == 200 and saved["price"] == 500
        # Signing out ends it for every call.
        assert (await as_browser(client, "DELETE", "/session", sid, csrf))[0] == 200
        status, body = await as_browser(client, "GET", "/dashboard", sid)
        assert status == 401 and "sign in again" in body["message"]
        assert (await as_browser(client, "GET", "/session", sid))[0] == 401

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_only_a_manager_gets_in_and_wrong_pins_are_limited_without_locking_the_till(tmp_path):
    async def scenario(client, daemon):
        for who in (CASHIER, SUPERVISOR):  # the right PIN, the wrong role: said plainly
            status, body, sid = await sign_in(client, *who)
            assert status == 403 and "for a manager" in body["message"] and sid is None
        # Wrong PINs, an unknown code and nonsense all get the same words, naming no one.
        answers = set()
        for code, pin in ((MANAGER[0], "0000"), (CASHIER[0], "0000"), ("7777", "1234"), ("12ab", "<script>")):
            status, body, _ = await sign_in(client, code, pin)
            answers.add((status, body["message"]))
        assert answers == {(403, "unknown operator code or wrong PIN")}
        status, body, sid = await sign_in(client, MANAGER[0], "0001")  # the fifth wrong one from this address
        assert status == 403
        status, body, sid = await sign_in(client, *MANAGER)  # now even the right PIN waits
        assert status == 429 and "try again in 15 minute(s)" in body["message"] and sid is None
        # The till never counted them: the cashier and the manager sign in at the keypad as ever.
        assert (await client.call("POST", "/till/sign-in", json={"code": CASHIER[0], "pin": CASHIER[1]}))[0] == 200
        with Store(daemon.settings.database_path) as store:
            assert store.conn.execute("SELECT max(failed_attempts) FROM operators").fetchone()[0] == 0
        async with client.session.post(client.base + "/session", data=b"\xff{") as r:
            assert r.status in (400, 429)

    serve(make_settings(tmp_path, security={"pin_attempts": 3}), tmp_path, scenario)


def test_a_manager_locked_out_at_the_till_is_locked_out_here_too(tmp_path):
    async def scenario(client, daemon):
        for _ in range(3):
            await client.call("POST", "/till/sign-in", json={"code": MANAGER[0], "pin": "0000"})
        status, body, sid = await sign_in(client, *MANAGER)
        assert status == 403 and body["message"] == "unknown operator code or wrong PIN" and sid is None

    serve(make_settings(tmp_path, security={"pin_attempts": 3}), tmp_path, scenario)


def test_the_back_office_answers_only_to_the_tills_own_names(tmp_path):
    """A page whose own name was made to resolve to the till (DNS rebinding) cannot sign in or use a session."""
    async def scenario(client, daemon):
        status, body, _ = await sign_in(client, *MANAGER, Host="evil.example", Origin="http://evil.example")
        assert status == 403 and "not served under the name 'evil.example'" in body["message"]
        _, _, sid = await sign_in(client, *MANAGER)
        assert (await as_browser(client, "GET", "/dashboard", sid, headers={"Host": "evil.example:8080"}))[0] == 403
        assert (await as_browser(client, "GET", "/dashboard", sid, headers={"Host": "till1.shop.lan"}))[0] == 200
        assert (await as_browser(client, "GET", "/dashboard", sid, headers={"Host": "[::1]:8080"}))[0] == 200
        token = {"Authorization": f"Bearer {client.tokens['cashier']}", "Host": "evil.example"}
        async with client.session.get(client.base + "/status", headers=token) as r:
            assert r.status == 200  # a bearer token is a script's, never sent by a browser on its own

    serve(make_settings(tmp_path, api={"hostnames": ["till1.shop.lan"]}), tmp_path, scenario)


def test_a_session_ends_when_its_operator_is_no_longer_a_manager_and_a_token_still_works(tmp_path):
    async def scenario(client, daemon):
        _, _, sid = await sign_in(client, *MANAGER)
        assert (await as_browser(client, "GET", "/reports", sid))[0] == 200
        with Store(daemon.settings.database_path) as store:
            store.conn.execute("UPDATE operators SET role = 'supervisor' WHERE code = ?", (MANAGER[0],))
        status, body = await as_browser(client, "GET", "/reports", sid)  # a supervisor's route, and still out
        assert status == 401 and "sign in again" in body["message"]
        assert (await as_browser(client, "GET", "/session", sid))[0] == 401
        _, _, sid = await sign_in(client, *SUPERVISOR)
        assert sid is None
        assert (await client.call("GET", "/status"))[0] == 200  # the cashier's bearer token is untouched

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_sessions_end_after_idle_time_and_lifetime_and_the_oldest_goes_first():
    now = [1000.0]
    sessions = Sessions(clock=lambda: now[0])
    boss = Operator("9001", "Manager", "manager")
    first = sessions.open(boss)
    now[0] += IDLE - 1
    assert sessions.get(first.id) is first  # in use: the idle time restarts
    now[0] += IDLE - 1
    assert sessions.get(first.id) is first
    now[0] += IDLE + 1
    assert sessions.get(first.id) is None
    busy = sessions.open(boss)
    for _ in range(LIFETIME // (IDLE - 60) + 1):
        now[0] += IDLE - 60
        found = sessions.get(busy.id)
    assert found is None  # used all day long, it still ends after its lifetime
    crowd = [sessions.open(boss) for _ in range(MAX_SESSIONS + 1)]
    assert sessions.get(crowd[0].id) is None and sessions.get(crowd[-1].id) is crowd[-1]
    assert len({s.id for s in crowd}) == len(crowd) and len({s.csrf for s in crowd}) == len(crowd)


def test_the_back_office_files_are_served_with_etag_gzip_and_a_strict_policy(tmp_path):
    async def scenario(client, daemon):
        async with client.session.get(client.base + "/", allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/office/"
        async with client.session.get(client.base + "/office/", headers={"Accept-Encoding": "identity"}) as r:
            page = await r.text()
            assert r.status == 200 and r.content_type == "text/html" and '<div id="app">' in page
            assert "default-src 'self'" in r.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
            etag = r.headers["ETag"]
        async with client.session.get(client.base + "/office/", headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        async with client.session.get(client.base + "/office/app.js", headers={"Accept-Encoding": "gzip"},
                                      auto_decompress=False) as r:  # fmt: skip
            assert r.content_type == "text/javascript" and r.headers["Content-Encoding"] == "gzip"
            assert b"export async function start" in gzip.decompress(await r.read())
        for bad in ("/office/nothing.js", "/office/..%2fappliance%2fconfig.py", "/office/%2e%2e/server.py"):
            async with client.session.get(client.base + bad) as r:
                assert r.status == 404, bad
        async with client.session.get(client.base + "/dashboard") as r:  # the data needs a session or a token
            assert r.status == 401

    serve(make_settings(tmp_path), tmp_path, scenario)


@pytest.mark.parametrize("cookie", ["", "x" * 5000, "../../etc/passwd", "\u00e9"])
def test_a_forged_or_odd_session_cookie_is_just_not_signed_in(tmp_path, cookie):
    async def scenario(client, daemon):
        async with client.session.get(client.base + "/dashboard",
                                      headers={"Cookie": f"{COOKIE}={cookie}".encode("utf-8").decode("latin-1")}) as r:
            assert r.status == 401, await r.text()

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_wrong_sign_ins_wait_per_address_and_in_all_and_the_wait_runs_out():
    now = [0.0]
    limit = SignInLimit(clock=lambda: now[0])
    for _ in range(PER_CLIENT):
        assert limit.wait("10.0.0.5") == 0
        limit.failed("10.0.0.5")
    assert limit.wait("10.0.0.5") == WINDOW + 1 and limit.wait("10.0.0.6") == 0
    for n in range(IN_ALL - PER_CLIENT):  # many addresses, a few guesses each
        limit.failed(f"10.0.1.{n}")
    assert limit.wait("10.0.0.99") > 0  # the network as a whole has had its share
    now[0] += WINDOW
    assert limit.wait("10.0.0.5") == 0 and limit.wait("10.0.0.99") == 0
