/* streamscore-scorer: features.enriched -> model -> scores.
 *
 *   decode FeatureVector -> inputs in bundle order -> active model (+ shadow)
 *   -> score, decision, TreeSHAP reasons -> encode Score -> produce -> offset
 *   stored after the delivery reports.
 *
 * Also: POST /v1/score (synchronous, features peek), the registry admin
 * routes, hot reload of the active/shadow bundles from the Redis registry,
 * /metrics /healthz /readyz. `streamscore-scorer promote|rollback|shadow|list`
 * runs a registry command and exits.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/service.h"
#include "common/util.h"
#include "features/features.h"
#include "scorer.h"

#define CFG(field) offsetof(scorer_config, field)
const ss_config_entry scorer_config_table[] = {
    SS_CFG_KAFKA_BROKERS(scorer_config, kafka_brokers),
    SS_CFG_REDIS_URL(scorer_config, redis_url, "registry pointers and feature state."),
    SS_CFG_SCHEMAS(scorer_config, schema_dir, schema_registry_url),
    {"TOPIC_FEATURES", SS_CFG_STRING, "features.enriched", SS_UNBOUNDED, CFG(topic_features),
     "Input topic (FeatureVector)."},
    {"TOPIC_SCORES", SS_CFG_STRING, "scores", SS_UNBOUNDED, CFG(topic_scores),
     "Output topic (Score, PRIMARY and SHADOW)."},
    {"TOPIC_DLQ", SS_CFG_STRING, "events.dlq", SS_UNBOUNDED, CFG(topic_dlq),
     "Dead-letter topic for undecodable feature vectors."},
    {"GROUP_ID", SS_CFG_STRING, "streamscore-scorer", SS_UNBOUNDED, CFG(group_id),
     "Consumer group."},
    {"MODEL_STORE", SS_CFG_STRING, "models", SS_UNBOUNDED, CFG(model_store),
     "Bundle store directory: <store>/<name>/<version>/bundle.json."},
    {"MODEL_NAME", SS_CFG_STRING, "card-fraud", SS_UNBOUNDED, CFG(model_name), "Model name."},
    {"MODEL_VERSION", SS_CFG_STRING, "", SS_UNBOUNDED, CFG(model_version),
     "Version served while the registry names no active version (empty = wait for one)."},
    {"MODEL_POLL_INTERVAL", SS_CFG_DURATION, "500ms", 10, 60000, CFG(poll_ms),
     "How often the registry pointers are read."},
    {"FEATURES_FILE", SS_CFG_STRING, "features/card_fraud.json", SS_UNBOUNDED, CFG(features_file),
     "Feature definitions (synchronous path)."},
    SS_CFG_HTTP(scorer_config, http_bind, http_port, "8083",
                "/v1/score, the registry API, /metrics, /healthz, /readyz"),
    {"DRAIN_TIMEOUT", SS_CFG_DURATION, "30s", 0, 600000, CFG(drain_ms),
     "On SIGTERM: how long to wait for in-flight events."},
    SS_EVENT_RULES_CONFIG(scorer_config, rules),
    SS_CFG_END,
};

typedef struct app {
    scorer_config cfg;
    struct event_base *base;
    ss_avro_registry *reg;
    ss_avro_codec *event_codec;
    ss_event_rules *rules;
    ss_redis *redis;
    ss_feature_defs *defs;
    ss_features *features;
    ss_http *http;
    scorer_models models;
    scorer_stream *stream;
    scorer_sync *sync;
    scorer_admin *admin;
    int stopping;
    int draining; /* parts still draining at shutdown: HTTP, the consumer */
} app;

/* The consumer starts once an active model serves: no event waits on a model. */
static void on_models_changed(void *arg)
{
    app *a = arg;
    char err[512];
    if (a->stopping || !a->stream || !a->models.slot[SCORER_ACTIVE].model) return;
    if (scorer_stream_consumer(a->stream)) return;
    if (scorer_stream_start(a->stream, err, sizeof err) < 0) {
        ss_log(SS_LOG_ERROR, "cannot start the consumer", "error", err, NULL);
        event_base_loopbreak(a->base);
        return;
    }
    ss_http_add_ready_check(a->http, "kafka", (ss_ready_fn)ss_consumer_ready,
                            scorer_stream_consumer(a->stream));
    ss_log(SS_LOG_INFO, "consuming", "topic", a->cfg.topic_features, NULL);
}

/* Each draining part calls this once; the loop ends after the last. */
static void on_drained(void *arg)
{
    app *a = arg;
    if (--a->draining == 0) event_base_loopexit(a->base, NULL);
}

/* Stop: the consumer finishes the events it holds; the HTTP side answers
 * every synchronous score it received (the gateway is waiting for them). */
static void on_stop(void *arg)
{
    app *a = arg;
    if (a->stopping) return;
    a->stopping = 1;
    ss_log(SS_LOG_INFO, "stopping: draining in-flight events and requests", NULL);
    ss_consumer *c = scorer_stream_consumer(a->stream);
    a->draining = c ? 2 : 1;
    ss_http_drain(a->http, (int)a->cfg.drain_ms, on_drained, a);
    if (c) ss_consumer_drain(c, (int)a->cfg.drain_ms, on_drained, a);
}

static int setup(app *a, char *err, size_t errlen)
{
    scorer_config *cfg = &a->cfg;
    a->reg = ss_avro_registry_new(cfg->schema_dir, cfg->schema_registry_url, err, errlen);
    if (!a->reg) return -1;
    ss_avro_registry_set_wait(a->reg, SS_AVRO_LOOP_WAIT_MS);
    a->event_codec = ss_avro_codec_new(a->reg, "CardTransaction", NULL, err, errlen);
    if (!a->event_codec) return -1;
    a->rules = ss_event_rules_new(&cfg->rules, ss_avro_codec_schema(a->event_codec), err, errlen);
    if (!a->rules) return -1;
    a->redis = ss_redis_new(a->base, cfg->redis_url, err, errlen);
    if (!a->redis) return -1;
    a->defs = ss_feature_defs_load(cfg->features_file, err, errlen);
    if (!a->defs) return -1;
    a->features = ss_features_new(a->redis, a->defs, NULL, err, errlen);
    if (!a->features) return -1;
    ss_http_opts hopts = {.bind = cfg->http_bind, .port = (int)cfg->http_port};
    a->http = ss_http_new(a->base, &hopts, err, errlen);
    if (!a->http) return -1;
    scorer_models_init(&a->models, cfg->model_store, cfg->model_name);
    a->models.on_change = on_models_changed;
    a->models.on_change_arg = a;
    a->stream = scorer_stream_new(a->base, cfg, a->reg, &a->models, err, errlen);
    if (!a->stream) return -1;
    a->sync = scorer_sync_new(a->http, a->features, a->event_codec, a->rules, &a->models);
    a->admin = scorer_admin_new(a->http, a->redis, &a->models);
    ss_http_add_ready_check(a->http, "model", scorer_models_ready, &a->models);
    ss_http_add_ready_check(a->http, "redis", ss_redis_ready_check, a->redis);
    ss_http_add_ops_routes(a->http);
    if (*cfg->model_version) {
        char lerr[1024];
        if (scorer_models_load(&a->models, SCORER_ACTIVE, cfg->model_version, lerr, sizeof lerr) <
            0)
            ss_log(SS_LOG_WARN, "MODEL_VERSION did not load; waiting for the registry", "error",
                   lerr, NULL);
    }
    scorer_models_watch(&a->models, a->base, a->redis, cfg->poll_ms);
    ss_logf(SS_LOG_INFO, "http on port %d, model %s from %s", ss_http_port(a->http),
            cfg->model_name, cfg->model_store);
    return 0;
}

/* Order matters: Redis callbacks still pending run while ss_redis_free tears
 * the connection down (admin replies, features peeks answering /v1/score,
 * registry polls), so everything they touch (http, sync, admin, models)
 * outlives it; ss_features_free defers to its last reply. */
static void teardown(app *a)
{
    a->stopping = 1;               /* no consumer start from a late model swap */
    scorer_stream_free(a->stream); /* flushes outstanding scores */
    a->stream = NULL;
    if (a->features) ss_features_free(a->features);
    if (a->redis) ss_redis_free(a->redis);
    scorer_admin_free(a->admin);
    scorer_sync_free(a->sync);
    if (a->http) ss_http_free(a->http);
    scorer_models_free(&a->models);
    if (a->defs) ss_feature_defs_free(a->defs);
    if (a->rules) ss_event_rules_free(a->rules);
    if (a->event_codec) ss_avro_codec_free(a->event_codec);
    if (a->reg) ss_avro_registry_free(a->reg);
    ss_service_signals_free();
    if (a->base) event_base_free(a->base);
    ss_config_free(scorer_config_table, &a->cfg);
}

int main(int argc, char **argv)
{
    static app a;
    const char *summary = "Scores feature vectors with the registry's active model (and shadow); "
                          "synchronous scoring and registry admin over HTTP. Commands: promote "
                          "<version>, rollback, shadow <version|->, list.";
    ss_log_init("scorer");
    if (argc > 1 && argv[1][0] != '-') {
        if (!getenv("LOG_LEVEL")) ss_log_set_level(SS_LOG_WARN); /* a CLI prints results */
        ss_config_main(1, argv, "streamscore-scorer", summary, scorer_config_table, &a.cfg);
        int rc = scorer_admin_cli(&a.cfg, argc, argv);
        ss_config_free(scorer_config_table, &a.cfg);
        return rc;
    }
    ss_config_main(argc, argv, "streamscore-scorer", summary, scorer_config_table, &a.cfg);
    a.base = event_base_new();
    char err[1024];
    int rc = 0;
    if (setup(&a, err, sizeof err) < 0) {
        ss_log(SS_LOG_ERROR, "scorer failed to start", "error", err, NULL);
        rc = 1;
    } else {
        ss_service_signals(a.base, on_stop, &a);
        event_base_dispatch(a.base);
    }
    teardown(&a);
    return rc;
}
