"""Member profiles and lookup, paid top-ups and statements, segments, data export and erasure."""

from __future__ import annotations

import io
import json

import pytest

from appliance.cli import main
from appliance.core import coupons, members, points, privacy, segments
from appliance.core.returns import return_with_receipt
from appliance.errors import DomainError, InputError, NotFound, PermissionDenied
from appliance.store import integrity, journal
from tests.conftest import BREAD, COLA, MANAGER, MILK, RICE, WATER


@pytest.fixture
def manager(till):
    return till.approve(*MANAGER)


def sell(till, member_id, *codes):
    for code in codes:
        till.scan(code)
    if member_id:
        till.attach_member(member_id)
    return till.pay("cash")


def test_profile_fields_and_lookup_by_card_and_qr(till, manager):
    m = members.add(till.store, "13800138000", "Zhang", at=till.clock.now(), birthday="1990-05-17",
                    tags=["VIP", "vip", "office"], consent=True)
    assert m.tags == ("vip", "office") and m.consent_at and m.birthday == "1990-05-17"
    code = members.issue_card(till.store, m.id, at=till.clock.now(), prefix="M", operator=till.operator)
    assert code.startswith("M") and len(code) == 13
    for key in (code, f"MBR:{code}", f"mbr:{m.id}", "138 0013 8000"):
        assert members.find(till.store.conn, key).id == m.id
    newer = members.issue_card(till.store, m.id, at=till.clock.now(), prefix="M", operator=till.operator)
    with pytest.raises(NotFound):
        members.find(till.store.conn, code)  # the lost card stops working
    till.scan(WATER)
    assert till.attach_member(f"MBR:{newer}").id == m.id
    edited = members.edit(till.store, m.id, at=till.clock.now(), operator=till.operator, consent=False, tags=[])
    assert edited.consent_at is None and edited.tags == ()
    assert [x.id for x in members.search(till.store.conn, "8000")] == [m.id]


@pytest.mark.parametrize(("field", "value"), [("birthday", "1990-13-01"), ("birthday", "1800-01-01"),
                                              ("tags", ["no spaces allowed"]), ("phone", "12")])
def test_bad_profile_input(till, field, value):
    m = members.add(till.store, "13800138000", "Zhang", at=till.clock.now())
    with pytest.raises(InputError):
        members.edit(till.store, m.id, at=till.clock.now(), operator=till.operator, **{field: value})
    with pytest.raises(InputError, match="nothing to change"):
        members.edit(till.store, m.id, at=till.clock.now(), operator=till.operator)
    with pytest.raises(NotFound):
        members.edit(till.store, "nobody", at=till.clock.now(), operator=till.operator, name="X")


def test_a_cash_top_up_is_a_paid_in_of_the_shift_with_a_slip(till):
    m = members.add(till.store, "13800138000", "Zhang", at=till.clock.now())
    shift = till.shifts.require_open()
    slip = members.paid_top_up(till.store, m.id, 5000, "cash", at=till.clock.now(), operator=till.operator,
                               shift_id=shift.id, device="T01")
    assert slip["slip_no"] == "T01-TU000001" and slip["balance"] == 5000
    card = members.paid_top_up(till.store, m.id, 2000, "card", at=till.clock.now(), operator=till.operator,
                               shift_id=shift.id, device="T01", reference="AUTH42")
    assert card["slip_no"] == "T01-TU000002"
    report = till.shifts.x_report(till.operator, at=till.clock.now())
    assert report.paid_in == 5000 and report.expected_cash == 10000 + 5000  # the card top-up is not in the drawer
    with pytest.raises(InputError, match="reference"):
        members.paid_top_up(till.store, m.id, 100, "card", at=till.clock.now(), operator=till.operator,
                            shift_id=shift.id, device="T01")
    till.scan(RICE)
    till.attach_member(m.id)
    till.pay("stored_value", 3990)
    rows = members.statement(till.store.conn, m.id)
    assert [(delta, bal) for _, delta, bal, _ in rows] == [(5000, 5000), (2000, 7000), (-3990, 3010)]


def test_segments_rfm_lapsed_birthdays_and_tags(till, clock):
    people = [members.add(till.store, f"1380013800{i}", f"M{i}", at=clock.now(), birthday=f"1990-{i + 1:02d}-10",
                          tags=["office"] if i % 2 else [], consent=i < 3) for i in range(5)]
    for i, m in enumerate(people):
        for _ in range(i + 1):  # member i buys i+1 times, the later ones more recently and for more
            sell(till, m.id, *([RICE] * (i + 1)))
            clock.advance(minutes=5)
    scores = {r.member_id: r.score for r in segments.rfm(till.store.conn, clock.now())}
    assert scores[people[0].id] == "111" and scores[people[4].id] == "555"
    clock.advance(days=40)
    sell(till, people[4].id, WATER)
    assert [m for m, _ in segments.lapsed(till.store.conn, clock.now(), 30)] == [p.id for p in people[:4]]
    assert segments.birthdays(till.store.conn, 2) == [(people[1].id, "1990-02-10")]
    assert [m for (m,) in segments.tagged(till.store.conn, "OFFICE")] == sorted([people[1].id, people[3].id])
    out = io.StringIO()
    assert segments.export_csv(till.store.conn, [p.id for p in people], out) == 3  # consent only
    assert out.getvalue().splitlines()[0].startswith("member_id,name,phone")
    with pytest.raises(InputError):
        segments.birthdays(till.store.conn, 13)
    with pytest.raises(InputError):
        segments.lapsed(till.store.conn, clock.now(), 0)


def test_bought_together_and_recommendations(till, clock):
    buyer = members.add(till.store, "13800138000", "Buyer", at=clock.now())
    for _ in range(4):
        sell(till, None, BREAD, MILK)
    sell(till, None, COLA, WATER)
    for _ in range(3):
        sell(till, buyer.id, BREAD)
    today = clock.now().date()
    pairs = segments.together(till.store.conn, today, 30)
    top = pairs[0]
    assert {top.a, top.b} == {"BREAD400", "MILK1L"} and top.count == 4
    assert top.support == pytest.approx(4 / 8) and top.lift == pytest.approx(4 * 8 / (7 * 4))
    assert segments.recommend(till.store.conn, buyer.id, pairs)[0][0] == "MILK1L"
    with pytest.raises(InputError):
        segments.together(till.store.conn, today, 0)


def test_export_then_erase_keeps_the_books_and_the_journal(till, manager, supervisor, clock):
    m = members.add(till.store, "13800138000", "Zhang", at=clock.now(), birthday="1990-05-17", consent=True)
    coupons.issue(till.store, [m.id], amount=100, at=clock.now(), operator=supervisor)
    sold = sell(till, m.id, RICE)
    data = privacy.export(till.store.conn, m.id)
    assert data["profile"]["name"] == "Zhang" and data["points"][0]["delta"] == 39
    assert data["purchases"][0]["lines"][0]["sku"] == "RICE5KG" and len(data["coupons"]) == 1
    with pytest.raises(PermissionDenied):
        privacy.erase(till.store, till.settings, m.id, "asked", at=clock.now(), operator=till.operator)
    members.top_up(till.store, m.id, 100, at=clock.now(), ref="x")
    with pytest.raises(DomainError, match="stored value"):
        privacy.erase(till.store, till.settings, m.id, "asked", at=clock.now(), operator=manager)
    till.scan(WATER)
    till.attach_member(m.id)
    till.pay("stored_value", 100)
    till.pay("cash")
    done = privacy.erase(till.store, till.settings, m.id, "customer request 2026-11-24", at=clock.now(),
                         operator=manager)
    assert done["points_forfeited"] == 39 + 1  # the water: 1.00 in cash earned 1
    row = till.store.conn.execute("SELECT phone, name, birthday, consent_at FROM members WHERE id = ?", (m.id,)).fetchone()
    assert row == (f"erased:{m.id}", "", None, None)
    with pytest.raises(NotFound):
        members.find(till.store.conn, "13800138000")
    with pytest.raises(DomainError, match="already erased"):
        privacy.erase(till.store, till.settings, m.id, "again", at=clock.now(), operator=manager)
    assert till.store.scalar("SELECT member_id FROM sales WHERE id = ?", (sold["id"],)) == m.id  # a pseudonym now
    back = return_with_receipt(till, sold["receipt_no"], [(1, 1000)])  # the books still work for the sale
    assert "loyalty" not in back
    report = integrity.check(till.store.conn)
    assert report.problems == []
    journal.verify(till.store.conn)
    assert points.balance(till.store.conn, m.id) == 0
    assert segments.export_csv(till.store.conn, [m.id], io.StringIO()) == 0


def test_unknown_member(till):
    with pytest.raises(NotFound):
        till.attach_member("13999999999")
    with pytest.raises(NotFound):
        privacy.export(till.store.conn, "nobody")


def test_member_commands_end_to_end(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    config = tmp_path / "shop.toml"
    config.write_text('[paths]\ndata_dir = "data"\n[loyalty]\nexpiry_months = 6\n', encoding="utf-8")

    def run(*argv, pin=None):
        if pin:
            monkeypatch.setenv("APPLIANCE_PIN", pin)
        monkeypatch.setenv("APPLIANCE_NEW_PIN", MANAGER[1])
        code = main(["--config", str(config), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    assert run("operator", "add", "--code", MANAGER[0], "--name", "Boss", "--role", "manager")[0] == 0
    code, out, _ = run("member", "add", "--phone", "13800138000", "--name", "Zhang", "--birthday", "1990-05-17",
                       "--consent", "yes", "--operator", MANAGER[0], pin=MANAGER[1])
    assert code == 0 and "added member" in out
    assert run("member", "add", "--phone", "12", "--name", "X", "--operator", MANAGER[0])[0] == 2
    assert run("member", "topup", "13800138000", "--amount", "50", "--operator", MANAGER[0])[0] == 1  # no shift
    assert run("shift", "open", "--operator", MANAGER[0], "--float", "100")[0] == 0
    code, out, _ = run("member", "topup", "13800138000", "--amount", "50", "--operator", MANAGER[0])
    assert code == 0 and "TOP-UP T01-TU000001" in out and "50.00" in out
    code, out, _ = run("member", "statement", "13800138000")
    assert code == 0 and "50.00" in out
    code, out, _ = run("member", "points", "13800138000", "--adjust", "250", "--reason", "welcome",
                       "--operator", MANAGER[0])
    assert code == 0 and "250" in out
    code, out, _ = run("member", "card", "13800138000", "--operator", MANAGER[0])
    card = out.split()[1]
    code, out, _ = run("member", "show", f"MBR:{card}")
    assert code == 0 and "points     250" in out and "stored     50.00" in out
    code, out, _ = run("member", "coupon", "issue", "--segment", "birthdays", "--month", "5", "--amount", "5",
                       "--operator", MANAGER[0])
    assert code == 0 and out.startswith("CP")
    target = tmp_path / "campaign.csv"
    assert run("member", "segment", "birthdays", "--month", "5", "--csv", str(target))[0] == 0
    assert "Zhang" in target.read_text(encoding="utf-8")
    export = tmp_path / "me.json"
    assert run("member", "export", "13800138000", "--out", str(export), "--operator", MANAGER[0])[0] == 0
    assert json.loads(export.read_text(encoding="utf-8"))["profile"]["phone"] == "13800138000"
    assert run("member", "erase", "13800138000", "--reason", "asked", "--operator", MANAGER[0])[0] == 1  # 50.00 owed
    assert run("member", "show", "13900000000")[0] == 1
    assert run("member", "together", "--days", "30")[0] == 0
    assert run("member", "points", "--expire", "--operator", MANAGER[0])[0] == 0
