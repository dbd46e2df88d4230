"""The appliance configuration: one TOML file, every key declared once with its default and doc.

Each section is a frozen dataclass; a key's metadata holds its documentation and the
function that checks a value from the file. Loading rejects unknown sections and keys
and names the file, the key and the reason, so a technician editing one line on a
terminal sees exactly what to fix. Without a file, the embedded default (a demo shop on
simulated devices) is used.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

from appliance.core.barcode import InstoreLayout
from appliance.core.money import format_percent, parse_percent
from appliance.errors import ConfigError, InputError

EMBEDDED = "<embedded default>"


# --- value checkers: each takes the raw TOML value and returns the typed value or raises ValueError


def _text(max_len: int = 200) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {type(value).__name__}")
        if len(value) > max_len:
            raise ValueError(f"must be at most {max_len} characters")
        return value

    return check


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {type(value).__name__}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, not {value}")
        return value

    return check


def _choice(*options: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # Compare types too: TOML 32.0 == 32 and true == 1 in Python, but neither is a valid width.
        if not any(type(value) is type(option) and value == option for option in options):
            raise ValueError(f"must be one of {', '.join(map(repr, options))}, not {value!r}")
        return value

    return check


def _pattern(regex: str, hint: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _text()(value)
        if not re.fullmatch(regex, text):
            raise ValueError(f"{hint}, not {value!r}")
        return text

    return check


def _percent(value: Any) -> int:
    # The % sign is required: a bare "13" could as well mean 0.13 as 13 %.
    if not isinstance(value, str) or not value.strip().endswith("%"):
        raise ValueError(f'must be a percentage in quotes with a % sign, like "13%", not {value!r}')
    try:
        return parse_percent(value)
    except InputError as exc:
        raise ValueError(exc.message) from None


def _tax_classes(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise ValueError('must be a table of class = "rate%", like { standard = "13%" }')
    classes = {}
    for name, rate in value.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
            raise ValueError(f"class name {name!r} must be lowercase letters, digits or _")
        try:
            classes[name] = _percent(rate)
        except ValueError as exc:
            raise ValueError(f"class {name!r}: {exc}") from None
    return classes


def _zone(value: Any) -> str:
    text = _text()(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the zone database, like "Asia"
        raise ValueError(f"{text!r} is not a known time zone (like 'Asia/Shanghai')") from None
    return text


def _layouts(value: Any) -> tuple[InstoreLayout, ...]:
    if not isinstance(value, list):
        raise ValueError('must be a list of layouts, like ["22IIIIIWWWWWC"]')
    layouts = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"layout {item!r} must be a string")
        layouts.append(InstoreLayout(item))
    return tuple(layouts)


def _key(default: Any, doc: str, check: Callable[[Any], Any], show: Callable[[Any], Any] | None = None) -> Any:
    """Declare a key: `default` is the typed value, `check` reads a file value, `show` writes one back."""
    metadata = {"doc": doc, "check": check, "show": show}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


# --- sections


@dataclass(frozen=True)
class Shop:
    name: str = _key("演示便利店 Demo Mart", "Shop name, first line of every receipt.", _text(64))
    address: str = _key("上海市南京东路1号 1 Nanjing Rd E", "Address printed under the name.", _text(120))
    tax_id: str = _key("91310000MA1DEMO01X", "Tax registration number printed on receipts.", _text(40))
    phone: str = _key("021-5555-0100", "Phone number printed on receipts (may be empty).", _text(40))
    footer: str = _key("谢谢惠顾 Thank you!", "Closing line of every receipt.", _text(120))


@dataclass(frozen=True)
class Device:
    id: str = _key(
        "T01",
        "Terminal id, 1-8 capital letters or digits, unique in the shop; it starts every receipt number.",
        _pattern(r"[A-Z0-9]{1,8}", "must be 1-8 capital letters or digits"),
    )


@dataclass(frozen=True)
class Currency:
    code: str = _key("CNY", "ISO 4217 currency code.", _pattern(r"[A-Z]{3}", "must be three capital letters"))
    exponent: int = _key(2, "Digits after the decimal point (2 for CNY, USD, EUR; 0 for JPY).", _integer(0, 4))
    symbol: str = _key("¥", "Symbol printed before totals.", _text(4))


@dataclass(frozen=True)
class Tax:
    mode: str = _key(
        "inclusive",
        '"inclusive": shelf prices include tax (the tax is shown as contained); "exclusive": tax is added at the total.',
        _choice("inclusive", "exclusive"),
    )
    rounding: str = _key(
        "line",
        '"line": tax is rounded on each line; "total": once per rate on the sum of its lines.',
        _choice("line", "total"),
    )
    classes: dict = _key(
        {"standard": 1300, "reduced": 900, "zero": 0},
        'Tax classes and their rates, like { standard = "13%", reduced = "9%" }; products name a class.',
        _tax_classes,
        lambda classes: {name: format_percent(bp) for name, bp in classes.items()},
    )
    default_class: str = _key("standard", "Class of products that name none.", _text(32))


@dataclass(frozen=True)
class Cash:
    rounding_step: int = _key(
        10,
        "Cash totals are rounded to a multiple of this many minor units (1 = no rounding, 10 = 0.10).",
        _integer(1, 10000),
    )
    rounding_mode: str = _key(
        "nearest", 'How cash totals are rounded: "nearest" (halves up), "down" or "up".', _choice("nearest", "down", "up")
    )
    drawer_opens: str = _key(
        "cash",
        'When a sale opens the drawer: "cash" (any cash tender) or "change" (only when change is due); '
        "otherwise only a supervisor's journaled no-sale opens it.",
        _choice("cash", "change"),
    )


@dataclass(frozen=True)
class Time:
    zone: str = _key("Asia/Shanghai", "IANA time zone of the shop; receipts and business days use it.", _zone)
    cutover_hour: int = _key(
        4, "Hour (0-23) when the business day changes; a sale at 01:30 belongs to the day before.", _integer(0, 23)
    )


@dataclass(frozen=True)
class Receipt:
    width: int = _key(48, "Characters per line: 32 for 58 mm paper, 42 or 48 for 80 mm.", _choice(32, 42, 48))
    qr_url: str = _key(
        "",
        "Link printed as a QR code under each receipt (an e-receipt); {receipt_no} is replaced; empty: no QR code. "
        "Not used when digital is on.",
        _text(200),
    )
    digital: bool = _key(
        False,
        "Digital receipts: under each sale, return and void, the QR code of the receipt's page at head office "
        "(needs [sync] url), and a line on the customer display that says so.",
        _choice(True, False),
    )


@dataclass(frozen=True)
class Sale:
    discount_limit: int = _key(
        1000, "A line or basket discount above this share of the price needs a supervisor.", _percent, format_percent
    )
    price_override_limit: int = _key(
        1000, "A price override that moves the price by more than this needs a supervisor.", _percent, format_percent
    )
    max_quantity: int = _key(999, "Largest quantity (pieces or kilograms) on one line.", _integer(1, 100000))
    return_days: int = _key(30, "Returns of receipts older than this many days need a supervisor.", _integer(0, 3650))


@dataclass(frozen=True)
class Barcode:
    instore: tuple = _key(
        (InstoreLayout("21IIIIIPPPPPC"), InstoreLayout("22IIIIIWWWWWC")),
        "In-store EAN-13 layouts (prefix digits, I item code, P price, W grams, X ignored, C check).",
        _layouts,
        lambda layouts: [layout.pattern for layout in layouts],
    )


@dataclass(frozen=True)
class Security:
    pin_attempts: int = _key(5, "Wrong PINs in a row before an operator is locked out.", _integer(1, 20))
    lockout_minutes: int = _key(15, "How long a locked-out operator waits (a supervisor can unlock).", _integer(1, 1440))


@dataclass(frozen=True)
class Paths:
    data_dir: str = _key("var", "Folder for the database and queues; relative to the config file's folder.", _text(400))
    database: str = _key("", 'SQLite file; empty means "appliance.db" in data_dir.', _text(400))


@dataclass(frozen=True)
class Store:
    synchronous: str = _key(
        "FULL",
        'SQLite synchronous level: "FULL" makes a completed sale survive a power cut; "NORMAL" is faster but may lose the last sales.',
        _choice("FULL", "NORMAL"),
    )


def _percentages(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise ValueError("must be a list of 1 to 4 whole percentages, like [10, 15, 20]")
    return tuple(_integer(1, 100)(item) for item in value)


def _host(value: Any) -> str:
    text = _text()(value)
    if text and not re.fullmatch(r"tcp://[^:/\s]+:\d{1,5}", text):
        raise ValueError(f"must be empty (no acquirer) or like tcp://10.0.0.5:8583, not {text!r}")
    return text


@dataclass(frozen=True)
class Payments:
    host: str = _key("", 'The acquirer host for card authorisations, like "tcp://10.0.0.5:8583"; empty: cards are not taken.', _host)
    timeout_s: int = _key(15, "Seconds to wait for the acquirer's answer before declining and reversing.", _integer(2, 120))
    terminal_id: str = _key("T0000001", "Terminal id the acquirer knows this till by (field 41, 8 characters).",
                            _pattern(r"[ -~]{8}", "must be exactly 8 printable characters"))
    merchant_id: str = _key("DEMO00000000001", "Merchant id at the acquirer (field 42, 15 characters).",
                            _pattern(r"[ -~]{15}", "must be exactly 15 printable characters"))
    offline_limit: int = _key(20000, "Largest card payment approved offline when the host is unreachable (minor units).",
                              _integer(0, 10**9))
    offline_total: int = _key(200000, "Most offline-approved money waiting to reach the host (minor units).", _integer(0, 10**10))
    offline_count: int = _key(20, "Most offline-approved payments waiting to reach the host.", _integer(0, 10000))
    offline_max_age_hours: int = _key(72, "Offline approvals stop once the oldest waiting one is this old (hours).",
                                      _integer(1, 24 * 7))
    fallback_to_swipe: bool = _key(False, "Accept a swipe of a chip card after its chip could not be read.", _choice(True, False))
    tips: str = _key("off", '"off", or "prompt": the customer chooses a tip on the display before paying by card.',
                     _choice("off", "prompt"))
    tip_percentages: tuple[int, ...] = _key((10, 15, 20), "Tips the customer display suggests, in percent of the amount "
                                            "(up to 4); the customer may also type another amount or none.",
                                            _percentages, show=list)
    country: str = _key("156", "ISO 3166 numeric country code of the terminal (tag 9F1A): 156 China, 840 USA, 826 UK.",
                        _pattern(r"[0-9]{3}", "must be three digits"))
    ca_keys: str = _key("", "File of the card schemes' CA public keys for offline data authentication, from the "
                        "acquirer; empty: cards are not authenticated offline (the bank still checks them).", _text())
    wallet: str = _key("", 'Wallet (QR) payment provider: empty for none, or "sim://wallet" for the reference '
                       "simulator (demos and tests).", _choice("", "sim://wallet"))
    seal_key: str = _key("", "PEM file with the acquirer's RSA public key that seals the card numbers of offline "
                         "approvals until they are uploaded; empty: no offline approvals.", _text())
    pin_key: str = _key("", "File holding the terminal's PIN encryption key as a TR-31 key block (online PIN); "
                        "empty: online PIN is refused.", _text())
    pin_kbpk: str = _key("", "File (readable by the appliance only) with the key block protection key, in hex, "
                         "that unwraps pin_key.", _text())


def _percent_between(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        bp = _percent(value)
        if not low <= bp <= high:
            raise ValueError(f"must be between {format_percent(low)} and {format_percent(high)}, not {value!r}")
        return bp

    return check


@dataclass(frozen=True)
class Stock:
    negative: str = _key("warn", '"warn": a sale of an item with no stock goes on and the operator is told; '
                         '"refuse": scanning it is refused, naming the product and its on-hand.', _choice("warn", "refuse"))
    history_days: int = _key(56, "Days of sales the learned reorder points look back on (whole weeks suit the "
                             "weekday factors).", _integer(7, 365))
    alpha: int = _key(3000, "Smoothing weight of the newest day in the learned daily demand (higher: quicker to follow "
                      "a change, more nervous).", _percent_between(100, 10000), format_percent)
    service_level: int = _key(9500, "Chance of not running out during a supplier's lead time that the safety stock "
                              "aims for (50% to 99.9%).", _percent_between(5000, 9990), format_percent)
    default_lead_days: int = _key(3, "Lead time of a new supplier when none is given (days).", _integer(0, 365))


def _multipliers(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError("must be a table of category = percent, like { snacks = 200, tobacco = 0 }")
    return {str(name): _integer(0, 1000)(percent) for name, percent in value.items()}


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise ValueError('must be a list of names, like ["6900000000014"]')
    return tuple(value)


def _iso_day(value: Any, what: str) -> str:
    import datetime as _dt

    try:
        return _dt.date.fromisoformat(_text(10)(value)).isoformat()
    except ValueError:
        raise ValueError(f"{what} {value!r} must be a date like 2026-12-24") from None


def _campaigns(value: Any) -> tuple[tuple[str, str, int], ...]:
    """[{from, to, multiplier}]: points multiplied (percent) on business days from..to inclusive."""
    if not isinstance(value, list):
        raise ValueError('must be a list like [{ from = "2026-12-01", to = "2026-12-24", multiplier = 200 }]')
    campaigns = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"from", "to", "multiplier"}:
            raise ValueError("each campaign is a table with from, to and multiplier")
        start, end = _iso_day(item["from"], "from"), _iso_day(item["to"], "to")
        if end < start:
            raise ValueError(f"campaign from {start} ends before it starts ({end})")
        campaigns.append((start, end, _integer(100, 1000)(item["multiplier"])))
    return tuple(campaigns)


def _tiers(value: Any) -> tuple[tuple[str, int, int], ...]:
    """[{name, threshold, discount}] by rising threshold: the member's tier is the highest reached."""
    if not isinstance(value, list):
        raise ValueError('must be a list like [{ name = "gold", threshold = 500000, discount = "5%" }]')
    tiers = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"name", "threshold", "discount"}:
            raise ValueError("each tier is a table with name, threshold and discount")
        name = _pattern(r"[a-z][a-z0-9_]{0,15}", "a tier name is lowercase letters, digits or _")(item["name"])
        tiers.append((name, _integer(0, 10**10)(item["threshold"]), _percent(item["discount"])))
    if [t[1] for t in tiers] != sorted({t[1] for t in tiers}):
        raise ValueError("tiers must be listed by rising threshold, each threshold different")
    return tuple(tiers)


@dataclass(frozen=True)
class Loyalty:
    earn_per_unit: int = _key(1, "Points earned per 1.00 paid (stored value and points tenders earn none); "
                              "0 turns earning off.", _integer(0, 1000))
    category_multipliers: dict = _key({}, "Points multiplier per category in percent, like { snacks = 200 }; "
                                      "0 excludes the category.", _multipliers)
    excluded_skus: tuple = _key((), "SKUs that never earn points (tobacco, gift cards).", _names, show=list)
    promotion_bonus: int = _key(100, "Points multiplier (percent) for lines sold on a promotion.", _integer(0, 1000))
    campaigns: tuple = _key((), "Bonus points periods: a list of { from, to, multiplier } (business days, percent).",
                            _campaigns, lambda items: [{"from": a, "to": b, "multiplier": m} for a, b, m in items])
    redeem_rate: int = _key(100, "Points that pay 1.00 when points are used as a tender.", _integer(1, 100000))
    redeem_min: int = _key(100, "Fewest points a member may use at once.", _integer(1, 10**7))
    expiry_months: int = _key(12, "Points expire this many months after they were earned (oldest spent first); "
                              "0: never.", _integer(0, 120))
    tier_basis: str = _key("spend", '"spend" (money, minor units) or "points" (earned) over the last 12 months '
                           "decides the tier.", _choice("spend", "points"))
    tiers: tuple = _key((), "Tiers by rising threshold: a list of { name, threshold, discount }; the discount is "
                        "taken off items not on another promotion.", _tiers,
                        lambda items: [{"name": n, "threshold": t, "discount": format_percent(d)} for n, t, d in items])
    card_prefix: str = _key("M", "First letters of the member card codes this till issues.",
                            _pattern(r"[A-Z]{1,3}", "must be 1-3 capital letters"))


@dataclass(frozen=True)
class DeviceSpec:
    """One `[devices.NAME]` table: which device, at which address, and whether the till needs it."""

    name: str
    kind: str
    address: str
    required: bool = False


DEVICE_KEYS = {
    "kind": "scanner, keypad, card_reader, stripe_reader, scale, printer, drawer, display or indicator; "
    "may be left out when the entry is named after its kind ([devices.printer]).",
    "address": 'Where the device is, as a URL: "serial:///dev/ttyUSB0?baudrate=9600", "usb://04b8:0202", '
    '"tcp://10.0.0.9:9100", "evdev:///dev/input/by-id/...", "gpio://keypad?rows=5,6,13,19&cols=12,16,20", '
    '"pcsc://ACS ACR122U", "file:///dev/usb/lp0", "sim://printer".',
    "required": "true when the till must not open without it: `appliance doctor` then exits non-zero if it is missing.",
}

# The embedded default: a simulator for every kind, so `make run` and the tests need no hardware.
DEFAULT_DEVICES = tuple(
    DeviceSpec(kind, kind, f"sim://{kind}", required=kind in ("printer", "scanner"))
    for kind in ("scanner", "keypad", "card_reader", "stripe_reader", "scale", "printer", "drawer", "display",
                 "indicator")
)


def _devices(raw: Any, source: str) -> tuple[DeviceSpec, ...]:
    from appliance.hal import address, registry
    from appliance.hal.base import KINDS
    from appliance.hal.errors import DeviceConfigError

    if not isinstance(raw, dict) or not raw:
        raise ConfigError("must hold one [devices.NAME] table per device", where=f"{source}: [devices]")
    specs = []
    for name, table in raw.items():
        where = f"{source}: [devices.{name}]"
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
            raise ConfigError("a device name is lowercase letters, digits or _", where=where)
        if not isinstance(table, dict):
            raise ConfigError("must be a table with kind, address and required", where=where)
        for key in table:
            if key not in DEVICE_KEYS:
                raise ConfigError(f"unknown key; known keys are {', '.join(DEVICE_KEYS)}", where=f"{where} {key}")
        kind = table.get("kind", name if name in KINDS else None)
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(f"kind must be one of {', '.join(sorted(KINDS))}", where=f"{where} kind")
        url = table.get("address")
        if not isinstance(url, str):
            raise ConfigError("address is missing (a URL such as sim://printer)", where=f"{where} address")
        required = table.get("required", False)
        if not isinstance(required, bool):
            raise ConfigError("required must be true or false", where=f"{where} required")
        try:
            registry.driver_path(kind, address.parse(url).scheme)
        except DeviceConfigError as exc:
            raise ConfigError(exc.message, where=f"{where} address") from None
        specs.append(DeviceSpec(name, kind, url, required))
    return tuple(specs)


def _address(value: Any) -> str:
    text = _text(64)(value)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f'must be an IP address, like "127.0.0.1", not {text!r}') from None
    return text


@dataclass(frozen=True)
class Api:
    enabled: bool = _key(True, "Serve the local HTTP/JSON API (docs/api.md) from the daemon.", _choice(True, False))
    bind: str = _key("127.0.0.1", "Address the API listens on; anything but loopback also needs lan = true.", _address)
    port: int = _key(8080, "TCP port of the API.", _integer(1, 65535))
    lan: bool = _key(False, "Allow the API on the shop's network (a LAN bind address); off keeps it on this box.",
                     _choice(True, False))
    hostnames: tuple = _key((), "Host names the back office may be opened by besides the till's IP addresses, its "
                            "own hostname and localhost (a page under any other name is refused: DNS rebinding).",
                            _names)


def _sync_url(value: Any) -> str:
    text = _text(400)(value)
    if text and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ValueError(f'must be empty (no sync) or an http(s) address like "https://ho.example.com", not {text!r}')
    return text.rstrip("/")


@dataclass(frozen=True)
class Sync:
    url: str = _key("", "Head office address the journal is sent to (docs/sync.md); empty means no sync.", _sync_url)
    device_secret_file: str = _key(
        "var/device.secret", "File with this terminal's signing secret (hex, mode 0600), written by enrolment; "
        "relative to the config file's folder.", _text(400))
    batch_max_events: int = _key(500, "Most events sent in one request.", _integer(1, 10000))
    batch_max_age_s: int = _key(60, "Send a part-filled batch once its oldest event has waited this many seconds.",
                                _integer(0, 86400))
    timeout_s: int = _key(10, "Seconds to wait for head office before a send counts as failed.", _integer(1, 300))
    outbox_alert: int = _key(10000, "Unsent events at which the operator is warned that head office is behind.",
                             _integer(1, 10_000_000))
    pull_every_s: int = _key(60, "Seconds between pulls of head office's feeds (catalog, prices, members...).",
                             _integer(5, 86400))


@dataclass(frozen=True)
class Console:
    language: str = _key("zh", 'Labels of the operator console: "zh" (Chinese) or "en" (English).', _choice("zh", "en"))
    profile: str = _key("fixed", '"fixed": the counter terminal\'s screen; "portable": a compact layout for a handheld '
                        "(battery, offline count, delivery orders by barcode).", _choice("fixed", "portable"))


@dataclass(frozen=True)
class Update:
    bootenv_dir: str = _key("", "Folder of the A/B boot state (the image's config partition, /boot/config); empty: "
                            "this machine has no update slots (a development box).", _text(400))
    firmware: str = _key("rpi", '"rpi": keep the Raspberry Pi firmware\'s autoboot.txt in step; "file": the state '
                         "file alone.", _choice("rpi", "file"))
    board: str = _key("rpi-arm64", "Board this terminal is: update bundles for another board are refused.",
                      _choice("rpi-arm64", "amd64"))
    trusted_keys: str = _key("/etc/appliance/trusted-keys", "Folder of the public keys (*.pub) update bundles "
                             "must be signed with.", _text(400))
    slots_dir: str = _key("/dev/disk/by-partlabel", "Where the slots' partitions are (bootA, rootA, bootB, rootB).",
                          _text(400))


@dataclass(frozen=True)
class Settings:
    shop: Shop = field(default_factory=Shop)
    device: Device = field(default_factory=Device)
    currency: Currency = field(default_factory=Currency)
    tax: Tax = field(default_factory=Tax)
    cash: Cash = field(default_factory=Cash)
    time: Time = field(default_factory=Time)
    receipt: Receipt = field(default_factory=Receipt)
    sale: Sale = field(default_factory=Sale)
    barcode: Barcode = field(default_factory=Barcode)
    security: Security = field(default_factory=Security)
    paths: Paths = field(default_factory=Paths)
    store: Store = field(default_factory=Store)
    payments: Payments = field(default_factory=Payments)
    stock: Stock = field(default_factory=Stock)
    loyalty: Loyalty = field(default_factory=Loyalty)
    console: Console = field(default_factory=Console)
    api: Api = field(default_factory=Api)
    sync: Sync = field(default_factory=Sync)
    update: Update = field(default_factory=Update)
    devices: tuple[DeviceSpec, ...] = DEFAULT_DEVICES
    source: str = EMBEDDED
    base_dir: Path = field(default_factory=Path.cwd)

    def resolve(self, path: str) -> Path:
        """A path from the configuration: relative ones are relative to the configuration file."""
        return self.base_dir / path

    @property
    def database_path(self) -> Path:
        data_dir = self.base_dir / self.paths.data_dir
        return data_dir / self.paths.database if self.paths.database else data_dir / "appliance.db"

    def tax_rate(self, tax_class: str) -> int:
        """Basis points of a tax class; a class the configuration lost is a configuration error."""
        name = tax_class or self.tax.default_class
        if name not in self.tax.classes:
            raise ConfigError(
                f"tax class {name!r} is used by products but not defined ({', '.join(self.tax.classes)})",
                where=f"{self.source}: [tax] classes",
            )
        return self.tax.classes[name]

    def to_toml(self) -> str:
        return tomli_w.dumps(_as_table(self))


SECTIONS: dict[str, type] = {
    f.name: f.type if isinstance(f.type, type) else globals()[f.type]
    for f in dataclasses.fields(Settings)
    if f.name not in ("source", "base_dir", "devices")
}
ALL_SECTIONS = (*SECTIONS, "devices")


def documented_keys() -> list[tuple[str, str, Any, str]]:
    """(section, key, default as written in TOML, doc) for every key: the docs are tested against it."""
    rows = []
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            show = f.metadata["show"]
            default = _default(f)
            rows.append((section, f.name, show(default) if show else default, f.metadata["doc"]))
    rows += [("devices", key, None, doc) for key, doc in DEVICE_KEYS.items()]
    return rows


def _build_section(cls: type, raw: dict[str, Any], source: str, section: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for name, f in known.items():
        if name not in raw:
            continue
        try:
            values[name] = f.metadata["check"](raw[name])
        except ValueError as exc:
            raise ConfigError(f"{exc}", where=f"{source}: [{section}] {name}") from None
    for name in raw:
        if name not in known:
            raise ConfigError(
                f"unknown key; known keys are {', '.join(sorted(known))}", where=f"{source}: [{section}] {name}"
            )
    return cls(**values)


def _cross_checks(settings: Settings) -> None:
    if settings.tax.default_class not in settings.tax.classes:
        raise ConfigError(
            f"{settings.tax.default_class!r} is not one of the tax classes ({', '.join(settings.tax.classes)})",
            where=f"{settings.source}: [tax] default_class",
        )
    if settings.receipt.digital and not settings.sync.url:
        raise ConfigError(
            "digital receipts are pages served by head office: set [sync] url too, or turn digital off",
            where=f"{settings.source}: [receipt] digital",
        )
    prefixes = [layout.prefix for layout in settings.barcode.instore]
    for i, a in enumerate(prefixes):
        for b in prefixes[i + 1 :]:
            if a.startswith(b) or b.startswith(a):
                raise ConfigError(
                    f"layouts with prefixes {b!r} and {a!r} overlap; each code must match one layout",
                    where=f"{settings.source}: [barcode] instore",
                )


def from_mapping(raw: dict[str, Any], *, source: str = EMBEDDED, base_dir: Path | None = None) -> Settings:
    """Build settings from parsed TOML; every problem is a ConfigError naming the key."""
    sections = {}
    for section, value in raw.items():
        if section not in ALL_SECTIONS:
            raise ConfigError(
                f"unknown section; known sections are {', '.join(ALL_SECTIONS)}", where=f"{source}: [{section}]"
            )
        if not isinstance(value, dict):
            raise ConfigError(
                f"must be a table (a [{section}] header with keys under it), not {type(value).__name__}",
                where=f"{source}: [{section}]",
            )
    for section, cls in SECTIONS.items():
        sections[section] = _build_section(cls, raw.get(section, {}), source, section)
    devices = _devices(raw["devices"], source) if "devices" in raw else DEFAULT_DEVICES
    settings = Settings(**sections, devices=devices, source=source, base_dir=base_dir or Path.cwd())
    _cross_checks(settings)
    return settings


def load(path: str | Path | None = None) -> Settings:
    """Load a config file, or the embedded default when `path` is None."""
    if path is None:
        return from_mapping({})
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file: {exc.strerror}", where=str(file)) from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"is not UTF-8 text (byte {exc.start})", where=str(file)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", where=str(file)) from None
    return from_mapping(raw, source=str(file), base_dir=file.resolve().parent)


def _as_table(settings: Settings) -> dict[str, dict[str, Any]]:
    table = {}
    for section in SECTIONS:
        obj = getattr(settings, section)
        entries = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            show = f.metadata["show"]
            entries[f.name] = show(value) if show else value
        table[section] = entries
    table["devices"] = {d.name: {"kind": d.kind, "address": d.address, "required": d.required} for d in settings.devices}
    return table
