/* upstream.c - keep-alive HTTP/1.1 client pool (evhttp) to one upstream.
 *
 * `pool` persistent connections; a request goes to the one with the fewest
 * requests in flight (evhttp queues behind the current one). Each request has
 * its own deadline: evhttp's connection timeout only measures silence, and a
 * request queued behind a slow one must not wait longer than the timeout.
 * When the deadline passes the caller hears GW_UP_TIMEOUT at once and the
 * request is cancelled (the connection is reset if it was on the wire).
 * Connection failures (refused, reset) are GW_UP_UNAVAILABLE. No retries:
 * the caller decides (the gateway answers 503/504). */
#include "gateway.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

typedef struct up_conn {
    struct evhttp_connection *evcon;
    int inflight;
} up_conn;

struct gw_upstream {
    struct event_base *base;
    char *name;
    char *host;
    int port;
    char *prefix; /* path prefix from the url, without trailing '/' */
    char hosthdr[300];
    up_conn *conns;
    int nconns;
    struct timeval timeout;
    size_t pending;
    ss_metric *m_ok, *m_timeout, *m_unavailable, *m_latency;
};

typedef struct up_call {
    gw_upstream *u;
    up_conn *conn;
    struct evhttp_request *req;
    struct event *deadline;
    gw_up_cb cb;
    void *arg;
    int64_t t0_us;
    enum evhttp_request_error error;
    int failed;   /* error_cb ran */
    int in_make;  /* inside evhttp_make_request: report later, not re-entrantly */
    int finished; /* failed while in_make; the deadline event delivers it */
    gw_up_result early;
} up_call;

static void finish(up_call *c, gw_up_result result, struct evhttp_request *req)
{
    gw_upstream *u = c->u;
    if (c->in_make) {
        /* evhttp failed the request synchronously (e.g. ECONNREFUSED on
         * loopback): the caller is still inside gw_upstream_request */
        c->finished = 1;
        c->early = result;
        return;
    }
    gw_up_response r;
    memset(&r, 0, sizeof(r));
    r.result = result;
    r.seconds = (double)(ss_mono_us() - c->t0_us) / 1e6;
    r.body = "";
    if (result == GW_UP_OK && req) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        evbuffer_add(in, "", 1);
        r.len = evbuffer_get_length(in) - 1;
        r.body = (const char *)evbuffer_pullup(in, -1);
        r.status = evhttp_request_get_response_code(req);
        r.ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        ss_metric_inc(u->m_ok);
        ss_metric_observe(u->m_latency, r.seconds);
    } else if (result == GW_UP_TIMEOUT) {
        ss_metric_inc(u->m_timeout);
    } else {
        ss_metric_inc(u->m_unavailable);
    }
    c->conn->inflight--;
    u->pending--;
    event_free(c->deadline);
    c->cb(&r, c->arg);
    ss_free(c);
}

static void on_response(struct evhttp_request *req, void *arg)
{
    up_call *c = arg;
    if (req && evhttp_request_get_response_code(req) > 0)
        finish(c, GW_UP_OK, req);
    else if (c->failed && c->error == EVREQ_HTTP_TIMEOUT)
        finish(c, GW_UP_TIMEOUT, NULL);
    else
        finish(c, GW_UP_UNAVAILABLE, NULL);
}

static void on_error(enum evhttp_request_error error, void *arg)
{
    up_call *c = arg;
    if (error == EVREQ_HTTP_REQUEST_CANCEL) return; /* our own cancel: already finished */
    c->failed = 1;
    c->error = error;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    up_call *c = arg;
    struct evhttp_request *req = c->req;
    (void)fd;
    (void)what;
    if (c->finished) { /* an early failure, delivered from the loop */
        finish(c, c->early, NULL);
        return;
    }
    /* cancel first: it may reset the connection, never calls on_response */
    evhttp_cancel_request(req);
    finish(c, GW_UP_TIMEOUT, NULL);
}

gw_upstream *gw_upstream_new(struct event_base *base, const char *name, const char *url, int pool,
                             int64_t timeout_ms, char *err, size_t errlen)
{
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    if (!uri || !evhttp_uri_get_host(uri) || !evhttp_uri_get_scheme(uri) ||
        strcmp(evhttp_uri_get_scheme(uri), "http") != 0) {
        if (uri) evhttp_uri_free(uri);
        ss_err(err, errlen, "bad upstream %s: expected http://host:port, got \"%s\"", name, url);
        return NULL;
    }
    gw_upstream *u = ss_calloc(1, sizeof(*u));
    u->base = base;
    u->name = ss_strdup(name);
    u->host = ss_strdup(evhttp_uri_get_host(uri));
    u->port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
    const char *path = evhttp_uri_get_path(uri);
    size_t plen = path ? strlen(path) : 0;
    while (plen && path[plen - 1] == '/')
        plen--;
    u->prefix = ss_strndup(path ? path : "", plen);
    snprintf(u->hosthdr, sizeof(u->hosthdr), "%s:%d", u->host, u->port);
    evhttp_uri_free(uri);

    u->timeout.tv_sec = timeout_ms / 1000;
    u->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    u->nconns = pool > 0 ? pool : 1;
    u->conns = ss_calloc((size_t)u->nconns, sizeof(up_conn));
    for (int i = 0; i < u->nconns; i++) {
        u->conns[i].evcon = evhttp_connection_base_new(base, NULL, u->host, (ev_uint16_t)u->port);
        if (!u->conns[i].evcon) {
            ss_err(err, errlen, "bad upstream %s: cannot create a connection to %s", name, url);
            gw_upstream_free(u);
            return NULL;
        }
        evhttp_connection_set_timeout_tv(u->conns[i].evcon, &u->timeout);
        evhttp_connection_set_retries(u->conns[i].evcon, 0);
    }
    char labels[128];
    ss_metric_labels(labels, sizeof(labels), "upstream", name, "result", "ok", NULL);
    u->m_ok = ss_counter("streamscore_gateway_upstream_requests_total",
                         "Requests to upstream services by outcome.", labels);
    ss_metric_labels(labels, sizeof(labels), "upstream", name, "result", "timeout", NULL);
    u->m_timeout = ss_counter("streamscore_gateway_upstream_requests_total",
                              "Requests to upstream services by outcome.", labels);
    ss_metric_labels(labels, sizeof(labels), "upstream", name, "result", "unavailable", NULL);
    u->m_unavailable = ss_counter("streamscore_gateway_upstream_requests_total",
                                  "Requests to upstream services by outcome.", labels);
    ss_metric_labels(labels, sizeof(labels), "upstream", name, NULL);
    u->m_latency =
        ss_histogram("streamscore_gateway_upstream_duration_seconds",
                     "Upstream round trip, request sent to response read.", labels, NULL, 0);
    return u;
}

void gw_upstream_free(gw_upstream *u)
{
    if (!u) return;
    for (int i = 0; i < u->nconns; i++)
        if (u->conns[i].evcon) evhttp_connection_free(u->conns[i].evcon);
    ss_free(u->conns);
    ss_free(u->name);
    ss_free(u->host);
    ss_free(u->prefix);
    ss_free(u);
}

size_t gw_upstream_pending(const gw_upstream *u)
{
    return u->pending;
}

int gw_upstream_request(gw_upstream *u, enum evhttp_cmd_type method, const char *path_and_query,
                        const char *body, size_t len, gw_up_cb cb, void *arg)
{
    up_conn *conn = &u->conns[0];
    for (int i = 1; i < u->nconns; i++)
        if (u->conns[i].inflight < conn->inflight) conn = &u->conns[i];

    up_call *c = ss_calloc(1, sizeof(*c));
    c->u = u;
    c->conn = conn;
    c->cb = cb;
    c->arg = arg;
    c->t0_us = ss_mono_us();
    c->req = evhttp_request_new(on_response, c);
    evhttp_request_set_error_cb(c->req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    evhttp_add_header(h, "Host", u->hosthdr);
    evhttp_add_header(h, "Accept", "application/json");
    if (body) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(c->req), body, len);
    }
    char uri[1024];
    snprintf(uri, sizeof(uri), "%s%s", u->prefix, path_and_query);
    conn->inflight++;
    u->pending++;
    c->deadline = evtimer_new(u->base, on_deadline, c);
    c->in_make = 1;
    int rc = evhttp_make_request(conn->evcon, c->req, method, uri);
    c->in_make = 0;
    if (rc != 0 && !c->finished) {
        c->finished = 1;
        c->early = GW_UP_UNAVAILABLE;
    }
    static const struct timeval now = {0, 0};
    evtimer_add(c->deadline, c->finished ? &now : &u->timeout);
    return 0;
}
