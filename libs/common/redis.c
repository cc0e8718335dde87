/* redis.c - async hiredis on the loop: keep every command until answered,
 * reconnect with back-off, scripts loaded on each connect. See redis.h. */
#include "common/redis.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"

#define SS_REDIS_BACKOFF_MIN_MS 100
#define SS_REDIS_BACKOFF_MAX_MS 5000
#define SS_REDIS_MAX_SCRIPTS 16

typedef struct rq_cmd {
    struct rq_cmd *next;
    ss_redis *r;
    int argc;
    char **argv;
    size_t *argvlen;
    ss_redis_cb cb;
    void *arg;
    int script; /* >= 0: an EVALSHA of this script (argv[1] is its sha) */
    int sent;   /* on the wire of the current connection */
} rq_cmd;

typedef struct script {
    char *lua;
    char sha[41];
} script;

struct ss_redis {
    struct event_base *base;
    char *host, *password;
    int port, db;
    redisAsyncContext *ac;
    int connected;     /* TCP up and AUTH/SELECT/scripts sent */
    int ready;         /* answered the set-up commands */
    int setup_pending; /* set-up replies still to come */
    rq_cmd *queue, *queue_tail; /* not yet sent, in order */
    size_t pending;           /* sent + queued */
    script scripts[SS_REDIS_MAX_SCRIPTS];
    int nscripts;
    int backoff_ms;
    struct event *reconnect_ev;
    ss_redis_state_cb state_cb;
    void *state_arg;
    int freeing;
    ss_metric *m_ready, *m_reconnects, *m_retries;
};

static void connect_now(ss_redis *r);

static void set_ready(ss_redis *r, int ready)
{
    if (r->ready == ready) return;
    r->ready = ready;
    ss_metric_set(r->m_ready, ready);
    ss_logf(ready ? SS_LOG_INFO : SS_LOG_WARN, "redis %s:%d %s", r->host, r->port,
            ready ? "ready" : "not ready");
    if (r->state_cb) r->state_cb(r, ready, r->state_arg);
}

static rq_cmd *cmd_new(ss_redis *r, int argc, const char **argv, const size_t *argvlen,
                     ss_redis_cb cb, void *arg, int script_idx)
{
    rq_cmd *c = ss_calloc(1, sizeof(*c));
    c->r = r;
    c->argc = argc;
    c->argv = ss_malloc(sizeof(char *) * (size_t)argc);
    c->argvlen = ss_malloc(sizeof(size_t) * (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
        c->argv[i] = ss_strndup(argv[i], n);
        c->argvlen[i] = n;
    }
    c->cb = cb;
    c->arg = arg;
    c->script = script_idx;
    return c;
}

static void cmd_free(rq_cmd *c)
{
    for (int i = 0; i < c->argc; i++) ss_free(c->argv[i]);
    ss_free(c->argv);
    ss_free(c->argvlen);
    ss_free(c);
}

static void queue_push(ss_redis *r, rq_cmd *c)
{
    c->next = NULL;
    if (r->queue_tail)
        r->queue_tail->next = c;
    else
        r->queue = c;
    r->queue_tail = c;
}

static void send_cmd(ss_redis *r, rq_cmd *c);

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    rq_cmd *c = privdata;
    ss_redis *r = c->r;
    redisReply *rep = reply;
    (void)ac;
    if (!rep) {
        /* the connection went away with this command on the wire: keep it.
         * Commands complete in order, so re-queue in front of unsent ones;
         * hiredis reports the lost ones oldest first, so collect in order. */
        c->sent = 0;
        if (r->freeing) {
            r->pending--;
            cmd_free(c);
            return;
        }
        ss_metric_inc(r->m_retries);
        queue_push(r, c); /* connection is down: queue holds only lost commands first */
        return;
    }
    if (c->script >= 0 && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        /* script cache flushed behind our back: load again and retry */
        const char *argv[3] = {"SCRIPT", "LOAD", r->scripts[c->script].lua};
        redisAsyncCommandArgv(r->ac, NULL, NULL, 3, argv, NULL);
        send_cmd(r, c);
        return;
    }
    r->pending--;
    if (c->cb) c->cb(r, rep, c->arg);
    cmd_free(c);
}

static void send_cmd(ss_redis *r, rq_cmd *c)
{
    c->sent = 1;
    if (redisAsyncCommandArgv(r->ac, on_reply, c, c->argc, (const char **)c->argv, c->argvlen) !=
        REDIS_OK) {
        c->sent = 0;
        queue_push(r, c);
    }
}

static void flush_queue(ss_redis *r)
{
    while (r->ready && r->queue) {
        rq_cmd *c = r->queue;
        r->queue = c->next;
        if (!r->queue) r->queue_tail = NULL;
        send_cmd(r, c);
    }
}

static void on_setup_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    ss_redis *r = privdata;
    redisReply *rep = reply;
    (void)ac;
    if (!rep) return; /* disconnect callback handles it */
    if (rep->type == REDIS_REPLY_ERROR) {
        ss_logf(SS_LOG_ERROR, "redis set-up command failed: %s", rep->str);
        redisAsyncDisconnect(r->ac);
        return;
    }
    if (--r->setup_pending == 0) {
        r->backoff_ms = SS_REDIS_BACKOFF_MIN_MS;
        set_ready(r, 1);
        flush_queue(r);
    }
}

static void setup_connection(ss_redis *r)
{
    r->setup_pending = 0;
    if (r->password) {
        const char *argv[2] = {"AUTH", r->password};
        r->setup_pending++;
        redisAsyncCommandArgv(r->ac, on_setup_reply, r, 2, argv, NULL);
    }
    if (r->db) {
        char db[16];
        const char *argv[2] = {"SELECT", db};
        snprintf(db, sizeof(db), "%d", r->db);
        r->setup_pending++;
        redisAsyncCommandArgv(r->ac, on_setup_reply, r, 2, argv, NULL);
    }
    for (int i = 0; i < r->nscripts; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", r->scripts[i].lua};
        r->setup_pending++;
        redisAsyncCommandArgv(r->ac, on_setup_reply, r, 3, argv, NULL);
    }
    const char *ping[1] = {"PING"};
    r->setup_pending++;
    redisAsyncCommandArgv(r->ac, on_setup_reply, r, 1, ping, NULL);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    ss_redis *r = ac->data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback */
        ss_logf(SS_LOG_WARN, "redis connect %s:%d failed: %s", r->host, r->port, ac->errstr);
        r->ac = NULL;
        if (!r->freeing) {
            struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
            event_add(r->reconnect_ev, &tv);
            r->backoff_ms = r->backoff_ms * 2 > SS_REDIS_BACKOFF_MAX_MS ? SS_REDIS_BACKOFF_MAX_MS
                                                                          : r->backoff_ms * 2;
        }
        return;
    }
    r->connected = 1;
    setup_connection(r);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    ss_redis *r = ac->data;
    (void)status;
    r->ac = NULL;
    r->connected = 0;
    if (r->freeing) return;
    ss_metric_inc(r->m_reconnects);
    set_ready(r, 0);
    struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
    event_add(r->reconnect_ev, &tv);
}

static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    connect_now(arg);
}

static void connect_now(ss_redis *r)
{
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        ss_logf(SS_LOG_WARN, "redis connect %s:%d: %s", r->host, r->port,
                ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
        event_add(r->reconnect_ev, &tv);
        return;
    }
    ac->data = r;
    r->ac = ac;
    redisLibeventAttach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

/* redis://[:password@]host[:port][/db] */
static int parse_url(ss_redis *r, const char *url, char *err, size_t errlen)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) == 0) p += 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        r->password = ss_strndup(pw, (size_t)(at - pw));
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *colon = memchr(p, ':', (size_t)(end - p));
    r->host = ss_strndup(p, (size_t)((colon ? colon : end) - p));
    r->port = colon ? atoi(colon + 1) : 6379;
    r->db = slash && slash[1] ? atoi(slash + 1) : 0;
    if (!*r->host || r->port <= 0 || r->port > 65535)
        return ss_err(err, errlen, "bad redis url \"%s\": expected redis://host:port[/db]", url);
    return 0;
}

ss_redis *ss_redis_new(struct event_base *base, const char *url, char *err, size_t errlen)
{
    ss_redis *r = ss_calloc(1, sizeof(*r));
    r->base = base;
    r->backoff_ms = SS_REDIS_BACKOFF_MIN_MS;
    if (parse_url(r, url, err, errlen)) {
        ss_redis_free(r);
        return NULL;
    }
    r->reconnect_ev = evtimer_new(base, on_reconnect_timer, r);
    r->m_ready = ss_gauge("ss_redis_ready", "1 when Redis is connected and ready", NULL);
    r->m_reconnects = ss_counter("ss_redis_disconnects_total", "Lost Redis connections", NULL);
    r->m_retries = ss_counter("ss_redis_command_retries_total",
                              "Commands re-sent after a lost connection", NULL);
    connect_now(r);
    return r;
}

void ss_redis_free(ss_redis *r)
{
    if (!r) return;
    r->freeing = 1;
    if (r->ac) redisAsyncFree(r->ac); /* runs pending callbacks with NULL: freed there */
    while (r->queue) {
        rq_cmd *c = r->queue;
        r->queue = c->next;
        cmd_free(c);
    }
    if (r->reconnect_ev) event_free(r->reconnect_ev);
    for (int i = 0; i < r->nscripts; i++) ss_free(r->scripts[i].lua);
    ss_free(r->host);
    ss_free(r->password);
    ss_free(r);
}

void ss_redis_on_state(ss_redis *r, ss_redis_state_cb cb, void *arg)
{
    r->state_cb = cb;
    r->state_arg = arg;
}

int ss_redis_ready(const ss_redis *r)
{
    return r->ready;
}

int ss_redis_ready_check(void *arg, char *why, size_t whylen)
{
    ss_redis *r = arg;
    if (r->ready) return 1;
    if (why) snprintf(why, whylen, "redis %s:%d not connected", r->host, r->port);
    return 0;
}

size_t ss_redis_pending(const ss_redis *r)
{
    return r->pending;
}

int ss_redis_script(ss_redis *r, const char *lua)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    if (r->nscripts == SS_REDIS_MAX_SCRIPTS) return -1;
    script *s = &r->scripts[r->nscripts];
    s->lua = ss_strdup(lua);
    SHA1((const unsigned char *)lua, strlen(lua), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    if (r->ready) {
        const char *argv[3] = {"SCRIPT", "LOAD", s->lua};
        redisAsyncCommandArgv(r->ac, NULL, NULL, 3, argv, NULL);
    }
    return r->nscripts++;
}

const char *ss_redis_script_sha(const ss_redis *r, int script)
{
    return script >= 0 && script < r->nscripts ? r->scripts[script].sha : NULL;
}

static int submit(ss_redis *r, rq_cmd *c)
{
    r->pending++;
    if (r->ready && !r->queue)
        send_cmd(r, c);
    else
        queue_push(r, c);
    return 0;
}

int ss_redis_command(ss_redis *r, int argc, const char **argv, const size_t *argvlen,
                     ss_redis_cb cb, void *arg)
{
    if (argc <= 0) return -1;
    return submit(r, cmd_new(r, argc, argv, argvlen, cb, arg, -1));
}

int ss_redis_evalsha(ss_redis *r, int script, int nkeys, int argc, const char **argv,
                     const size_t *argvlen, ss_redis_cb cb, void *arg)
{
    char nk[16];
    if (script < 0 || script >= r->nscripts || argc < nkeys) return -1;
    const char **a = ss_malloc(sizeof(char *) * (size_t)(argc + 3));
    size_t *al = ss_malloc(sizeof(size_t) * (size_t)(argc + 3));
    snprintf(nk, sizeof(nk), "%d", nkeys);
    a[0] = "EVALSHA";
    a[1] = r->scripts[script].sha;
    a[2] = nk;
    for (int i = 0; i < 3; i++) al[i] = strlen(a[i]);
    for (int i = 0; i < argc; i++) {
        a[i + 3] = argv[i];
        al[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    rq_cmd *c = cmd_new(r, argc + 3, a, al, cb, arg, script);
    ss_free(a);
    ss_free(al);
    return submit(r, c);
}
