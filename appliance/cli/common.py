"""What every `appliance` command shares: settings, the store, the till, PINs and printing."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from appliance import config
from appliance.config import Settings
from appliance.core.clock import Clock, SystemClock
from appliance.core.money import parse_amount, parse_quantity
from appliance.core.operators import Operator
from appliance.core.till import Till
from appliance.display.document import Element, framed, render_text
from appliance.display.receipt import receipt, receipt_context
from appliance.errors import AuthenticationFailed, ConfigError, InputError, StoreError
from appliance.store.db import Store

PAPER = {32: "58 mm", 42: "80 mm", 48: "80 mm"}


def settings_from(args: argparse.Namespace) -> Settings:
    path = args.config or os.environ.get("APPLIANCE_CONFIG") or None
    return config.load(path)


def open_store(settings: Settings, *, must_exist: bool = False) -> Store:
    """Open (or create) the store; `must_exist` for checks, which must not report an empty new file as whole."""
    path = settings.database_path
    if must_exist and not path.is_file():
        raise StoreError("there is no database here (check [paths] in the configuration)", where=str(path))
    try:
        return Store(path, synchronous=settings.store.synchronous)
    except StoreError as exc:
        if exc.code != "data_dir":
            raise
        # The folder cannot be created: a configuration problem to fix, not a damaged store.
        raise ConfigError(f"{exc.message} ({path.parent})", where=f"{settings.source}: [paths] data_dir") from None


@contextmanager
def till_for(args: argparse.Namespace, clock: Clock | None = None) -> Iterator[Till]:
    settings = settings_from(args)
    with open_store(settings) as store:
        yield Till(settings, store, clock or SystemClock())


def read_pin(code: str, *, who: str = "operator") -> str:
    """PINs come from the environment (automation) or a hidden prompt, never from argv (visible in ps)."""
    env = "APPLIANCE_PIN" if who == "operator" else "APPLIANCE_SUPERVISOR_PIN"
    pin = os.environ.get(env)
    if pin is not None:
        return pin
    if not sys.stdin.isatty():
        raise AuthenticationFailed(f"no PIN for {who} {code}: set {env} or run in a terminal")
    return getpass.getpass(f"PIN for {who} {code}: ")


def sign_in(till: Till, code: str) -> Operator:
    return till.sign_in(code, read_pin(code))


def approver(till: Till, code: str | None) -> Operator | None:
    if not code:
        return None
    return till.approve(code, read_pin(code, who="supervisor"))


def money(text: str, settings: Settings, what: str = "amount") -> int:
    return parse_amount(text, settings.currency.exponent, what=what)


def paper(elements: Sequence[Element], widths: Sequence[int]) -> str:
    """The document as it would come out of the printer, once per paper width, framed."""
    blocks = []
    for cells in widths:
        blocks.append("\n".join(framed(render_text(elements, cells), f" {PAPER[cells]} · {cells} ")))
    return "\n".join(blocks)


PRINTERS = {32: (58, 384), 42: (80, 576), 48: (80, 576)}  # columns: (paper mm, dots)


def save_pngs(elements: Sequence[Element], name: str, widths: Sequence[int], folder: Path) -> list[Path]:
    """The document as the printer would put it on paper, one PNG per paper width."""
    from appliance.display.escpos import to_escpos
    from appliance.display.escpos_render import to_png

    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for cells in widths:
        mm, dots = PRINTERS[cells]
        data = to_escpos(elements, columns=cells, dots=dots, chinese=True)
        saved.append(to_png(data, dots, folder / f"{name}-{mm}mm.png"))
    return saved


def print_receipt(
    till: Till, doc: dict[str, Any], widths: Sequence[int], original_receipt: str = "", png_dir: Path | None = None
) -> None:
    ctx = receipt_context(till, doc, original_receipt)
    elements = receipt(doc, till.settings, ctx)
    print(paper(elements, widths))
    if png_dir is not None:
        save_pngs(elements, doc["receipt_no"], widths, png_dir)


def parse_quantity_arg(text: str) -> int:
    """Quantities on the command line are pieces or kilograms ("2", "0.532")."""
    try:
        return parse_quantity(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
