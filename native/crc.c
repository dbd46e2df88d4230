/* Serial framing checksums used by scales, displays and card terminals.
 * CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR; check("123456789") = 0x29B1.
 * Bitwise rather than table-driven: frames are a few dozen bytes and no global state is needed.
 */
#include "pos_native.h"

uint16_t pos_crc16_ccitt_false(const uint8_t *data, size_t n) {
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int bit = 0; bit < 8; bit++) crc = (uint16_t)((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

uint8_t pos_lrc_xor(const uint8_t *data, size_t n) {
    uint8_t lrc = 0;
    for (size_t i = 0; i < n; i++) lrc ^= data[i];
    return lrc;
}
