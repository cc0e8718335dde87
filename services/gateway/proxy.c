/* proxy.c - relay a request to an upstream (scorer, drift) and its answer
 * back: the upstream's status and body pass through untouched (its errors are
 * already problem+json); a timeout is a 504 and an unreachable upstream a 503
 * with Retry-After, never a hang. */
#include <event2/buffer.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway.h"

typedef struct proxy_call {
    gw *g;
    struct evhttp_request *req;
    const char *what;
    gw_proxy_hook on_2xx;
    void *hook_arg;
} proxy_call;

static void on_upstream(const gw_up_response *r, void *arg)
{
    proxy_call *c = arg;
    gw *g = c->g;
    struct evhttp_request *req = c->req;
    g->pending--;
    if (r->result == GW_UP_TIMEOUT) {
        ss_http_reply_problem(req, 504, "upstream timeout", json_pack("{s:s}", "upstream", c->what),
                              "%s did not answer within %.0f ms", c->what, r->seconds * 1000);
    } else if (r->result == GW_UP_UNAVAILABLE) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        ss_http_reply_problem(req, 503, "upstream unavailable",
                              json_pack("{s:s}", "upstream", c->what),
                              "%s is unavailable: connection failed", c->what);
    } else {
        if (r->status >= 200 && r->status < 300 && c->on_2xx) c->on_2xx(g, req, r, c->hook_arg);
        ss_http_reply_text(req, r->status, r->ctype ? r->ctype : "application/json", r->body,
                           r->len);
    }
    ss_free(c->hook_arg);
    ss_free(c);
}

void gw_proxy(gw *g, struct evhttp_request *req, gw_upstream *u, const char *what,
              enum evhttp_cmd_type method, const char *path, const char *body, size_t len,
              gw_proxy_hook on_2xx, void *hook_arg)
{
    proxy_call *c = ss_calloc(1, sizeof(*c));
    c->g = g;
    c->req = req;
    c->what = what;
    c->on_2xx = on_2xx;
    c->hook_arg = hook_arg;
    g->pending++;
    gw_upstream_request(u, method, path, body, len, on_upstream, c);
}
