/* window.h - bounded per-window accumulators for one feature: a histogram on
 * the baseline's edges plus a fixed-capacity uniform reservoir sample (numeric)
 * or counts per baseline category plus one "other" bucket (categorical).
 * Memory is fixed at init whatever the traffic. */
#ifndef SS_DRIFT_WINDOW_H
#define SS_DRIFT_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/** Bin of v on K bins with ascending edges[0..K] as numpy.histogram assigns
 * it (edges[i] <= v < edges[i+1], last bin closed); values below edges[0] go
 * to bin 0 and above edges[K] to bin K-1 (they are also counted out of range). */
size_t ss_drift_bin_of(const double *edges, size_t nbins, double v);

typedef struct ss_drift_numwin {
    const double *edges; /* baseline edges (borrowed) */
    size_t nbins;
    double lo, hi;    /* baseline range; outside = out of range */
    uint64_t *counts; /* nbins */
    uint64_t n;       /* non-null values */
    uint64_t nulls;   /* null (NaN) values */
    uint64_t out_of_range;
    double sum;
    double *reservoir; /* uniform sample of this window's non-null values */
    size_t cap, len;
    uint64_t rng; /* xorshift64* state */
} ss_drift_numwin;

void ss_drift_numwin_init(ss_drift_numwin *w, const double *edges, size_t nbins, double lo,
                          double hi, size_t reservoir_cap, uint64_t seed);
/** Add one value; NaN counts as null. */
void ss_drift_numwin_add(ss_drift_numwin *w, double v);
void ss_drift_numwin_reset(ss_drift_numwin *w); /* start the next window (keeps the RNG) */
void ss_drift_numwin_free(ss_drift_numwin *w);

typedef struct ss_drift_catwin {
    char *const *cats; /* baseline categories (borrowed) */
    size_t ncats;
    uint32_t *index; /* open addressing: slot -> category + 1, 0 = empty */
    size_t index_mask;
    uint64_t *counts; /* ncats + 1; the last one counts unknown categories */
    uint64_t n, nulls;
} ss_drift_catwin;

void ss_drift_catwin_init(ss_drift_catwin *w, char *const *cats, size_t ncats);
/** Add one value; NULL counts as null. len is the value's length. */
void ss_drift_catwin_add(ss_drift_catwin *w, const char *value, size_t len);
void ss_drift_catwin_reset(ss_drift_catwin *w);
void ss_drift_catwin_free(ss_drift_catwin *w);

/** FNV-1a, shared by the bounded hash tables of this library. */
uint64_t ss_drift_hash(const char *s, size_t len);

#endif
