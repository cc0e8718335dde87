/* sink.c - the offline store's clock: every OFFLINE_FLUSH_INTERVAL, flush +
 * fsync the open part files, then release the inputs whose records that
 * flush made durable (their offsets may now be stored), and close complete
 * hours. A failed write keeps its input unreleased and /readyz false. */
#include <string.h>
#include "common/log.h"
#include "features_svc.h"

static void release_holds(svc *s)
{
    for (size_t i = 0; i < s->n_holds; i++)
        ss_inflight_release(s->holds[i]);
    s->n_holds = 0;
}

static void update_gauges(svc *s)
{
    if (s->offline_features) {
        ss_metric_set(s->m.offline_open_features, (double)offline_open_files(s->offline_features));
        ss_metric_set(s->m.offline_records_features, (double)offline_records(s->offline_features));
    }
    if (s->offline_labels) {
        ss_metric_set(s->m.offline_open_labels, (double)offline_open_files(s->offline_labels));
        ss_metric_set(s->m.offline_records_labels, (double)offline_records(s->offline_labels));
    }
    ss_metric_set(s->m.redis_pending, (double)ss_redis_pending(s->redis));
}

static int flush_all(svc *s)
{
    char err[512];
    offline_store *stores[2] = {s->offline_features, s->offline_labels};
    for (int i = 0; i < 2; i++) {
        if (!stores[i]) continue;
        if (offline_flush(stores[i], err, sizeof err) < 0 ||
            offline_roll(stores[i], ss_now_ms(), err, sizeof err) < 0) {
            ss_log(SS_LOG_ERROR, "offline store flush failed; holding offsets", "error", err, NULL);
            ss_metric_inc(s->m.offline_errors);
            s->offline_failed = 1;
            return -1;
        }
    }
    return 0;
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
    svc *s = arg;
    (void)fd;
    (void)what;
    if (flush_all(s) == 0) {
        s->offline_failed = 0;
        release_holds(s);
    }
    update_gauges(s);
}

int sink_start(svc *s, char *err, size_t errlen)
{
    struct timeval tv = {s->cfg.offline_flush_ms / 1000, (s->cfg.offline_flush_ms % 1000) * 1000};
    s->flush_timer = event_new(s->base, -1, EV_PERSIST, on_flush_timer, s);
    if (!s->flush_timer || event_add(s->flush_timer, &tv) < 0)
        return ss_err(err, errlen, "offline store: cannot start the flush timer");
    return 0;
}

void sink_append(svc *s, offline_store *o, int64_t time_ms, avro_value_t *record, ss_inflight *in)
{
    char err[512];
    ss_inflight_hold(in); /* released after the flush that makes the record durable */
    if (offline_append(o, time_ms, record, err, sizeof err) < 0) {
        ss_log(SS_LOG_ERROR, "offline store append failed; holding offsets", "error", err, NULL);
        ss_metric_inc(s->m.offline_errors);
        s->offline_failed = 1;
        return; /* the hold stays: the offset never passes this input */
    }
    if (s->n_holds == s->cap_holds) {
        s->cap_holds = s->cap_holds ? s->cap_holds * 2 : 1024;
        s->holds = ss_realloc(s->holds, s->cap_holds * sizeof *s->holds);
    }
    s->holds[s->n_holds++] = in;
}

void sink_stop(svc *s)
{
    char err[512];
    if (s->flush_timer) {
        event_free(s->flush_timer);
        s->flush_timer = NULL;
    }
    if (flush_all(s) == 0) release_holds(s);
    if (s->offline_features && offline_free(s->offline_features, err, sizeof err) < 0)
        ss_log(SS_LOG_ERROR, "offline store close failed", "error", err, NULL);
    if (s->offline_labels && offline_free(s->offline_labels, err, sizeof err) < 0)
        ss_log(SS_LOG_ERROR, "offline store close failed", "error", err, NULL);
    s->offline_features = s->offline_labels = NULL;
    ss_free(s->holds);
    s->holds = NULL;
    s->n_holds = s->cap_holds = 0;
}
