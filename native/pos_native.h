/* The appliance's C hot path: basket arithmetic, BER-TLV decoding, check digits,
 * serial framing checksums and 1-bit raster packing.
 *
 * Every function is pure: no globals, no I/O, no allocation the caller cannot see
 * (the basket uses malloc'd scratch space and frees it before returning). Every
 * failure is a negative POS_E_* code; nothing reads or writes outside the buffers
 * the caller passes with their sizes. The Python twin (appliance/native/) gives the
 * same answers and the same errors; the tests hold them to it.
 */
#ifndef POS_NATIVE_H
#define POS_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#define POS_OK 0

/* ---- basket arithmetic ---- */
#define POS_E_NEGATIVE (-1)        /* a price, quantity, rate or discount below zero */
#define POS_E_RANGE (-2)           /* a value above its limit, or a subtotal above POS_MAX_TOTAL */
#define POS_E_LINE_DISCOUNT (-3)   /* a line discount above the line's gross */
#define POS_E_BASKET_DISCOUNT (-4) /* a basket discount above what the lines still cost */
#define POS_E_ARGS (-5)            /* an unknown mode or rounding, or a null buffer */
#define POS_E_NOMEM (-6)

#define POS_MAX_UNIT_PRICE 1000000000000LL /* minor units */
#define POS_MAX_QUANTITY 1000000000LL      /* thousandths */
#define POS_MAX_TAX_RATE 1000000LL         /* basis points */
#define POS_MAX_TOTAL 1000000000000000LL   /* 10^15 minor units: subtotal and discounts */

#define POS_TAX_INCLUSIVE 0
#define POS_TAX_EXCLUSIVE 1
#define POS_ROUND_LINE 0
#define POS_ROUND_TOTAL 1

typedef struct {
    int64_t unit_price; /* minor units per piece or per kilogram */
    int64_t quantity;   /* thousandths */
    int64_t tax_rate;   /* basis points */
    int64_t discount;   /* minor units off this line */
} pos_line_in;

typedef struct {
    int64_t gross;
    int64_t discount;
    int64_t basket_share;
    int64_t amount;
    int64_t tax;
} pos_line_out;

typedef struct {
    int64_t rate;
    int64_t amount;
    int64_t net;
    int64_t tax;
} pos_rate_out;

/* totals: subtotal, discount, tax, total. rates: at least n entries; *n_rates is set.
 * On error *bad_line is the index of the offending line, or -1. */
int pos_basket(const pos_line_in *lines, size_t n, int64_t basket_discount, int mode, int rounding,
               pos_line_out *out, pos_rate_out *rates, size_t *n_rates, int64_t totals[4], int64_t *bad_line);

/* ---- BER-TLV (EMV Book 3 Annex B) ---- */
#define POS_TLV_E_TRUNCATED (-10)    /* the data ends inside a tag or a length */
#define POS_TLV_E_TAG_TOO_LONG (-11) /* a tag of more than 4 bytes */
#define POS_TLV_E_INDEFINITE (-12)   /* length byte 0x80 (indefinite) is not allowed in EMV */
#define POS_TLV_E_LENGTH_BYTES (-13) /* a long-form length of more than 4 bytes */
#define POS_TLV_E_OVERRUN (-14)      /* a value that runs past the end of its container */
#define POS_TLV_E_DEPTH (-15)        /* nesting deeper than max_depth */
#define POS_TLV_E_CAPACITY (-16)     /* more records than the caller made room for */
#define POS_TLV_MAX_DEPTH 32

typedef struct {
    uint32_t tag;         /* the tag bytes as a big-endian number: 0x9F02 */
    uint32_t depth;       /* 0 for top-level objects */
    uint32_t offset;      /* where the value starts */
    uint32_t length;      /* value length */
    uint32_t constructed; /* 1 when the value holds more objects */
    uint32_t start;       /* where the tag starts */
} pos_tlv;

/* Records in document order (a template before its contents). Zero bytes between
 * objects are skipped as EMV allows. On error *err_offset is the byte offset of the problem. */
int pos_tlv_decode(const uint8_t *data, size_t len, unsigned max_depth, pos_tlv *out, size_t cap,
                   size_t *count, size_t *err_offset);

/* ---- check digits ---- */
/* 0 valid, 1 invalid, -1 when empty or not all ASCII digits. */
int pos_luhn_check(const char *digits, size_t n);
/* The GS1 mod-10 check digit (0-9) of the digits before it, or -1 when not all ASCII digits. */
int pos_gtin_check_digit(const char *body, size_t n);

/* ---- serial framing ---- */
uint16_t pos_crc16_ccitt_false(const uint8_t *data, size_t n);
uint8_t pos_lrc_xor(const uint8_t *data, size_t n);

/* ---- 1-bit raster (ESC/POS GS v 0: rows of ceil(width/8) bytes, MSB first, 1 = black) ---- */
/* A pixel is black when its gray value is below `threshold`. `gray` holds width*height bytes,
 * `out` at least ceil(width/8)*height; POS_E_ARGS otherwise. */
int pos_raster_pack(const uint8_t *gray, size_t gray_len, uint32_t width, uint32_t height, uint8_t threshold,
                    uint8_t *out, size_t out_len);

#endif
