/* brute.h - brute-force reference for the feature semantics, recomputed from
 * the raw events (no tiles, no Redis). The semantics it encodes are the
 * documented ones (docs/features.md "Semantics"):
 *  - an event is late when its time < (max time of the applied events of its
 *    primary entity) - grace; late events are scored but applied nowhere;
 *  - a window of n tiles of size T for an event at t covers the applied
 *    events whose tile floor(t'/T) is in [floor(t/T)-n+1, floor(t/T)],
 *    plus the event itself when include_current (and it is not late);
 *  - time_since_last / last look at the applied event with the greatest
 *    time (ties: the one applied later) among the earlier ones.
 */
#ifndef SS_FEATURES_TESTS_BRUTE_H
#define SS_FEATURES_TESTS_BRUTE_H

#include <math.h>
#include <string.h>
#include "features-internal.h"
#include "fx.h"

static const char *brute_field_str(const fx_event *e, const char *field)
{
    if (strcmp(field, "card_id") == 0) return e->card;
    if (strcmp(field, "merchant_id") == 0) return e->merchant;
    if (strcmp(field, "device_id") == 0) return e->has_device ? e->device : NULL;
    if (strcmp(field, "merchant_country") == 0) return e->country;
    if (strcmp(field, "channel") == 0) return e->channel;
    if (strcmp(field, "auth_result") == 0)
        return e->declined < 0 ? NULL : e->declined ? "DECLINED" : "APPROVED";
    return NULL;
}

static inline int brute_num(const fx_event *e, const char *field, double *out)
{
    if (strcmp(field, "amount") == 0) {
        *out = e->amount;
        return 1;
    }
    return 0;
}

static inline int brute_filter(const ss_feature_defs *d, int filter, const fx_event *e)
{
    if (filter < 0) return 1;
    const fd_filter *f = &d->filters[filter];
    const char *s = brute_field_str(e, f->field);
    double x = 0;
    int isnum = brute_num(e, f->field, &x);
    int present = s != NULL || isnum;
    int eq = 0;
    if (f->op == FD_OP_NULL) return !present;
    if (f->op == FD_OP_NOTNULL) return present;
    if (!present) return f->op == FD_OP_NE || f->op == FD_OP_NOT_IN;
    switch (f->op) {
    case FD_OP_GT:
        return isnum && x > f->nvals_d[0];
    case FD_OP_GTE:
        return isnum && x >= f->nvals_d[0];
    case FD_OP_LT:
        return isnum && x < f->nvals_d[0];
    case FD_OP_LTE:
        return isnum && x <= f->nvals_d[0];
    default:
        break;
    }
    for (size_t i = 0; i < f->nvals; i++)
        eq |= f->numeric ? (isnum && x == f->nvals_d[i]) : (s && strcmp(s, f->svals[i]) == 0);
    return (f->op == FD_OP_EQ || f->op == FD_OP_IN) ? eq : !eq;
}

static const char *brute_entity(const ss_feature_defs *d, int ent, const fx_event *e)
{
    return brute_field_str(e, d->entities[ent].field);
}

static inline int64_t brute_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/** late flag of `e` given the applied events so far */
static inline int brute_late(const ss_feature_defs *d, const fx_event *applied, size_t napplied,
                             const fx_event *e)
{
    const char *id = brute_entity(d, d->primary, e);
    int have = 0;
    int64_t wm = 0;
    for (size_t i = 0; i < napplied; i++) {
        const char *o = brute_entity(d, d->primary, &applied[i]);
        if (!o || strcmp(o, id) != 0) continue;
        if (!have || applied[i].t > wm) wm = applied[i].t;
        have = 1;
    }
    return have && e->t < wm - d->grace_ms;
}

/** Compute every feature of e. values[i] = NAN for null. */
static inline void brute_vector(const ss_feature_defs *d, const fx_event *applied, size_t napplied,
                                const fx_event *e, int late, double *values)
{
    for (size_t fi = 0; fi < d->n_features; fi++) {
        const fd_feature *f = &d->features[fi];
        const char *id = brute_entity(d, f->entity, e);
        double v = NAN;
        values[fi] = NAN;
        if (!id) continue;
        if (f->agg == FD_SINCE || f->agg == FD_LAST) {
            int have = 0;
            const fx_event *best = NULL;
            for (size_t i = 0; i < napplied; i++) {
                const fx_event *a = &applied[i];
                const char *o = brute_entity(d, f->entity, a);
                if (!o || strcmp(o, id) != 0 || !brute_filter(d, f->filter, a)) continue;
                if (!have || a->t >= best->t) best = a;
                have = 1;
            }
            if (!have) continue;
            if (f->agg == FD_SINCE) {
                v = (double)(e->t - best->t);
                values[fi] = (v < 0 ? 0 : v) / 1000.0;
            } else {
                double x;
                if (brute_num(best, f->field, &x)) values[fi] = x;
            }
            continue;
        }
        const char *bucket = f->group_by ? brute_field_str(e, f->group_by) : NULL;
        if (f->group_by && !bucket) continue; /* no bucket: null */
        int64_t hi = brute_floor_div(e->t, f->tile_ms), lo = hi - f->window_ms / f->tile_ms + 1;
        double n = 0, s = 0, mn = INFINITY, mx = -INFINITY;
        double xs[4096];
        const char *distinct[4096];
        size_t nd = 0, nx = 0;
        for (size_t i = 0; i <= napplied; i++) {
            const fx_event *a = i < napplied ? &applied[i] : e;
            if (i == napplied && (late || !f->include_current)) break;
            const char *o = brute_entity(d, f->entity, a);
            int64_t tile = brute_floor_div(a->t, f->tile_ms);
            if (!o || strcmp(o, id) != 0 || tile < lo || tile > hi) continue;
            if (!brute_filter(d, f->filter, a)) continue;
            if (bucket) {
                const char *ab = brute_field_str(a, f->group_by);
                if (!ab || strcmp(ab, bucket) != 0) continue;
            }
            if (f->agg == FD_DISTINCT) {
                const char *sv = brute_field_str(a, f->field);
                int seen = 0;
                if (!sv) continue;
                for (size_t k = 0; k < nd; k++)
                    seen |= strcmp(distinct[k], sv) == 0;
                if (!seen) distinct[nd++] = sv;
                continue;
            }
            double x = 0;
            if (f->field && !brute_num(a, f->field, &x)) continue;
            n += 1;
            s += x;
            if (x < mn) mn = x;
            if (x > mx) mx = x;
            xs[nx++] = x;
        }
        switch (f->agg) {
        case FD_COUNT:
            v = n;
            break;
        case FD_SUM:
            v = s;
            break;
        case FD_MEAN:
            v = n > 0 ? s / n : NAN;
            break;
        case FD_MIN:
            v = n > 0 ? mn : NAN;
            break;
        case FD_MAX:
            v = n > 0 ? mx : NAN;
            break;
        case FD_STDDEV: {
            double m = s / n, q = 0;
            for (size_t k = 0; k < nx; k++)
                q += (xs[k] - m) * (xs[k] - m);
            v = n > 0 ? sqrt(q / n) : NAN;
            break;
        }
        case FD_DISTINCT:
            v = (double)nd;
            break;
        case FD_RATIO: {
            double a = NAN, x = 0;
            if (n > 0)
                a = f->of == FD_MEAN ? s / n : f->of == FD_SUM ? s : f->of == FD_MIN ? mn : mx;
            v = (brute_num(e, f->field, &x) && !isnan(a) && a != 0) ? x / a : NAN;
            break;
        }
        default:
            break;
        }
        values[fi] = v;
    }
}

#endif
