"""Python-facing wrappers over the compiled module: same signatures and errors as the twins.

Arrays cross the boundary flat (one int64 or uint32 buffer, unpacked in one call), which
is what makes the C path pay off even for a five-line basket.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Sequence

from appliance.native.errors import E_ARGS, OK, TLV_MAX_DEPTH, NativeError


def bind(ffi: Any, lib: Any) -> SimpleNamespace:
    def basket(lines: Sequence[tuple[int, int, int, int]], basket_discount: int, mode: int, rounding: int):
        n = len(lines)
        flat = [value for line in lines for value in line]
        try:
            buffer_in = ffi.new("int64_t[]", flat or 1)
            discount = int(basket_discount)
        except OverflowError:  # a value that does not even fit 64 bits is beyond every limit
            raise NativeError(-2) from None
        out = ffi.new("int64_t[]", 5 * n or 1)
        rates = ffi.new("int64_t[]", 4 * n or 1)
        n_rates = ffi.new("size_t *")
        totals = ffi.new("int64_t[4]")
        bad = ffi.new("int64_t *")
        rc = lib.pos_basket(
            ffi.cast("pos_line_in *", buffer_in), n, discount, mode, rounding,
            ffi.cast("pos_line_out *", out), ffi.cast("pos_rate_out *", rates), n_rates, totals, bad,
        )
        if rc != OK:
            raise NativeError(rc, line=bad[0])
        values = ffi.unpack(out, 5 * n)
        rate_values = ffi.unpack(rates, 4 * n_rates[0])
        return (
            list(zip(*[iter(values)] * 5)),
            list(zip(*[iter(rate_values)] * 4)),
            tuple(ffi.unpack(totals, 4)),
        )

    def tlv_decode(data: bytes, max_depth: int = 16):
        data = bytes(data)
        cap = len(data) // 2 + 1  # every object takes at least two bytes
        out = ffi.new("uint32_t[]", 6 * cap)
        count = ffi.new("size_t *")
        err = ffi.new("size_t *")
        rc = lib.pos_tlv_decode(data, len(data), min(max_depth, TLV_MAX_DEPTH), ffi.cast("pos_tlv *", out), cap,
                                count, err)
        if rc != OK:
            raise NativeError(rc, offset=err[0])
        values = ffi.unpack(out, 6 * count[0])
        return [
            (tag, depth, offset, length, bool(constructed), start)
            for tag, depth, offset, length, constructed, start in zip(*[iter(values)] * 6)
        ]

    def luhn_check(digits: str) -> int:
        raw = digits.encode("utf-8", "surrogatepass")
        return -1 if not digits.isascii() else lib.pos_luhn_check(raw, len(raw))

    def gtin_check_digit(body: str) -> int:
        raw = body.encode("utf-8", "surrogatepass")
        return -1 if not body.isascii() else lib.pos_gtin_check_digit(raw, len(raw))

    def crc16_ccitt_false(data: bytes) -> int:
        return lib.pos_crc16_ccitt_false(bytes(data), len(data))

    def lrc_xor(data: bytes) -> int:
        return lib.pos_lrc_xor(bytes(data), len(data))

    def raster_pack(gray: bytes, width: int, height: int, threshold: int) -> bytes:
        if width < 0 or height < 0 or not 0 <= threshold <= 255 or width > 0xFFFFFFFF or height > 0xFFFFFFFF:
            raise NativeError(E_ARGS)
        size = (width + 7) // 8 * height
        out = ffi.new("uint8_t[]", size or 1)
        rc = lib.pos_raster_pack(bytes(gray), len(gray), width, height, threshold, out, size)
        if rc != OK:
            raise NativeError(rc)
        return ffi.unpack(ffi.cast("char *", out), size)

    return SimpleNamespace(
        basket=basket, tlv_decode=tlv_decode, luhn_check=luhn_check, gtin_check_digit=gtin_check_digit,
        crc16_ccitt_false=crc16_ccitt_false, lrc_xor=lrc_xor, raster_pack=raster_pack,
    )
