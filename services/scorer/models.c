/* models.c - the bundles being served and the registry watch.
 *
 * The registry pointers (ss:model:<name>:{active,shadow,history}) are read
 * with one Lua call every poll interval. A changed pointer loads the new
 * bundle completely, off to the side; only a bundle that loads replaces the
 * serving one, and the swap happens on the loop thread between two events,
 * so every event is scored by exactly one version and none is dropped. A
 * bundle that fails is refused, counted and logged once; the current one
 * keeps serving until the pointer names another version.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "scorer.h"

static const char *role_name(int role)
{
    return role == SCORER_SHADOW ? "shadow" : "active";
}

void scorer_models_init(scorer_models *m, const char *store, const char *name)
{
    memset(m, 0, sizeof *m);
    m->store = store;
    m->name = name;
    for (int role = 0; role < 2; role++) {
        char labels[64];
        snprintf(labels, sizeof labels, "role=\"%s\"", role_name(role));
        m->reloads[role] = ss_counter("ss_scorer_model_reloads_total",
                                      "Bundles loaded and swapped in, by role.", labels);
        m->failures[role] =
            ss_counter("ss_scorer_model_load_failures_total",
                       "Bundles refused (failed to load or validate), by role.", labels);
    }
}

static void slot_info(const scorer_slot *s, int role, double value)
{
    if (!s->model) return;
    char labels[256];
    snprintf(labels, sizeof labels, "role=\"%s\",version=\"%s\"", role_name(role),
             ss_model_version(s->model));
    ss_metric_set(ss_gauge("ss_scorer_model_info", "Loaded bundle versions (1 = serving).", labels),
                  value);
}

static void slot_set(scorer_models *m, int role, ss_model *model)
{
    scorer_slot *s = &m->slot[role];
    slot_info(s, role, 0);
    ss_model_free(s->model);
    memset(s, 0, sizeof *s);
    s->model = model;
    if (!model) return;
    for (int d = 0; d < 3; d++) {
        char labels[256];
        snprintf(labels, sizeof labels, "model_version=\"%s\",role=\"%s\",decision=\"%s\"",
                 ss_model_version(model), role == SCORER_SHADOW ? "SHADOW" : "PRIMARY",
                 ss_decision_name((ss_decision)d));
        s->scores[d] = ss_counter("ss_scorer_scores_total",
                                  "Scores produced, by model version, role and decision.", labels);
    }
    slot_info(s, role, 1);
}

int scorer_models_load(scorer_models *m, int role, const char *version, char *err, size_t errlen)
{
    ss_model *model = ss_model_load_store(m->store, m->name, version, err, errlen);
    if (!model) {
        ss_metric_inc(m->failures[role]);
        ss_strlcpy(m->failed[role], version, sizeof m->failed[role]);
        ss_log(SS_LOG_ERROR, "model refused, keeping the current one", "role", role_name(role),
               "version", version, "error", err, NULL);
        return -1;
    }
    const ss_model *cur = m->slot[role].model;
    ss_log(SS_LOG_INFO, "model loaded", "role", role_name(role), "version", version, "previous",
           cur ? ss_model_version(cur) : "", "objective", ss_model_objective(model), NULL);
    m->failed[role][0] = '\0';
    ss_metric_inc(m->reloads[role]);
    slot_set(m, role, model);
    if (m->on_change) m->on_change(m->on_change_arg);
    return 0;
}

static void apply_role(scorer_models *m, int role, const char *want)
{
    const ss_model *cur = m->slot[role].model;
    if (!*want) {
        /* no pointer: an active model keeps serving (a registry without a
         * pointer is not an instruction to stop); a cleared shadow stops */
        if (role == SCORER_SHADOW && cur) {
            ss_log(SS_LOG_INFO, "shadow model cleared", "version", ss_model_version(cur), NULL);
            slot_set(m, role, NULL);
            if (m->on_change) m->on_change(m->on_change_arg);
        }
        return;
    }
    if (cur && strcmp(ss_model_version(cur), want) == 0) return;
    if (strcmp(m->failed[role], want) == 0) return; /* refused already; wait for a new pointer */
    char err[1024];
    scorer_models_load(m, role, want, err, sizeof err);
}

void scorer_models_apply(scorer_models *m, const ss_registry_state *st)
{
    apply_role(m, SCORER_ACTIVE, st->active);
    apply_role(m, SCORER_SHADOW, st->shadow);
}

static void on_state(ss_redis *r, redisReply *reply, void *arg)
{
    scorer_models *m = arg;
    (void)r;
    m->polling = 0;
    ss_registry_state st;
    char err[256];
    if (ss_registry_parse_state(reply, &st, err, sizeof err) < 0) {
        ss_log(SS_LOG_WARN, "registry poll failed", "error", err, NULL);
        return;
    }
    scorer_models_apply(m, &st);
}

void scorer_models_poll_now(scorer_models *m)
{
    if (!m->redis || m->polling) return;
    ss_registry_cmd c;
    ss_registry_cmd_get(&c, m->name);
    m->polling = 1;
    ss_redis_command(m->redis, c.argc, c.argv, c.argvlen, on_state, m);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    scorer_models_poll_now(arg);
}

void scorer_models_watch(scorer_models *m, struct event_base *base, ss_redis *r,
                         int64_t interval_ms)
{
    m->redis = r;
    m->poll = event_new(base, -1, EV_PERSIST, on_poll, m);
    struct timeval tv = {(time_t)(interval_ms / 1000), (suseconds_t)(interval_ms % 1000) * 1000};
    event_add(m->poll, &tv);
    scorer_models_poll_now(m);
}

void scorer_models_free(scorer_models *m)
{
    if (m->poll) event_free(m->poll);
    m->poll = NULL;
    for (int role = 0; role < 2; role++) {
        ss_model_free(m->slot[role].model);
        m->slot[role].model = NULL;
    }
}

int scorer_models_ready(void *arg, char *why, size_t whylen)
{
    scorer_models *m = arg;
    if (m->slot[SCORER_ACTIVE].model) return 1;
    if (why) snprintf(why, whylen, "no active model loaded for %s", m->name);
    return 0;
}
