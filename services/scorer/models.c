/* models.c - the bundles being served and the registry watch.
 *
 * The registry pointers (ss:model:<name>:{active,shadow,history}) are read
 * with one Lua call every poll interval. A changed pointer loads the new
 * bundle completely, off to the side: on a loader thread (parsing a large
 * model takes tens of milliseconds the loop keeps scoring through), one load
 * per role at a time. The thread hands the finished ss_model (immutable)
 * back through a pipe; only a bundle that loaded and is still the one the
 * registry names replaces the serving one, and the swap happens on the loop
 * thread between two events, so every event is scored by exactly one version
 * and none is dropped. A bundle that fails is refused, counted and logged
 * once; the current one keeps serving until the pointer names another one.
 * The loader thread touches nothing but its job (no metrics, no logging).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static void install(scorer_models *m, int role, ss_model *model)
{
    const ss_model *cur = m->slot[role].model;
    ss_log(SS_LOG_INFO, "model loaded", "role", role_name(role), "version", ss_model_version(model),
           "previous", cur ? ss_model_version(cur) : "", "objective", ss_model_objective(model),
           NULL);
    m->failed[role][0] = '\0';
    ss_metric_inc(m->reloads[role]);
    slot_set(m, role, model);
    if (m->on_change) m->on_change(m->on_change_arg);
}

static void refuse(scorer_models *m, int role, const char *version, const char *err)
{
    ss_metric_inc(m->failures[role]);
    ss_strlcpy(m->failed[role], version, sizeof m->failed[role]);
    ss_log(SS_LOG_ERROR, "model refused, keeping the current one", "role", role_name(role),
           "version", version, "error", err, NULL);
}

int scorer_models_load(scorer_models *m, int role, const char *version, char *err, size_t errlen)
{
    ss_model *model = ss_model_load_store(m->store, m->name, version, err, errlen);
    if (!model) {
        refuse(m, role, version, err);
        return -1;
    }
    install(m, role, model);
    return 0;
}

/* ------------------------------------------------------------ loader thread */

struct scorer_load_job {
    int role;
    char *store;
    char *name;
    char version[SS_REGISTRY_MAX_VERSION];
    int notify_fd;
    ss_model *model; /* result, or NULL with err */
    char err[1024];
};

static void *load_main(void *arg)
{
    scorer_load_job *job = arg;
    job->model =
        ss_model_load_store(job->store, job->name, job->version, job->err, sizeof job->err);
    ssize_t n;
    do {
        n = write(job->notify_fd, &job, sizeof job); /* < PIPE_BUF: atomic */
    } while (n < 0 && errno == EINTR);
    return NULL;
}

static void job_free(scorer_load_job *job)
{
    ss_model_free(job->model);
    ss_free(job->store);
    ss_free(job->name);
    ss_free(job);
}

static void start_load(scorer_models *m, int role, const char *version)
{
    scorer_load_job *job = ss_calloc(1, sizeof *job);
    job->role = role;
    job->store = ss_strdup(m->store);
    job->name = ss_strdup(m->name);
    ss_strlcpy(job->version, version, sizeof job->version);
    job->notify_fd = m->notify[1];
    if (pthread_create(&m->thread[role], NULL, load_main, job) != 0) {
        refuse(m, role, version, "cannot start a loader thread");
        job_free(job);
        return;
    }
    m->job[role] = job;
}

static void apply_role(scorer_models *m, int role);

static void on_loaded(evutil_socket_t fd, short what, void *arg)
{
    scorer_models *m = arg;
    scorer_load_job *job;
    (void)what;
    while (read(fd, &job, sizeof job) == (ssize_t)sizeof job) {
        int role = job->role;
        pthread_join(m->thread[role], NULL);
        m->job[role] = NULL;
        if (!job->model) {
            refuse(m, role, job->version, job->err);
        } else if (strcmp(job->version, m->want[role]) != 0) {
            /* the registry moved on while this one loaded */
            ss_log(SS_LOG_INFO, "model loaded but no longer wanted", "role", role_name(role),
                   "version", job->version, "wanted", m->want[role], NULL);
        } else {
            install(m, role, job->model);
            job->model = NULL;
        }
        job_free(job);
        apply_role(m, role); /* the pointer may have moved meanwhile */
    }
}

/* ------------------------------------------------------------ registry state */

static void apply_role(scorer_models *m, int role)
{
    const char *want = m->want[role];
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
    if (m->job[role]) return;                       /* one load per role; re-checked when done */
    if (m->loaded_ev) {
        start_load(m, role, want);
    } else {
        char err[1024];
        scorer_models_load(m, role, want, err, sizeof err);
    }
}

void scorer_models_apply(scorer_models *m, const ss_registry_state *st)
{
    ss_strlcpy(m->want[SCORER_ACTIVE], st->active, sizeof m->want[SCORER_ACTIVE]);
    ss_strlcpy(m->want[SCORER_SHADOW], st->shadow, sizeof m->want[SCORER_SHADOW]);
    apply_role(m, SCORER_ACTIVE);
    apply_role(m, SCORER_SHADOW);
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
    if (pipe2(m->notify, O_CLOEXEC | O_NONBLOCK) == 0)
        m->loaded_ev = event_new(base, m->notify[0], EV_READ | EV_PERSIST, on_loaded, m);
    if (m->loaded_ev)
        event_add(m->loaded_ev, NULL);
    else
        ss_log(SS_LOG_WARN, "no loader thread pipe; loading bundles on the loop", NULL);
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
        if (!m->job[role]) continue;
        pthread_join(m->thread[role], NULL); /* a load in flight finishes first */
        job_free(m->job[role]);
        m->job[role] = NULL;
    }
    if (m->loaded_ev) {
        event_free(m->loaded_ev);
        m->loaded_ev = NULL;
        close(m->notify[0]);
        close(m->notify[1]);
    }
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
