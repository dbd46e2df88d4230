"""Native hot path vs its Python twin (and pyemv for TLV), side by side on the same inputs.

Run: .venv/bin/python bench/native.py  (also part of `make bench`). Prints the median
time per call of each and the ratios against the issue's aims: TLV decode at least 20x
the twin and 10x pyemv.tlv.decode; basket arithmetic at least 10x the twin.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from typing import Callable

import pyemv.tlv

from appliance import native
from appliance.emv.tlv import encode

READ_RECORD = bytes.fromhex(
    "704A57134761739001010119D22122011143804400000F5F200F43415244484F4C4445522F56495341"
    "9F1F10313130303030303030303030303030305A0847617390010101195F2403221231"
)
ADF_FCI = bytes.fromhex(
    "6F3B8407A0000000031010A530500B564953412043524544495487010"
    "19F38189F66049F02069F03069F1A0295055F2A029A039C019F37045F2D02656E"
)


def per_call(fn: Callable[[], object], budget_s: float = 0.4) -> float:
    """Median seconds per call over several timed batches."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - start > 0.02:
            break
        calls *= 2
    samples = []
    end = time.perf_counter() + budget_s
    while time.perf_counter() < end or len(samples) < 5:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def big_record() -> bytes:
    """A 230-byte READ RECORD with certificates, like an SDA/DDA card's record."""
    rng = random.Random(7)
    inner = b"".join(
        encode(tag, bytes(rng.randrange(256) for _ in range(size)))
        for tag, size in ((0x8F, 1), (0x90, 144), (0x9F32, 1), (0x92, 36), (0x9F4A, 1), (0x8C, 21), (0x8D, 12))
    )
    return encode(0x70, inner)


def basket(n: int) -> list[tuple[int, int, int, int]]:
    rng = random.Random(n)
    return [(rng.randrange(100, 20000), rng.choice([1000, 2000, 3000, rng.randrange(100, 3000)]),
             rng.choice([0, 900, 1300]), 0) for _ in range(n)]


def kernels(C_lib, ffi):
    """The C functions called on buffers prepared once: what the C code itself costs."""

    def tlv(data: bytes):
        cap = len(data) // 2 + 1
        out, count, err = ffi.new("pos_tlv[]", cap), ffi.new("size_t *"), ffi.new("size_t *")
        return lambda: C_lib.pos_tlv_decode(data, len(data), 16, out, cap, count, err)

    def basket(lines):
        n = len(lines)
        args = (ffi.new("pos_line_in[]", lines), n, 100, 0, 1, ffi.new("pos_line_out[]", n),
                ffi.new("pos_rate_out[]", n), ffi.new("size_t *"), ffi.new("int64_t[4]"), ffi.new("int64_t *"))
        return lambda: C_lib.pos_basket(*args)

    return tlv, basket


def row(what: str, api: float, kernel: float | None, twin: float, aim: float | None) -> None:
    text = f"{what:<28} C {api * 1e6:8.2f} us"
    text += f" (kernel {kernel * 1e6:7.2f})" if kernel is not None else " " * 17
    text += f"   twin {twin * 1e6:9.2f} us   {twin / api:6.1f}x"
    if kernel is not None:
        text += f" (kernel {twin / kernel:6.1f}x)"
    if aim is not None:
        text += f"  aim >= {aim:.0f}x: {'ok' if twin / api >= aim else 'missed'}"
        text += f" (kernel {'ok' if twin / kernel >= aim else 'missed'})" if kernel is not None else ""
    print(text)


def full_card_read() -> bytes:
    """Every record of a DDA card read in one go: about 1 KB, 40 objects."""
    return READ_RECORD + ADF_FCI + big_record() * 3 + READ_RECORD * 2


def main() -> int:
    if native.C is None:
        print(f"the C module is not built: {native.REASON}")
        return 1
    from appliance import _native  # type: ignore[attr-defined]

    C, T = native.C, native.TWIN
    tlv_kernel, basket_kernel = kernels(_native.lib, _native.ffi)
    print(f"python {sys.version.split()[0]}; {native.describe()}")
    print("C = through the Python API (what callers pay); kernel = the C function on prepared buffers\n")
    for name, data in (("TLV READ RECORD (76 B)", READ_RECORD), ("TLV ADF FCI (61 B)", ADF_FCI),
                       ("TLV DDA record (230 B)", big_record()), (f"TLV card read ({len(full_card_read())} B)",
                                                                 full_card_read())):
        assert C.tlv_decode(data) == T.tlv_decode(data)
        api, kernel, twin = per_call(lambda: C.tlv_decode(data)), per_call(tlv_kernel(data)), per_call(
            lambda: T.tlv_decode(data))
        row(name, api, kernel, twin, 20)
        pyemv_s = per_call(lambda: pyemv.tlv.decode(data))
        print(f"{'':<28} pyemv.tlv.decode {pyemv_s * 1e6:8.2f} us: C is {pyemv_s / api:5.1f}x faster "
              f"(kernel {pyemv_s / kernel:6.1f}x)  aim >= 10x: {'ok' if pyemv_s / api >= 10 else 'missed'}"
              f" (kernel {'ok' if pyemv_s / kernel >= 10 else 'missed'})")
    for n in (5, 20, 200):
        lines = basket(n)
        assert C.basket(lines, 100, 0, 1) == T.basket(lines, 100, 0, 1)
        row(f"basket, {n} lines", per_call(lambda: C.basket(lines, 100, 0, 1)), per_call(basket_kernel(lines)),
            per_call(lambda: T.basket(lines, 100, 0, 1)), 10)
    pans = ["4761739001010119", "5555555555554444", "378282246310005"]
    row("Luhn x3", per_call(lambda: [C.luhn_check(p) for p in pans]), None,
        per_call(lambda: [T.luhn_check(p) for p in pans]), None)
    bodies = ["690123456789", "400638133393", "9638507"]
    row("EAN check digit x3", per_call(lambda: [C.gtin_check_digit(b) for b in bodies]), None,
        per_call(lambda: [T.gtin_check_digit(b) for b in bodies]), None)
    frame = bytes(range(64))
    row("CRC-16/CCITT-FALSE, 64 B", per_call(lambda: C.crc16_ccitt_false(frame)), None,
        per_call(lambda: T.crc16_ccitt_false(frame)), None)
    gray = bytes(random.Random(1).randrange(256) for _ in range(384 * 96))
    row("raster 384x96 logo", per_call(lambda: C.raster_pack(gray, 384, 96, 128)), None,
        per_call(lambda: T.raster_pack(gray, 384, 96, 128)), None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
