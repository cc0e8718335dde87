/* scorer.h - the scorer service's stages (docs/scorer.md):
 *   models.c  the serving bundles and the registry watch (hot reload)
 *   score.c   inputs -> score, decision, reasons; Score records; JSON replies
 *   stream.c  features.enriched -> scores (primary + shadow)
 *   sync.c    POST /v1/score (features peek from Redis state)
 *   admin.c   registry admin routes and CLI
 */
#ifndef SS_SCORER_H
#define SS_SCORER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <avro.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/avro.h"
#include "common/config.h"
#include "common/http.h"
#include "common/kafka.h"
#include "common/metrics.h"
#include "events/validate.h"
#include "common/redis.h"
#include "model/model.h"
#include "model/registry.h"

typedef struct scorer_config {
    char *kafka_brokers;
    char *redis_url;
    char *schema_dir;
    char *schema_registry_url;
    char *topic_features;
    char *topic_scores;
    char *topic_dlq;
    char *group_id;
    char *model_store;
    char *model_name;
    char *model_version; /* served while Redis names no active version */
    char *features_file;
    char *http_bind;
    int64_t http_port;
    int64_t poll_ms;
    int64_t drain_ms;
    ss_event_rules_config rules; /* POST /v1/score validation, as ingest's */
} scorer_config;

extern const ss_config_entry scorer_config_table[];

/* ------------------------------------------------------------ models.c */

enum { SCORER_ACTIVE = 0, SCORER_SHADOW = 1 };

/** A loaded bundle with its per-version metric series. */
typedef struct scorer_slot {
    ss_model *model;      /* NULL = none */
    ss_metric *scores[3]; /* ss_scorer_scores_total{version,role,decision} */
} scorer_slot;

typedef struct scorer_load_job scorer_load_job;

typedef struct scorer_models {
    const char *store;
    const char *name;
    scorer_slot slot[2];                     /* active, shadow */
    char want[2][SS_REGISTRY_MAX_VERSION];   /* what the registry names */
    char failed[2][SS_REGISTRY_MAX_VERSION]; /* version that last failed to load */
    scorer_load_job *job[2];                 /* load in flight per role, or NULL */
    pthread_t thread[2];
    int notify[2];           /* loader threads -> loop */
    struct event *loaded_ev; /* set by watch: loads go to threads */
    ss_metric *reloads[2], *failures[2];
    ss_redis *redis;
    struct event *poll;
    int polling;                  /* a registry GET is outstanding */
    void (*on_change)(void *arg); /* after any swap */
    void *on_change_arg;
} scorer_models;

void scorer_models_init(scorer_models *m, const char *store, const char *name);
/** Serve `version` for role at once (start-up default); 0 / -1 with err. */
int scorer_models_load(scorer_models *m, int role, const char *version, char *err, size_t errlen);
/** Apply registry state: load what changed, keep serving on failure. After
 * scorer_models_watch loads run on a loader thread and swap in when done;
 * before it (start-up, tests) they are synchronous. */
void scorer_models_apply(scorer_models *m, const ss_registry_state *st);
/** Poll the registry pointers through r every interval_ms. */
void scorer_models_watch(scorer_models *m, struct event_base *base, ss_redis *r,
                         int64_t interval_ms);
/** Poll now (e.g. after an admin change). */
void scorer_models_poll_now(scorer_models *m);
void scorer_models_free(scorer_models *m);
int scorer_models_ready(void *m, char *why, size_t whylen); /* ss_ready_fn */

/* ------------------------------------------------------------ score.c */

#define SCORER_MAX_REASONS 16

typedef struct scorer_result {
    double score;
    ss_decision decision;
    size_t nreasons;
    ss_reason reasons[SCORER_MAX_REASONS];
} scorer_result;

/** Score one input row (bundle order, NaN = missing) with model. */
void scorer_score(const ss_model *model, const double *x, scorer_result *out);
/** Bundle-ordered inputs from a FeatureVector's "features" map (Avro map of
 * union{null,double}); absent names and nulls are NaN. x: nfeatures doubles.
 * Returns the number of bundle features absent from the map. */
size_t scorer_inputs_from_map(const ss_model *model, avro_value_t *features, double *x);

/** Fill a streamscore.Score value. */
typedef struct scorer_event {
    const char *event_id;
    const char *entity_id;
    int64_t event_time_ms;
} scorer_event;
int scorer_fill_score(avro_value_t *out, const ss_model *model, int role, const scorer_event *ev,
                      const scorer_result *r, const double *x, int64_t scored_at_ms, char *err,
                      size_t errlen);
/** The /v1/score reply body. */
json_t *scorer_result_json(const ss_model *model, const char *event_id, const scorer_result *r,
                           const double *x);

/* ------------------------------------------------------------ the service */


/* stream.c */
typedef struct scorer_stream scorer_stream;
scorer_stream *scorer_stream_new(struct event_base *base, const scorer_config *cfg,
                                 ss_avro_registry *reg, scorer_models *models, char *err,
                                 size_t errlen);
/** Start consuming (once an active model is loaded). */
int scorer_stream_start(scorer_stream *s, char *err, size_t errlen);
void scorer_stream_free(scorer_stream *s);
ss_consumer *scorer_stream_consumer(scorer_stream *s);
ss_producer *scorer_stream_producer(scorer_stream *s);
/** Score one decoded FeatureVector and produce its records (tests use it
 * directly). in may be NULL. Returns 0, -1 for a record it cannot use. */
int scorer_stream_handle(scorer_stream *s, avro_value_t *fv, ss_inflight *in, char *err,
                         size_t errlen);

/* sync.c */
typedef struct scorer_sync scorer_sync;
struct ss_features;
struct ss_feature_vector;
/** Bundle-ordered inputs from a features-library vector (the synchronous
 * path's twin of scorer_inputs_from_map); unknown names and nulls are NaN. */
void scorer_inputs_from_vector(const ss_model *model, const struct ss_feature_vector *v, double *x);
struct ss_event_rules;
/** POST /v1/score on h; rules validate request bodies into values of
 * event_codec's schema (the canonical event, as ingest does), features
 * computes their vectors (peek). */
scorer_sync *scorer_sync_new(ss_http *h, struct ss_features *features, ss_avro_codec *event_codec,
                             const struct ss_event_rules *rules, scorer_models *models);
void scorer_sync_free(scorer_sync *s);

/* admin.c */
typedef struct scorer_admin scorer_admin;
/** GET /v1/models, POST /v1/models/{name}/promote|rollback,
 * PUT|DELETE /v1/models/{name}/shadow. */
scorer_admin *scorer_admin_new(ss_http *h, ss_redis *r, scorer_models *models);
void scorer_admin_free(scorer_admin *a);
/** CLI: promote <v> | rollback | shadow <v|-> | list. Returns the exit status. */
int scorer_admin_cli(const scorer_config *cfg, int argc, char **argv);

#endif
