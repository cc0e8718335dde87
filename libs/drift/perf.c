/* perf.c - bounded score/label join and rolling precision, recall, ROC AUC.
 *
 * The join keeps waiting entries in a ring in arrival order (oldest at head),
 * indexed by an open-addressing table (linear probing, backward-shift delete)
 * of ring positions. Joined entries leave the index at once and their ring
 * slot is skipped when it reaches the head. */
#include "drift/perf.h"

#include <math.h>
#include <string.h>

#include "common/util.h"
#include "drift/stats.h"
#include "drift/window.h"

enum { JOIN_FREE = 0, JOIN_SCORE = 1, JOIN_LABEL = 2 };

typedef struct join_entry {
    char *id;
    size_t id_len;
    uint64_t hash;
    int64_t arrived_ms;
    int kind; /* JOIN_* */
    int label;
    double score;
    int64_t event_time_ms, label_time_ms;
} join_entry;

struct ss_drift_join {
    size_t cap, head, count; /* ring: count slots from head, some may be JOIN_FREE */
    join_entry *ring;
    uint32_t *index; /* ring position + 1; 0 = empty */
    size_t mask;
    size_t waiting;
    int64_t horizon_ms;
    ss_drift_join_stats stats;
};

ss_drift_join *ss_drift_join_new(size_t max_entries, int64_t horizon_ms)
{
    ss_assert(max_entries > 0 && max_entries < UINT32_MAX / 4);
    ss_drift_join *j = ss_calloc(1, sizeof *j);
    j->cap = max_entries;
    j->ring = ss_calloc(max_entries, sizeof *j->ring);
    size_t slots = 16;
    while (slots < 2 * max_entries)
        slots *= 2;
    j->index = ss_calloc(slots, sizeof *j->index);
    j->mask = slots - 1;
    j->horizon_ms = horizon_ms;
    return j;
}

void ss_drift_join_free(ss_drift_join *j)
{
    if (!j) return;
    for (size_t i = 0; i < j->cap; i++)
        ss_free(j->ring[i].id);
    ss_free(j->ring);
    ss_free(j->index);
    ss_free(j);
}

/* index slot holding the entry for id, or the empty slot where it would go */
static size_t index_find(const ss_drift_join *j, const char *id, size_t len, uint64_t h, int *found)
{
    size_t s = h & j->mask;
    for (uint32_t pos; (pos = j->index[s]); s = (s + 1) & j->mask) {
        const join_entry *e = &j->ring[pos - 1];
        if (e->hash == h && e->id_len == len && !memcmp(e->id, id, len)) {
            *found = 1;
            return s;
        }
    }
    *found = 0;
    return s;
}

static void index_delete(ss_drift_join *j, size_t s)
{
    /* backward-shift: move later members of the probe run into the hole */
    size_t hole = s;
    for (size_t n = (s + 1) & j->mask; j->index[n]; n = (n + 1) & j->mask) {
        size_t home = j->ring[j->index[n] - 1].hash & j->mask;
        int movable = hole <= n ? (home <= hole || home > n) : (home <= hole && home > n);
        if (movable) {
            j->index[hole] = j->index[n];
            hole = n;
        }
    }
    j->index[hole] = 0;
}

static void entry_remove(ss_drift_join *j, join_entry *e)
{
    int found;
    size_t s = index_find(j, e->id, e->id_len, e->hash, &found);
    ss_assert(found);
    index_delete(j, s);
    ss_free(e->id);
    e->id = NULL;
    e->kind = JOIN_FREE;
    j->waiting--;
}

/* advance the head over slots already joined */
static void ring_trim(ss_drift_join *j)
{
    while (j->count > 0 && j->ring[j->head].kind == JOIN_FREE) {
        j->head = (j->head + 1) % j->cap;
        j->count--;
    }
}

static void ring_pop_oldest(ss_drift_join *j)
{
    join_entry *e = &j->ring[j->head];
    if (e->kind != JOIN_FREE) entry_remove(j, e);
    j->head = (j->head + 1) % j->cap;
    j->count--;
    ring_trim(j);
}

void ss_drift_join_expire(ss_drift_join *j, int64_t now_ms)
{
    ring_trim(j);
    while (j->count > 0 && j->ring[j->head].arrived_ms < now_ms - j->horizon_ms) {
        j->stats.expired++;
        ring_pop_oldest(j);
    }
}

static join_entry *entry_insert(ss_drift_join *j, const char *id, size_t len, uint64_t h,
                                int64_t now_ms)
{
    if (j->count == j->cap) {
        j->stats.evicted++;
        ring_pop_oldest(j);
    }
    size_t pos = (j->head + j->count) % j->cap;
    j->count++;
    join_entry *e = &j->ring[pos];
    e->id = ss_strndup(id, len);
    e->id_len = len;
    e->hash = h;
    e->arrived_ms = now_ms;
    int found;
    size_t s = index_find(j, id, len, h, &found);
    ss_assert(!found);
    j->index[s] = (uint32_t)pos + 1;
    j->waiting++;
    return e;
}

static int join_arrival(ss_drift_join *j, const char *id, size_t len, int kind,
                        const join_entry *in, int64_t now_ms, ss_drift_pair *out)
{
    ss_drift_join_expire(j, now_ms);
    uint64_t h = ss_drift_hash(id, len);
    int found;
    size_t s = index_find(j, id, len, h, &found);
    if (found) {
        join_entry *e = &j->ring[j->index[s] - 1];
        if (e->kind == kind) {
            j->stats.duplicates++;
            return 0;
        }
        const join_entry *score = kind == JOIN_SCORE ? in : e, *label = kind == JOIN_SCORE ? e : in;
        out->score = score->score;
        out->label = label->label;
        out->event_time_ms = label->event_time_ms;
        out->label_time_ms = label->label_time_ms;
        entry_remove(j, e);
        ring_trim(j);
        j->stats.joined++;
        return 1;
    }
    join_entry *e = entry_insert(j, id, len, h, now_ms);
    e->kind = kind;
    e->score = in->score;
    e->label = in->label;
    e->event_time_ms = in->event_time_ms;
    e->label_time_ms = in->label_time_ms;
    return 0;
}

int ss_drift_join_score(ss_drift_join *j, const char *event_id, size_t id_len, double score,
                        int64_t now_ms, ss_drift_pair *out)
{
    join_entry in = {.score = score};
    return join_arrival(j, event_id, id_len, JOIN_SCORE, &in, now_ms, out);
}

int ss_drift_join_label(ss_drift_join *j, const char *event_id, size_t id_len, int label,
                        int64_t event_time_ms, int64_t label_time_ms, int64_t now_ms,
                        ss_drift_pair *out)
{
    join_entry in = {
        .label = label, .event_time_ms = event_time_ms, .label_time_ms = label_time_ms};
    return join_arrival(j, event_id, id_len, JOIN_LABEL, &in, now_ms, out);
}

size_t ss_drift_join_waiting(const ss_drift_join *j)
{
    return j->waiting;
}

ss_drift_join_stats ss_drift_join_get_stats(const ss_drift_join *j)
{
    return j->stats;
}

/* ---- rolling performance */

void ss_drift_perf_init(ss_drift_perf *p, size_t capacity)
{
    memset(p, 0, sizeof *p);
    p->capacity = capacity ? capacity : 1;
    p->scores = ss_malloc(p->capacity * sizeof *p->scores);
    p->labels = ss_malloc(p->capacity * sizeof *p->labels);
    p->scratch = ss_malloc(p->capacity * sizeof *p->scratch);
}

void ss_drift_perf_free(ss_drift_perf *p)
{
    ss_free(p->scores);
    ss_free(p->labels);
    ss_free(p->scratch);
    memset(p, 0, sizeof *p);
}

void ss_drift_perf_add(ss_drift_perf *p, const ss_drift_pair *pair)
{
    size_t pos = (p->head + p->len) % p->capacity;
    if (p->len == p->capacity)
        p->head = (p->head + 1) % p->capacity;
    else
        p->len++;
    p->scores[pos] = pair->score;
    p->labels[pos] = pair->label != 0;
    p->delay_sum_ms += (double)(pair->label_time_ms - pair->event_time_ms);
    p->delay_count++;
}

void ss_drift_perf_at(const ss_drift_perf *p, double threshold, double *precision, double *recall)
{
    /* ring order does not matter for these sums */
    uint64_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < p->len; i++) {
        int flagged = p->scores[i] >= threshold;
        tp += flagged && p->labels[i];
        fp += flagged && !p->labels[i];
        fn += !flagged && p->labels[i];
    }
    *precision = tp + fp ? (double)tp / (double)(tp + fp) : NAN;
    *recall = tp + fn ? (double)tp / (double)(tp + fn) : NAN;
}

ss_drift_perf_result ss_drift_perf_compute(ss_drift_perf *p, double threshold)
{
    ss_drift_perf_result r = {.n = p->len};
    for (size_t i = 0; i < p->len; i++)
        r.positives += p->labels[i] != 0;
    ss_drift_perf_at(p, threshold, &r.precision, &r.recall);
    r.auc = ss_drift_roc_auc(p->scores, p->labels, p->len, p->scratch);
    return r;
}

double ss_drift_perf_take_delay(ss_drift_perf *p, uint64_t *count)
{
    double mean = p->delay_count ? p->delay_sum_ms / (double)p->delay_count : NAN;
    if (count) *count = p->delay_count;
    p->delay_sum_ms = 0;
    p->delay_count = 0;
    return mean;
}
