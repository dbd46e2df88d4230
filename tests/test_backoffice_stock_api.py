"""The stock page's API end to end: adjustments, stocktakes, alerts and reorder suggestions over real HTTP."""

from __future__ import annotations

from appliance.core import reorder
from appliance.core.clock import ManualClock
from appliance.core.till import Till
from appliance.store.db import Store
from tests.conftest import MANAGER, START, make_settings
from tests.test_api import serve
from tests.test_daemon import prepared


async def level(client, sku: str) -> dict:
    status, levels = await client.call("GET", "/stock")
    assert status == 200
    return next(row for row in levels if row["sku"] == sku)


async def receive(client, sku: str, quantity: int, unit_cost: int) -> dict:
    status, done = await client.call("POST", "/stock/receive", json={
        "lines": [{"sku": sku, "quantity": quantity, "unit_cost": unit_cost}]})
    assert status == 201, done
    return done


def test_an_adjustment_moves_stock_and_needs_a_supervisor(tmp_path):
    async def scenario(client, daemon):
        await receive(client, "RICE5KG", 10000, 3000)
        adjustment = {"sku": "RICE5KG", "quantity": -2000, "reason": "damaged", "note": "torn bags"}
        status, refused = await client.call("POST", "/stock/adjust", json=adjustment)
        assert status == 403 and "needs a supervisor" in refused["message"]
        assert (await level(client, "RICE5KG"))["on_hand"] == 10000
        status, done = await client.call("POST", "/stock/adjust", role="supervisor", json=adjustment)
        assert status == 201, done
        assert (done["sku"], done["quantity"], done["reason"], done["on_hand"]) == ("RICE5KG", -2000, "damaged", 8000)
        assert (await level(client, "RICE5KG"))["on_hand"] == 8000

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_bad_adjustments_are_refused_naming_the_field_and_change_nothing(tmp_path):
    async def scenario(client, daemon):
        await receive(client, "RICE5KG", 10000, 3000)

        async def refused(change: dict) -> tuple[int, str]:
            body = {"sku": "RICE5KG", "quantity": -1000, "reason": "damaged", **change}
            status, answer = await client.call("POST", "/stock/adjust", role="supervisor", json=body)
            return status, answer["message"]

        status, message = await refused({"sku": "NOSUCH"})
        assert status == 404 and message.startswith("body.sku:") and "NOSUCH" in message
        status, message = await refused({"quantity": 0})
        assert status == 422 and message.startswith("body.quantity:") and "zero" in message
        status, message = await refused({"quantity": -500})  # half a bag: rice is kept by the piece
        assert status == 422 and message.startswith("body.quantity:") and "whole pieces" in message
        status, message = await refused({"reason": "found"})  # found goods come in, not out
        assert status == 422 and message.startswith("body.quantity:") and "positive" in message
        status, message = await refused({"reason": "damaged" * 10})
        assert status == 400 and "body.reason" in message
        status, message = await refused({"note": "x" * 201})
        assert status == 400 and "body.note" in message
        status, message = await refused({"quantity": 10**10})
        assert status == 400 and "body.quantity" in message
        assert (await level(client, "RICE5KG"))["on_hand"] == 10000

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_a_stocktake_opened_counted_and_applied_changes_stock(tmp_path):
    async def scenario(client, daemon):
        await receive(client, "RICE5KG", 10000, 3000)
        assert (await client.call("GET", "/stock/count")) == (200, {"session": None, "lines": []})
        status, session = await client.call("POST", "/stock/count/open", json={"category": "grocery"})
        assert status == 201 and session["status"] == "open" and session["scope"] == "grocery"
        status, again = await client.call("POST", "/stock/count/open", json={})
        assert status == 409 and "already open" in again["message"]
        status, sheet = await client.call("GET", "/stock/count")
        assert status == 200 and sheet["session"]["id"] == session["id"]
        assert {"sku": "RICE5KG", "expected": 10000, "counted": None}.items() <= sheet["lines"][1].items()
        assert [line["sku"] for line in sheet["lines"]] == ["NOODLE", "RICE5KG"]

        status, entered = await client.call("POST", "/stock/count/enter", json={"entries": [
            {"sku": "RICE5KG", "quantity": 5000}, {"sku": "RICE5KG", "quantity": 3000}]})  # shelf, then back room
        assert status == 200, entered
        status, outside = await client.call("POST", "/stock/count/enter", json={"entries": [
            {"sku": "WATER550", "quantity": 1000}]})
        assert status == 409 and "not in stocktake" in outside["message"]
        assert (await client.call("GET", "/stock/count/variance"))[0] == 403  # a cashier counts, does not judge
        status, variance = await client.call("GET", "/stock/count/variance", role="supervisor")
        assert status == 200 and variance["value"] == -6000
        assert [(v["sku"], v["expected"], v["counted"], v["variance"]) for v in variance["lines"]] == [
            ("RICE5KG", 10000, 8000, -2000)]

        assert (await client.call("POST", "/stock/count/apply", json={}))[0] == 403
        status, applied = await client.call("POST", "/stock/count/apply", role="supervisor", json={})
        assert status == 200 and applied["id"] == session["id"] and applied["variance_value"] == -6000
        assert (await level(client, "RICE5KG"))["on_hand"] == 8000
        assert (await client.call("GET", "/stock/count"))[1]["session"] is None

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_a_blind_stocktake_hides_the_expected_and_a_cancelled_one_changes_nothing(tmp_path):
    async def scenario(client, daemon):
        await receive(client, "RICE5KG", 10000, 3000)
        status, session = await client.call("POST", "/stock/count/open", json={"blind": True})
        assert status == 201 and session["blind"] is True and session["scope"] == ""
        status, sheet = await client.call("GET", "/stock/count")
        assert len(sheet["lines"]) == 25 and all(line["expected"] is None for line in sheet["lines"])

        async def enter(sku: str, quantity: int) -> tuple[int, dict]:
            entries = [{"sku": sku, "quantity": quantity}]
            return await client.call("POST", "/stock/count/enter", json={"entries": entries})

        status, bad = await enter("RICE5KG", 1500)
        assert status == 422 and "whole pieces" in bad["message"]
        status, bad = await enter("NOSUCH", 1000)
        assert status == 404 and "NOSUCH" in bad["message"]
        assert (await enter("RICE5KG", 0))[0] == 200  # an empty shelf is a count
        rice = next(line for line in (await client.call("GET", "/stock/count"))[1]["lines"] if line["sku"] == "RICE5KG")
        assert rice["counted"] == 0  # the refused entries left nothing behind
        status, cancelled = await client.call("POST", "/stock/count/cancel", role="supervisor", json={})
        assert status == 200 and cancelled == {"id": session["id"]}
        assert (await level(client, "RICE5KG"))["on_hand"] == 10000
        status, none = await client.call("POST", "/stock/count/apply", role="supervisor", json={})
        assert status == 409 and "no stocktake is open" in none["message"]

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_a_product_below_its_point_raises_an_alert_and_a_reorder_suggestion(tmp_path):
    settings = make_settings(tmp_path)
    prepared(settings)
    with Store(settings.database_path) as store:  # the rule as `appliance stock supplier add` / `rule` set it
        till = Till(settings, store, ManualClock(START))
        manager = till.operators.get(MANAGER[0])
        reorder.add_supplier(store, settings, "ACME", "Acme Drinks", 2, operator=manager, at=START)
        reorder.set_rule(store, "WATER550", {"minimum": 10000, "supplier_id": "ACME", "pack_size": 12000},
                         operator=manager, at=START)

    async def scenario(client, daemon):
        assert (await client.call("GET", "/stock/suppliers")) == (200, [{"id": "ACME", "name": "Acme Drinks",
                                                                          "lead_days": 2}])
        assert (await client.call("GET", "/stock/reorder"))[1][0]["on_hand"] == 0  # nothing booked in yet
        done = await receive(client, "WATER550", 5000, 90)
        assert [(a["sku"], a["state"]) for a in done["stock_alerts"]] == [("WATER550", "raised")]
        water = await level(client, "WATER550")
        assert (water["on_hand"], water["point"], water["below"]) == (5000, 10000, True)
        status, alerts = await client.call("GET", "/stock/alerts")
        assert status == 200 and [(a["sku"], a["on_hand"], a["point"], a["cleared_at"]) for a in alerts] == [
            ("WATER550", 5000, 10000, None)]
        status, wanted = await client.call("GET", "/stock/reorder?supplier=ACME")
        assert status == 200 and [(s["supplier_id"], s["sku"], s["quantity"]) for s in wanted] == [
            ("ACME", "WATER550", 12000)]  # 5 short of 10, in whole packs of 12
        status, unknown = await client.call("GET", "/stock/reorder?supplier=NOPE")
        assert status == 404 and "NOPE" in unknown["message"]
        await receive(client, "WATER550", 12000, 90)
        assert (await client.call("GET", "/stock/alerts")) == (200, [])
        assert (await client.call("GET", "/stock/reorder")) == (200, [])

    serve(settings, tmp_path, scenario, prepare=False)
