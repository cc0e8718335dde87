/* http.c - evhttp server: routing, problem+json replies, limits, timeouts,
 * a connection cap, optional TLS and the ops routes.
 *
 * Connections. evhttp 2.1 has no public "new connection" hook, so the bevcb
 * (which evhttp calls for every accepted socket, before it builds the
 * connection) records the new bufferevent (holding a reference) and
 * activates a zero-delay event.
 * That event runs before the loop polls again, i.e. before the socket can be
 * read, and finds the evhttp_connection through the bufferevent's callback
 * argument (evhttp sets it to the connection). There the connection is
 * counted, refused above the cap (closed at once), given a close callback and
 * a request deadline.
 *
 * Timeouts. evhttp_set_timeout() only catches silence: a client trickling one
 * byte per second never trips it. The request deadline does: a connection must
 * deliver a complete request within timeout_s of being accepted or of its
 * previous reply, or it is closed. Idle keep-alive connections end the same way.
 *
 * Limits. evhttp reads the whole request before calling us. It is given hard
 * limits of twice the configured sizes (memory stays bounded); requests above
 * those get evhttp's own reply with an HTML body and the connection closed:
 * 413 for a body (declared or chunked), 400 for headers (libevent 2.1 reports
 * oversized headers as invalid ones).
 * Requests between the configured limit and the hard limit reach the
 * dispatcher and get a problem+json 431 (headers) or 413 (body). */
#include "common/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"

#define SS_HTTP_MAX_SEGMENTS 16
#define SS_HTTP_ALL_METHODS 0x1ff /* GET .. PATCH in enum evhttp_cmd_type */

typedef struct ss_route {
    int methods;
    char *pattern;
    int nseg;
    char *seg[SS_HTTP_MAX_SEGMENTS]; /* literal, or a parameter name when is_param */
    int is_param[SS_HTTP_MAX_SEGMENTS];
    ss_http_handler fn;
    void *arg;
    ss_metric *latency;
    struct {
        int method, code;
        ss_metric *requests;
    } seen[8]; /* requests_total series already looked up (hot path) */
    int nseen;
    struct ss_route *next;
} ss_route;

typedef struct ss_ready_check {
    char *name;
    ss_ready_fn fn;
    void *arg;
} ss_ready_check;

/* One accepted connection, known from the hook until evhttp closes it. */
typedef struct ss_conn {
    ss_http *h;
    struct evhttp_connection *evcon;
    struct event *deadline; /* complete request due by then */
    ss_route *route;        /* current request's route, NULL if unmatched */
    int method;             /* current request's method */
    int64_t t0_us;          /* current request's start */
    int body_terminated;    /* ss_http_body appended the NUL */
    int busy;               /* a request received, its answer not yet written out */
    struct ss_conn *hnext;  /* hash chain */
} ss_conn;

struct ss_http {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    int port;
    size_t max_header_size, max_body_size;
    int timeout_s;
    int max_connections;
    SSL_CTX *ssl;
    ss_route *routes, *routes_last;
    ss_ready_check *checks;
    int nchecks;

    struct bufferevent **pending; /* accepted, not yet hooked */
    size_t npending, cappending;
    struct event *hook;
    const struct timeval *deadline_tv; /* common timeout */

    ss_conn **conns; /* evcon -> conn, chained */
    size_t nbuckets, nconns;
    size_t nbusy; /* conns with busy set */

    /* ss_http_drain */
    int draining;
    struct event *drain_ev;
    int64_t drain_deadline_us;
    void (*drain_done)(void *);
    void *drain_arg;

    ss_metric *m_conns, *m_accepted, *m_refused, *m_timed_out;
    int64_t refused_logged_us;
};

static const char *method_name(int m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

/* ------------------------------------------------------------ connection map */

static size_t conn_slot(const ss_http *h, const void *evcon)
{
    uintptr_t x = (uintptr_t)evcon >> 4;
    return (size_t)((x * 11400714819323198485ull) >> 20) & (h->nbuckets - 1);
}

static ss_conn *conn_find(const ss_http *h, const struct evhttp_connection *evcon)
{
    if (!evcon) return NULL;
    for (ss_conn *c = h->conns[conn_slot(h, evcon)]; c; c = c->hnext)
        if (c->evcon == evcon) return c;
    return NULL;
}

static void conn_grow(ss_http *h)
{
    size_t old = h->nbuckets;
    ss_conn **olds = h->conns;
    h->nbuckets = old * 2;
    h->conns = ss_calloc(h->nbuckets, sizeof(ss_conn *));
    for (size_t i = 0; i < old; i++) {
        ss_conn *c = olds[i];
        while (c) {
            ss_conn *next = c->hnext;
            size_t s = conn_slot(h, c->evcon);
            c->hnext = h->conns[s];
            h->conns[s] = c;
            c = next;
        }
    }
    ss_free(olds);
}

static void conn_insert(ss_http *h, ss_conn *c)
{
    if (h->nconns >= h->nbuckets) conn_grow(h);
    size_t s = conn_slot(h, c->evcon);
    c->hnext = h->conns[s];
    h->conns[s] = c;
    h->nconns++;
}

static void conn_remove(ss_http *h, ss_conn *c)
{
    for (ss_conn **p = &h->conns[conn_slot(h, c->evcon)]; *p; p = &(*p)->hnext) {
        if (*p == c) {
            *p = c->hnext;
            h->nconns--;
            return;
        }
    }
}

static void conn_set_busy(ss_conn *c, int busy)
{
    if (c->busy == busy) return;
    c->busy = busy;
    if (busy)
        c->h->nbusy++;
    else
        c->h->nbusy--;
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    ss_conn *c = arg;
    ss_http *h = c->h;
    (void)evcon;
    conn_set_busy(c, 0); /* closed before its answer was written: nothing left to wait for */
    conn_remove(h, c);
    event_free(c->deadline);
    ss_free(c);
    ss_metric_set(h->m_conns, (double)h->nconns);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    ss_conn *c = arg;
    (void)fd;
    (void)what;
    ss_metric_inc(c->h->m_timed_out);
    ss_debug("http: closing connection: no complete request within %d s", c->h->timeout_s);
    evhttp_connection_free(c->evcon); /* runs on_conn_close, which frees c */
}

static void conn_arm(ss_conn *c)
{
    evtimer_add(c->deadline, c->h->deadline_tv);
}

static void hook_connection(ss_http *h, struct bufferevent *bev)
{
    void *cbarg = NULL;
    bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
    struct evhttp_connection *evcon = cbarg;
    /* NULL: evhttp already failed and freed the connection (bufferevent_free
     * clears the callbacks; our reference kept the bufferevent readable) */
    if (!evcon) return;
    if (h->max_connections > 0 && h->nconns >= (size_t)h->max_connections) {
        ss_metric_inc(h->m_refused);
        int64_t now = ss_mono_us();
        if (now - h->refused_logged_us >= 1000000) { /* at most one line a second */
            h->refused_logged_us = now;
            ss_warn("http: refusing connections: %zu open, cap is %d (%.0f refused so far)",
                    h->nconns, h->max_connections, ss_metric_value(h->m_refused));
        }
        evhttp_connection_free(evcon);
        return;
    }
    ss_metric_inc(h->m_accepted);
    ss_conn *c = ss_calloc(1, sizeof(*c));
    c->h = h;
    c->evcon = evcon;
    c->deadline = evtimer_new(h->base, on_deadline, c);
    conn_insert(h, c);
    evhttp_connection_set_closecb(evcon, on_conn_close, c);
    conn_arm(c);
    ss_metric_set(h->m_conns, (double)h->nconns);
}

static void on_hook(evutil_socket_t fd, short what, void *arg)
{
    ss_http *h = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < h->npending; i++) {
        hook_connection(h, h->pending[i]);
        bufferevent_decref(h->pending[i]); /* the reference taken at creation */
    }
    h->npending = 0;
}

static struct bufferevent *on_new_bufferevent(struct event_base *base, void *arg)
{
    ss_http *h = arg;
    struct bufferevent *bev;
    if (h->ssl) {
        SSL *ssl = SSL_new(h->ssl);
        if (!ssl) ss_oom(0);
        bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (bev) bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    /* a NULL here would make evhttp build a plaintext bufferevent itself */
    if (!bev) ss_oom(0);
    if (h->npending == h->cappending) {
        h->cappending = h->cappending ? h->cappending * 2 : 16;
        h->pending = ss_realloc(h->pending, h->cappending * sizeof(*h->pending));
    }
    bufferevent_incref(bev); /* valid until the hook, whatever evhttp does meanwhile */
    h->pending[h->npending++] = bev;
    event_active(h->hook, EV_TIMEOUT, 0);
    return bev;
}

/* ------------------------------------------------------------------ replies */

static ss_conn *conn_of(struct evhttp_request *req);

/* evhttp 2.1 writes the body even for HEAD (and no Content-Length): send the
 * length a GET would have and no body. While draining, every answer closes
 * its connection once written. */
static void send_reply(struct evhttp_request *req, int status)
{
    ss_conn *c = conn_of(req);
    if (c && c->h->draining)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        struct evbuffer *out = evhttp_request_get_output_buffer(req);
        char len[32];
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(out));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
        evbuffer_drain(out, evbuffer_get_length(out));
    }
    evhttp_send_reply(req, status, NULL, NULL);
}

static int dump_to_evbuffer(const char *buf, size_t size, void *data)
{
    return evbuffer_add(data, buf, size);
}

static void send_json(struct evhttp_request *req, int status, const char *ctype, json_t *body)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    if (body)
        json_dump_callback(body, dump_to_evbuffer, out, JSON_COMPACT | JSON_ENCODE_ANY);
    else
        evbuffer_add(out, "{}", 2);
    evbuffer_add(out, "\n", 1);
    json_decref(body);
    send_reply(req, status);
}

void ss_http_reply_json(struct evhttp_request *req, int status, json_t *body)
{
    send_json(req, status, "application/json", body);
}

static const char *status_phrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status >= 500 ? "Server Error" : "Client Error";
    }
}

static void slug(char *out, size_t n, const char *title)
{
    size_t j = 0;
    int dash = 0;
    for (const char *p = title; *p && j + 1 < n; p++) {
        if (isalnum((unsigned char)*p)) {
            if (dash && j) out[j++] = '-';
            if (j + 1 < n) out[j++] = (char)tolower((unsigned char)*p);
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[j] = '\0';
}

void ss_http_reply_problem(struct evhttp_request *req, int status, const char *title, json_t *extra,
                           const char *detail_fmt, ...)
{
    char detail[1024], type[160], s[96];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);

    json_t *p = json_object();
    if (title) {
        slug(s, sizeof(s), title);
        snprintf(type, sizeof(type), "urn:streamscore:problem:%s", s);
        json_object_set_new(p, "type", json_string(type));
        json_object_set_new(p, "title", json_string(title));
    } else {
        json_object_set_new(p, "type", json_string("about:blank"));
        json_object_set_new(p, "title", json_string(status_phrase(status)));
    }
    json_object_set_new(p, "status", json_integer(status));
    json_object_set_new(p, "detail", json_string(detail));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path) json_object_set_new(p, "instance", json_string(path));
    if (extra) {
        json_object_update(p, extra);
        json_decref(extra);
    }
    send_json(req, status, "application/problem+json", p);
}

void ss_http_reply_text(struct evhttp_request *req, int status, const char *ctype, const char *body,
                        size_t len)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      ctype ? ctype : "text/plain; charset=utf-8");
    evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    send_reply(req, status);
}

/* --------------------------------------------------------- request helpers */

const char *ss_http_header(struct evhttp_request *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

/* The conn of a request, across every server of the process (usually one). */
static ss_http *servers[8];

static ss_conn *conn_of(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    for (size_t i = 0; evcon && i < sizeof(servers) / sizeof(servers[0]); i++) {
        ss_conn *c = servers[i] ? conn_find(servers[i], evcon) : NULL;
        if (c) return c;
    }
    return NULL;
}

const char *ss_http_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    ss_conn *c = conn_of(req);
    size_t n = evbuffer_get_length(in);
    if (c && c->body_terminated) {
        n--; /* the NUL an earlier call added */
    } else {
        evbuffer_add(in, "", 1);
        if (c) c->body_terminated = 1;
    }
    if (len) *len = n;
    return (const char *)evbuffer_pullup(in, -1);
}

static int is_json_ctype(const char *ct)
{
    if (!ct) return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0) return 1;
    /* structured syntax suffix, e.g. application/merge-patch+json */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

json_t *ss_http_body_json(struct evhttp_request *req, int require_ctype)
{
    return ss_http_body_json_flags(req, require_ctype, JSON_REJECT_DUPLICATES);
}

json_t *ss_http_body_json_flags(struct evhttp_request *req, int require_ctype, size_t flags)
{
    const char *ct = ss_http_header(req, "Content-Type");
    if (require_ctype && !is_json_ctype(ct)) {
        ss_http_reply_problem(
            req, 415, "unsupported media type", json_pack("{s:s}", "expected", "application/json"),
            "bad request: content-type: expected application/json, got \"%s\"", ct ? ct : "(none)");
        return NULL;
    }
    size_t len = 0;
    const char *body = ss_http_body(req, &len);
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    if (i == len) {
        ss_http_reply_problem(req, 400, "empty body", NULL,
                              "bad request: body: expected a JSON document, got an empty body");
        return NULL;
    }
    json_error_t e;
    json_t *doc = json_loadb(body, len, flags, &e);
    if (!doc) {
        ss_http_reply_problem(
            req, 400, "malformed json",
            json_pack("{s:i,s:i,s:i}", "line", e.line, "column", e.column, "position", e.position),
            "bad request: malformed json: %s at line %d column %d (byte %d)", e.text, e.line,
            e.column, e.position);
        return NULL;
    }
    return doc;
}

/* ------------------------------------------------------------------ routing */

const char *ss_http_param(const ss_http_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0) return p->value[i];
    return NULL;
}

/* Split "/a/{b}/c" into segments; returns the count or -1. */
static int split_path(char *path, char **seg, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == max) return -1;
        seg[n++] = s;
    }
    return n;
}

int ss_http_route(ss_http *h, int methods, const char *pattern, ss_http_handler fn, void *arg)
{
    if (!pattern || pattern[0] != '/' || !fn || !(methods & SS_HTTP_ALL_METHODS)) return -1;
    ss_route *r = ss_calloc(1, sizeof(*r));
    r->methods = methods;
    r->pattern = ss_strdup(pattern);
    r->fn = fn;
    r->arg = arg;
    char *copy = ss_strdup(pattern);
    char *seg[SS_HTTP_MAX_SEGMENTS];
    int n = split_path(copy, seg, SS_HTTP_MAX_SEGMENTS);
    int nparams = 0;
    if (n < 0) goto err;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(seg[i]);
        if (seg[i][0] == '{') {
            if (len < 3 || seg[i][len - 1] != '}' || ++nparams > SS_HTTP_MAX_PARAMS) goto err;
            r->seg[i] = ss_strndup(seg[i] + 1, len - 2);
            r->is_param[i] = 1;
        } else {
            r->seg[i] = ss_strdup(seg[i]);
        }
        r->nseg = i + 1;
    }
    ss_free(copy);
    char labels[256];
    ss_metric_labels(labels, sizeof(labels), "route", pattern, NULL);
    r->latency =
        ss_histogram("streamscore_http_request_duration_seconds",
                     "Time from a complete request to its reply being written.", labels, NULL, 0);
    if (h->routes_last)
        h->routes_last->next = r;
    else
        h->routes = r;
    h->routes_last = r;
    return 0;
err:
    ss_free(copy);
    for (int i = 0; i < r->nseg; i++)
        ss_free(r->seg[i]);
    ss_free(r->pattern);
    ss_free(r);
    return -1;
}

/* 1 = match (params filled), 0 = no match, -1 = a parameter does not decode */
static int match_route(const ss_route *r, char **seg, int n, ss_http_params *p)
{
    if (r->nseg != n) return 0;
    for (int i = 0; i < n; i++)
        if (!r->is_param[i] && strcmp(r->seg[i], seg[i]) != 0) return 0;
    p->n = 0;
    for (int i = 0; i < n; i++) {
        if (!r->is_param[i]) continue;
        size_t outlen = 0;
        char *v = evhttp_uridecode(seg[i], 0, &outlen);
        if (!v) return -1;
        int bad = outlen >= sizeof(p->value[0]) || strlen(v) != outlen;
        if (!bad) {
            p->name[p->n] = r->seg[i];
            memcpy(p->value[p->n], v, outlen + 1);
            p->n++;
        }
        free(v);
        if (bad) return -1;
    }
    return 1;
}

static size_t headers_size(struct evhttp_request *req)
{
    size_t n = 0;
    struct evkeyval *kv;
    for (kv = evhttp_request_get_input_headers(req)->tqh_first; kv; kv = kv->next.tqe_next)
        n += strlen(kv->key) + strlen(kv->value) + 4; /* ": " and CRLF */
    return n;
}

static void allow_header(char *out, size_t n, int methods)
{
    out[0] = '\0';
    if (methods & EVHTTP_REQ_GET) methods |= EVHTTP_REQ_HEAD;
    for (int m = 1; m <= EVHTTP_REQ_PATCH; m <<= 1) {
        if (!(methods & m)) continue;
        if (out[0]) strncat(out, ", ", n - strlen(out) - 1);
        strncat(out, method_name(m), n - strlen(out) - 1);
    }
}

static ss_metric *requests_counter(const ss_route *r, int method, int code)
{
    char labels[320], codestr[16];
    snprintf(codestr, sizeof(codestr), "%d", code);
    ss_metric_labels(labels, sizeof(labels), "route", r ? r->pattern : "unmatched", "method",
                     method_name(method), "code", codestr, NULL);
    return ss_counter("streamscore_http_requests_total", "HTTP requests answered.", labels);
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    ss_conn *c = arg;
    ss_route *r = c->route;
    int code = evhttp_request_get_response_code(req);
    ss_metric *m = NULL;
    for (int i = 0; r && i < r->nseen && !m; i++)
        if (r->seen[i].method == c->method && r->seen[i].code == code) m = r->seen[i].requests;
    if (!m) {
        m = requests_counter(r, c->method, code);
        if (r && r->nseen < (int)(sizeof(r->seen) / sizeof(r->seen[0]))) {
            r->seen[r->nseen].method = c->method;
            r->seen[r->nseen].code = code;
            r->seen[r->nseen++].requests = m;
        }
    }
    ss_metric_inc(m);
    double seconds = (double)(ss_mono_us() - c->t0_us) / 1e6;
    if (r) ss_metric_observe(r->latency, seconds);
    if (ss_log_enabled(SS_LOG_DEBUG)) /* access log: the pattern, never the path or headers */
        ss_logf(SS_LOG_DEBUG, "http %s %s %d %.3f ms", method_name(c->method),
                r ? r->pattern : "unmatched", code, seconds * 1000);
    c->route = NULL;
    c->body_terminated = 0;
    conn_set_busy(c, 0); /* evhttp calls this once the answer is written out */
    conn_arm(c);         /* the next request is due within timeout_s */
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    ss_http *h = arg;
    int method = (int)evhttp_request_get_command(req);
    ss_conn *c = conn_find(h, evhttp_request_get_connection(req));
    if (c) {
        evtimer_del(c->deadline); /* the request is complete: our turn now */
        c->body_terminated = 0;
        c->t0_us = ss_mono_us();
        c->method = method;
        c->route = NULL;
        conn_set_busy(c, 1);
        evhttp_request_set_on_complete_cb(req, on_complete, c);
    }

    if (headers_size(req) > h->max_header_size) {
        ss_http_reply_problem(req, 431, "request header fields too large",
                              json_pack("{s:I}", "limit", (json_int_t)h->max_header_size),
                              "bad request: headers: larger than the limit of %zu bytes",
                              h->max_header_size);
        return;
    }
    size_t blen = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if (blen > h->max_body_size) {
        ss_http_reply_problem(req, 413, "content too large",
                              json_pack("{s:I}", "limit", (json_int_t)h->max_body_size),
                              "bad request: body: %zu bytes, larger than the limit of %zu bytes",
                              blen, h->max_body_size);
        return;
    }

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path) path = "/";
    char buf[2048];
    char *seg[SS_HTTP_MAX_SEGMENTS];
    int n = -1;
    if (strlen(path) < sizeof(buf)) {
        memcpy(buf, path, strlen(path) + 1);
        n = split_path(buf, seg, SS_HTTP_MAX_SEGMENTS);
    }
    int want = method == EVHTTP_REQ_HEAD ? (EVHTTP_REQ_HEAD | EVHTTP_REQ_GET) : method;
    int allowed = 0;
    ss_http_params params;
    memset(&params, 0, sizeof(params));
    for (ss_route *r = n >= 0 ? h->routes : NULL; r; r = r->next) {
        int m = match_route(r, seg, n, &params);
        if (m == 0) continue;
        if (m < 0) {
            if (c) c->route = r;
            ss_http_reply_problem(req, 400, "bad path parameter", NULL,
                                  "bad request: path \"%s\": a parameter is not valid "
                                  "percent-encoded text or longer than %zu bytes",
                                  path, sizeof(params.value[0]) - 1);
            return;
        }
        if (!(r->methods & want)) {
            allowed |= r->methods;
            continue;
        }
        if (c) c->route = r;
        r->fn(req, &params, r->arg);
        return;
    }
    if (allowed) {
        char allow[128];
        allow_header(allow, sizeof(allow), allowed);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        ss_http_reply_problem(req, 405, "method not allowed", json_pack("{s:s}", "allow", allow),
                              "bad request: method %s not allowed on \"%s\"; allowed: %s",
                              method_name(method), path, allow);
        return;
    }
    ss_http_reply_problem(req, 404, "not found", NULL, "bad request: no route for \"%s\"", path);
}

/* ------------------------------------------------------------- ops routes */

static void on_metrics(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    (void)p;
    (void)arg;
    ss_buf b;
    ss_buf_init(&b);
    ss_metrics_render(&b);
    ss_http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                       b.len);
    ss_buf_free(&b);
}

static void on_healthz(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    (void)p;
    (void)arg;
    ss_http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void on_readyz(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    ss_http *h = arg;
    (void)p;
    json_t *checks = json_object();
    int all = 1;
    for (int i = 0; i < h->nchecks; i++) {
        char why[256] = "";
        int ok = h->checks[i].fn(h->checks[i].arg, why, sizeof(why));
        json_t *one = json_pack("{s:b}", "ok", ok);
        if (!ok) {
            all = 0;
            json_object_set_new(one, "why", json_string(why[0] ? why : "not ready"));
        }
        json_object_set_new(checks, h->checks[i].name, one);
    }
    ss_http_reply_json(
        req, all ? 200 : 503,
        json_pack("{s:s,s:o}", "status", all ? "ready" : "not ready", "checks", checks));
}

void ss_http_add_ready_check(ss_http *h, const char *name, ss_ready_fn fn, void *arg)
{
    h->checks = ss_realloc(h->checks, (size_t)(h->nchecks + 1) * sizeof(*h->checks));
    h->checks[h->nchecks].name = ss_strdup(name);
    h->checks[h->nchecks].fn = fn;
    h->checks[h->nchecks].arg = arg;
    h->nchecks++;
}

void ss_http_add_ops_routes(ss_http *h)
{
    ss_http_route(h, EVHTTP_REQ_GET, "/metrics", on_metrics, h);
    ss_http_route(h, EVHTTP_REQ_GET, "/healthz", on_healthz, h);
    ss_http_route(h, EVHTTP_REQ_GET, "/readyz", on_readyz, h);
}

/* ------------------------------------------------------------------ server */

static SSL_CTX *tls_context(const char *cert, const char *key, char *err, size_t errlen)
{
    char e[256] = "";
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        ss_err(err, errlen, "tls: cannot load certificate %s: %s", cert, e);
        goto done;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        ss_err(err, errlen, "tls: cannot use private key %s: %s", key, e);
        goto done;
    }
    return ctx;
fail:
    ERR_error_string_n(ERR_get_error(), e, sizeof(e));
    ss_err(err, errlen, "tls: cannot create context: %s", e);
done:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

ss_http *ss_http_new(struct event_base *base, const ss_http_opts *opts, char *err, size_t errlen)
{
    ss_http_opts o = {0};
    if (opts) o = *opts;
    ss_http *h = ss_calloc(1, sizeof(*h));
    h->base = base;
    h->max_header_size = o.max_header_size ? o.max_header_size : 8 * 1024;
    h->max_body_size = o.max_body_size ? o.max_body_size : 1024 * 1024;
    h->timeout_s = o.timeout_s > 0 ? o.timeout_s : 10;
    h->max_connections = o.max_connections > 0 ? o.max_connections : 0;
    h->nbuckets = 64;
    h->refused_logged_us = -1000000000LL;
    h->conns = ss_calloc(h->nbuckets, sizeof(ss_conn *));
    h->m_conns = ss_gauge("streamscore_http_connections", "Open HTTP connections.", NULL);
    h->m_accepted = ss_counter("streamscore_http_connections_accepted_total",
                               "Connections accepted (keep-alive clients reuse theirs).", NULL);
    h->m_refused = ss_counter("streamscore_http_connections_refused_total",
                              "Connections closed at once because the cap was reached.", NULL);
    h->m_timed_out =
        ss_counter("streamscore_http_connections_timed_out_total",
                   "Connections closed for not sending a complete request in time.", NULL);

    if ((o.tls_cert && *o.tls_cert) != (o.tls_key && *o.tls_key)) {
        ss_err(err, errlen, "tls: both a certificate and a key are needed, got only the %s",
               o.tls_cert && *o.tls_cert ? "certificate" : "key");
        goto err;
    }
    if (o.tls_cert && *o.tls_cert && !(h->ssl = tls_context(o.tls_cert, o.tls_key, err, errlen)))
        goto err;

    struct timeval tv = {h->timeout_s, 0};
    h->deadline_tv = event_base_init_common_timeout(base, &tv);
    h->hook = event_new(base, -1, 0, on_hook, h);
    h->http = evhttp_new(base);
    if (!h->http || !h->hook || !h->deadline_tv) {
        ss_err(err, errlen, "http: cannot create the server");
        goto err;
    }
    evhttp_set_max_headers_size(h->http, (ev_ssize_t)(2 * h->max_header_size));
    evhttp_set_max_body_size(h->http, (ev_ssize_t)(2 * h->max_body_size));
    /* evhttp's inactivity timeout is the write timeout (a client that stops
     * reading); reads are bounded by the request deadline, which fires first */
    evhttp_set_timeout(h->http, h->timeout_s + 1);
    evhttp_set_allowed_methods(h->http, SS_HTTP_ALL_METHODS);
    evhttp_set_default_content_type(h->http, NULL);
    evhttp_set_bevcb(h->http, on_new_bufferevent, h);
    evhttp_set_gencb(h->http, dispatch, h);

    const char *bind = o.bind && *o.bind ? o.bind : "0.0.0.0";
    h->bound = evhttp_bind_socket_with_handle(h->http, bind, (ev_uint16_t)o.port);
    if (!h->bound) {
        ss_err(err, errlen, "http: cannot listen on %s:%d: %s", bind, o.port,
               evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        goto err;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(h->bound), (struct sockaddr *)&ss, &sl) == 0)
        h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
        if (!servers[i]) {
            servers[i] = h;
            break;
        }
    }
    return h;
err:
    ss_http_free(h);
    return NULL;
}

int ss_http_port(const ss_http *h)
{
    return h->port;
}

void ss_http_stop_accepting(ss_http *h)
{
    if (h->bound) evhttp_del_accept_socket(h->http, h->bound);
    h->bound = NULL;
}

size_t ss_http_busy(const ss_http *h)
{
    return h->nbusy;
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    ss_http *h = arg;
    (void)fd;
    (void)what;
    /* close the connections with nothing under way: no request being
     * answered, no bytes of a next one received */
    size_t n = 0;
    struct evhttp_connection **idle = ss_calloc(h->nconns + 1, sizeof(*idle));
    for (size_t b = 0; b < h->nbuckets; b++)
        for (ss_conn *c = h->conns[b]; c; c = c->hnext) {
            struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
            if (!c->busy && (!bev || evbuffer_get_length(bufferevent_get_input(bev)) == 0))
                idle[n++] = c->evcon;
        }
    for (size_t i = 0; i < n; i++)
        evhttp_connection_free(idle[i]); /* on_conn_close frees its conn */
    ss_free(idle);
    int late = ss_mono_us() >= h->drain_deadline_us;
    if (h->nconns > 0 && !late) return;
    if (h->nconns > 0)
        ss_warn("http: drain timed out: %zu connections open, %zu requests unanswered",
                h->nconns, h->nbusy);
    event_free(h->drain_ev);
    h->drain_ev = NULL;
    if (h->drain_done) h->drain_done(h->drain_arg);
}

void ss_http_drain(ss_http *h, int timeout_ms, void (*done)(void *arg), void *arg)
{
    ss_http_stop_accepting(h);
    if (h->draining) return;
    h->draining = 1;
    h->drain_done = done;
    h->drain_arg = arg;
    h->drain_deadline_us = ss_mono_us() + (int64_t)timeout_ms * 1000;
    h->drain_ev = event_new(h->base, -1, EV_PERSIST, drain_tick, h);
    struct timeval tv = {0, 10000};
    event_add(h->drain_ev, &tv);
}

void ss_http_free(ss_http *h)
{
    if (!h) return;
    if (h->drain_ev) event_free(h->drain_ev);
    for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++)
        if (servers[i] == h) servers[i] = NULL;
    if (h->http) evhttp_free(h->http); /* closes connections: on_conn_close frees each conn */
    for (size_t i = 0; i < h->npending; i++)
        bufferevent_decref(h->pending[i]);
    if (h->hook) event_free(h->hook);
    ss_route *r = h->routes;
    while (r) {
        ss_route *next = r->next;
        for (int i = 0; i < r->nseg; i++)
            ss_free(r->seg[i]);
        ss_free(r->pattern);
        ss_free(r);
        r = next;
    }
    for (int i = 0; i < h->nchecks; i++)
        ss_free(h->checks[i].name);
    ss_free(h->checks);
    ss_free(h->pending);
    ss_free(h->conns);
    SSL_CTX_free(h->ssl);
    ss_free(h);
}
