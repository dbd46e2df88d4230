"""The Members page's routes end to end: a real daemon and server, members made and sold to over HTTP."""

from __future__ import annotations

from appliance.core import members
from appliance.core.session import Action
from appliance.store.db import Store
from tests.conftest import CASHIER, RICE, START, make_settings
from tests.test_api import serve


async def add_member(client, phone: str, name: str, **extra) -> dict:
    status, member = await client.call("POST", "/members", json={"phone": phone, "name": name, **extra})
    assert status == 201, member
    return member


async def sell_to(client, daemon, phone: str, *codes: str) -> dict:
    """A cash sale with the member attached, as a cashier does at the till."""
    if (await client.call("GET", "/till"))[1]["operator"] is None:
        await client.call("POST", "/till/sign-in", json={"code": CASHIER[0], "pin": CASHIER[1]})
    for code in codes:
        assert (await client.call("POST", "/till/scan", json={"code": code}))[0] == 200
    assert (await daemon.perform(Action.of("member", key=phone))).ok
    assert (await client.call("POST", "/till/subtotal", json={}))[0] == 200
    status, body = await client.call("POST", "/till/tender", json={"kind": "cash", "amount": 100000})
    assert status == 200 and body["state"] == "receipt", body
    assert (await client.call("POST", "/till/done", json={}))[0] == 200
    return body["document"]


async def text(client, path: str, role: str) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {client.tokens[role]}"}
    async with client.session.get(client.base + path, headers=headers) as response:
        return response.status, await response.text()


def test_a_sale_to_a_member_shows_in_their_history_and_points_statement(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        member = await add_member(client, "13800138000", "Li Lei")
        doc = await sell_to(client, daemon, "13800138000", RICE)
        key = member["id"]
        status, bought = await client.call("GET", f"/members/{key}/history")
        assert status == 200 and len(bought) == 1
        assert bought[0]["receipt_no"] == doc["receipt_no"] and bought[0]["total"] == doc["total"]
        assert bought[0]["kind"] == "sale" and bought[0]["points"] > 0
        status, ledger = await client.call("GET", f"/members/{key}/statement?kind=points")
        assert status == 200 and ledger["earlier"] == 0
        [earn] = ledger["rows"]
        assert earn["kind"] == "earn" and earn["change"] == bought[0]["points"] == earn["balance"]
        assert earn["receipt_no"] == doc["receipt_no"]
        status, profile = await client.call("GET", "/members/13800138000")
        assert profile["points"] == earn["balance"] and profile["tier_basis"] == doc["total"]

        await daemon.run_in_worker(lambda: members.top_up(daemon.store, key, 5000, at=START, ref="opening"))
        status, ledger = await client.call("GET", f"/members/{key}/statement")
        assert status == 200 and ledger["kind"] == "stored_value"
        assert [(r["change"], r["balance"], r["ref"]) for r in ledger["rows"]] == [(5000, 5000, "opening")]

    serve(settings, tmp_path, scenario)


def test_a_coupon_issued_to_a_segment_reaches_its_members_and_the_csv_lists_those_who_consented(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        vip = await add_member(client, "13800000001", "Wang Fang", tags=["vip"], consent=True)
        quiet = await add_member(client, "13800000002", "Zhao Min", tags=["vip"])
        other = await add_member(client, "13800000003", "Chen Jie")
        status, listed = await client.call("GET", "/segments", role="supervisor")
        assert status == 200
        assert {"segment": "tag", "days": None, "month": None, "value": "vip", "size": 2} in listed
        assert (await client.call("GET", "/segments/tag?value=vip", role="supervisor"))[0] == 403  # many phones at once
        status, seg = await client.call("GET", "/segments/tag?value=vip", role="manager")
        assert status == 200 and seg["size"] == 2
        assert {m["id"]: m["consent"] for m in seg["members"]} == {vip["id"]: True, quiet["id"]: False}

        offer = {"segment": "tag", "value": "vip", "amount": 500, "min_spend": 2000, "campaign": "vip-week"}
        assert (await client.call("POST", "/coupons", json=offer))[0] == 403  # coupon.issue needs a supervisor
        status, issued = await client.call("POST", "/coupons", json=offer, role="supervisor")
        assert status == 201 and issued["issued"] == 2
        assert {c["member_id"] for c in issued["coupons"]} == {vip["id"], quiet["id"]}
        for member in (vip, quiet):
            status, held = await client.call("GET", f"/members/{member['id']}/coupons")
            assert status == 200 and [(c["amount"], c["min_spend"], c["redeemed_ref"]) for c in held] == [
                (500, 2000, None)]
        assert (await client.call("GET", f"/members/{other['id']}/coupons"))[1] == []
        status, one = await client.call("POST", "/coupons", json={"member": other["phone"], "percent": 1000},
                                        role="supervisor")
        assert status == 201 and one["coupons"][0]["member_id"] == other["id"]

        assert (await text(client, "/segments/tag/csv?value=vip", "supervisor"))[0] == 403
        status, csv = await text(client, "/segments/tag/csv?value=vip", "manager")
        assert status == 200 and vip["phone"] in csv and quiet["phone"] not in csv

    serve(settings, tmp_path, scenario)


def test_editing_a_profile_changes_it_and_a_taken_phone_is_refused(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        member = await add_member(client, "13800000001", "Wang Fang", consent=True)
        await add_member(client, "13800000002", "Zhao Min")
        status, edited = await client.call("PATCH", f"/members/{member['id']}", json={
            "name": "Wang Fang-Li", "birthday": "1990-05-17", "tags": ["VIP"], "consent": False})
        assert status == 200, edited
        assert (edited["name"], edited["birthday"], edited["tags"], edited["consent_at"]) == (
            "Wang Fang-Li", "1990-05-17", ["vip"], None)
        status, taken = await client.call("PATCH", f"/members/{member['id']}", json={"phone": "13800000002"})
        assert status == 409 and "13800000002" in taken["message"]
        assert (await client.call("GET", "/members/13800000001"))[1]["name"] == "Wang Fang-Li"

    serve(settings, tmp_path, scenario)


def test_erase_is_a_managers_typed_decision_and_waits_for_stored_value_to_be_paid_out(tmp_path):
    settings = make_settings(tmp_path)
    ids: dict[str, str] = {}

    async def scenario(client, daemon):
        owed = await add_member(client, "13800000001", "Wang Fang", consent=True)
        gone = await add_member(client, "13800000002", "Zhao Min", birthday="1985-11-02", tags=["vip"])
        ids["gone"] = gone["id"]
        await daemon.run_in_worker(lambda: members.top_up(daemon.store, owed["id"], 1000, at=START, ref="opening"))
        status, data = await client.call("GET", f"/members/{owed['id']}/export", role="manager")
        assert status == 200 and data["profile"]["phone"] == "13800000001" and data["profile"]["name"] == "Wang Fang"
        assert [r["balance"] for r in data["stored_value"]] == [1000]
        assert (await client.call("GET", f"/members/{owed['id']}/export", role="supervisor"))[0] == 403

        request = {"reason": "customer's written request of 2026-11-20", "confirm": "13800000001"}
        for role in ("cashier", "supervisor"):
            status, body = await client.call("POST", f"/members/{owed['id']}/erase", json=request, role=role)
            assert status == 403 and "manager" in body["message"]
        status, body = await client.call("POST", f"/members/{owed['id']}/erase", json=request, role="manager")
        assert status == 409 and "stored value" in body["message"]

        wrong = {"reason": "request", "confirm": "13800000001"}
        status, body = await client.call("POST", f"/members/{gone['id']}/erase", json=wrong, role="manager")
        assert status == 422 and "body.confirm" in body["message"]
        status, done = await client.call("POST", f"/members/{gone['id']}/erase", role="manager",
                                         json={"reason": "request", "confirm": "138-0000-0002"})
        assert status == 200 and done["id"] == gone["id"]
        assert (await client.call("GET", f"/members/{gone['id']}"))[0] == 404
        assert (await client.call("GET", "/members?search=Zhao"))[1] == []
        assert (await client.call("GET", f"/members/{gone['id']}/export", role="manager"))[0] == 404

    serve(settings, tmp_path, scenario)
    with Store(settings.database_path) as store:
        row = store.conn.execute("SELECT phone, name, birthday, tags, erased_at FROM members WHERE id = ?",
                                 (ids["gone"],)).fetchone()
    assert row[:4] == (f"erased:{ids['gone']}", "", None, "[]") and row[4]


def test_bad_input_gets_a_4xx_naming_what_was_wrong(tmp_path):
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        member = await add_member(client, "13800000001", "Wang Fang")
        status, body = await client.call("GET", "/members/NOSUCH/history")
        assert status == 404 and "NOSUCH" in body["message"]
        status, body = await client.call("PATCH", f"/members/{member['id']}", json={"phone": "12"})
        assert status == 422 and "phone" in body["message"]
        status, body = await client.call("PATCH", f"/members/{member['id']}", json={})
        assert status == 422 and "nothing to change" in body["message"]
        status, body = await client.call("GET", "/segments/nosuch", role="manager")
        assert status == 400 and body["message"].startswith("name")
        status, body = await client.call("GET", "/segments/tag", role="manager")
        assert status == 422 and body["message"].startswith("value")
        status, body = await client.call("GET", f"/members/{member['id']}/statement?kind=cash")
        assert status == 400 and body["message"].startswith("kind")
        status, body = await client.call("POST", "/coupons", json={"amount": 500}, role="supervisor")
        assert status == 422 and "body.member" in body["message"]
        status, body = await client.call("POST", "/coupons", json={"member": member["id"]}, role="supervisor")
        assert status == 422 and "amount or a percentage" in body["message"]
        status, body = await client.call("POST", "/coupons", json={"member": "NOSUCH", "amount": 5}, role="supervisor")
        assert status == 404

    serve(settings, tmp_path, scenario)


def test_erased_member_rows_keep_the_sales_books(tmp_path):
    """A member with a purchase is erased: the sale stays, pointing at the pseudonym."""
    settings = make_settings(tmp_path)

    async def scenario(client, daemon):
        member = await add_member(client, "13800000009", "Sun Li")
        doc = await sell_to(client, daemon, "13800000009", RICE)
        status, _ = await client.call("POST", f"/members/{member['id']}/erase", role="manager",
                                      json={"reason": "request", "confirm": "13800000009"})
        assert status == 200
        status, receipt = await client.call("GET", f"/receipts/{doc['receipt_no']}")
        assert status == 200 and receipt["member_id"] == member["id"]

    serve(settings, tmp_path, scenario)
