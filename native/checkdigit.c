/* Check digits: Luhn (ISO/IEC 7812-1, card numbers) and GS1 mod 10 (EAN-13, EAN-8, UPC-A). */
#include "pos_native.h"

int pos_luhn_check(const char *digits, size_t n) {
    if (n == 0) return -1;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        char c = digits[n - 1 - i];
        if (c < '0' || c > '9') return -1;
        unsigned d = (unsigned)(c - '0');
        if (i % 2 == 1) { /* every second digit from the right is doubled */
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0 ? 0 : 1;
}

int pos_gtin_check_digit(const char *body, size_t n) {
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        char c = body[n - 1 - i];
        if (c < '0' || c > '9') return -1;
        sum += (unsigned)(c - '0') * (i % 2 == 0 ? 3 : 1); /* weights 3,1,3,... from the right */
    }
    return (int)((10 - sum % 10) % 10);
}
