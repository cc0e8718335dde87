/* detector.c - Page-Hinkley and ADWIN change detectors (River semantics). */
#include "drift/detector.h"

#include <math.h>
#include <string.h>

#include "common/util.h"

void ss_drift_ph_init(ss_drift_ph *ph, uint64_t min_instances, double delta, double threshold,
                      double alpha, ss_drift_ph_mode mode)
{
    memset(ph, 0, sizeof *ph);
    ph->min_instances = min_instances;
    ph->delta = delta;
    ph->threshold = threshold;
    ph->alpha = alpha;
    ph->mode = mode;
    ph->count = 1;
}

void ss_drift_ph_defaults(ss_drift_ph *ph)
{
    ss_drift_ph_init(ph, 30, 0.005, 50.0, 1.0 - 0.0001, SS_PH_BOTH);
}

int ss_drift_ph_update(ss_drift_ph *ph, double x)
{
    if (ph->drift) /* River resets on the update after a detection */
        ss_drift_ph_init(ph, ph->min_instances, ph->delta, ph->threshold, ph->alpha, ph->mode);
    ph->mean += (x - ph->mean) / (double)ph->count;
    ph->sum_up = fmax(0.0, ph->alpha * ph->sum_up + (x - ph->mean - ph->delta));
    ph->sum_down = fmax(0.0, ph->alpha * ph->sum_down + (ph->mean - x - ph->delta));
    ph->count++;
    ph->drift = 0;
    if (ph->count >= ph->min_instances) {
        if ((ph->mode & SS_PH_UP) && ph->sum_up >= ph->threshold) ph->drift = 1;
        if ((ph->mode & SS_PH_DOWN) && ph->sum_down >= ph->threshold) ph->drift = 1;
    }
    return ph->drift;
}

/* ---- ADWIN */

void ss_drift_adwin_init(ss_drift_adwin *a, double delta, int clock, int max_buckets,
                         int min_window_length, int grace_period)
{
    memset(a, 0, sizeof *a);
    a->delta = delta;
    a->clock = clock > 0 ? clock : 1;
    a->max_buckets =
        max_buckets < 1
            ? 1
            : (max_buckets > SS_ADWIN_MAX_BUCKETS_CAP ? SS_ADWIN_MAX_BUCKETS_CAP : max_buckets);
    a->min_window_length = min_window_length;
    a->grace_period = grace_period;
    a->nrows = 1;
}

void ss_drift_adwin_defaults(ss_drift_adwin *a)
{
    ss_drift_adwin_init(a, 0.002, 32, 5, 5, 10);
}

static double row_size(int r)
{
    return ldexp(1.0, r);
}

static void row_push(ss_drift_adwin_row *row, double total, double variance)
{
    row->total[row->used] = total;
    row->variance[row->used] = variance;
    row->used++;
}

static void row_drop_oldest(ss_drift_adwin_row *row, int n)
{
    memmove(row->total, row->total + n, (size_t)(row->used - n) * sizeof row->total[0]);
    memmove(row->variance, row->variance + n, (size_t)(row->used - n) * sizeof row->variance[0]);
    row->used -= n;
}

/* a row holding max_buckets + 1 buckets merges its two oldest into the next row */
static void adwin_compress(ss_drift_adwin *a)
{
    for (int r = 0; r < a->nrows; r++) {
        ss_drift_adwin_row *row = &a->rows[r];
        if (row->used != a->max_buckets + 1) break;
        ss_assert(r + 1 < SS_ADWIN_MAX_ROWS);
        if (r + 1 == a->nrows) {
            a->rows[a->nrows].used = 0;
            a->nrows++;
        }
        ss_drift_adwin_row *next = &a->rows[r + 1];
        double n = row_size(r), mu1 = row->total[0] / n, mu2 = row->total[1] / n;
        double v12 =
            row->variance[0] + row->variance[1] + n * n * (mu1 - mu2) * (mu1 - mu2) / (n + n);
        row_push(next, row->total[0] + row->total[1], v12);
        row_drop_oldest(row, 2);
        if (next->used <= a->max_buckets) break;
    }
}

static void adwin_insert(ss_drift_adwin *a, double x)
{
    row_push(&a->rows[0], x, 0.0);
    a->width += 1.0;
    if (a->width > 1.0) {
        double prev_mean = a->total / (a->width - 1.0);
        a->variance += (a->width - 1.0) * (x - prev_mean) * (x - prev_mean) / a->width;
    }
    a->total += x;
    adwin_compress(a);
}

/* drop the oldest bucket; returns its size */
static double adwin_delete_oldest(ss_drift_adwin *a)
{
    ss_drift_adwin_row *row = &a->rows[a->nrows - 1];
    double n = row_size(a->nrows - 1), u = row->total[0], mu = u / n, v = row->variance[0];
    a->width -= n;
    a->total -= u;
    if (a->width > 0) {
        double mu_window = a->total / a->width;
        a->variance -= v + n * a->width * (mu - mu_window) * (mu - mu_window) / (n + a->width);
    } else {
        a->variance = 0;
    }
    row_drop_oldest(row, 1);
    if (row->used == 0 && a->nrows > 1) a->nrows--;
    return n;
}

static int adwin_cut(const ss_drift_adwin *a, double n0, double n1, double delta_mean)
{
    double delta_prime = log(2.0 * log(a->width) / a->delta);
    double m_recip = 1.0 / (n0 - a->min_window_length + 1) + 1.0 / (n1 - a->min_window_length + 1);
    double eps = sqrt(2.0 * m_recip * (a->variance / a->width) * delta_prime) +
                 2.0 / 3.0 * delta_prime * m_recip;
    return fabs(delta_mean) > eps;
}

/* Scan split points from the oldest bucket on; on a significant difference
 * drop the oldest bucket and rescan (River's _detect_change, including its
 * skipping of each row's newest bucket). */
static int adwin_detect(ss_drift_adwin *a)
{
    int change = 0;
    a->tick++;
    if (a->tick % (uint64_t)a->clock != 0 || !(a->width > a->grace_period)) return 0;
    for (int reduce = 1; reduce;) {
        reduce = 0;
        int exit_flag = 0;
        double n0 = 0, n1 = a->width, u0 = 0, u1 = a->total;
        for (int r = a->nrows - 1; r >= 0 && !exit_flag; r--) {
            ss_drift_adwin_row *row = &a->rows[r];
            for (int k = 0; k < row->used - 1; k++) {
                double n2 = row_size(r);
                n0 += n2;
                n1 -= n2;
                u0 += row->total[k];
                u1 -= row->total[k];
                if (n1 >= a->min_window_length && n0 >= a->min_window_length &&
                    adwin_cut(a, n0, n1, u0 / n0 - u1 / n1)) {
                    reduce = 1;
                    change = 1;
                    if (a->width > 0) {
                        n0 -= adwin_delete_oldest(a);
                        exit_flag = 1;
                        break;
                    }
                }
            }
        }
    }
    if (change) a->detections++;
    return change;
}

int ss_drift_adwin_update(ss_drift_adwin *a, double x)
{
    if (a->drift) { /* River's ADWIN starts a fresh window after a detection */
        uint64_t detections = a->detections;
        ss_drift_adwin_init(a, a->delta, a->clock, a->max_buckets, a->min_window_length,
                            a->grace_period);
        a->detections = detections;
    }
    adwin_insert(a, x);
    a->drift = adwin_detect(a);
    return a->drift;
}

double ss_drift_adwin_mean(const ss_drift_adwin *a)
{
    return a->width > 0 ? a->total / a->width : NAN;
}
