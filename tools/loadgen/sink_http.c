/* sink_http.c - events through the gateway: POST /v1/events with a JSON
 * array of up to BATCH events, a few requests in flight, 429/5xx/connection
 * errors retried after a back-off. An invalid event goes alone in its own
 * request, so the gateway's 4xx for it does not fail valid neighbours. */
#include "sink.h"

#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/util.h"

#define BATCH 500
#define MAX_INFLIGHT 4

typedef struct http_sink http_sink;
typedef struct http_req {
    http_sink *s;
    ss_buf body;
    size_t n;       /* events in the body */
    int single_bad; /* an invalid event on its own */
    struct event *retry;
} http_req;

struct http_sink {
    lg_sink base;
    struct event_base *evb;
    struct evhttp_connection *conn;
    struct evhttp_uri *uri;
    char host[256], path[512], auth[300];
    int port;
    ss_buf batch; /* events not yet sent, as "[e1,e2" */
    size_t nbatch;
    size_t inflight_events;
    int inflight;
    struct event *tick;
};

static void http_send(http_req *r);

static void req_free(http_req *r)
{
    if (r->retry) event_free(r->retry);
    ss_buf_free(&r->body);
    ss_free(r);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_send(arg);
}

static void http_done(struct evhttp_request *req, void *arg)
{
    http_req *r = arg;
    http_sink *s = r->s;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    s->inflight--;
    if (status >= 200 && status < 300) {
        s->base.acked += r->n;
    } else if (status == 0 || status == 429 || status >= 500) {
        struct timeval tv = {0, 200000}; /* back off, then resend the same body */
        if (!r->retry) r->retry = evtimer_new(s->evb, retry_cb, r);
        s->inflight++;
        evtimer_add(r->retry, &tv);
        return;
    } else {
        char detail[200] = "";
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        if (n >= sizeof detail) n = sizeof detail - 1;
        evbuffer_copyout(in, detail, n);
        detail[n] = '\0';
        if (r->single_bad) {
            s->base.rejected++;
        } else {
            s->base.failed += r->n;
            ss_log(SS_LOG_WARN, "loadgen: gateway rejected a batch", "detail", detail, NULL);
        }
    }
    s->inflight_events -= r->n;
    req_free(r);
}

static void http_send(http_req *r)
{
    http_sink *s = r->s;
    struct evhttp_request *req = evhttp_request_new(http_done, r);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", s->host);
    evhttp_add_header(h, "Content-Type", "application/json");
    if (s->auth[0]) evhttp_add_header(h, "Authorization", s->auth);
    evbuffer_add(evhttp_request_get_output_buffer(req), r->body.data, r->body.len);
    if (r->retry) s->inflight--; /* counted while waiting to retry */
    s->inflight++;
    if (evhttp_make_request(s->conn, req, EVHTTP_REQ_POST, s->path) != 0) {
        s->inflight--;
        s->base.failed += r->n;
        s->inflight_events -= r->n;
        req_free(r);
    }
}

static void send_body(http_sink *s, const char *data, size_t len, size_t n, int single_bad)
{
    http_req *r = ss_calloc(1, sizeof *r);
    r->s = s;
    r->n = n;
    r->single_bad = single_bad;
    ss_buf_init(&r->body);
    ss_buf_append(&r->body, data, len);
    s->inflight_events += n;
    http_send(r);
}

/* Send the pending batch: on the tick when few requests are in flight, or at
 * once when it is full (requests then queue on the connection; the
 * generator's backlog limit bounds that queue). */
static void flush_batch(http_sink *s)
{
    if (!s->nbatch || (s->inflight >= MAX_INFLIGHT && s->nbatch < BATCH)) return;
    ss_buf_append(&s->batch, "]", 1);
    send_body(s, s->batch.data, s->batch.len, s->nbatch, 0);
    ss_buf_reset(&s->batch);
    s->nbatch = 0;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_batch(arg);
}

static int http_event(lg_sink *sk, const lg_event *ev, const char *json, size_t len, int bad)
{
    http_sink *s = (http_sink *)sk;
    (void)ev;
    if (bad >= 0) {
        send_body(s, json, len, 1, 1);
        return 0;
    }
    ss_buf_append(&s->batch, s->nbatch ? "," : "[", 1);
    ss_buf_append(&s->batch, json, len);
    if (++s->nbatch >= BATCH) flush_batch(s);
    return 0;
}

static int http_label(lg_sink *sk, const lg_event *ev, int64_t label_time)
{
    (void)ev;
    (void)label_time;
    return ss_err(sk->err, sizeof sk->err, "the gateway takes no labels");
}

static size_t http_backlog(lg_sink *sk)
{
    http_sink *s = (http_sink *)sk;
    return s->nbatch + s->inflight_events;
}

static int http_flush(lg_sink *sk, int timeout_ms)
{
    (void)timeout_ms; /* the main loop drains the backlog before calling flush */
    return http_backlog(sk) == 0 ? 0 : -1;
}

static void http_free(lg_sink *sk)
{
    http_sink *s = (http_sink *)sk;
    if (s->tick) event_free(s->tick);
    if (s->conn) evhttp_connection_free(s->conn);
    if (s->uri) evhttp_uri_free(s->uri);
    ss_buf_free(&s->batch);
    ss_free(s);
}

lg_sink *lg_sink_http_new(struct event_base *base, const char *url, const char *api_key, char *err,
                          size_t errlen)
{
    http_sink *s = ss_calloc(1, sizeof *s);
    s->base = (lg_sink){.name = "gateway",
                        .event = http_event,
                        .label = http_label,
                        .backlog = http_backlog,
                        .flush = http_flush,
                        .free = http_free};
    s->evb = base;
    ss_buf_init(&s->batch);
    s->uri = evhttp_uri_parse(url);
    if (!s->uri || !evhttp_uri_get_host(s->uri)) {
        ss_err(err, errlen, "bad gateway url: %s", url);
        goto err;
    }
    ss_strlcpy(s->host, evhttp_uri_get_host(s->uri), sizeof s->host);
    s->port = evhttp_uri_get_port(s->uri) > 0 ? evhttp_uri_get_port(s->uri) : 80;
    const char *p = evhttp_uri_get_path(s->uri);
    snprintf(s->path, sizeof s->path, "%s/v1/events", p && strcmp(p, "/") != 0 ? p : "");
    if (api_key && *api_key) snprintf(s->auth, sizeof s->auth, "Bearer %s", api_key);
    s->conn = evhttp_connection_base_new(base, NULL, s->host, (unsigned short)s->port);
    evhttp_connection_set_timeout(s->conn, 10);
    s->tick = event_new(base, -1, EV_PERSIST, tick_cb, s);
    struct timeval tv = {0, 20000};
    event_add(s->tick, &tv);
    return &s->base;
err:
    http_free(&s->base);
    return NULL;
}
