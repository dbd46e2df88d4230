/* Basket arithmetic: the C twin of appliance/native/basket_twin.py (same rules, same errors).
 *
 * Intermediate products use 128-bit integers: a unit price times a quantity, or a
 * discount times a weight, may pass 2^63 even when every result fits in 64 bits.
 * Rounding is half up on non-negative values (every value here is non-negative).
 */
#include <stdlib.h>
#include <string.h>

#include "pos_native.h"

typedef __int128 wide;

static int64_t div_half_up(wide num, wide den) {
    wide q = num / den, r = num % den;
    if (2 * r >= den) q += 1;
    return (int64_t)q;
}

static int64_t tax_of(int64_t amount, int64_t rate, int mode) {
    if (mode == POS_TAX_INCLUSIVE) return div_half_up((wide)amount * rate, (wide)10000 + rate);
    return div_half_up((wide)amount * rate, 10000);
}

typedef struct {
    wide rem;
    size_t idx;
} remainder;

static int by_remainder(const void *a, const void *b) {
    const remainder *x = a, *y = b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1; /* largest first */
    return x->idx < y->idx ? -1 : (x->idx > y->idx); /* ties: the earlier line */
}

/* Split `total` over `weights` (at indices `members`) exactly; parts written to parts[members[k]]. */
static int allocate(int64_t total, const int64_t *weights, const size_t *members, size_t m, int64_t *parts,
                    remainder *scratch) {
    wide sum = 0;
    for (size_t k = 0; k < m; k++) sum += weights[members[k]];
    for (size_t k = 0; k < m; k++) parts[members[k]] = 0;
    if (total == 0 || m == 0) return POS_OK;
    if (sum == 0) return POS_E_BASKET_DISCOUNT;
    int64_t given = 0;
    for (size_t k = 0; k < m; k++) {
        wide share = (wide)total * weights[members[k]];
        parts[members[k]] = (int64_t)(share / sum);
        scratch[k].rem = share % sum;
        scratch[k].idx = k;
        given += parts[members[k]];
    }
    int64_t left = total - given;
    if (left > 0) {
        qsort(scratch, m, sizeof *scratch, by_remainder);
        for (int64_t k = 0; k < left; k++) parts[members[scratch[k].idx]] += 1;
    }
    return POS_OK;
}

typedef struct {
    int64_t rate;
    size_t idx;
} rated;

static int by_rate(const void *a, const void *b) {
    const rated *x = a, *y = b;
    if (x->rate != y->rate) return x->rate < y->rate ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
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
        int64_t gross = div_half_up((wide)l->unit_price * l->quantity, 1000);
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
    size_t *members = malloc(n * sizeof *members);
    remainder *scratch = malloc(n * sizeof *scratch);
    rated *order = malloc(n * sizeof *order);
    int rc = POS_OK;
    if (!weights || !parts || !members || !scratch || !order) {
        rc = POS_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        weights[i] = out[i].gross - out[i].discount;
        members[i] = i;
    }
    rc = allocate(basket_discount, weights, members, n, parts, scratch);
    if (rc != POS_OK) goto done;
    int64_t items = 0;
    for (size_t i = 0; i < n; i++) {
        out[i].basket_share = parts[i];
        out[i].amount = weights[i] - parts[i];
        items += out[i].amount;
        order[i].rate = lines[i].tax_rate;
        order[i].idx = i;
    }
    qsort(order, n, sizeof *order, by_rate);
    int64_t tax_total = 0;
    for (size_t start = 0; start < n;) {
        size_t end = start;
        while (end < n && order[end].rate == order[start].rate) end++;
        int64_t rate = order[start].rate, rate_amount = 0, rate_tax = 0;
        size_t m = end - start;
        for (size_t k = 0; k < m; k++) {
            members[k] = order[start + k].idx;
            rate_amount += out[members[k]].amount;
        }
        if (rounding == POS_ROUND_LINE) {
            for (size_t k = 0; k < m; k++) {
                out[members[k]].tax = tax_of(out[members[k]].amount, rate, mode);
                rate_tax += out[members[k]].tax;
            }
        } else {
            rate_tax = tax_of(rate_amount, rate, mode);
            for (size_t k = 0; k < m; k++) weights[members[k]] = out[members[k]].amount;
            rc = allocate(rate_tax, weights, members, m, parts, scratch);
            if (rc != POS_OK) goto done;
            for (size_t k = 0; k < m; k++) out[members[k]].tax = parts[members[k]];
        }
        pos_rate_out *r = &rates[(*n_rates)++];
        r->rate = rate;
        r->amount = rate_amount;
        r->tax = rate_tax;
        r->net = mode == POS_TAX_INCLUSIVE ? rate_amount - rate_tax : rate_amount;
        tax_total += rate_tax;
        start = end;
    }
    totals[2] = tax_total;
    totals[3] = mode == POS_TAX_INCLUSIVE ? items : items + tax_total;
done:
    free(weights);
    free(parts);
    free(members);
    free(scratch);
    free(order);
    return rc;
}
