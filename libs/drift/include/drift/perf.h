/* perf.h - delayed-label join and rolling model performance.
 *
 * ss_drift_join pairs scores and labels by event id whichever arrives first.
 * The unmatched side waits in a bounded table: at most max_entries, kept in
 * arrival order; an entry older than the horizon (by the caller's clock) or
 * pushed out by a newer one when full is dropped and counted. A duplicate of a
 * waiting score or label (redelivery) is ignored and counted.
 *
 * ss_drift_perf keeps the last `capacity` joined (score, label) pairs and
 * computes precision and recall at a score threshold and exact ROC AUC over
 * them, plus the label delay of the pairs joined since the last reset. */
#ifndef SS_DRIFT_PERF_H
#define SS_DRIFT_PERF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ss_drift_pair {
    double score;
    int label;
    int64_t event_time_ms; /* from the label */
    int64_t label_time_ms;
} ss_drift_pair;

typedef struct ss_drift_join_stats {
    uint64_t joined, expired, evicted, duplicates;
} ss_drift_join_stats;

typedef struct ss_drift_join ss_drift_join;

ss_drift_join *ss_drift_join_new(size_t max_entries, int64_t horizon_ms);
void ss_drift_join_free(ss_drift_join *j);
/** A score arrived. Returns 1 and fills *out when its label was waiting,
 * 0 when the score now waits (or was a duplicate). */
int ss_drift_join_score(ss_drift_join *j, const char *event_id, size_t id_len, double score,
                        int64_t now_ms, ss_drift_pair *out);
/** A label arrived; same contract as ss_drift_join_score. */
int ss_drift_join_label(ss_drift_join *j, const char *event_id, size_t id_len, int label,
                        int64_t event_time_ms, int64_t label_time_ms, int64_t now_ms,
                        ss_drift_pair *out);
/** Drop entries that arrived before now_ms - horizon. */
void ss_drift_join_expire(ss_drift_join *j, int64_t now_ms);
size_t ss_drift_join_waiting(const ss_drift_join *j); /* entries waiting */
ss_drift_join_stats ss_drift_join_get_stats(const ss_drift_join *j);

typedef struct ss_drift_perf {
    size_t capacity, len, head; /* ring of the last `capacity` pairs */
    double *scores;
    int *labels;
    size_t *scratch;
    double delay_sum_ms; /* label delay of pairs added since the last window reset */
    uint64_t delay_count;
} ss_drift_perf;

typedef struct ss_drift_perf_result {
    size_t n, positives;
    double precision, recall; /* at the threshold; NAN when undefined */
    double auc;               /* NAN unless both classes are present */
} ss_drift_perf_result;

void ss_drift_perf_init(ss_drift_perf *p, size_t capacity);
void ss_drift_perf_free(ss_drift_perf *p);
void ss_drift_perf_add(ss_drift_perf *p, const ss_drift_pair *pair);
/** Precision/recall of "score >= threshold" and AUC over the ring. */
ss_drift_perf_result ss_drift_perf_compute(ss_drift_perf *p, double threshold);
/** Precision and recall only (no sort). */
void ss_drift_perf_at(const ss_drift_perf *p, double threshold, double *precision, double *recall);
/** Mean label delay (label time - event time) of pairs added since the last
 * call, NAN if none; resets the delay accumulator. */
double ss_drift_perf_take_delay(ss_drift_perf *p, uint64_t *count);

#endif
