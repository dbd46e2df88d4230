/* libFuzzer harness for the C TLV decoder, built with AddressSanitizer and UBSan by run.py.
 * Beyond "no crash, no over-read", it checks what every successful decode promises:
 * records lie inside the input, in document order, with depths that step down by one.
 */
#include <stdlib.h>

#include "pos_native.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    unsigned max_depth = data[0] % 40; /* the first byte picks the depth limit, the rest is the TLV */
    data++;
    size--;
    size_t cap = size / 2 + 1, count = 0, err = 0;
    pos_tlv *out = malloc(cap * sizeof *out);
    if (!out) return 0;
    int rc = pos_tlv_decode(data, size, max_depth, out, cap, &count, &err);
    if (rc == POS_OK) {
        for (size_t i = 0; i < count; i++) {
            const pos_tlv *r = &out[i];
            if ((size_t)r->offset + r->length > size || r->start >= r->offset) __builtin_trap();
            if (r->depth > max_depth && r->depth > POS_TLV_MAX_DEPTH) __builtin_trap();
            if (i && (r->start <= out[i - 1].start || r->depth > out[i - 1].depth + 1)) __builtin_trap();
        }
    } else if (err > size || rc > -10 || rc < -16 || rc == POS_TLV_E_CAPACITY) {
        __builtin_trap();
    }
    free(out);
    return 0;
}
