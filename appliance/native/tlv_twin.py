"""Strict BER-TLV decoding in pure Python: the reference for native/tlv.c, check for check.

Records are (tag, depth, value offset, value length, constructed 0/1, tag offset) in
document order, packed six to a record in an array('I') as the C binding returns them.
Errors carry the same code and byte offset as the C decoder.
"""

from __future__ import annotations

from array import array

from appliance.native.errors import (
    TLV_E_DEPTH, TLV_E_INDEFINITE, TLV_E_LENGTH_BYTES, TLV_E_OVERRUN, TLV_E_TAG_TOO_LONG, TLV_E_TRUNCATED,
    TLV_MAX_DEPTH, NativeError,
)

def tlv_decode(data: bytes, max_depth: int = 16) -> array:
    max_depth = min(max(max_depth, 0), TLV_MAX_DEPTH)
    ends = [len(data)]
    pos = 0
    records = array("I")
    while True:
        while len(ends) > 1 and pos == ends[-1]:
            ends.pop()  # containers that just ended
        depth, end = len(ends) - 1, ends[-1]
        if depth == 0 and pos == end:
            return records
        if data[pos] == 0x00:  # padding between objects (EMV Book 3, Annex B)
            pos += 1
            continue
        start = pos
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:
            tag_bytes = 1
            while True:
                if pos >= end:
                    raise NativeError(TLV_E_TRUNCATED, offset=pos)
                tag_bytes += 1
                if tag_bytes > 4:
                    raise NativeError(TLV_E_TAG_TOO_LONG, offset=start)
                byte = data[pos]
                pos += 1
                tag = tag << 8 | byte
                if not byte & 0x80:
                    break
        if pos >= end:
            raise NativeError(TLV_E_TRUNCATED, offset=pos)
        length_at = pos
        first = data[pos]
        pos += 1
        length = first
        if first == 0x80:
            raise NativeError(TLV_E_INDEFINITE, offset=length_at)
        if first > 0x80:
            count = first & 0x7F
            if count > 4:
                raise NativeError(TLV_E_LENGTH_BYTES, offset=length_at)
            if end - pos < count:
                raise NativeError(TLV_E_TRUNCATED, offset=end)
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if length > end - pos:
            raise NativeError(TLV_E_OVERRUN, offset=length_at)
        if depth > max_depth:
            raise NativeError(TLV_E_DEPTH, offset=start)
        constructed = 1 if data[start] & 0x20 else 0
        records.extend((tag, depth, pos, length, constructed, start))
        if constructed and length > 0:
            ends.append(pos + length)
        else:
            pos += length
