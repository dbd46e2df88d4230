/* 1-bit raster packing for receipt logos and QR codes, in the ESC/POS `GS v 0` layout:
 * each row is ceil(width/8) bytes, the leftmost pixel in the most significant bit,
 * 1 for a printed (black) dot; unused bits at the end of a row are 0.
 */
#include <string.h>

#include "pos_native.h"

int pos_raster_pack(const uint8_t *gray, size_t gray_len, uint32_t width, uint32_t height, uint8_t threshold,
                    uint8_t *out, size_t out_len) {
    size_t row_bytes = ((size_t)width + 7) / 8;
    if (gray_len != (size_t)width * height || out_len < row_bytes * height) return POS_E_ARGS;
    memset(out, 0, row_bytes * height);
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *src = gray + (size_t)y * width;
        uint8_t *dst = out + (size_t)y * row_bytes;
        for (uint32_t x = 0; x < width; x++)
            if (src[x] < threshold) dst[x >> 3] |= (uint8_t)(0x80u >> (x & 7));
    }
    return POS_OK;
}
