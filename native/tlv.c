/* Strict BER-TLV decoding for EMV data (EMV Book 3, Annex B), without recursion.
 *
 * Objects are emitted in document order as flat records. Containers are tracked on a
 * small explicit stack of end offsets, so deep nesting cannot overflow the C stack and
 * is refused past max_depth. Every read is checked against the end of the enclosing
 * container before it happens: a malformed card response is an error code and an
 * offset, never an over-read.
 */
#include "pos_native.h"

int pos_tlv_decode(const uint8_t *data, size_t len, unsigned max_depth, pos_tlv *out, size_t cap,
                   size_t *count, size_t *err_offset) {
    size_t ends[POS_TLV_MAX_DEPTH + 2];
    unsigned depth = 0;
    size_t pos = 0;
    *count = 0;
    *err_offset = 0;
    if (len > UINT32_MAX) return POS_E_ARGS; /* offsets are 32-bit; EMV data is a few hundred bytes */
    if (max_depth > POS_TLV_MAX_DEPTH) max_depth = POS_TLV_MAX_DEPTH;
    ends[0] = len;
    for (;;) {
        while (depth > 0 && pos == ends[depth]) depth--; /* containers that just ended */
        if (depth == 0 && pos == len) return POS_OK;
        if (data[pos] == 0x00) { /* padding between objects */
            pos++;
            continue;
        }
        size_t start = pos, end = ends[depth];
        uint32_t tag = data[pos++];
        if ((tag & 0x1F) == 0x1F) { /* multi-byte tag: more bytes while bit 8 is set */
            unsigned tag_bytes = 1;
            for (;;) {
                if (pos >= end) {
                    *err_offset = pos;
                    return POS_TLV_E_TRUNCATED;
                }
                if (++tag_bytes > 4) {
                    *err_offset = start;
                    return POS_TLV_E_TAG_TOO_LONG;
                }
                uint8_t b = data[pos++];
                tag = (tag << 8) | b;
                if (!(b & 0x80)) break;
            }
        }
        if (pos >= end) {
            *err_offset = pos;
            return POS_TLV_E_TRUNCATED;
        }
        size_t length_at = pos;
        uint8_t first = data[pos++];
        uint64_t length = first;
        if (first == 0x80) {
            *err_offset = length_at;
            return POS_TLV_E_INDEFINITE;
        }
        if (first > 0x80) {
            unsigned n = first & 0x7F;
            if (n > 4) {
                *err_offset = length_at;
                return POS_TLV_E_LENGTH_BYTES;
            }
            if (end - pos < n) {
                *err_offset = end;
                return POS_TLV_E_TRUNCATED;
            }
            length = 0;
            for (unsigned i = 0; i < n; i++) length = (length << 8) | data[pos++];
        }
        if (length > end - pos) {
            *err_offset = length_at;
            return POS_TLV_E_OVERRUN;
        }
        if (depth > max_depth) {
            *err_offset = start;
            return POS_TLV_E_DEPTH;
        }
        if (*count >= cap) {
            *err_offset = start;
            return POS_TLV_E_CAPACITY;
        }
        unsigned constructed = (data[start] & 0x20) != 0;
        pos_tlv *r = &out[(*count)++];
        r->tag = tag;
        r->depth = depth;
        r->offset = (uint32_t)pos;
        r->length = (uint32_t)length;
        r->constructed = constructed;
        r->start = (uint32_t)start;
        if (constructed && length > 0) {
            ends[++depth] = pos + (size_t)length; /* descend: children are read next */
        } else {
            pos += (size_t)length;
        }
    }
}
