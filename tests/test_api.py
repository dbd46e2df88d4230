"""The local API end to end: a real aiohttp server inside a real Daemon on simulated devices, called over HTTP."""

from __future__ import annotations

import aiohttp
import pytest

from appliance.api import auth, server
from appliance.cli import main
from appliance.core.clock import ManualClock
from appliance.core.till import Till
from appliance.store.db import Store
from tests.conftest import CASHIER, MANAGER, RICE, START, SUPERVISOR, WATER, make_settings
from tests.test_daemon import prepared, run_daemon

ROLES = {"cashier": CASHIER, "supervisor": SUPERVISOR, "manager": MANAGER}


def issue_tokens(settings) -> dict[str, str]:
    """One token per role, issued as `appliance api token add` does."""
    with Store(settings.database_path) as store:
        till = Till(settings, store, ManualClock(START))
        return {role: auth.issue(store, till.operators.get(code), label=role, at=START)
                for role, (code, _) in ROLES.items()}


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str, tokens: dict[str, str]):
        self.session, self.base, self.tokens = session, base, tokens

    async def call(self, method: str, path: str, *, role: str | None = "cashier", token: str | None = None,
                   **kwargs) -> tuple[int, object]:
        headers = {"Authorization": f"Bearer {token or self.tokens[role]}"} if (role or token) else {}
        async with self.session.request(method, self.base + path, headers=headers, **kwargs) as response:
            assert response.content_type == "application/json"
            return response.status, await response.json()


def serve(settings, tmp_path, scenario, *, prepare=True):
    """Run `scenario(client, daemon)` against the API of a running daemon; returns the daemon."""
    if prepare:
        prepared(settings)
    tokens = issue_tokens(settings)

    async def with_api(daemon, systemd):
        runner = await server.start(daemon, port=0)
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession() as session:
                await scenario(Client(session, f"http://{host}:{port}", tokens), daemon)
        finally:
            await runner.cleanup()

    daemon, _ = run_daemon(settings, with_api, tmp_path)
    return daemon


async def sign_in_and_sell(client: Client, *codes: str) -> dict:
    status, body = await client.call("POST", "/till/sign-in", json={"code": CASHIER[0], "pin": CASHIER[1]})
    assert status == 200 and body["state"] == "idle"
    for code in codes:
        status, body = await client.call("POST", "/till/scan", json={"code": code})
        assert status == 200 and body["state"] == "in_sale", body
    assert (await client.call("POST", "/till/subtotal", json={}))[0] == 200
    status, body = await client.call("POST", "/till/tender", json={"kind": "cash", "amount": 100000})
    assert status == 200 and body["state"] == "receipt"
    return body["document"]


def test_a_sale_through_the_api_shows_in_the_report_and_is_printed(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        doc = await sign_in_and_sell(client, RICE, WATER)
        assert doc["receipt_no"] == "T01-000001" and len(doc["lines"]) == 2
        status, till = await client.call("GET", "/till")
        assert status == 200 and till["state"] == "receipt" and till["operator"] == CASHIER[0]
        status, report = await client.call("GET", "/reports/sales-day",
                                           role="manager")
        assert status == 200, report
        assert report["rows"] and report["report"] == "sales-day"
        status, receipt = await client.call("GET", "/receipts/T01-000001")
        assert status == 200 and receipt["total"] == doc["total"]

    daemon = serve(settings, tmp_path, scenario)
    assert b"T01-000001" in bytes(daemon.manager.device("printer").output)  # the daemon printed it, as at the keypad


def test_a_return_of_a_receipt_refunds_and_restocks(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        doc = await sign_in_and_sell(client, RICE)
        status, back = await client.call("POST", "/returns", json={"receipt": doc["receipt_no"], "reason": "damaged"})
        assert status == 201, back
        assert back["kind"] == "return" and back["total"] == doc["total"]
        status, again = await client.call("POST", "/returns", json={"receipt": doc["receipt_no"]})
        assert status == 409 and "already been returned" in again["message"]

    serve(settings, tmp_path, scenario)
    with Store(settings.database_path) as store:
        assert store.scalar("SELECT count(*) FROM sales WHERE kind = 'return'") == 1


def test_stock_receive_moves_on_hand_and_the_average_cost(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        status, done = await client.call("POST", "/stock/receive", json={
            "lines": [{"sku": "RICE5KG", "quantity": 10000, "unit_cost": 3000}], "document": "DN-1"})
        assert status == 201, done
        assert done["lines"][0]["on_hand"] == 10000 and done["lines"][0]["cost_after"] == 3000
        status, levels = await client.call("GET", "/stock")
        assert status == 200 and {"sku": "RICE5KG", "on_hand": 10000}.items() <= levels[0].items()
        status, bad = await client.call("POST", "/stock/receive", json={
            "lines": [{"sku": "NOSUCH", "quantity": 1000, "unit_cost": 1}]})
        assert status == 404 and bad["error"] == "not_found"

    serve(settings, tmp_path, scenario)


def test_a_member_added_is_found_by_phone_and_a_duplicate_is_refused(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        status, member = await client.call("POST", "/members", json={
            "phone": "13800138000", "name": "Li Lei", "consent": True, "tags": ["vip"]})
        assert status == 201 and member["name"] == "Li Lei" and member["consent_at"]
        status, found = await client.call("GET", "/members/13800138000")
        assert status == 200 and found["id"] == member["id"] and found["points"] == 0
        status, listed = await client.call("GET", "/members?search=Li")
        assert [m["id"] for m in listed] == [member["id"]]
        status, again = await client.call("POST", "/members", json={"phone": "13800138000", "name": "Han"})
        assert status == 409 and "already exists" in again["message"]
        status, bad = await client.call("POST", "/members", json={"phone": "12", "name": "Han"})
        assert status == 422 and bad["error"] == "input"
        assert (await client.call("GET", "/members/13900000000"))[0] == 404

    serve(settings, tmp_path, scenario)


def test_device_status_lists_every_simulated_device(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        status, devices = await client.call("GET", "/devices")
        assert status == 200
        assert {d["name"] for d in devices} == set(daemon.manager.states)
        assert all(d["online"] for d in devices if d["kind"] == "printer")
        status, summary = await client.call("GET", "/status")
        assert status == 200 and summary["state"] == "locked" and summary["selling"] is True

    serve(settings, tmp_path, scenario)


def test_tokens_and_roles_guard_every_route(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        assert (await client.call("GET", "/status", role=None))[0] == 401
        assert (await client.call("GET", "/status", token=auth.PREFIX + "x" * 43))[0] == 401
        status, refused = await client.call("GET", "/reports/sales-day")  # a cashier, a manager's route
        assert status == 403 and "needs a manager" in refused["message"]
        assert (await client.call("GET", "/reports/sales-day", role="supervisor"))[0] == 403
        assert (await client.call("POST", "/catalog/import", json={"csv": "sku\n"}))[0] == 403
        assert (await client.call("GET", "/reports/sales-day", role="manager"))[0] == 200
        status, spec = await client.call("GET", "/openapi.json", role=None)  # the document needs no token
        assert status == 200 and spec["openapi"].startswith("3.")

    serve(settings, tmp_path, scenario)


def test_a_revoked_token_stops_working(tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path)
    prepared(settings)
    config = tmp_path / "appliance.toml"
    config.write_text(settings.to_toml(), encoding="utf-8")
    monkeypatch.setenv("APPLIANCE_PIN", CASHIER[1])
    assert main(["--config", str(config), "api", "token", "add", "--operator", CASHIER[0], "--label", "pc"]) == 0
    token = capsys.readouterr().out.splitlines()[0]
    assert main(["--config", str(config), "api", "token", "list"]) == 0
    assert "pc" in capsys.readouterr().out and token not in capsys.readouterr().out
    with Store(settings.database_path) as store:  # only the hash is kept
        assert store.scalar("SELECT count(*) FROM api_tokens WHERE prefix = ?", (token[:8],)) == 1
        assert token.encode() not in b"".join(r[0] for r in store.conn.execute("SELECT token_hash FROM api_tokens"))

    async def scenario(client, daemon):
        assert (await client.call("GET", "/status", token=token))[0] == 200
        await daemon.run_in_worker(lambda: auth.revoke(daemon.store, 1, at=START))
        assert (await client.call("GET", "/status", token=token))[0] == 401

    serve(settings, tmp_path, scenario, prepare=False)


def test_bad_requests_get_json_errors_naming_the_field(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        status, body = await client.call("POST", "/till/scan", json={"code": RICE, "quantity": "2"})
        assert status == 400 and "body.quantity" in body["message"]
        status, body = await client.call("POST", "/till/scan", data=b"{not json")
        assert status == 400
        status, body = await client.call("POST", "/till/scan", json={"code": RICE})  # locked: nobody signed in
        assert status == 409 and body["error"] == "refused" and "sign in" in body["message"]
        status, body = await client.call("GET", "/products?limit=99999")
        assert status == 400 and body["error"] == "bad_request"
        assert (await client.call("GET", "/no/such/route"))[0] == 404
        status, body = await client.call("GET", "/products/COLA330")
        assert status == 200 and body["barcodes"]

    serve(settings, tmp_path, scenario)


def test_shifts_x_report_and_a_cashier_needing_a_supervisor_to_close(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        status, current = await client.call("GET", "/shifts/current")
        assert status == 200 and current["shift"]["opening_float"] == 10000
        await client.call("POST", "/till/sign-in", json={"code": CASHIER[0], "pin": CASHIER[1]})
        assert (await client.call("POST", "/shifts/x-report", json={}))[0] == 200
        assert (await client.call("POST", "/shifts/close", json={"counted": 10000}))[0] == 403
        status, body = await client.call("POST", "/shifts/close", json={"counted": 10000}, role="supervisor")
        assert status == 409 and "supervisor" in body["message"]  # the till's own operator is a cashier

    serve(settings, tmp_path, scenario)


def test_a_network_bind_needs_lan_opt_in(tmp_path):
    settings = make_settings(tmp_path, api={"bind": "0.0.0.0"})
    with pytest.raises(Exception, match="lan = true"):
        server._address(settings)
    assert server._address(make_settings(tmp_path, api={"bind": "0.0.0.0", "lan": True})) == "0.0.0.0"
