/* window.c - fixed-memory window accumulators (histogram + reservoir, category counts). */
#include "drift/window.h"

#include <math.h>
#include <string.h>

#include "common/util.h"

size_t ss_drift_bin_of(const double *edges, size_t nbins, double v)
{
    if (!(v >= edges[0])) return 0;
    if (v >= edges[nbins]) return nbins - 1;
    /* searchsorted(edges, v, side='right') - 1 */
    size_t lo = 0, hi = nbins + 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (edges[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

static uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void ss_drift_numwin_init(ss_drift_numwin *w, const double *edges, size_t nbins, double lo,
                          double hi, size_t reservoir_cap, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->edges = edges;
    w->nbins = nbins;
    w->lo = lo;
    w->hi = hi;
    w->counts = ss_calloc(nbins ? nbins : 1, sizeof *w->counts);
    w->cap = reservoir_cap;
    w->reservoir = ss_malloc((reservoir_cap ? reservoir_cap : 1) * sizeof *w->reservoir);
    w->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

void ss_drift_numwin_add(ss_drift_numwin *w, double v)
{
    if (isnan(v)) {
        w->nulls++;
        return;
    }
    if (v < w->lo || v > w->hi) w->out_of_range++;
    if (w->nbins) w->counts[ss_drift_bin_of(w->edges, w->nbins, v)]++;
    w->n++;
    w->sum += v;
    if (w->len < w->cap) {
        w->reservoir[w->len++] = v;
    } else if (w->cap) { /* Algorithm R: keep with probability cap/n */
        uint64_t j = xorshift64s(&w->rng) % w->n;
        if (j < w->cap) w->reservoir[j] = v;
    }
}

void ss_drift_numwin_reset(ss_drift_numwin *w)
{
    if (w->nbins) memset(w->counts, 0, w->nbins * sizeof *w->counts);
    w->n = w->nulls = w->out_of_range = 0;
    w->sum = 0;
    w->len = 0;
}

void ss_drift_numwin_free(ss_drift_numwin *w)
{
    ss_free(w->counts);
    ss_free(w->reservoir);
    memset(w, 0, sizeof *w);
}

uint64_t ss_drift_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void ss_drift_catwin_init(ss_drift_catwin *w, char *const *cats, size_t ncats)
{
    memset(w, 0, sizeof *w);
    w->cats = cats;
    w->ncats = ncats;
    size_t slots = 8;
    while (slots < 2 * ncats)
        slots *= 2;
    w->index = ss_calloc(slots, sizeof *w->index);
    w->index_mask = slots - 1;
    for (size_t i = 0; i < ncats; i++) {
        size_t s = ss_drift_hash(cats[i], strlen(cats[i])) & w->index_mask;
        while (w->index[s])
            s = (s + 1) & w->index_mask;
        w->index[s] = (uint32_t)i + 1;
    }
    w->counts = ss_calloc(ncats + 1, sizeof *w->counts);
}

void ss_drift_catwin_add(ss_drift_catwin *w, const char *value, size_t len)
{
    if (!value) {
        w->nulls++;
        return;
    }
    w->n++;
    size_t s = ss_drift_hash(value, len) & w->index_mask;
    for (uint32_t c; (c = w->index[s]); s = (s + 1) & w->index_mask) {
        const char *name = w->cats[c - 1];
        if (strlen(name) == len && !memcmp(name, value, len)) {
            w->counts[c - 1]++;
            return;
        }
    }
    w->counts[w->ncats]++; /* not in the baseline */
}

void ss_drift_catwin_reset(ss_drift_catwin *w)
{
    memset(w->counts, 0, (w->ncats + 1) * sizeof *w->counts);
    w->n = w->nulls = 0;
}

void ss_drift_catwin_free(ss_drift_catwin *w)
{
    ss_free(w->index);
    ss_free(w->counts);
    memset(w, 0, sizeof *w);
}
