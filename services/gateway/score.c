/* score.c - POST /v1/score: synchronous decision for one event.
 *
 * validate (shared rules) -> scorer POST /v1/score over the keep-alive pool
 * (features from the current Redis state, active model) -> on 200: produce
 * the event to events.ingest so the stream path updates state -> relay the
 * scorer's answer (score, decision, reasons, model version, features).
 *
 * Scoring happens before the event enters the stream, so the synchronous
 * score is computed on the same state the stream path will see for this
 * event (see docs/adr/0101-gateway-score-proxy.md). The stream copy is
 * produced without a callback: the producer retries it until Kafka has it. */
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway.h"

typedef struct score_event {
    char key[256];
} score_event;

static void produce_to_stream(gw *g, struct evhttp_request *req, const gw_up_response *r,
                              void *hook_arg)
{
    score_event *se = hook_arg;
    size_t len = 0;
    const char *body = ss_http_body(req, &len);
    (void)r;
    ss_send s = {.topic = g->cfg.topic_ingest,
                 .partition = RD_KAFKA_PARTITION_UA,
                 .key = se->key,
                 .keylen = strlen(se->key),
                 .value = body,
                 .valuelen = len};
    if (ss_producer_send(g->producer, &s) != 0)
        ss_log(SS_LOG_ERROR, "score: cannot queue the event for the stream", "topic",
               g->cfg.topic_ingest, NULL);
}

static void on_score(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    gw *g = arg;
    (void)p;
    if (!gw_guard(g, req, GW_SCOPE_SCORE)) return;
    json_t *doc = ss_http_body_json_flags(req, 1, 0);
    if (!doc) return;
    int is_object = json_is_object(doc);
    json_decref(doc);
    gw_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.data = ss_http_body(req, &ev.len);
    if (!is_object || gw_validate(g, &ev) != 0) {
        if (!is_object) {
            ev.err.reason = SS_EV_NOT_AN_OBJECT;
            ss_strlcpy(ev.err.detail, "expected one event object", sizeof(ev.err.detail));
        }
        ss_http_reply_problem(
            req, 400, "invalid event",
            json_pack("{s:s,s:s}", "reason", ev.err.reason, "field", ev.err.field), "bad event: %s",
            ev.err.detail);
        return;
    }
    score_event *se = ss_calloc(1, sizeof(*se));
    ss_strlcpy(se->key, ev.key, sizeof(se->key));
    gw_proxy(g, req, g->scorer, "scorer", EVHTTP_REQ_POST, "/v1/score", ev.data, ev.len,
             produce_to_stream, se);
}

void gw_routes_score(gw *g)
{
    ss_http_route(g->http, EVHTTP_REQ_POST, "/v1/score", on_score, g);
}
