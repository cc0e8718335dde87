/* sync.c - POST /v1/score: synchronous scoring for the gateway.
 *
 * request JSON -> canonical event, validated by libs/events with the same
 * rules as ingest (stable reason codes, the failing field) -> features
 * library peek (the vector this event would get from the current Redis state,
 * persisting nothing) -> active bundle -> score, decision, reasons, version.
 * The same features library and the same scoring code as the stream path, so
 * both give the same score for the same event and state.
 */
#include <math.h>
#include <string.h>

#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "events/validate.h"
#include "features/features.h"
#include "scorer.h"

struct scorer_sync {
    ss_features *features;
    ss_avro_codec *event_codec;
    const ss_event_rules *rules;
    scorer_models *models;
    ss_metric *latency;
};

typedef struct sync_req {
    scorer_sync *s;
    struct evhttp_request *req;
    int64_t t0;
} sync_req;

static void count(int status)
{
    char labels[32];
    snprintf(labels, sizeof labels, "status=\"%d\"", status);
    ss_metric_inc(ss_counter("ss_scorer_sync_requests_total",
                             "Synchronous score requests, by HTTP status.", labels));
}

void scorer_inputs_from_vector(const ss_model *model, const ss_feature_vector *v, double *x)
{
    for (size_t i = 0; i < ss_model_nfeatures(model); i++)
        x[i] = ss_feature_vector_get(v, ss_model_feature(model, i));
}

static void on_vector(const ss_feature_vector *v, const char *err, void *arg)
{
    sync_req *sr = arg;
    scorer_sync *s = sr->s;
    const ss_model *model = s->models->slot[SCORER_ACTIVE].model;
    if (!v) {
        count(503);
        ss_http_reply_problem(sr->req, 503, "feature state unavailable", NULL, "features: %s",
                              err ? err : "no vector");
    } else if (!model) {
        count(503);
        ss_http_reply_problem(sr->req, 503, "no model", NULL, "no active model loaded for %s",
                              s->models->name);
    } else {
        size_t n = ss_model_nfeatures(model);
        double *x = ss_malloc(n * sizeof *x);
        scorer_inputs_from_vector(model, v, x);
        scorer_result r;
        scorer_score(model, x, &r);
        count(200);
        ss_http_reply_json(sr->req, 200, scorer_result_json(model, v->event_id, &r, x));
        ss_free(x);
    }
    ss_metric_observe(s->latency, (double)(ss_mono_us() - sr->t0) / 1e6);
    ss_free(sr);
}

static void h_score(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    scorer_sync *s = arg;
    (void)p;
    int64_t t0 = ss_mono_us();
    if (!s->models->slot[SCORER_ACTIVE].model) {
        count(503);
        ss_http_reply_problem(req, 503, "no model", NULL, "no active model loaded for %s",
                              s->models->name);
        return;
    }
    const char *ctype = ss_http_header(req, "Content-Type");
    if (!ctype || strncasecmp(ctype, "application/json", 16) != 0) {
        count(415);
        ss_http_reply_problem(req, 415, "unsupported media type", NULL,
                              "bad request: expected Content-Type application/json, got \"%s\"",
                              ctype ? ctype : "");
        return;
    }
    size_t len = 0;
    const char *body = ss_http_body(req, &len);
    avro_value_t *ev = ss_avro_codec_new_value(s->event_codec);
    ss_event_error e;
    if (ss_event_validate_json(s->rules, body ? body : "", body ? len : 0, ev, &e) < 0) {
        count(400);
        ss_http_reply_problem(req, 400, "invalid event",
                              json_pack("{s:s,s:s}", "reason", e.reason, "field", e.field),
                              "bad event: %s", e.detail);
        return;
    }
    char err[512];
    sync_req *sr = ss_calloc(1, sizeof *sr);
    sr->s = s;
    sr->req = req;
    sr->t0 = t0;
    if (ss_features_peek(s->features, ev, on_vector, sr, err, sizeof err) < 0) {
        count(400);
        ss_http_reply_problem(req, 400, "invalid event", NULL, "bad event: %s", err);
        ss_free(sr);
    }
}

scorer_sync *scorer_sync_new(ss_http *h, struct ss_features *features, ss_avro_codec *event_codec,
                             const struct ss_event_rules *rules, scorer_models *models)
{
    scorer_sync *s = ss_calloc(1, sizeof *s);
    s->features = features;
    s->event_codec = event_codec;
    s->rules = rules;
    s->models = models;
    s->latency = ss_histogram("ss_scorer_sync_seconds",
                              "Synchronous scoring time (features peek + model), per request.",
                              NULL, NULL, 0);
    ss_http_route(h, EVHTTP_REQ_POST, "/v1/score", h_score, s);
    return s;
}

void scorer_sync_free(scorer_sync *s)
{
    ss_free(s);
}
