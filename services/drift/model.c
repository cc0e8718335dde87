/* model.c - which bundle's baseline is monitored: MODEL_VERSION when pinned,
 * else the version in Redis `ss:model:<name>:active`, polled every
 * DRIFT_MODEL_POLL. A promotion closes the current window (reported under the
 * old version) and starts a fresh monitor on the new baseline. */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "common/util.h"
#include "drift.h"

void drift_bundle_path(const char *store, const char *name, const char *version, char *buf,
                       size_t buflen)
{
    snprintf(buf, buflen, "%s/%s/%s/bundle.json", store, name, version);
}

static void set_model_info(const drift_svc *s, const char *version, double v)
{
    char labels[512];
    snprintf(labels, sizeof labels, "model=\"%s\",version=\"%s\"", s->cfg.model_name, version);
    ss_metric_set(ss_gauge("streamscore_drift_model_info",
                           "Bundle version whose baseline is monitored (1)", labels),
                  v);
}

int drift_use_version(drift_svc *s, const char *version, char *err, size_t errlen)
{
    char path[4096];
    drift_bundle_path(s->cfg.model_store, s->cfg.model_name, version, path, sizeof path);
    ss_drift_baseline *b = NULL;
    if (ss_drift_baseline_load(path, &b, err, errlen) < 0) return -1;
    if (strcmp(b->model_name, s->cfg.model_name) != 0) {
        ss_err(err, errlen, "bad bundle %s: name \"%s\" is not MODEL_NAME \"%s\"", path,
               b->model_name, s->cfg.model_name);
        ss_drift_baseline_free(b);
        return -1;
    }
    if (s->monitor) {
        drift_close_window(s);
        ss_drift_monitor_free(s->monitor);
        set_model_info(s, s->version, 0);
    }
    s->monitor = ss_drift_monitor_new(b, &s->mon_cfg);
    ss_free(s->version);
    s->version = ss_strdup(version);
    s->window_start_ms = ss_now_ms();
    set_model_info(s, version, 1);
    char nf[32];
    snprintf(nf, sizeof nf, "%zu", ss_drift_monitor_baseline(s->monitor)->nfeatures);
    ss_log(SS_LOG_INFO, "monitoring baseline", "model", s->cfg.model_name, "version", version,
           "features", nf, "bundle", path, NULL);
    if (s->consumer && !s->stopping) ss_consumer_resume(s->consumer, SS_PAUSE_DEPENDENCY);
    return 0;
}

static void on_active(ss_redis *r, redisReply *reply, void *arg)
{
    (void)r;
    drift_svc *s = arg;
    s->poll_pending = 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        ss_log(SS_LOG_WARN, "cannot read the active model version", "error", reply->str, NULL);
        return;
    }
    if (reply->type != REDIS_REPLY_STRING) return; /* nothing promoted yet */
    if (s->version && !strcmp(s->version, reply->str)) return;
    char err[512];
    if (drift_use_version(s, reply->str, err, sizeof err) < 0)
        ss_log(SS_LOG_ERROR, "cannot monitor the promoted version", "version", reply->str, "error",
               err, NULL);
}

static void poll_active(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drift_svc *s = arg;
    if (s->poll_pending || s->stopping) return;
    char key[512];
    snprintf(key, sizeof key, "ss:model:%s:active", s->cfg.model_name);
    const char *argv[2] = {"GET", key};
    s->poll_pending = 1;
    ss_redis_command(s->redis, 2, argv, NULL, on_active, s);
}

int drift_model_start(drift_svc *s, char *err, size_t errlen)
{
    if (s->cfg.model_version && *s->cfg.model_version)
        return drift_use_version(s, s->cfg.model_version, err, errlen);
    s->redis = ss_redis_new(s->base, s->cfg.redis_url, err, errlen);
    if (!s->redis) return -1;
    s->poll_timer = event_new(s->base, -1, EV_PERSIST, poll_active, s);
    struct timeval tv = {(time_t)(s->cfg.poll_ms / 1000),
                         (suseconds_t)(s->cfg.poll_ms % 1000) * 1000};
    event_add(s->poll_timer, &tv);
    poll_active(-1, 0, s);
    return 0;
}

int drift_model_ready(void *svc, char *why, size_t whylen)
{
    drift_svc *s = svc;
    if (s->monitor) return 1;
    if (why) snprintf(why, whylen, "no baseline loaded for model %s yet", s->cfg.model_name);
    return 0;
}
