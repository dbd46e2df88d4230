"""Python-facing wrappers over the compiled module: same signatures and errors as the twins.

Results cross the boundary as packed arrays (array('q') / array('I')) copied out of C
memory in one step, and the scratch buffers are kept per thread and reused: on small
inputs the cost of the call is otherwise mostly cffi allocations and Python ints.
"""

from __future__ import annotations

import threading
from array import array
from types import SimpleNamespace
from typing import Any, Sequence

from appliance.native import basket_twin
from appliance.native.errors import E_ARGS, OK, TLV_MAX_DEPTH, NativeError


def packed(typecode: str, buffer: Any) -> array:
    """Copy C memory into an array in one step (no Python int per value)."""
    result = array(typecode)
    result.frombytes(buffer)
    return result


def bind(ffi: Any, lib: Any) -> SimpleNamespace:
    local = threading.local()

    def state() -> Any:
        """This thread's out-parameters and reusable buffers (the daemon calls from several threads)."""
        mine = getattr(local, "state", None)
        if mine is None:
            mine = local.state = SimpleNamespace(
                buffers={}, n_rates=ffi.new("size_t *"), bad=ffi.new("int64_t *"), totals=ffi.new("int64_t[4]"),
                count=ffi.new("size_t *"), err=ffi.new("size_t *"),
            )
        return mine

    def scratch(mine: Any, name: str, ctype: str, count: int) -> Any:
        """A reusable buffer of at least `count` items."""
        buf = mine.buffers.get(name)
        if buf is None or len(buf) < count:
            buf = mine.buffers[name] = ffi.new(f"{ctype}[]", max(count, 64))
        return buf

    def basket_buffers(mine: Any, n: int) -> Any:
        """This thread's basket buffers, pre-cast, grown when a bigger basket comes."""
        buffers = getattr(mine, "basket", None)
        if buffers is None or buffers.cap < n:
            cap = max(n, 64)
            raw_in, raw_out, raw_rates = (ffi.new("int64_t[]", k * cap) for k in (4, 5, 4))
            buffers = mine.basket = SimpleNamespace(
                cap=cap, raw_in=raw_in, raw_out=raw_out, raw_rates=raw_rates,
                lines=ffi.cast("pos_line_in *", raw_in), out=ffi.cast("pos_line_out *", raw_out),
                rates=ffi.cast("pos_rate_out *", raw_rates),
            )
        return buffers

    def basket(lines: Sequence[tuple[int, int, int, int]], basket_discount: int, mode: int, rounding: int):
        n = len(lines)
        mine = state()
        buffers = basket_buffers(mine, n)
        try:
            buffers.raw_in[0 : 4 * n] = [value for line in lines for value in line]
            rc = lib.pos_basket(buffers.lines, n, basket_discount, mode, rounding, buffers.out, buffers.rates,
                                mine.n_rates, mine.totals, mine.bad)
        except OverflowError:  # beyond 64 bits: certainly an error; the twin names it exactly
            return basket_twin.basket(lines, basket_discount, mode, rounding)
        if rc != OK:
            raise NativeError(rc, line=mine.bad[0])
        return (
            packed("q", ffi.buffer(buffers.raw_out, 40 * n)),
            packed("q", ffi.buffer(buffers.raw_rates, 32 * mine.n_rates[0])),
            tuple(mine.totals),
        )

    def tlv_decode(data: bytes, max_depth: int = 16) -> array:
        cap = len(data) // 2 + 1  # every object takes at least two bytes
        mine = state()
        out = scratch(mine, "tlv", "uint32_t", 6 * cap)
        rc = lib.pos_tlv_decode(ffi.from_buffer(data), len(data), min(max(max_depth, 0), TLV_MAX_DEPTH),
                                ffi.cast("pos_tlv *", out), cap, mine.count, mine.err)
        if rc != OK:
            raise NativeError(rc, offset=mine.err[0])
        return packed("I", ffi.buffer(out, 24 * mine.count[0]))

    def luhn_check(digits: str) -> int:
        return lib.pos_luhn_check(digits.encode("ascii"), len(digits)) if digits.isascii() else -1

    def gtin_check_digit(body: str) -> int:
        return lib.pos_gtin_check_digit(body.encode("ascii"), len(body)) if body.isascii() else -1

    def crc16_ccitt_false(data: bytes) -> int:
        return lib.pos_crc16_ccitt_false(ffi.from_buffer(data), len(data))

    def lrc_xor(data: bytes) -> int:
        return lib.pos_lrc_xor(ffi.from_buffer(data), len(data))

    def raster_pack(gray: bytes, width: int, height: int, threshold: int) -> bytes:
        if not (0 <= width <= 0xFFFFFFFF and 0 <= height <= 0xFFFFFFFF and 0 <= threshold <= 255):
            raise NativeError(E_ARGS)
        size = (width + 7) // 8 * height
        out = ffi.new("uint8_t[]", size or 1)
        rc = lib.pos_raster_pack(ffi.from_buffer(gray), len(gray), width, height, threshold, out, size)
        if rc != OK:
            raise NativeError(rc)
        return ffi.buffer(out, size)[:]

    return SimpleNamespace(
        basket=basket, tlv_decode=tlv_decode, luhn_check=luhn_check, gtin_check_digit=gtin_check_digit,
        crc16_ccitt_false=crc16_ccitt_false, lrc_xor=lrc_xor, raster_pack=raster_pack,
    )
