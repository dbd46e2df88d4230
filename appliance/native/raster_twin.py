"""1-bit raster packing in pure Python: the reference for native/raster.c (ESC/POS GS v 0 layout)."""

from __future__ import annotations

from appliance.native.errors import E_ARGS, NativeError


def raster_pack(gray: bytes, width: int, height: int, threshold: int) -> bytes:
    """Rows of ceil(width/8) bytes, leftmost pixel in the top bit, 1 where gray < threshold."""
    if width < 0 or height < 0 or len(gray) != width * height or not 0 <= threshold <= 255:
        raise NativeError(E_ARGS)
    row_bytes = (width + 7) // 8
    out = bytearray(row_bytes * height)
    for y in range(height):
        row = gray[y * width : (y + 1) * width]
        base = y * row_bytes
        for x, value in enumerate(row):
            if value < threshold:
                out[base + (x >> 3)] |= 0x80 >> (x & 7)
    return bytes(out)
