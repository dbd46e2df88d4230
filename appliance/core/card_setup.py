"""Card payments built from the configuration: the EMV terminal parameters, the acquirer link, the keys.

Everything a card payment needs that a technician sets per terminal comes from
`[payments]`; a key file that is missing or unusable is a configuration error that
names the key, raised when the till starts, not in the middle of a customer's payment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from appliance.config import Settings
from appliance.core.card import CardTender, CardTerminal
from appliance.core.card_data import SealError, device_key
from appliance.core.card_host import Acquirer
from appliance.core.clock import Clock
from appliance.emv import pinblock
from appliance.emv.defaults import CURRENCY_NUMERIC, CaKeyFileError, default_aids, load_ca_keys
from appliance.emv.host import HostClient
from appliance.emv.model import TerminalConfig
from appliance.errors import ConfigError
from appliance.native.secret import Secret
from appliance.store.db import Store


def currency_numeric(settings: Settings) -> str:
    code = CURRENCY_NUMERIC.get(settings.currency.code)
    if code is None:
        raise ConfigError(f"card payments need the ISO 4217 number of {settings.currency.code}; this till knows "
                          f"{', '.join(sorted(CURRENCY_NUMERIC))}", where=f"{settings.source}: [currency] code")
    return code


def terminal_config(settings: Settings) -> TerminalConfig:
    p = settings.payments
    ca_keys = ()
    if p.ca_keys:
        try:
            ca_keys = load_ca_keys(settings.resolve(p.ca_keys))
        except CaKeyFileError as exc:
            raise ConfigError(str(exc), where=f"{settings.source}: [payments] ca_keys") from exc
    return TerminalConfig(
        country=bytes.fromhex("0" + p.country), currency=bytes.fromhex("0" + currency_numeric(settings)),
        currency_exponent=settings.currency.exponent, terminal_id=p.terminal_id, merchant_id=p.merchant_id,
        merchant_name="".join(c for c in settings.shop.name if c.isascii()).strip()[:40],
        aids=default_aids(), ca_keys=ca_keys, pin_pad=bool(p.pin_key),
    )


def acquirer(settings: Settings) -> Acquirer | None:
    p = settings.payments
    if not p.host:
        return None
    host, port = p.host.removeprefix("tcp://").rsplit(":", 1)
    client = HostClient(host, int(port), timeout=p.timeout_s, terminal_id=p.terminal_id, merchant_id=p.merchant_id)
    return Acquirer(client, currency_numeric(settings))


def _read(settings: Settings, key: str, what: str) -> bytes:
    name = getattr(settings.payments, key)
    try:
        return settings.resolve(name).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {name}: {exc.strerror or exc}",
                          where=f"{settings.source}: [payments] {key}") from exc


def pin_encryptor(settings: Settings) -> Callable[[Secret, Secret], Secret] | None:
    """Online PIN: the PIN key unwrapped once at start-up with the device's key-block protection key."""
    if not settings.payments.pin_key:
        return None
    block = _read(settings, "pin_key", "PIN key block").decode("ascii", "replace")
    try:
        kbpk = bytes.fromhex(_read(settings, "pin_kbpk", "key block protection key").decode("ascii").strip())
        key = pinblock.load_pin_key(block, kbpk)
    except (ValueError, pinblock.PinKeyError) as exc:
        raise ConfigError(str(exc), where=f"{settings.source}: [payments] pin_key") from exc
    return lambda pin, pan: pinblock.encrypt_pin(pin, pan, key)


def card_tender(settings: Settings, store: Store, terminal: CardTerminal, clock: Clock) -> CardTender:
    try:
        return _card_tender(settings, store, terminal, clock)
    except SealError as exc:
        raise ConfigError(str(exc), where=f"{settings.source}: [payments] seal_key") from exc


def _card_tender(settings: Settings, store: Store, terminal: CardTerminal, clock: Clock) -> CardTender:
    return CardTender(
        store, terminal, acquirer=acquirer(settings), emv=terminal_config(settings), rules=settings.payments,
        token_key=device_key(Path(settings.database_path).parent), clock=clock,
        seal_key=_read(settings, "seal_key", "acquirer sealing key") if settings.payments.seal_key else None,
        pin_block=pin_encryptor(settings),
    )
