/* test_http.c - the evhttp helpers over real sockets. The server runs on this
 * thread's event loop; clients (curl, raw sockets) run on a helper thread that
 * wakes the loop through a pipe when it is done. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "common/http.h"
#include "common/metrics.h"
#include "common/util.h"

typedef struct fixture {
    struct event_base *base;
    ss_http *http;
    int port;
    int ready; /* what the "db" ready check answers */
    char dir[64];
} fixture;

/* ------------------------------------------------------------ client thread */

typedef struct job {
    void (*fn)(struct job *);
    char cmd[2048];
    ss_buf out;
    int rc;
    int port;
    int wake[2];
    double elapsed_s;
    int closed_by_server;
} job;

static void *job_main(void *arg)
{
    job *j = arg;
    j->fn(j);
    (void)!write(j->wake[1], "x", 1);
    return NULL;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Run fn on a thread while the loop serves; returns when fn is done. */
static void run_job(fixture *f, job *j)
{
    pthread_t t;
    ss_buf_init(&j->out);
    j->port = f->port;
    assert_int_equal(pipe(j->wake), 0);
    struct event *ev = event_new(f->base, j->wake[0], EV_READ, on_wake, f->base);
    event_add(ev, NULL);
    assert_int_equal(pthread_create(&t, NULL, job_main, j), 0);
    event_base_dispatch(f->base);
    pthread_join(t, NULL);
    event_free(ev);
    close(j->wake[0]);
    close(j->wake[1]);
}

static void shell_job(job *j)
{
    FILE *p = popen(j->cmd, "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
        ss_buf_append(&j->out, buf, n);
    j->rc = pclose(p);
    if (!j->out.data) ss_buf_append(&j->out, "", 0);
}

/* curl with headers in the output (-i); returns the output, caller frees. */
static char *curl(fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *curl(fixture *f, const char *fmt, ...)
{
    job j = {.fn = shell_job};
    char args[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(j.cmd, sizeof(j.cmd), "curl -sS -i --max-time 5 %s 2>&1", args);
    for (char *p = strstr(j.cmd, "PORT"); p; p = strstr(p, "PORT")) {
        char rest[2048]; /* "PORT" -> the server's port */
        snprintf(rest, sizeof(rest), "%s", p + 4);
        snprintf(p, sizeof(j.cmd) - (size_t)(p - j.cmd), "%d%s", f->port, rest);
    }
    run_job(f, &j);
    return j.out.data;
}

static int status_of(const char *resp)
{
    int code = 0;
    const char *last = NULL;
    for (const char *p = resp; (p = strstr(p, "HTTP/1.1 ")); p++)
        last = p;
    if (last) sscanf(last, "HTTP/1.1 %d", &code);
    return code;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Wait up to limit_s for the server to close fd; 1 when it did. */
static int wait_closed(int fd, double limit_s)
{
    int64_t end = ss_mono_us() + (int64_t)(limit_s * 1e6);
    char buf[512];
    while (ss_mono_us() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0) return 1;
        }
    }
    return 0;
}

/* ----------------------------------------------------------------- handlers */

static void h_hello(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    (void)p;
    (void)arg;
    ss_http_reply_json(req, 200, json_pack("{s:s}", "hello", "world"));
}

static void h_feature(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    (void)arg;
    ss_http_reply_json(req, 200,
                       json_pack("{s:s,s:s,s:i}", "entity", ss_http_param(p, "entity"), "id",
                                 ss_http_param(p, "id"), "n", p->n));
}

static void h_echo(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    (void)p;
    (void)arg;
    json_t *doc = ss_http_body_json(req, 1);
    if (!doc) return; /* replied */
    size_t len = 0;
    ss_http_body(req, &len); /* a second call sees the same length */
    ss_http_reply_json(req, 201, json_pack("{s:o,s:I}", "got", doc, "len", (json_int_t)len));
}

static void h_delete(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    (void)p;
    (void)arg;
    ss_http_reply_problem(req, 409, "version is active", json_pack("{s:s}", "version", "v3"),
                          "cannot delete model version %s: it is active", "v3");
}

static int ready_db(void *arg, char *why, size_t whylen)
{
    fixture *f = arg;
    if (!f->ready) snprintf(why, whylen, "connection refused");
    return f->ready;
}

static int ready_always(void *arg, char *why, size_t whylen)
{
    (void)arg;
    (void)why;
    (void)whylen;
    return 1;
}

/* ------------------------------------------------------------------ fixtures */

static fixture *start(const ss_http_opts *opts)
{
    fixture *f = ss_calloc(1, sizeof(*f));
    f->base = event_base_new();
    f->ready = 1;
    char err[256] = "";
    f->http = ss_http_new(f->base, opts, err, sizeof(err));
    if (!f->http) fprintf(stderr, "ss_http_new: %s\n", err);
    assert_non_null(f->http);
    f->port = ss_http_port(f->http);
    assert_true(f->port > 0);
    ss_http_route(f->http, EVHTTP_REQ_GET, "/hello", h_hello, NULL);
    ss_http_route(f->http, EVHTTP_REQ_GET, "/v1/features/{entity}/{id}", h_feature, NULL);
    ss_http_route(f->http, EVHTTP_REQ_POST | EVHTTP_REQ_PUT, "/v1/echo", h_echo, NULL);
    ss_http_route(f->http, EVHTTP_REQ_DELETE, "/v1/echo", h_delete, NULL);
    ss_http_add_ready_check(f->http, "db", ready_db, f);
    ss_http_add_ready_check(f->http, "kafka", ready_always, f);
    ss_http_add_ops_routes(f->http);
    return f;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ss_http_free(f->http);
    event_base_free(f->base);
    if (f->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
        (void)!system(cmd);
    }
    ss_free(f);
    ss_metrics_reset();
    return 0;
}

static int setup_default(void **state)
{
    ss_http_opts o = {
        .bind = "127.0.0.1", .max_header_size = 2048, .max_body_size = 4096, .timeout_s = 1};
    *state = start(&o);
    return 0;
}

/* -------------------------------------------------------------------- tests */

static void test_routing_and_params(void **state)
{
    fixture *f = *state;
    char *r = curl(f, "http://127.0.0.1:PORT/hello");
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(r, "Content-Type: application/json"));
    assert_string_equal(body_of(r), "{\"hello\":\"world\"}\n");
    ss_free(r);

    r = curl(f, "'http://127.0.0.1:PORT/v1/features/card/c%%2F42%%20x'");
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(body_of(r), "\"entity\":\"card\""));
    assert_non_null(strstr(body_of(r), "\"id\":\"c/42 x\"")); /* percent-decoded */
    assert_non_null(strstr(body_of(r), "\"n\":2"));
    ss_free(r);

    /* HEAD is answered by GET routes: the GET's Content-Length, no body, and
     * the keep-alive connection stays usable for the next request */
    r = curl(f, "-I http://127.0.0.1:PORT/hello -o /dev/null -w '%%{http_code}' "
                "http://127.0.0.1:PORT/hello");
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(r, "Content-Length: 18\r\n"));
    assert_non_null(strstr(r, "\r\n\r\n200")); /* no body bytes before the next answer */
    ss_free(r);

    /* a NUL in a parameter is refused */
    r = curl(f, "'http://127.0.0.1:PORT/v1/features/card/a%%00b'");
    assert_int_equal(status_of(r), 400);
    assert_non_null(strstr(r, "application/problem+json"));
    ss_free(r);
}

static void test_not_found_and_method_not_allowed(void **state)
{
    fixture *f = *state;
    char *r = curl(f, "http://127.0.0.1:PORT/nope/x");
    assert_int_equal(status_of(r), 404);
    assert_non_null(strstr(r, "Content-Type: application/problem+json"));
    json_error_t e;
    json_t *p = json_loads(body_of(r), 0, &e);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 404);
    assert_string_equal(json_string_value(json_object_get(p, "title")), "not found");
    assert_string_equal(json_string_value(json_object_get(p, "instance")), "/nope/x");
    assert_non_null(json_string_value(json_object_get(p, "type")));
    assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "/nope/x"));
    json_decref(p);
    ss_free(r);

    /* too many segments for the router is still just a 404 */
    r = curl(f, "http://127.0.0.1:PORT/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s");
    assert_int_equal(status_of(r), 404);
    ss_free(r);

    r = curl(f, "-X PATCH http://127.0.0.1:PORT/v1/echo");
    assert_int_equal(status_of(r), 405);
    assert_non_null(strstr(r, "Allow: POST, PUT, DELETE\r\n"));
    p = json_loads(body_of(r), 0, &e);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 405);
    assert_string_equal(json_string_value(json_object_get(p, "allow")), "POST, PUT, DELETE");
    json_decref(p);
    ss_free(r);

    r = curl(f, "-X POST http://127.0.0.1:PORT/hello");
    assert_int_equal(status_of(r), 405);
    assert_non_null(strstr(r, "Allow: GET, HEAD\r\n"));
    ss_free(r);

    /* a handler's own problem with extra members */
    r = curl(f, "-X DELETE http://127.0.0.1:PORT/v1/echo");
    assert_int_equal(status_of(r), 409);
    p = json_loads(body_of(r), 0, &e);
    assert_string_equal(json_string_value(json_object_get(p, "version")), "v3");
    assert_string_equal(json_string_value(json_object_get(p, "type")),
                        "urn:streamscore:problem:version-is-active");
    json_decref(p);
    ss_free(r);
}

static void test_body_json(void **state)
{
    fixture *f = *state;
    char *r = curl(f, "-H 'Content-Type: application/json' -d '{\"a\":[1,2]}' "
                      "http://127.0.0.1:PORT/v1/echo");
    assert_int_equal(status_of(r), 201);
    assert_string_equal(body_of(r), "{\"got\":{\"a\":[1,2]},\"len\":11}\n");
    ss_free(r);

    r = curl(f, "-H 'Content-Type: application/json; charset=utf-8' -X PUT -d '[]' "
                "http://127.0.0.1:PORT/v1/echo");
    assert_int_equal(status_of(r), 201);
    ss_free(r);

    /* wrong content type -> 415 */
    r = curl(f, "-H 'Content-Type: text/plain' -d '{}' http://127.0.0.1:PORT/v1/echo");
    assert_int_equal(status_of(r), 415);
    assert_non_null(strstr(r, "application/problem+json"));
    assert_non_null(strstr(body_of(r), "text/plain"));
    ss_free(r);

    /* empty -> 400 */
    r = curl(f, "-H 'Content-Type: application/json' -X POST --data-binary '' "
                "http://127.0.0.1:PORT/v1/echo");
    assert_int_equal(status_of(r), 400);
    assert_non_null(strstr(body_of(r), "empty body"));
    ss_free(r);

    /* malformed -> 400 with the position */
    r = curl(f, "-H 'Content-Type: application/json' --data-binary '{\"a\": tru}' "
                "http://127.0.0.1:PORT/v1/echo");
    assert_int_equal(status_of(r), 400);
    json_error_t e;
    json_t *p = json_loads(body_of(r), 0, &e);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "title")), "malformed json");
    assert_int_equal(json_integer_value(json_object_get(p, "line")), 1);
    assert_true(json_integer_value(json_object_get(p, "position")) >= 7);
    assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "column"));
    json_decref(p);
    ss_free(r);

    /* duplicate keys are refused */
    r = curl(f, "-H 'Content-Type: application/json' -d '{\"a\":1,\"a\":2}' "
                "http://127.0.0.1:PORT/v1/echo");
    assert_int_equal(status_of(r), 400);
    ss_free(r);
}

static void test_size_limits(void **state)
{
    fixture *f = *state;
    snprintf(f->dir, sizeof(f->dir), "/tmp/ss-test-http.%d", (int)getpid());
    mkdir(f->dir, 0700);
    char cmd[512];
    /* 6000-byte JSON body: above the 4096 limit, below evhttp's hard cap (2x) */
    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import json; print(json.dumps({\"pad\": \"x\" * 6000}))' > %s/big.json;"
             "python3 -c 'print(\"x\" * 20000)' > %s/huge.txt",
             f->dir, f->dir);
    assert_int_equal(system(cmd), 0);

    char *r = curl(f,
                   "-H 'Content-Type: application/json' --data-binary @%s/big.json "
                   "http://127.0.0.1:PORT/v1/echo",
                   f->dir);
    assert_int_equal(status_of(r), 413);
    assert_non_null(strstr(r, "application/problem+json"));
    assert_non_null(strstr(body_of(r), "\"limit\":4096"));
    ss_free(r);

    /* far above: evhttp itself answers 413 before reading the body */
    r = curl(f,
             "-H 'Content-Type: application/json' --data-binary @%s/huge.txt "
             "http://127.0.0.1:PORT/v1/echo",
             f->dir);
    assert_int_equal(status_of(r), 413);
    ss_free(r);

    /* headers: 3000 bytes > 2048 -> 431 problem; 5000 > hard cap -> evhttp's own
     * 400 (libevent 2.1 reports oversized headers as an invalid header) */
    char pad[5100];
    memset(pad, 'h', 5000);
    pad[5000] = '\0';
    snprintf(cmd, sizeof(cmd), "%s/hdr3k", f->dir);
    FILE *hf = fopen(cmd, "w");
    fprintf(hf, "X-Pad: %.3000s\n", pad);
    fclose(hf);
    snprintf(cmd, sizeof(cmd), "%s/hdr5k", f->dir);
    hf = fopen(cmd, "w");
    fprintf(hf, "X-Pad: %s\n", pad);
    fclose(hf);
    r = curl(f, "-H @%s/hdr3k http://127.0.0.1:PORT/hello", f->dir);
    assert_int_equal(status_of(r), 431);
    assert_non_null(strstr(r, "application/problem+json"));
    ss_free(r);
    r = curl(f, "-H @%s/hdr5k http://127.0.0.1:PORT/hello", f->dir);
    assert_int_equal(status_of(r), 400);
    ss_free(r);

    /* the server still serves afterwards */
    r = curl(f, "http://127.0.0.1:PORT/hello");
    assert_int_equal(status_of(r), 200);
    ss_free(r);
}

/* A client that sends part of a request and stalls, and one that trickles a
 * byte every 200 ms (never silent long enough for an inactivity timeout):
 * both are dropped about timeout_s (1 s) after connecting. */
static void slow_clients(job *j)
{
    int a = connect_local(j->port), b = connect_local(j->port);
    int64_t t0 = ss_mono_us();
    (void)!send(a, "GET /hello HTTP/1.1\r\nHost: x\r\n", 30, 0);
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    (void)!send(b, req, strlen(req), 0);
    int b_closed = 0;
    char buf[256];
    while (ss_mono_us() - t0 < 4000000) {
        if (send(b, "y", 1, MSG_NOSIGNAL) < 0) {
            b_closed = 1;
            break;
        }
        struct pollfd p = {.fd = b, .events = POLLIN};
        if (poll(&p, 1, 200) > 0 && recv(b, buf, sizeof(buf), 0) <= 0) {
            b_closed = 1;
            break;
        }
    }
    double tb = (double)(ss_mono_us() - t0) / 1e6;
    int a_closed = wait_closed(a, 1.0);
    j->closed_by_server = a_closed && b_closed;
    j->elapsed_s = tb;
    close(a);
    close(b);
}

static void test_timeout_drops_slow_client(void **state)
{
    fixture *f = *state;
    job j = {.fn = slow_clients};
    run_job(f, &j);
    ss_buf_free(&j.out);
    assert_true(j.closed_by_server);
    assert_true(j.elapsed_s >= 0.8 && j.elapsed_s < 3.5);

    /* a well-behaved client on a keep-alive connection is unaffected */
    char *r = curl(f, "http://127.0.0.1:PORT/hello http://127.0.0.1:PORT/hello");
    assert_int_equal(status_of(r), 200);
    ss_free(r);

    r = curl(f, "http://127.0.0.1:PORT/metrics");
    assert_non_null(strstr(body_of(r), "streamscore_http_connections_timed_out_total 2\n"));
    ss_free(r);
}

static void test_ready_checks(void **state)
{
    fixture *f = *state;
    char *r = curl(f, "http://127.0.0.1:PORT/readyz");
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(body_of(r), "\"db\":{\"ok\":true}"));
    assert_non_null(strstr(body_of(r), "\"kafka\":{\"ok\":true}"));
    ss_free(r);

    f->ready = 0;
    r = curl(f, "http://127.0.0.1:PORT/readyz");
    assert_int_equal(status_of(r), 503);
    assert_non_null(strstr(body_of(r), "\"db\":{\"ok\":false,\"why\":\"connection refused\"}"));
    assert_non_null(strstr(body_of(r), "\"status\":\"not ready\""));
    ss_free(r);

    r = curl(f, "http://127.0.0.1:PORT/healthz");
    assert_int_equal(status_of(r), 200);
    ss_free(r);
}

static void test_metrics_route_passes_promtool(void **state)
{
    fixture *f = *state;
    char *r = curl(f, "http://127.0.0.1:PORT/hello");
    ss_free(r);
    r = curl(f, "http://127.0.0.1:PORT/nope");
    ss_free(r);
    job j = {.fn = shell_job};
    snprintf(j.cmd, sizeof(j.cmd),
             "curl -sS --max-time 5 http://127.0.0.1:%d/metrics | "
             "promtool check metrics 2>&1; echo rc=$?",
             f->port);
    run_job(f, &j);
    assert_string_equal(j.out.data, "rc=0\n");
    ss_buf_free(&j.out);

    r = curl(f, "http://127.0.0.1:PORT/metrics");
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
    const char *b = body_of(r);
    assert_non_null(strstr(
        b, "streamscore_http_requests_total{route=\"/hello\",method=\"GET\",code=\"200\"} 1"));
    assert_non_null(strstr(
        b, "streamscore_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 1"));
    assert_non_null(
        strstr(b, "streamscore_http_request_duration_seconds_count{route=\"/hello\"} 1"));
    ss_free(r);
}

static void conn_cap_clients(job *j)
{
    int a = connect_local(j->port), b = connect_local(j->port);
    usleep(200000);
    int c = connect_local(j->port);
    /* the third is closed at once; the first two stay open */
    int c_closed = wait_closed(c, 1.0);
    struct pollfd p = {.fd = a, .events = POLLIN};
    int a_open = poll(&p, 1, 0) == 0;
    close(c);
    close(a);
    usleep(200000);
    /* a slot is free again */
    int d = connect_local(j->port);
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    (void)!send(d, req, strlen(req), 0);
    char buf[1024];
    ssize_t n = recv(d, buf, sizeof(buf) - 1, 0);
    int d_ok = n > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
    close(d);
    close(b);
    j->rc = c_closed && a_open && d_ok ? 0 : 1;
    if (j->rc) fprintf(stderr, "c_closed %d a_open %d d_ok %d\n", c_closed, a_open, d_ok);
}

static int setup_capped(void **state)
{
    ss_http_opts o = {.bind = "127.0.0.1", .timeout_s = 5, .max_connections = 2};
    *state = start(&o);
    return 0;
}

static void test_connection_cap(void **state)
{
    fixture *f = *state;
    job j = {.fn = conn_cap_clients};
    run_job(f, &j);
    ss_buf_free(&j.out);
    assert_int_equal(j.rc, 0);
    char *r = curl(f, "http://127.0.0.1:PORT/metrics");
    assert_non_null(strstr(body_of(r), "streamscore_http_connections_refused_total 1\n"));
    ss_free(r);
}

/* ------------------------------------------------------------------ drain */

typedef struct drain_state {
    fixture *f;
    struct evhttp_request *slow; /* the request in flight when the drain starts */
    struct event *later;
    int answered;      /* the slow answer was handed to evhttp */
    int done;          /* the drain callback ran */
    int answered_first; /* ... after the slow answer */
    size_t conns_left, busy_left;
} drain_state;

static drain_state drain;

static void on_drain_done(void *arg)
{
    drain_state *d = arg;
    d->done++;
    d->answered_first = d->answered;
    d->busy_left = ss_http_busy(d->f->http);
}

static void answer_slow(evutil_socket_t fd, short what, void *arg)
{
    drain_state *d = arg;
    (void)fd;
    (void)what;
    /* a large answer: it cannot all be written in the iteration that sends it */
    ss_buf big;
    ss_buf_init(&big);
    for (int i = 0; i < 200000; i++)
        ss_buf_append(&big, "0123456789", 10);
    ss_http_reply_text(d->slow, 200, "text/plain", big.data, big.len);
    ss_buf_free(&big);
    d->answered = 1;
}

/* The handler starts the drain itself, then answers 300 ms later. */
static void h_slow(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    drain_state *d = arg;
    (void)p;
    d->slow = req;
    ss_http_drain(d->f->http, 5000, on_drain_done, d);
    struct timeval tv = {0, 300000};
    d->later = evtimer_new(d->f->base, answer_slow, d);
    evtimer_add(d->later, &tv);
}

/* Read one answer (headers + Content-Length body) from fd; its status, or -1. */
static int read_answer(int fd, ss_buf *out)
{
    char buf[65536];
    int64_t end = ss_mono_us() + 5000000;
    while (ss_mono_us() < end) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0) continue;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        ss_buf_append(out, buf, (size_t)n);
        ss_buf_append(out, "", 1);
        out->len--;
        const char *hdr_end = strstr(out->data, "\r\n\r\n");
        const char *cl = strcasestr(out->data, "Content-Length: ");
        if (hdr_end && cl && out->len >= (size_t)(hdr_end + 4 - out->data) + strtoul(cl + 16, 0, 10))
            return status_of(out->data);
    }
    return -1;
}

static void drain_clients(job *j)
{
    const char *hello = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    const char *slow = "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n";
    ss_buf a_out, b_out;
    ss_buf_init(&a_out);
    ss_buf_init(&b_out);
    j->rc = 1;
    /* A: a keep-alive connection, idle once answered */
    int a = connect_local(j->port), b = connect_local(j->port);
    if (a < 0 || b < 0) goto out;
    if (send(a, hello, strlen(hello), 0) < 0 || read_answer(a, &a_out) != 200) goto out;
    /* B: its request starts the drain and waits 300 ms for its answer */
    if (send(b, slow, strlen(slow), 0) < 0) goto out;
    if (!wait_closed(a, 0.25)) { /* the idle connection goes at once */
        fprintf(stderr, "drain: the idle keep-alive connection stayed open\n");
        goto out;
    }
    int c = connect_local(j->port); /* no new connections */
    if (c >= 0) {
        fprintf(stderr, "drain: a new connection was accepted\n");
        close(c);
        goto out;
    }
    if (read_answer(b, &b_out) != 200 || b_out.len < 2000000 ||
        !strcasestr(b_out.data, "Connection: close")) {
        fprintf(stderr, "drain: the request in flight was not answered in full (%zu bytes)\n",
                b_out.len);
        goto out;
    }
    if (!wait_closed(b, 2)) goto out; /* then its connection closes */
    j->rc = 0;
out:
    if (a >= 0) close(a);
    if (b >= 0) close(b);
    ss_buf_free(&a_out);
    ss_buf_free(&b_out);
}

/* ss_http_drain: an idle keep-alive connection is closed, no new connection
 * is accepted, the request in flight is answered in full (with Connection:
 * close), and only then does the drain report done, with nothing left. */
static void test_drain_answers_in_flight(void **state)
{
    fixture *f = *state;
    memset(&drain, 0, sizeof drain);
    drain.f = f;
    ss_http_route(f->http, EVHTTP_REQ_GET, "/slow", h_slow, &drain);
    job j = {.fn = drain_clients};
    run_job(f, &j);
    ss_buf_free(&j.out);
    assert_int_equal(j.rc, 0);
    int64_t end = ss_mono_us() + 3000000;
    while (!drain.done && ss_mono_us() < end)
        event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(drain.done, 1);
    assert_true(drain.answered_first);
    assert_int_equal(drain.busy_left, 0);
    event_free(drain.later);
}

static int setup_tls(void **state)
{
    char dir[64], cmd[1024];
    snprintf(dir, sizeof(dir), "/tmp/ss-test-tls.%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
             "-addext subjectAltName=IP:127.0.0.1,DNS:localhost "
             "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
             dir, dir);
    if (system(cmd) != 0) return -1;
    char cert[128], key[128];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    ss_http_opts o = {.bind = "127.0.0.1", .timeout_s = 5, .tls_cert = cert, .tls_key = key};
    fixture *f = start(&o);
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
    *state = f;
    return 0;
}

static void test_tls(void **state)
{
    fixture *f = *state;
    /* verified handshake against the self-signed certificate */
    char *r = curl(f, "--cacert %s/cert.pem https://127.0.0.1:PORT/hello", f->dir);
    assert_int_equal(status_of(r), 200);
    assert_string_equal(body_of(r), "{\"hello\":\"world\"}\n");
    ss_free(r);

    r = curl(f,
             "--cacert %s/cert.pem -H 'Content-Type: application/json' -d '{\"x\":1}' "
             "https://127.0.0.1:PORT/v1/echo",
             f->dir);
    assert_int_equal(status_of(r), 201);
    ss_free(r);

    /* without trusting the certificate the handshake is refused by the client */
    r = curl(f, "https://127.0.0.1:PORT/hello");
    assert_int_equal(status_of(r), 0);
    ss_free(r);

    /* plaintext on the TLS port gets no HTTP answer */
    r = curl(f, "http://127.0.0.1:PORT/hello");
    assert_int_equal(status_of(r), 0);
    ss_free(r);
}

static void test_bad_tls_config(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    char err[256] = "";
    ss_http_opts o = {.bind = "127.0.0.1",
                      .tls_cert = "/nonexistent/cert.pem",
                      .tls_key = "/nonexistent/key.pem"};
    assert_null(ss_http_new(base, &o, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/cert.pem"));
    ss_http_opts half = {.bind = "127.0.0.1", .tls_cert = "/x.pem"};
    assert_null(ss_http_new(base, &half, err, sizeof(err)));
    assert_non_null(strstr(err, "both a certificate and a key"));
    /* port in use */
    ss_http *a = ss_http_new(base, &(ss_http_opts){.bind = "127.0.0.1"}, err, sizeof(err));
    assert_non_null(a);
    ss_http *b = ss_http_new(base, &(ss_http_opts){.bind = "127.0.0.1", .port = ss_http_port(a)},
                             err, sizeof(err));
    assert_null(b);
    assert_non_null(strstr(err, "cannot listen"));
    assert_int_equal(ss_http_route(a, EVHTTP_REQ_GET, "no-slash", h_hello, NULL), -1);
    assert_int_equal(ss_http_route(a, EVHTTP_REQ_GET, "/a/{}", h_hello, NULL), -1);
    ss_http_free(a);
    event_base_free(base);
    ss_metrics_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routing_and_params, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method_not_allowed, setup_default,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_json, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_size_limits, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_drops_slow_client, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_ready_checks, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_route_passes_promtool, setup_default,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connection_cap, setup_capped, teardown),
        cmocka_unit_test_setup_teardown(test_drain_answers_in_flight, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_tls, setup_tls, teardown),
        cmocka_unit_test(test_bad_tls_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
