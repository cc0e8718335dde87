/* detector.h - streaming change detectors for the score stream, with River's
 * semantics and defaults (river.drift.ADWIN, river.drift.PageHinkley).
 * Constant memory: Page-Hinkley keeps a few numbers; ADWIN an exponential
 * histogram of at most (max_buckets + 1) buckets per power of two. */
#ifndef SS_DRIFT_DETECTOR_H
#define SS_DRIFT_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

/* ---- Page-Hinkley (defaults: min_instances 30, delta 0.005, threshold 50,
 * alpha 1 - 0.0001). River's update: mean += (x - mean) / n;
 * sum = max(0, alpha * sum + (x - mean - delta)); drift when n >= min_instances
 * and sum >= threshold; the detector resets on the next update after a drift.
 * Mode "both" also runs the mirrored test for a decrease (mean - x - delta). */
typedef enum { SS_PH_UP = 1, SS_PH_DOWN = 2, SS_PH_BOTH = 3 } ss_drift_ph_mode;

typedef struct ss_drift_ph {
    uint64_t min_instances;
    double delta, threshold, alpha;
    ss_drift_ph_mode mode;
    uint64_t count; /* River's sample_count (starts at 1) */
    double mean, sum_up, sum_down;
    int drift; /* the last update detected a change */
} ss_drift_ph;

void ss_drift_ph_init(ss_drift_ph *ph, uint64_t min_instances, double delta, double threshold,
                      double alpha, ss_drift_ph_mode mode);
void ss_drift_ph_defaults(ss_drift_ph *ph); /* River's defaults, mode both */
/** Feed one value; returns 1 when a change is detected at this value. */
int ss_drift_ph_update(ss_drift_ph *ph, double x);

/* ---- ADWIN (defaults: delta 0.002, clock 32, max_buckets 5,
 * min_window_length 5, grace_period 10), River's AdaptiveWindowing: the window
 * is cut at the oldest split point whose sub-window means differ by more than
 * eps_cut (Hoeffding/Bernstein bound); cuts are checked every `clock` values.
 * As river.drift.ADWIN, the update after a detection starts a fresh window. */
#define SS_ADWIN_MAX_ROWS 64
#define SS_ADWIN_MAX_BUCKETS_CAP 16

typedef struct ss_drift_adwin_row {
    int used; /* buckets in this row; row r holds buckets of 2^r values */
    double total[SS_ADWIN_MAX_BUCKETS_CAP + 1];
    double variance[SS_ADWIN_MAX_BUCKETS_CAP + 1];
} ss_drift_adwin_row;

typedef struct ss_drift_adwin {
    double delta;
    int clock, max_buckets, min_window_length, grace_period;
    double total, variance, width;
    uint64_t tick, detections;
    int nrows;
    ss_drift_adwin_row rows[SS_ADWIN_MAX_ROWS];
    int drift;
} ss_drift_adwin;

/** max_buckets is capped at SS_ADWIN_MAX_BUCKETS_CAP. */
void ss_drift_adwin_init(ss_drift_adwin *a, double delta, int clock, int max_buckets,
                         int min_window_length, int grace_period);
void ss_drift_adwin_defaults(ss_drift_adwin *a);
/** Feed one value; returns 1 when the window was cut (change detected). */
int ss_drift_adwin_update(ss_drift_adwin *a, double x);
double ss_drift_adwin_mean(const ss_drift_adwin *a); /* mean of the current window */

#endif
