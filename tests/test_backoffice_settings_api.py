"""The Settings page's API end to end: a real daemon and aiohttp server on simulated devices, called over HTTP."""

from __future__ import annotations

import json

from appliance import config
from appliance.store.db import Store
from tests.conftest import CASHIER, RICE, make_settings
from tests.test_api import serve

HEADER = "# Written by appliance provision apply on 2026-11-01 from the config partition's provision.toml."


async def sell(client, code: str) -> dict:
    """One item paid in cash by the cashier already signed in; the completed sale's document."""
    status, body = await client.call("POST", "/till/scan", json={"code": code})
    assert status == 200, body
    assert (await client.call("POST", "/till/subtotal", json={}))[0] == 200
    status, body = await client.call("POST", "/till/tender", json={"kind": "cash", "amount": 100000})
    assert status == 200 and body["state"] == "receipt", body
    return body["document"]


def test_operators_are_listed_without_secrets_added_by_a_manager_and_unlocked_by_a_supervisor(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        status, listed = await client.call("GET", "/operators", role="supervisor")
        assert status == 200 and [o["code"] for o in listed] == ["1001", "2001", "9001"]
        assert all(set(o) == {"code", "name", "role", "locked"} for o in listed)  # no PIN hash, no salt
        assert (await client.call("GET", "/operators"))[0] == 403  # a cashier

        new = {"code": "3001", "name": "Zhou Min", "role": "cashier", "pin": "4321"}
        status, refused = await client.call("POST", "/operators", json=new, role="supervisor")
        assert status == 403 and "needs a manager" in refused["message"]
        status, added = await client.call("POST", "/operators", json=new, role="manager")
        assert status == 201 and added == {"code": "3001", "name": "Zhou Min", "role": "cashier", "locked": False}
        status, again = await client.call("POST", "/operators", json=new, role="manager")
        assert status == 422 and "already taken" in again["message"]
        status, bad = await client.call("POST", "/operators", json={**new, "code": "3002", "pin": "12"}, role="manager")
        assert status == 400 and "body.pin" in bad["message"]

        for _ in range(settings.security.pin_attempts):  # wrong PINs at the till lock the new operator out
            assert (await client.call("POST", "/till/sign-in", json={"code": "3001", "pin": "0000"}))[0] == 409
        listed = (await client.call("GET", "/operators", role="supervisor"))[1]
        assert next(o for o in listed if o["code"] == "3001")["locked"] is True
        status, unlocked = await client.call("POST", "/operators/3001/unlock", json={}, role="supervisor")
        assert status == 200 and unlocked["locked"] is False
        assert (await client.call("POST", "/operators/7777/unlock", json={}, role="supervisor"))[0] == 404

        status, till = await client.call("POST", "/till/sign-in", json={"code": "3001", "pin": "4321"})
        assert status == 200 and till["state"] == "idle"  # the new operator works the till
        status, roles = await client.call("GET", "/roles", role="supervisor")
        assert status == 200 and roles["roles"] == ["cashier", "supervisor", "manager"]
        assert {"action": "operator.manage", "role": "manager"} in roles["permissions"]

    serve(settings, tmp_path, scenario)
    with Store(settings.database_path) as store:
        kinds = [row[0] for row in store.conn.execute("SELECT kind FROM journal WHERE ref = '3001' ORDER BY seq")]
        assert kinds == ["operator.added", "operator.locked", "operator.unlocked"]


def test_a_promotion_made_in_the_back_office_applies_to_the_next_sale_until_it_is_ended(tmp_path):
    settings = make_settings(tmp_path)
    offer = {"kind": "timed_price", "name": "大米特价 Rice special", "params": {"sku": "RICE5KG", "price": 3500},
             "first_day": "2026-11-24", "last_day": "2026-11-30"}

    async def scenario(client, daemon):
        status, listed = await client.call("GET", "/promotions", role="supervisor")
        assert status == 200 and {p["id"]: p["status"] for p in listed} == dict.fromkeys(("P01", "P02", "P03", "P04"),
                                                                                          "running")
        assert (await client.call("POST", "/promotions", json=offer, role="supervisor"))[0] == 403
        status, made = await client.call("POST", "/promotions", json=offer, role="manager")
        assert status == 201 and made["id"] == "T01-P0001" and made["status"] == "running", made
        assert made["starts_at"] == "2026-11-23T20:00:00.000Z"  # 04:00 in Shanghai: the business day's cutover

        assert (await client.call("POST", "/till/sign-in", json={"code": CASHIER[0], "pin": CASHIER[1]}))[0] == 200
        line = (await sell(client, RICE))["lines"][0]
        assert line["promotion"] == offer["name"] and line["amount"] == 3500

        status, ended = await client.call("POST", "/promotions/T01-P0001/end", json={}, role="manager")
        assert status == 200 and ended["status"] == "ended"
        status, again = await client.call("POST", "/promotions/T01-P0001/end", json={}, role="manager")
        assert status == 409 and "already ended" in again["message"]
        line = (await sell(client, RICE))["lines"][0]
        assert line["promotion"] == "" and line["amount"] == 3990

        for change, field in (({"params": {"sku": "RICE5KG", "price": 4500}}, "body.params.price"),
                              ({"params": {"sku": "NOSUCH", "price": 100}}, "body.params.sku"),
                              ({"params": {"sku": "RICE5KG", "price": 100, "n": 3}}, "body.params.n"),
                              ({"last_day": "2026-11-20"}, "body.last_day"),
                              ({"first_day": "2026-02-30"}, "body.first_day")):
            status, bad = await client.call("POST", "/promotions", json={**offer, **change}, role="manager")
            assert status == 422 and bad["message"].startswith(field), (change, bad)
        assert (await client.call("POST", "/promotions/NOSUCH/end", json={}, role="manager"))[0] == 404

    serve(settings, tmp_path, scenario)
    with Store(settings.database_path) as store:
        saved = [json.loads(p) for (p,) in store.conn.execute(
            "SELECT payload FROM journal WHERE kind = 'promotions.saved' AND ref = 'T01-P0001' ORDER BY seq")]
    # Made to the end of its last business day, then ended at the moment the manager asked.
    assert [p["promotions"][0]["ends_at"] for p in saved] == ["2026-11-30T20:00:00.000Z", "2026-11-24T01:00:00.000Z"]


def test_the_printer_test_page_reaches_the_printer_and_devices_are_listed(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        assert (await client.call("POST", "/devices/printer/test-page", json={}))[0] == 403  # a cashier
        status, done = await client.call("POST", "/devices/printer/test-page", json={}, role="supervisor")
        assert status == 200 and done == {"printed": 1}
        status, devices = await client.call("GET", "/devices", role="supervisor")
        assert status == 200 and any(d["kind"] == "printer" and d["online"] for d in devices)

    daemon = serve(settings, tmp_path, scenario)
    paper = bytes(daemon.manager.device("printer").output)
    assert b"PRINTER TEST PAGE" in paper and b"T01-TEST" in paper


def test_shop_details_are_saved_to_the_config_file_checked_as_the_loader_does_and_apply_after_a_restart(tmp_path):
    file = tmp_path / "appliance.toml"
    original = HEADER + "\n" + make_settings(tmp_path).to_toml().replace(
        "\naddress =", "\n# the technician's note on the address\naddress =", 1)
    file.write_text(original, encoding="utf-8")
    settings = config.load(file)

    async def scenario(client, daemon):
        status, shown = await client.call("GET", "/settings", role="supervisor")
        assert status == 200 and shown["file"] == str(file) and shown["problem"] is None
        entries = {(e["section"], e["key"]): e for e in shown["entries"]}
        assert entries["tax", "classes"]["value"] == {"standard": "13%", "reduced": "9%", "zero": "0%"}
        assert entries["tax", "mode"]["doc"].startswith('"inclusive"') and not entries["tax", "mode"]["editable"]
        assert entries["shop", "phone"]["editable"] and entries["shop", "phone"]["saved"] is None

        change = {"phone": "021-6666-0199", "footer": "欢迎再来 See you soon"}
        assert (await client.call("PUT", "/settings/shop", json=change, role="supervisor"))[0] == 403
        status, shown = await client.call("PUT", "/settings/shop", json=change, role="manager")
        assert status == 200, shown
        entries = {(e["section"], e["key"]): e for e in shown["entries"]}
        assert entries["shop", "phone"]["value"] == "021-5555-0100"  # in effect until the till restarts
        assert entries["shop", "phone"]["saved"] == "021-6666-0199"
        assert daemon.settings.shop.phone == "021-5555-0100"

        before = file.read_bytes()
        status, bad = await client.call("PUT", "/settings/shop", json={"name": "x" * 65}, role="manager")
        assert status == 422 and bad["message"].startswith("body.name: must be at most 64"), bad
        for odd in ("two\nlines", "Shop\n", "Shop\u2028"):
            status, bad = await client.call("PUT", "/settings/shop", json={"name": odd}, role="manager")
            assert status == 400 and "body.name" in bad["message"], odd
        assert (await client.call("PUT", "/settings/shop", json={}, role="manager"))[0] == 422
        assert file.read_bytes() == before  # refused changes leave the file alone

    serve(settings, tmp_path, scenario)
    reloaded = config.load(file)
    assert reloaded.shop.phone == "021-6666-0199" and reloaded.shop.footer == "欢迎再来 See you soon"
    assert reloaded.shop.name == settings.shop.name and reloaded.devices == settings.devices
    text = file.read_text(encoding="utf-8")
    assert text.startswith(HEADER + "\n") and "# the technician's note on the address" in text  # comments stay
    assert text.replace('"021-6666-0199"', '"021-5555-0100"').replace('"欢迎再来 See you soon"', '"谢谢惠顾 Thank you!"') \
        == original  # nothing else in the file moved
    with Store(settings.database_path) as store:
        (payload,) = store.conn.execute("SELECT payload FROM journal WHERE kind = 'settings.shop_changed'").fetchone()
    assert json.loads(payload) == {"file": str(file), "by": "9001", "changes": {
        "phone": {"from": "021-5555-0100", "to": "021-6666-0199"},
        "footer": {"from": "谢谢惠顾 Thank you!", "to": "欢迎再来 See you soon"}}}


def test_without_a_config_file_the_settings_are_shown_but_not_changed(tmp_path):
    settings = make_settings(tmp_path)  # source "test.toml": no such file

    async def scenario(client, daemon):
        status, shown = await client.call("GET", "/settings", role="manager")
        assert status == 200 and "cannot read" in shown["problem"]
        assert not any(e["editable"] for e in shown["entries"])
        status, refused = await client.call("PUT", "/settings/shop", json={"phone": "1"}, role="manager")
        assert status == 409 and "technician" in refused["message"]

    serve(settings, tmp_path, scenario)


def test_a_promotion_from_head_office_is_ended_at_head_office_not_here(tmp_path):
    async def scenario(client, daemon):
        status, listed = await client.call("GET", "/promotions", role="manager")
        theirs = next(p for p in listed if not p["id"].startswith("T01-P") and p["status"] == "running")
        status, error = await client.call("POST", f"/promotions/{theirs['id']}/end", role="manager", json={})
        assert status == 409 and "comes from head office" in error["message"]
        again = {p["id"]: p for p in (await client.call("GET", "/promotions", role="manager"))[1]}
        assert again[theirs["id"]]["status"] == "running"

    serve(make_settings(tmp_path), tmp_path, scenario)
