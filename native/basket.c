/* Basket arithmetic: the C twin of appliance/native/basket_twin.py (same rules, same errors).
 *
 * A product such as unit price x quantity or discount x weight may pass 2^63 even when
 * every result fits in 64 bits, so each multiply-divide checks for overflow and only
 * then falls back to 128-bit integers (whose division is a slow library call on most
 * CPUs). Rounding is half up on non-negative values (every value here is non-negative).
 */
#include <stdlib.h>
#include <string.h>

#include "pos_native.h"

typedef __int128 wide;

/* floor(a * b / d) and the remainder, exact; a, b >= 0, d > 0. */
static int64_t mul_div(int64_t a, int64_t b, int64_t d, int64_t *rem) {
    int64_t product;
    if (!__builtin_mul_overflow(a, b, &product)) {
        *rem = product % d;
        return product / d;
    }
    wide p = (wide)a * b;
    *rem = (int64_t)(p % d);
    return (int64_t)(p / d);
}

static int64_t mul_div_half_up(int64_t a, int64_t b, int64_t d) {
    int64_t rem, q = mul_div(a, b, d, &rem);
    return (rem >= d - rem) ? q + 1 : q; /* 2*rem >= d without overflow */
}

static int64_t tax_of(int64_t amount, int64_t rate, int mode) {
    return mul_div_half_up(amount, rate, mode == POS_TAX_INCLUSIVE ? 10000 + rate : 10000);
}

typedef struct {
    int64_t rem;
    size_t k;
} remainder;

static int by_remainder(const void *a, const void *b) {
    const remainder *x = a, *y = b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1; /* largest first */
    return x->k < y->k ? -1 : (x->k > y->k);               /* ties: the earlier member */
}

/* Split `total` over weights[members[k]] exactly (largest remainder, ties to the earlier member).
 * `rems` is scratch of m entries. The sum of the weights is at most POS_MAX_TOTAL. */
static int allocate(int64_t total, const int64_t *weights, const size_t *members, size_t m, int64_t *parts,
                     int64_t *rems) {
    int64_t sum = 0;
    for (size_t k = 0; k < m; k++) sum += weights[members[k]];
    if (total == 0 || sum == 0) {
        for (size_t k = 0; k < m; k++) parts[members[k]] = 0;
        return POS_OK;
    }
    int64_t given = 0;
    for (size_t k = 0; k < m; k++) {
        parts[members[k]] = mul_div(total, weights[members[k]], sum, &rems[k]);
        given += parts[members[k]];
    }
    int64_t left = total - given; /* fewer than m units */
    if (left <= 32) {
        /* The usual case: pick the largest remainders one by one (a taken one is marked -1). */
        for (; left > 0; left--) {
            size_t best = 0;
            for (size_t k = 1; k < m; k++)
                if (rems[k] > rems[best]) best = k;
            parts[members[best]] += 1;
            rems[best] = -1;
        }
        return POS_OK;
    }
    remainder *order = malloc(m * sizeof *order);
    if (!order) return POS_E_NOMEM;
    for (size_t k = 0; k < m; k++) order[k] = (remainder){rems[k], k};
    qsort(order, m, sizeof *order, by_remainder);
    for (int64_t k = 0; k < left; k++) parts[members[order[k].k]] += 1;
    free(order);
    return POS_OK;
}

int pos_basket(const pos_line_in *lines, size_t n, int64_t basket_discount, int mode, int rounding,
               pos_line_out *out, pos_rate_out *rates, size_t *n_rates, int64_t totals[4], int64_t *bad_line) {
    *bad_line = -1;
    if ((mode != POS_TAX_INCLUSIVE && mode != POS_TAX_EXCLUSIVE) ||
        (rounding != POS_ROUND_LINE && rounding != POS_ROUND_TOTAL) || (n && (!lines || !out || !rates)))
        return POS_E_ARGS;
    int64_t subtotal = 0, line_discounts = 0, after_sum = 0;
    for (size_t i = 0; i < n; i++) {
        const pos_line_in *l = &lines[i];
        *bad_line = (int64_t)i;
        if (l->unit_price < 0 || l->quantity < 0 || l->tax_rate < 0 || l->discount < 0) return POS_E_NEGATIVE;
        if (l->unit_price > POS_MAX_UNIT_PRICE || l->quantity > POS_MAX_QUANTITY || l->tax_rate > POS_MAX_TAX_RATE)
            return POS_E_RANGE;
        int64_t gross = mul_div_half_up(l->unit_price, l->quantity, 1000);
        if (l->discount > gross) return POS_E_LINE_DISCOUNT;
        subtotal += gross;
        if (subtotal > POS_MAX_TOTAL) return POS_E_RANGE;
        out[i].gross = gross;
        out[i].discount = l->discount;
        line_discounts += l->discount;
        after_sum += gross - l->discount;
    }
    *bad_line = -1;
    if (basket_discount < 0) return POS_E_NEGATIVE;
    if (basket_discount > after_sum) return POS_E_BASKET_DISCOUNT;
    *n_rates = 0;
    memset(totals, 0, 4 * sizeof *totals);
    totals[0] = subtotal;
    totals[1] = line_discounts + basket_discount;
    if (n == 0) return POS_OK;

    int64_t *weights = malloc(n * sizeof *weights);
    int64_t *parts = malloc(n * sizeof *parts);
    int64_t *rems = malloc(n * sizeof *rems);
    size_t *members = malloc(n * sizeof *members);
    int64_t *distinct = malloc(n * sizeof *distinct);
    if (!weights || !parts || !rems || !members || !distinct) {
        free(weights), free(parts), free(rems), free(members), free(distinct);
        return POS_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        weights[i] = out[i].gross - out[i].discount;
        members[i] = i;
    }
    int rc = allocate(basket_discount, weights, members, n, parts, rems);
    int64_t items = 0;
    size_t k_rates = 0;
    for (size_t i = 0; i < n; i++) {
        out[i].basket_share = parts[i];
        out[i].amount = weights[i] - parts[i];
        items += out[i].amount;
        /* distinct rates, kept sorted (a basket has a handful) */
        int64_t rate = lines[i].tax_rate;
        size_t at = 0;
        while (at < k_rates && distinct[at] < rate) at++;
        if (at == k_rates || distinct[at] != rate) {
            memmove(&distinct[at + 1], &distinct[at], (k_rates - at) * sizeof *distinct);
            distinct[at] = rate;
            k_rates++;
        }
    }
    int64_t tax_total = 0;
    for (size_t r = 0; r < k_rates && rc == POS_OK; r++) {
        int64_t rate = distinct[r], rate_amount = 0, rate_tax = 0;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (lines[i].tax_rate == rate) {
                members[m++] = i;
                rate_amount += out[i].amount;
            }
        if (rounding == POS_ROUND_LINE) {
            for (size_t k = 0; k < m; k++) {
                out[members[k]].tax = tax_of(out[members[k]].amount, rate, mode);
                rate_tax += out[members[k]].tax;
            }
        } else {
            rate_tax = tax_of(rate_amount, rate, mode);
            for (size_t k = 0; k < m; k++) weights[members[k]] = out[members[k]].amount;
            rc = allocate(rate_tax, weights, members, m, parts, rems);
            for (size_t k = 0; k < m; k++) out[members[k]].tax = parts[members[k]];
        }
        pos_rate_out *slot = &rates[(*n_rates)++];
        slot->rate = rate;
        slot->amount = rate_amount;
        slot->tax = rate_tax;
        slot->net = mode == POS_TAX_INCLUSIVE ? rate_amount - rate_tax : rate_amount;
        tax_total += rate_tax;
    }
    totals[2] = tax_total;
    totals[3] = mode == POS_TAX_INCLUSIVE ? items : items + tax_total;
    free(weights), free(parts), free(rems), free(members), free(distinct);
    return rc;
}
