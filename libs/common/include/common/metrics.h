/* metrics.h - Prometheus counters, gauges and histograms with labels.
 * One process-wide registry. Not thread-safe: each service runs one loop
 * thread and updates metrics only from it. Look a series up once and keep the
 * pointer on hot paths. */
#ifndef SS_COMMON_METRICS_H
#define SS_COMMON_METRICS_H

#include <stddef.h>
#include "common/util.h"

typedef struct ss_metric ss_metric;

/** Get or create a series. `labels` is the inside of the braces, already
 * formatted (`topic="scores",partition="3"`), or NULL. The same name must keep
 * the same type and help. Returned pointer lives until ss_metrics_reset(). */
ss_metric *ss_counter(const char *name, const char *help, const char *labels);
ss_metric *ss_gauge(const char *name, const char *help, const char *labels);
/** Histogram with the given upper bounds (ascending, +Inf implied); NULL
 * bounds = latency buckets in seconds from 50us to 10s. */
ss_metric *ss_histogram(const char *name, const char *help, const char *labels,
                        const double *bounds, size_t nbounds);

void ss_metric_inc(ss_metric *m);               /* counter/gauge += 1 */
void ss_metric_add(ss_metric *m, double v);     /* counter (v >= 0) or gauge */
void ss_metric_set(ss_metric *m, double v);     /* gauge */
void ss_metric_observe(ss_metric *m, double v); /* histogram */
double ss_metric_value(const ss_metric *m);     /* counter/gauge value; histogram count */
/** Histogram quantile estimate (linear within bucket), q in [0,1]; NAN if empty. */
double ss_metric_quantile(const ss_metric *m, double q);

/** Format labels for ss_counter() & co from (const char *key, const char *value)
 * pairs terminated by NULL, escaping values (backslash, double quote, newline)
 * as the text format requires: ss_metric_labels(buf, sizeof buf, "route", r,
 * "code", "200", NULL) -> route="...",code="200". Returns the full length
 * (truncated to outlen-1 like snprintf). */
size_t ss_metric_labels(char *out, size_t outlen, ...) __attribute__((sentinel));

/** Render every series in the text exposition format 0.0.4. */
void ss_metrics_render(ss_buf *out);
void ss_metrics_reset(void); /* drop all series (tests) */

#endif
