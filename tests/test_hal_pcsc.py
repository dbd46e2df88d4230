"""The PC/SC card reader driver through the real stack: pyscard → pcscd → vpcd → an emulated card."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Iterator

import pytest

from appliance.hal import registry
from appliance.hal.cardreader_pcsc import PcscCardReader, choose_reader, is_contactless
from appliance.hal.errors import DeviceConfigError, DeviceIOError, DeviceUnavailable
from appliance.hal.events import CardInserted, CardRemoved, Event
from tests.pcsc.fixtures import Vpcd
from tests.pcsc.vpcd_card import CardPulled

CONTACT_ATR = bytes.fromhex("3B6800000073C84012009000")  # T=0, 8 historical bytes, as on EMV chip cards
CONTACTLESS_ATR = bytes.fromhex("3B8980014A434F5033315632324A")  # PC/SC part 3 pseudo-ATR, ISO 14443-4 type A
SELECT_PPSE = bytes.fromhex("00A404000E325041592E5359532E444446303100")  # EMV Book B 3.3: 2PAY.SYS.DDF01
PPSE_FCI = bytes.fromhex("6F23840E325041592E5359532E4444463031A511BF0C0E610C4F07A00000000310108701019000")[:-2]
SELECT_VISA = bytes.fromhex("00A4040007A000000003101000")
GPO = bytes.fromhex("80A8000002830000")
WAIT = 3.0  # seconds for an event; pcscd sees a card come or go within ~400 ms


class ScriptedCard:
    """A card that answers listed APDUs, 6A82 (file not found) to the rest, and records what it got."""

    def __init__(self, atr: bytes = CONTACT_ATR, answers: dict[bytes, tuple[bytes, int, int]] | None = None,
                 pull_on: bytes | None = None):
        self.atr = atr
        self.answers = answers or {}
        self.pull_on = pull_on
        self.received: list[bytes] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        self.received.append(apdu)
        if apdu == self.pull_on:
            raise CardPulled
        return self.answers.get(apdu, (b"", 0x6A, 0x82))


def ppse_card(atr: bytes = CONTACT_ATR, **kwargs) -> ScriptedCard:
    return ScriptedCard(atr, {SELECT_PPSE: (PPSE_FCI, 0x90, 0x00)}, **kwargs)


class Running:
    """`reader.run()` on its own thread, as the device manager runs it."""

    def __init__(self, reader: PcscCardReader):
        self.events: queue.Queue[Event] = queue.Queue()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(reader,), daemon=True)
        self.thread.start()

    def _run(self, reader: PcscCardReader) -> None:
        try:
            reader.run(self.events.put, self.stop)
        except BaseException as exc:  # handed to the test
            self.error = exc

    def next(self) -> Event:
        try:
            return self.events.get(timeout=WAIT)
        except queue.Empty:
            pytest.fail(f"no event from run() within {WAIT} s (error: {self.error!r})")

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive(), "run() did not honour stop"


@pytest.fixture
def open_reader(vpcd: Vpcd) -> Iterator[Callable[..., PcscCardReader]]:  # noqa: F811
    """Build a reader from an address through the registry, open it, and close it after the test."""
    made: list[PcscCardReader] = []

    def make(address: str) -> PcscCardReader:
        reader = registry.create("card", "card_reader", address)
        assert isinstance(reader, PcscCardReader)
        made.append(reader)
        reader.open()
        return reader

    yield make
    for reader in made:
        reader.close()


@pytest.fixture
def running() -> Iterator[Callable[[PcscCardReader], Running]]:
    started: list[Running] = []

    def start(reader: PcscCardReader) -> Running:
        started.append(Running(reader))
        return started[-1]

    yield start
    for run in started:
        run.finish()


# --- no pcscd needed -------------------------------------------------------------------


@pytest.mark.parametrize(("atr", "reader", "mode", "expected"), [
    (CONTACT_ATR, "Gemalto PC Twin Reader 00 00", "auto", False),
    (CONTACTLESS_ATR, "Gemalto PC Twin Reader 00 00", "auto", True),
    # PC/SC part 3 example for a MIFARE Classic 1K (a storage card): 3B 8F 80 01 80 4F ...
    (bytes.fromhex("3B8F8001804F0CA000000306030001000000006A"), "SCM SCL011 00 00", "auto", True),
    (CONTACT_ATR, "ACS ACR122U PICC Interface 00 00", "auto", True),
    (CONTACT_ATR, "HID Global OMNIKEY 5022 Smart Card Reader-CL 00 00", "auto", True),
    (CONTACT_ATR, "Identiv uTrust 3700 F CL Reader 00 00", "auto", True),
    (CONTACT_ATR, "ACS ACR39U ICC Reader 00 00", "auto", False),
    (CONTACTLESS_ATR, "ACS ACR122U PICC Interface 00 00", "0", False),
    (CONTACT_ATR, "ACS ACR39U ICC Reader 00 00", "1", True),
])
def test_contactless_by_atr_then_reader_name_unless_configured(atr: bytes, reader: str, mode: str, expected: bool):
    assert is_contactless(atr, reader, mode) is expected


def test_contactless_option_must_be_auto_0_or_1():
    with pytest.raises(DeviceConfigError, match="must be auto, 0 or 1"):
        registry.create("card", "card_reader", "pcsc://Virtual PCD?contactless=yes")
    with pytest.raises(DeviceConfigError, match="unknown option 'speed'"):
        registry.create("card", "card_reader", "pcsc://Virtual PCD?speed=fast")


# --- through pcscd ---------------------------------------------------------------------


def test_finds_reader_by_exact_name(open_reader, pcsc_reader: str):  # noqa: F811
    reader = open_reader(f"pcsc://{pcsc_reader}")
    assert reader.reader == pcsc_reader
    assert reader.probe() == f"{pcsc_reader}: no card"


def test_finds_reader_by_prefix_taking_the_first_slot(open_reader, vpcd: Vpcd, caplog):  # noqa: F811
    reader = open_reader("pcsc://Virtual PCD")
    assert reader.reader == vpcd.readers[0]
    assert vpcd.readers[1] in caplog.text  # the other match is named, so a technician can choose it
    assert open_reader(f"pcsc://{vpcd.readers[1]}").reader == vpcd.readers[1]


def test_unknown_reader_is_unavailable_and_lists_the_readers_present(open_reader, vpcd: Vpcd):  # noqa: F811
    with pytest.raises(DeviceUnavailable) as raised:
        open_reader("pcsc://ACS ACR122U")
    assert raised.value.device == "card"
    assert all(repr(name) in str(raised.value) for name in vpcd.readers)


def test_insert_and_remove_events_and_a_new_card_gets_a_new_connection(open_reader, running, vpcd: Vpcd):  # noqa: F811
    reader = open_reader(f"pcsc://{vpcd.reader}")
    run = running(reader)
    first = vpcd.insert(ppse_card())
    assert run.next() == CardInserted("card", atr=CONTACT_ATR, contactless=False)
    assert reader.transmit(SELECT_PPSE) == (PPSE_FCI, 0x90, 0x00)
    vpcd.remove(first)
    assert run.next() == CardRemoved("card")
    # The handle to the first card is dropped on removal: the second card answers, not an error.
    second = ScriptedCard(answers={SELECT_PPSE: (b"", 0x6A, 0x81)})
    vpcd.insert(second)
    assert run.next() == CardInserted("card", atr=CONTACT_ATR, contactless=False)
    assert reader.transmit(SELECT_PPSE) == (b"", 0x6A, 0x81)
    assert second.received == [SELECT_PPSE]
    run.finish()
    assert run.error is None and run.events.empty()


def test_card_already_present_is_reported_first(open_reader, running, vpcd: Vpcd):  # noqa: F811
    vpcd.insert(ppse_card())
    reader = open_reader(f"pcsc://{vpcd.reader}")
    assert reader.probe() == f"{vpcd.reader}: card present (ATR 3B 68 00 00 00 73 C8 40 12 00 90 00)"
    assert running(reader).next() == CardInserted("card", atr=CONTACT_ATR, contactless=False)


@pytest.mark.parametrize(("atr", "option", "tap"), [
    (CONTACT_ATR, "", False),
    (CONTACTLESS_ATR, "", True),
    (CONTACTLESS_ATR, "?contactless=0", False),
])
def test_contact_or_contactless_by_atr(open_reader, running, vpcd: Vpcd, atr: bytes, option: str, tap: bool):  # noqa: F811
    run = running(open_reader(f"pcsc://{vpcd.readers[1]}{option}"))
    vpcd.insert(ppse_card(atr), slot=1)
    assert run.next() == CardInserted("card", atr=atr, contactless=tap)


def test_transmit_returns_the_cards_answer_and_status_words(open_reader, vpcd: Vpcd):  # noqa: F811
    card = vpcd.insert(ppse_card(CONTACTLESS_ATR))
    reader = open_reader(f"pcsc://{vpcd.reader}")
    assert reader.transmit(SELECT_PPSE) == (PPSE_FCI, 0x90, 0x00)
    assert reader.transmit(SELECT_VISA) == (b"", 0x6A, 0x82)  # an error status word is an answer, not a failure
    assert card.card.received == [SELECT_PPSE, SELECT_VISA]


def test_card_pulled_mid_transaction_is_card_removed(open_reader, vpcd: Vpcd):  # noqa: F811
    vpcd.insert(ppse_card(pull_on=GPO))
    reader = open_reader(f"pcsc://{vpcd.reader}")
    assert reader.transmit(SELECT_PPSE)[1:] == (0x90, 0x00)
    with pytest.raises(DeviceIOError) as raised:
        reader.transmit(GPO)
    assert raised.value.code == "card_removed"
    vpcd.wait_until(0, present=False)
    with pytest.raises(DeviceIOError) as raised:
        reader.transmit(SELECT_PPSE)
    assert raised.value.code == "card_removed"
    vpcd.insert(ppse_card())
    assert reader.transmit(SELECT_PPSE) == (PPSE_FCI, 0x90, 0x00)  # the next card works


def test_pcscd_stopping_ends_run_with_device_io_error_and_reopen_recovers(open_reader, running, vpcd: Vpcd):  # noqa: F811
    reader = open_reader(f"pcsc://{vpcd.reader}")
    run = running(reader)
    vpcd.insert(ppse_card())
    assert isinstance(run.next(), CardInserted)  # run() is now waiting in SCardGetStatusChange
    vpcd.daemon.stop()
    run.thread.join(timeout=WAIT)
    assert not run.thread.is_alive()
    # Which PC/SC error the waiting call gets depends on how far pcscd's shutdown went.
    assert isinstance(run.error, DeviceIOError) and "lost the reader 'Virtual PCD 00 00'" in str(run.error)
    with pytest.raises(DeviceIOError) as raised:
        reader.transmit(SELECT_PPSE)
    assert raised.value.code == "SCARD_E_NO_SERVICE"
    with pytest.raises(DeviceUnavailable, match="cannot reach pcscd: pcscd is not running"):
        reader.open()
    vpcd.daemon.start()  # what the manager's retry finds once pcscd is back
    reader.open()
    vpcd.insert(ppse_card())  # the old card's connection died with the old vpcd
    assert reader.transmit(SELECT_PPSE) == (PPSE_FCI, 0x90, 0x00)


def test_logs_carry_no_apdu_bytes(open_reader, vpcd: Vpcd, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG, logger="appliance.hal.cardreader_pcsc")
    vpcd.insert(ppse_card(pull_on=GPO))
    reader = open_reader(f"pcsc://{vpcd.reader}")
    reader.transmit(SELECT_PPSE)
    with pytest.raises(DeviceIOError):
        reader.transmit(GPO)
    assert "SW 9000" in caplog.text
    text = caplog.text.upper().replace(" ", "")
    for secret in (SELECT_PPSE, PPSE_FCI, GPO):
        assert secret.hex().upper() not in text
        assert str(list(secret)).replace(" ", "") not in text
    assert "A0000000031010" not in text  # the AID inside the FCI


def test_a_reader_is_chosen_by_full_name_prefix_or_a_unique_part():
    present = ["ACS ACR1252 Dual Reader [ACR1252 Dual Reader PICC] 00 00",
               "ACS ACR1252 Dual Reader [ACR1252 Dual Reader SAM] 00 01"]
    assert choose_reader(present[1], present) == present[1]
    assert choose_reader("ACS ACR1252", present) == present[0]  # a model prefix: the first slot
    assert choose_reader("SAM", present) == present[1]
    with pytest.raises(DeviceUnavailable, match="part of several reader names"):
        choose_reader("Dual Reader", present)
    with pytest.raises(DeviceUnavailable, match="readers present: 'ACS"):
        choose_reader("Omnikey", present)
