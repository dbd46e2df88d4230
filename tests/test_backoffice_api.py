"""The routes behind the back office's dashboard, catalog, reports and shifts pages, against a real daemon over HTTP."""

from __future__ import annotations

from appliance.display.escpos_render import to_text
from tests.conftest import SUPERVISOR, WATER, make_settings
from tests.test_api import serve, sign_in_and_sell


async def text(client, path: str, role: str = "manager") -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {client.tokens[role]}"}
    async with client.session.get(client.base + path, headers=headers) as r:
        return r.status, r.content_type, await r.text()


def test_a_product_is_created_edited_and_retired_through_the_import_checks(tmp_path):
    async def scenario(client, daemon):
        new = {"name": "手工水饺 Dumplings", "unit": "kg", "price": 3600, "cost": 2000, "barcodes": ["4006381333931"],
               "category": "frozen", "plu": "00042"}
        status, made = await client.call("PUT", "/products/DUMP1", role="manager", json=new)
        assert status == 200 and made["price"] == 3600 and made["barcodes"] == ["4006381333931"]
        assert made["plu"] == "42" and made["tax_class"] == "standard" and made["active"] is True
        status, edited = await client.call("PUT", "/products/DUMP1", role="manager",
                                           json={**new, "price": 3800, "barcodes": [], "active": False})
        assert status == 200 and edited["price"] == 3800 and edited["barcodes"] == [] and edited["active"] is False
        # Wrong values come back naming the field, and nothing changes.
        for body, field, reason in (
            ({**new, "barcodes": [WATER]}, "barcodes", "already belongs to product WATER550"),
            ({**new, "barcodes": ["12345"]}, "barcodes", "12345"),
            ({**new, "tax_class": "luxury"}, "tax_class", "not a configured tax class"),
            ({**new, "plu": "12a"}, "plu", "must be 1-6 digits"),
        ):
            status, error = await client.call("PUT", "/products/DUMP1", role="manager", json=body)
            assert status == 422 and error["message"].startswith(f"body.{field}: ") and reason in error["message"], error
        status, error = await client.call("PUT", "/products/bad%20sku", role="manager", json=new)
        assert status == 422 and error["message"].startswith("body.sku: ")
        status, error = await client.call("PUT", "/products/DUMP1", role="manager", json={**new, "price": -1})
        assert status == 400 and "body.price" in error["message"]
        assert (await client.call("PUT", "/products/DUMP1", role="supervisor", json=new))[0] == 403
        status, kept = await client.call("GET", "/products/DUMP1")
        assert kept["price"] == 3800 and kept["active"] is False

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_a_catalog_import_that_is_refused_lists_every_bad_row(tmp_path):
    async def scenario(client, daemon):
        rows = "sku,name,unit,price\nA1,好,piece,1.00\nA2,坏,box,1.00\nA3,,piece,1.00\nA4,好,piece,abc\n"
        status, body = await client.call("POST", "/catalog/import", role="manager", json={"csv": rows})
        assert status == 422 and body["error"] == "input" and body["skipped_lines"] == [3, 4, 5]
        assert body["errors"] == ["line 3, column unit: 'box' must be 'piece' or 'kg'",
                                  "line 4, column name: must be 1-64 characters",
                                  body["errors"][2]] and body["errors"][2].startswith("line 5, column price")
        assert (await client.call("GET", "/products/A1"))[0] == 404  # all or nothing
        status, body = await client.call("POST", "/catalog/import", role="manager", json={"csv": rows, "skip_bad": True})
        assert status == 200 and body["applied"] == 1 and len(body["errors"]) == 3

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_shelf_labels_print_on_the_receipt_printer_or_say_it_is_offline(tmp_path):
    async def scenario(client, daemon):
        printer = daemon.manager.device("printer")
        before = len(printer.output)
        status, body = await client.call("POST", "/products/WATER550/labels", role="supervisor", json={"copies": 2})
        assert status == 200 and body == {"printed": 2}
        printed = "\n".join(to_text(bytes(printer.output[before:]), printer.columns))
        assert printed.count("农夫山泉 550ml") == 2 and printed.count("¥2.00") == 2 and "SKU WATER550" in printed
        assert (await client.call("POST", "/products/WATER550/labels", json={}))[0] == 403  # a cashier's token
        status, error = await client.call("POST", "/products/NOPE/labels", role="supervisor", json={})
        assert status == 404 and "NOPE" in error["message"]
        status, _ = await client.call("POST", "/products/WATER550/labels", role="supervisor", json={"copies": 51})
        assert status == 400
        printer.plugged = False
        status, error = await client.call("POST", "/products/WATER550/labels", role="supervisor", json={})
        assert status == 409 and "printer is offline" in error["message"]

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_the_dashboard_reports_today_and_a_report_comes_as_csv_and_as_a_chart(tmp_path):
    async def scenario(client, daemon):
        status, empty = await client.call("GET", "/dashboard", role="manager")
        assert status == 200 and empty["today"] == {"day": "2026-11-24", "net": 0, "baskets": 0, "average": None}
        assert empty["last_week"]["day"] == "2026-11-17" and empty["selling"] and not empty["sync"]["enabled"]
        doc = await sign_in_and_sell(client, WATER, WATER)
        status, board = await client.call("GET", "/dashboard", role="manager")
        assert board["today"] == {"day": "2026-11-24", "net": doc["total"], "baskets": 1, "average": doc["total"]}
        assert board["sync"]["pending"] > 0 and len(board["devices"]) == len(daemon.manager.states)
        assert (await client.call("GET", "/dashboard", role="supervisor"))[0] == 403
        status, kind, csv_text = await text(client, "/reports/sales-product/csv")
        assert status == 200 and kind == "text/csv" and "WATER550" in csv_text.splitlines()[1]
        status, kind, svg = await text(client, "/reports/sales-day/chart?from=2026-11-18&to=2026-11-24")
        assert status == 200 and kind == "image/svg+xml" and svg.startswith("<svg") and "2026-11-24" in svg
        status, _, body = await text(client, "/reports/tax/chart")
        assert status == 422 and "has no chart" in body
        status, _, body = await text(client, "/reports/sales-day/csv?from=2026-11-24&to=2026-01-01")
        assert status == 422

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_a_closed_shift_gives_back_its_z_report_as_printed_and_reprints_it_as_a_copy(tmp_path):
    async def scenario(client, daemon):
        await sign_in_and_sell(client, WATER)
        assert (await client.call("POST", "/till/done", json={}))[0] == 200
        assert (await client.call("POST", "/till/sign-out", json={}))[0] == 200
        assert (await client.call("POST", "/till/sign-in", json={"code": SUPERVISOR[0], "pin": SUPERVISOR[1]}))[0] == 200
        status, closed = await client.call("POST", "/shifts/close", role="supervisor", json={"counted": 10200})
        assert status == 200, closed
        status, shifts = await client.call("GET", "/shifts", role="manager")
        assert status == 200 and len(shifts) == 1 and shifts[0]["z_number"] == 1
        status, z = await client.call("GET", f"/shifts/{shifts[0]['id']}/z-report", role="manager")
        assert status == 200 and z["z_number"] == 1 and z["counted_cash"] == 10200 and z["counts"]["sale"] == 1
        assert z["net_sales"] == 200 and z["closed_by"] and z["shift"]["closed_at"] == shifts[0]["closed_at"]
        printer = daemon.manager.device("printer")
        before = len(printer.output)
        status, _ = await client.call("POST", f"/shifts/{shifts[0]['id']}/reprint", role="supervisor", json={})
        assert status == 200
        printed = "\n".join(to_text(bytes(printer.output[before:]), printer.columns))
        assert "重印 COPY" in printed and "Z REPORT #1" in printed
        status, error = await client.call("GET", "/shifts/nope/z-report", role="manager")
        assert status == 404 and "no closed shift" in error["message"]
        assert (await client.call("GET", "/shifts", role="cashier"))[0] == 403

    serve(make_settings(tmp_path), tmp_path, scenario)



def test_a_report_csv_opens_names_as_text_never_as_formulas(tmp_path):
    async def scenario(client, daemon):
        trap = {"name": '=HYPERLINK("http://evil.example","x")', "unit": "piece", "price": 100,
                "barcodes": ["4006381333931"]}
        assert (await client.call("PUT", "/products/TRAP1", role="manager", json=trap))[0] == 200
        await sign_in_and_sell(client, "4006381333931")
        status, kind, body = await text(client, "/reports/sales-product/csv")
        assert status == 200 and body.startswith("\ufeffsku,")
        row = next(line for line in body.splitlines() if line.startswith("TRAP1,"))
        assert row.startswith("TRAP1,\"'=HYPERLINK("), row  # text, shown as typed, never run

    serve(make_settings(tmp_path), tmp_path, scenario)


def test_a_long_answer_is_gzipped_for_a_client_that_takes_it(tmp_path):
    async def scenario(client, daemon):
        headers = {"Authorization": f"Bearer {client.tokens['manager']}"}
        path = client.base + "/reports/sales-day?from=2024-09-16&to=2026-11-24"  # 800 days of rows
        async with client.session.get(path, headers={**headers, "Accept-Encoding": "gzip"}) as r:
            assert r.headers["Content-Encoding"] == "gzip" and len((await r.json())["rows"]) == 800
        async with client.session.get(path, headers={**headers, "Accept-Encoding": "identity"}) as r:
            assert "Content-Encoding" not in r.headers and len(await r.read()) > 16 * 1024
        async with client.session.get(client.base + "/status", headers={**headers, "Accept-Encoding": "gzip"}) as r:
            assert "Content-Encoding" not in r.headers  # a short answer is not worth it

    serve(make_settings(tmp_path), tmp_path, scenario)
