"""The error codes the C module and its twin share, and the one exception that carries them."""

from __future__ import annotations

from appliance.errors import InputError

OK = 0
E_NEGATIVE, E_RANGE, E_LINE_DISCOUNT, E_BASKET_DISCOUNT, E_ARGS, E_NOMEM = -1, -2, -3, -4, -5, -6
TLV_E_TRUNCATED, TLV_E_TAG_TOO_LONG, TLV_E_INDEFINITE = -10, -11, -12
TLV_E_LENGTH_BYTES, TLV_E_OVERRUN, TLV_E_DEPTH, TLV_E_CAPACITY = -13, -14, -15, -16

MESSAGES = {
    E_NEGATIVE: "a price, quantity, tax rate or discount is negative",
    E_RANGE: "a price, quantity or total is beyond what the till can price",
    E_LINE_DISCOUNT: "the line discount is more than the line's price",
    E_BASKET_DISCOUNT: "the basket discount is more than the lines cost",
    E_ARGS: "invalid arguments",
    E_NOMEM: "out of memory",
    TLV_E_TRUNCATED: "the data ends inside a tag or a length",
    TLV_E_TAG_TOO_LONG: "a tag is longer than 4 bytes",
    TLV_E_INDEFINITE: "indefinite length (0x80) is not allowed in EMV data",
    TLV_E_LENGTH_BYTES: "a length field is longer than 4 bytes",
    TLV_E_OVERRUN: "a value runs past the end of its container",
    TLV_E_DEPTH: "templates are nested too deeply",
    TLV_E_CAPACITY: "more objects than room was made for",
}

# Limits both implementations enforce (mirrors pos_native.h).
MAX_UNIT_PRICE = 10**12
MAX_QUANTITY = 10**9
MAX_TAX_RATE = 10**6
MAX_TOTAL = 10**15
TLV_MAX_DEPTH = 32


class NativeError(InputError):
    """A refusal from the hot path: `code` is the shared error code; `line` or `offset` says where."""

    def __init__(self, code: int, *, line: int | None = None, offset: int | None = None):
        where = f"line {line + 1}" if line is not None and line >= 0 else (
            f"byte {offset}" if offset is not None else None
        )
        super().__init__(MESSAGES.get(code, f"error {code}"), where=where, code=str(code))
        self.native_code = code
        self.line = line if line is not None and line >= 0 else None
        self.offset = offset

    def __eq__(self, other: object) -> bool:  # the differential tests compare errors
        return isinstance(other, NativeError) and (self.native_code, self.line, self.offset) == (
            other.native_code, other.line, other.offset,
        )

    __hash__ = None  # type: ignore[assignment]
