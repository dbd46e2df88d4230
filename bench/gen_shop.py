"""Generate a realistic year of a busy shop through the till's own API, for the reports and their benchmark.

Run: .venv/bin/python bench/gen_shop.py PATH.db [--sales N] [--products N] [--members N] [--days N] [--seed N]

Every sale is rung up with Till.scan and paid with Till.pay; returns and post-voids go
through appliance.core.returns; goods come in through stock.receive; shifts open and
close with their Z reports; so the journal, the outbox, the documents, the stock ledger
and the points ledger are what a real shop would have. Trade has a weekly rhythm (the
weekend is busier), a yearly one (December up, the Spring Festival weeks down) and a
daily one (breakfast, lunch and after-work peaks; a little trade after midnight, which
belongs to the day before). The store is opened with synchronous=NORMAL for speed (a
power cut could lose the last commits, which a generator does not mind); the same seed
gives the same shop.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere, without installing

from appliance import config  # noqa: E402
from appliance.core import members, promotions, returns, stock  # noqa: E402
from appliance.core.promotions import Promotion  # noqa: E402
from appliance.core.sale import Discount  # noqa: E402
from appliance.core.clock import ManualClock, iso  # noqa: E402
from appliance.core.till import Till  # noqa: E402
from appliance.errors import DomainError  # noqa: E402
from appliance.store.db import Store  # noqa: E402

MANAGER, SUPERVISOR = ("9001", "9999"), ("2001", "2468")
CASHIERS = (("1001", "1234"), ("1002", "2345"), ("1003", "3456"), ("1004", "4567"))
# Relative trade by weekday (Monday first) and by local hour (hour 0 and 1: after midnight).
WEEKDAY = (0.85, 0.85, 0.9, 0.95, 1.15, 1.4, 1.3)
HOURS = {7: 0.6, 8: 1.2, 9: 0.8, 10: 0.7, 11: 1.0, 12: 1.4, 13: 1.0, 14: 0.6, 15: 0.6, 16: 0.8, 17: 1.3, 18: 1.6,
         19: 1.4, 20: 1.0, 21: 0.7, 22: 0.4, 23: 0.2, 0: 0.08, 1: 0.04}
CATEGORIES = 60
RETURN_RATE, VOID_RATE, CANCEL_RATE, LINE_VOID_RATE, MEMBER_RATE, DISCOUNT_RATE = 0.008, 0.002, 0.004, 0.01, 0.3, 0.02


def gtin13(n: int) -> str:
    body = f"69{n:010d}"
    total = sum(map(int, body[::2])) + 3 * sum(map(int, body[1::2]))
    return body + str(-total % 10)


@dataclass
class Shop:
    """What the generator keeps between sales: popularity, recent receipts, members with stored value."""

    codes: list[str]
    skus: list[str]
    cumulative: list[float]  # product popularity (Zipf), cumulative for bisect
    members: list[str]
    funded: set[str] = field(default_factory=set)
    recent: list[tuple[str, list[tuple[int, int]]]] = field(default_factory=list)  # receipt, (line_no, qty)

    def product(self, rng: random.Random) -> int:
        return bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])


def season(day: date) -> float:
    """Yearly rhythm: a December peak, a dip in the Spring Festival weeks (late January / February)."""
    doy = day.timetuple().tm_yday
    festive = 0.6 if 30 <= doy <= 45 else 1.0
    return festive * (1.0 + 0.25 * math.exp(-((doy - 355) / 12) ** 2) + 0.1 * math.sin(2 * math.pi * doy / 365))


def day_plan(first: date, days: int, sales: int) -> list[int]:
    """Sales per day: weekday x season weights, scaled so they sum to `sales` exactly."""
    weights = [WEEKDAY[(first + timedelta(d)).weekday()] * season(first + timedelta(d)) for d in range(days)]
    scale = sales / sum(weights)
    plan = [int(w * scale) for w in weights]
    for d in sorted(range(days), key=lambda d: -(weights[d] * scale - plan[d]))[: sales - sum(plan)]:
        plan[d] += 1
    return plan


def sale_times(rng: random.Random, day: date, count: int, zone: ZoneInfo) -> list[datetime]:
    """`count` moments in the trading day of `day` (07:00 to 02:00 the next morning), by the hourly profile."""
    hours = list(HOURS)
    weights = [HOURS[h] for h in hours]
    moments = []
    for hour in rng.choices(hours, weights, k=count):
        local = datetime.combine(day + timedelta(days=1 if hour < 4 else 0), datetime.min.time(), zone)
        moments.append(local + timedelta(hours=hour, seconds=rng.randrange(3600)))
    return sorted(moments)


def build_catalog(store: Store, settings: config.Settings, count: int, rng: random.Random, at: datetime) -> Shop:
    """`count` products in 60 categories; 3% sold by weight; cost 55-80% of the price; popularity by Zipf."""
    classes = list(settings.tax.classes)
    rows, codes, skus = [], [], []
    for i in range(count):
        price = rng.choice((150, 250, 350, 500, 800, 1200, 1990, 2990, 4990, 9900)) + rng.randrange(0, 100, 10)
        weighed = i % 33 == 7
        cost = price * rng.randrange(55, 80) // 100
        tax_class = classes[0] if i % 10 else classes[i // 10 % len(classes)]
        sku = f"G{i:06d}"
        rows.append((sku, f"商品{i} Item {i}", f"Item {i}", "kg" if weighed else "piece", price, cost, tax_class,
                     f"cat{i % CATEGORIES:02d}", iso(at)))
        codes.append(gtin13(i))
        skus.append(sku)
    with store.event("catalog.imported", ref="gen_shop", at=iso(at)) as event:
        event.conn.executemany(
            "INSERT INTO products (sku, name, name_en, unit, price, cost, tax_class, category, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        event.conn.executemany("INSERT INTO barcodes (code, sku) VALUES (?, ?)", zip(codes, skus))
        event.payload = {"source": "bench/gen_shop.py", "products": count}
    order = list(range(count))
    rng.shuffle(order)  # popularity is not the product number
    weights = [0.0] * count
    for rank, index in enumerate(order, start=1):
        weights[index] = 1 / rank ** 0.9
    cumulative, running = [], 0.0
    for w in weights:
        running += w
        cumulative.append(running)
    popular = sorted(range(count), key=lambda i: -weights[i])[:2]
    promotions.save(store, [
        Promotion("Y01", "category_percent", "cat05 九折 -10%", {"category": "cat05", "percent": 1000}),
        Promotion("Y02", "multi_price", "任选2件 any 2", {"skus": [skus[i] for i in popular], "n": 2,
                                                        "price": rows[popular[0]][4] * 3 // 2}),
        Promotion("Y03", "category_percent", "会员 cat11 八折 members -20%", {"category": "cat11", "percent": 2000},
                  members_only=True),
    ], at=iso(at))
    return Shop(codes, skus, cumulative, [])


def restock(till: Till, shop: Shop, expected_daily: dict[str, float], days: int, operator, at: datetime) -> None:
    """A delivery bringing each product up to `days` of its expected sales (what a buyer would order)."""
    conn = till.store.conn
    levels = dict(conn.execute("SELECT sku, on_hand FROM stock_levels"))
    costs = dict(conn.execute("SELECT sku, cost FROM products"))
    units = dict(conn.execute("SELECT sku, unit FROM products"))
    lines = []
    for sku in shop.skus:
        target = int(expected_daily.get(sku, 0.0) * days * 1000) + 2000
        missing = target - levels.get(sku, 0)
        if units[sku] == "piece":
            missing = (missing + 999) // 1000 * 1000
        if missing > 0:
            lines.append(stock.ReceiptLine(sku, missing, costs[sku]))
    if lines:
        stock.receive(till.store, till.settings, lines, operator=operator, at=at, document="gen_shop")


def _join(till: Till, shop: Shop, rng: random.Random, n: int, at: datetime) -> None:
    """Member n signs up; one in ten loads stored value at once."""
    member = members.add(till.store, f"139{n:08d}", f"会员{n}", at=at)
    shop.members.append(member.id)
    if n % 10 == 0:
        members.top_up(till.store, member.id, rng.choice((10000, 20000, 50000)), at=at, ref="gen_shop")
        shop.funded.add(member.id)


@dataclass
class Counts:
    sales: int = 0
    lines: int = 0
    returns: int = 0
    voids: int = 0
    cancels: int = 0
    shifts: int = 0


def ring_up(till: Till, shop: Shop, rng: random.Random, counts: Counts, supervisor) -> None:
    """One customer: items, perhaps a member, a voided line, then cash or stored value; rarely a cancel or post-void."""
    items = min(40, 1 + int(rng.expovariate(1 / 4.6)))
    for _ in range(items):
        index = shop.product(rng)
        code = shop.codes[index]
        product = till.catalog.resolve(code).product
        quantity = rng.randrange(150, 1500) if product.unit == "kg" else 1000 * (1 + (rng.random() < 0.15))
        till.scan(code, quantity)
    sale = till.sale
    if rng.random() < MEMBER_RATE and shop.members:
        till.attach_member(rng.choice(shop.members))
    if rng.random() < DISCOUNT_RATE:
        till.discount_basket(Discount(percent=500, reason="regular customer"))
    if rng.random() < LINE_VOID_RATE and len(sale.lines) > 1:
        till.void_line(sale.lines[-1].line_no)
    if rng.random() < CANCEL_RATE:
        till.cancel("customer left")
        counts.cancels += 1
        return
    due = till.remaining()
    if sale.member_id in shop.funded and rng.random() < 0.5 and members.balance(till.store.conn, sale.member_id) >= due:
        doc = till.pay("stored_value")
    else:
        step = rng.choice((100, 1000, 5000, 10000))
        doc = till.pay("cash", max(due, (due + step - 1) // step * step))
    counts.sales += 1
    counts.lines += len(doc["lines"])
    if rng.random() < VOID_RATE:
        returns.post_void(till, doc["receipt_no"], approver=supervisor, reason="rung up twice")
        counts.voids += 1
        return
    shop.recent.append((doc["receipt_no"], [(l["line_no"], l["quantity"]) for l in doc["lines"]]))
    del shop.recent[:-3000]


def return_one(till: Till, shop: Shop, rng: random.Random, counts: Counts) -> None:
    """A customer brings back part of a recent receipt."""
    receipt, lines = shop.recent[rng.randrange(len(shop.recent))]
    line_no, quantity = rng.choice(lines)
    try:
        returns.return_with_receipt(till, receipt, [(line_no, quantity)], reason="faulty")
        counts.returns += 1
    except DomainError:
        pass  # returned or voided already: the customer is sent away


def generate(path: Path, *, sales: int = 200_000, products: int = 5_000, members_count: int = 20_000, days: int = 365,
             seed: int = 1, first: date = date(2025, 1, 6), synchronous: str = "NORMAL",
             progress=None) -> dict:
    """Write the shop to a new database at `path`; returns what was written and how fast."""
    if path.exists():
        raise FileExistsError(f"{path} exists; the generator writes a new shop")
    rng = random.Random(seed)
    settings = config.from_mapping({}, source="gen_shop", base_dir=path.parent)
    zone = ZoneInfo(settings.time.zone)
    began = time.perf_counter()
    with Store(path, synchronous=synchronous) as store:
        start = datetime.combine(first - timedelta(days=1), datetime.min.time(), zone) + timedelta(hours=6)
        clock = ManualClock(start)
        till = Till(settings, store, clock)
        manager = till.operators.add(MANAGER[0], "Manager", "manager", MANAGER[1], at=start, by=None)
        till.operators.add(SUPERVISOR[0], "Supervisor", "supervisor", SUPERVISOR[1], at=start, by=manager)
        for code, pin in CASHIERS:
            till.operators.add(code, f"Cashier {code}", "cashier", pin, at=start, by=manager)
        shop = build_catalog(store, settings, products, rng, start)
        # A third of the members joined before the year; the rest sign up through it, on their day.
        joins: dict[int, list[int]] = {}
        for n in range(members_count):
            if n < members_count // 3:
                _join(till, shop, rng, n, start - timedelta(days=rng.randrange(1, 700)))
            else:
                joins.setdefault(rng.randrange(days), []).append(n)
        expected = sales / days
        weights = [c - p for c, p in zip(shop.cumulative, [0.0] + shop.cumulative[:-1])]
        whole = shop.cumulative[-1]
        daily = {sku: expected * 5.0 * 1.1 * w / whole for sku, w in zip(shop.skus, weights)}
        till.reload_promotions()
        supervisor = till.approve(*SUPERVISOR)
        restock(till, shop, daily, 21, manager, start)
        counts = Counts()
        plan = day_plan(first, days, sales)
        for d, planned in enumerate(plan):
            day = first + timedelta(days=d)
            opening = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=6, minutes=30)
            clock.set(opening)
            if d % 7 == 0 and d:
                restock(till, shop, daily, 21, manager, opening)
            cashier = CASHIERS[d % len(CASHIERS)]
            till.sign_in(*cashier)
            till.shifts.open(till.operator, 50000, at=opening)
            for n in joins.get(d, ()):
                _join(till, shop, rng, n, opening + timedelta(minutes=rng.randrange(1, 60)))
            for moment in sale_times(rng, day, planned, zone):
                clock.set(moment)
                if shop.recent and rng.random() < RETURN_RATE:
                    return_one(till, shop, rng, counts)
                ring_up(till, shop, rng, counts, supervisor)
            closing = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone) + timedelta(hours=2, minutes=30)
            clock.set(closing)
            expected_cash = till.shifts.x_report(till.operator, at=closing).expected_cash
            till.shifts.close(supervisor, expected_cash, at=closing)
            till.sign_out()
            counts.shifts += 1
            if progress is not None:
                progress(d + 1, days, counts, time.perf_counter() - began)
    seconds = time.perf_counter() - began
    return {"path": str(path), "first": first.isoformat(), "last": (first + timedelta(days=days - 1)).isoformat(),
            "sales": counts.sales, "lines": counts.lines, "returns": counts.returns, "voids": counts.voids,
            "cancels": counts.cancels, "shifts": counts.shifts, "products": products, "members": members_count,
            "seconds": seconds, "sales_per_s": counts.sales / seconds if seconds else 0.0}


def cached_year(sales: int = 200_000) -> Path:
    """A year of `sales` in bench/.cache, generated on first use and shared by the benches that read a year."""
    path = REPO / "bench" / ".cache" / f"shop-{sales}.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {sales:,} sales into {path} (once) ...", flush=True)
        tmp = path.with_suffix(".tmp.db")
        tmp.unlink(missing_ok=True)
        info = generate(tmp, sales=sales)
        tmp.rename(path)
        print(f"  {info['sales']:,} sales, {info['lines']:,} lines in {info['seconds']:.0f} s "
              f"({info['sales_per_s']:,.0f} sales/s)")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the new database file")
    parser.add_argument("--sales", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=date.fromisoformat, default=date(2025, 1, 6), help="first business day")
    args = parser.parse_args(argv)

    def progress(done: int, days: int, counts: Counts, seconds: float) -> None:
        if done % 10 == 0 or done == days:
            print(f"  day {done}/{days}: {counts.sales:,} sales, {counts.lines:,} lines, "
                  f"{counts.sales / seconds:,.0f} sales/s", file=sys.stderr, flush=True)

    result = generate(args.path, sales=args.sales, products=args.products, members_count=args.members, days=args.days,
                      seed=args.seed, first=args.first, progress=progress)
    for key, value in result.items():
        print(f"{key:<12} {value:,.1f}" if isinstance(value, float) else f"{key:<12} {value:,}"
              if isinstance(value, int) else f"{key:<12} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
