/* read.c - the read and admin routes:
 *   GET  /v1/features/{entity}/{id}     latest online vector from Redis (written by the
 *                                       features service, docs/features.md)
 *   GET  /v1/models                     \
 *   POST /v1/models/{version}/promote    | the scorer's registry admin API
 *   POST /v1/models/rollback             | (docs/adr/0102-gateway-model-admin.md)
 *   PUT  /v1/models/shadow  {"version"}  |
 *   DELETE /v1/models/shadow            /
 *   GET  /v1/drift                      the drift service's report */
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "features/features.h"
#include "gateway.h"

/* Ids and names that go into Redis keys and upstream paths. */
static int safe_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.' || c == ':' || c == '@';
        if (!ok) return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- features */

typedef struct feat_call {
    gw *g;
    struct evhttp_request *req; /* NULL once answered (timeout) */
    struct event *timer;
    char key[600];
    char entity[80];
    char id[256];
} feat_call;

static void feat_answer_done(feat_call *c)
{
    c->req = NULL;
    c->g->pending--;
    if (c->timer) {
        event_free(c->timer);
        c->timer = NULL;
    }
}

static void on_feat_timeout(evutil_socket_t fd, short what, void *arg)
{
    feat_call *c = arg;
    (void)fd;
    (void)what;
    struct evhttp_request *req = c->req;
    feat_answer_done(c);
    ss_http_reply_problem(req, 504, "upstream timeout", json_pack("{s:s}", "upstream", "redis"),
                          "redis did not answer within %lld ms",
                          (long long)c->g->cfg.redis_timeout_ms);
    /* c is freed by the Redis callback, which ss_redis runs exactly once */
}

static json_t *hash_to_json(const redisReply *r)
{
    json_t *o = json_object();
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *k = r->element[i]->str, *v = r->element[i + 1]->str;
        char *end = NULL;
        double d = strtod(v, &end);
        json_t *jv = NULL;
        if (end && *end == '\0' && end != v) jv = json_real(d);
        if (!jv) jv = json_loads(v, JSON_DECODE_ANY, NULL);
        if (!jv) jv = json_string(v);
        json_object_set_new(o, k, jv);
    }
    return o;
}

static void on_feat_reply(ss_redis *r, redisReply *reply, void *arg)
{
    feat_call *c = arg;
    (void)r;
    struct evhttp_request *req = c->req;
    if (!req) { /* already answered by the timeout */
        ss_free(c);
        return;
    }
    gw *g = c->g;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "WRONGTYPE", 9) == 0) {
        /* written as a hash rather than a JSON string: read it as one */
        const char *argv[] = {"HGETALL", c->key};
        ss_redis_command(g->redis, 2, argv, NULL, on_feat_reply, c);
        return;
    }
    feat_answer_done(c);
    json_t *vec = NULL;
    if (reply->type == REDIS_REPLY_STRING) {
        json_error_t e;
        vec = json_loadb(reply->str, reply->len, 0, &e);
        if (!vec) {
            ss_http_reply_problem(req, 502, "bad online vector", json_pack("{s:s}", "key", c->key),
                                  "online vector under %s is not JSON: %s", c->key, e.text);
            ss_free(c);
            return;
        }
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
        vec = hash_to_json(reply);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        ss_http_reply_problem(req, 502, "redis error", NULL, "reading %s failed: %s", c->key,
                              reply->str);
        ss_free(c);
        return;
    }
    if (!vec) {
        ss_http_reply_problem(req, 404, "no online features",
                              json_pack("{s:s,s:s}", "entity", c->entity, "id", c->id),
                              "no online feature vector for %s %s (never seen, or expired)",
                              c->entity, c->id);
        ss_free(c);
        return;
    }
    if (json_is_object(vec)) {
        if (!json_object_get(vec, "entity"))
            json_object_set_new(vec, "entity", json_string(c->entity));
        if (!json_object_get(vec, "id")) json_object_set_new(vec, "id", json_string(c->id));
    }
    ss_http_reply_json(req, 200, vec);
    ss_free(c);
}

static void on_features(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    gw *g = arg;
    if (!gw_guard(g, req, GW_SCOPE_READ)) return;
    const char *entity = ss_http_param(p, "entity"), *id = ss_http_param(p, "id");
    if (!safe_token(entity, 64) || strchr(entity, ':')) {
        ss_http_reply_problem(req, 400, "bad entity", json_pack("{s:s}", "entity", entity),
                              "bad request: entity \"%s\": expected letters, digits, '_', '-' or "
                              "'.' (at most 64)",
                              entity);
        return;
    }
    if (strlen(id) == 0 || strlen(id) > 200) {
        ss_http_reply_problem(req, 400, "bad id", NULL,
                              "bad request: id: expected 1 to 200 bytes, got %zu", strlen(id));
        return;
    }
    if (!ss_redis_ready(g->redis)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        ss_http_reply_problem(req, 503, "upstream unavailable",
                              json_pack("{s:s}", "upstream", "redis"),
                              "redis is unavailable: not connected");
        return;
    }
    feat_call *c = ss_calloc(1, sizeof(*c));
    c->g = g;
    c->req = req;
    ss_buf key;
    ss_buf_init(&key);
    ss_features_online_key(g->cfg.online_prefix, entity, id,
                           &key); /* the features library's layout */
    ss_strlcpy(c->key, key.data, sizeof(c->key));
    ss_buf_free(&key);
    ss_strlcpy(c->entity, entity, sizeof(c->entity));
    ss_strlcpy(c->id, id, sizeof(c->id));
    c->timer = evtimer_new(g->base, on_feat_timeout, c);
    struct timeval tv = {g->cfg.redis_timeout_ms / 1000, (g->cfg.redis_timeout_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
    g->pending++;
    const char *argv[] = {"GET", c->key};
    ss_redis_command(g->redis, 2, argv, NULL, on_feat_reply, c);
}

/* ------------------------------------------------------------------ models */

/* The model name for admin calls: ?model=<name>, else MODEL_NAME. 0, or
 * replied 400. */
static int model_name(gw *g, struct evhttp_request *req, char *out, size_t n)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq args = {NULL, &args.tqh_first}; /* TAILQ_INIT */
    const char *m = NULL;
    if (q && evhttp_parse_query_str(q, &args) == 0) m = evhttp_find_header(&args, "model");
    ss_strlcpy(out, m ? m : g->cfg.model_name, n);
    evhttp_clear_headers(&args);
    if (!safe_token(out, 100)) {
        ss_http_reply_problem(req, 400, "bad model name", NULL,
                              "bad request: model \"%s\": expected letters, digits, '_', '-', '.'",
                              out);
        return -1;
    }
    return 0;
}

static void on_models_list(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    gw *g = arg;
    (void)p;
    if (!gw_guard(g, req, GW_SCOPE_READ)) return;
    gw_proxy(g, req, g->scorer, "scorer", EVHTTP_REQ_GET, "/v1/models", NULL, 0, NULL, NULL);
}

static int version_ok(struct evhttp_request *req, const char *v)
{
    if (v && safe_token(v, 128) && strcmp(v, ".") && strcmp(v, "..")) return 1;
    ss_http_reply_problem(req, 400, "bad version", NULL,
                          "bad request: version \"%s\": expected letters, digits, '_', '-', '.'",
                          v ? v : "(none)");
    return 0;
}

/* {"version":"<v>"}; v is a safe token, nothing to escape */
static void version_body(char *out, size_t n, const char *version)
{
    snprintf(out, n, "{\"version\":\"%s\"}", version);
}

static void on_promote(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    gw *g = arg;
    if (!gw_guard(g, req, GW_SCOPE_ADMIN)) return;
    const char *version = ss_http_param(p, "version");
    char name[128], path[256];
    if (!version_ok(req, version) || model_name(g, req, name, sizeof(name))) return;
    snprintf(path, sizeof(path), "/v1/models/%s/promote", name);
    char body[256];
    version_body(body, sizeof(body), version);
    gw_proxy(g, req, g->scorer, "scorer", EVHTTP_REQ_POST, path, body, strlen(body), NULL, NULL);
}

static void on_rollback(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    gw *g = arg;
    (void)p;
    if (!gw_guard(g, req, GW_SCOPE_ADMIN)) return;
    char name[128], path[256];
    if (model_name(g, req, name, sizeof(name))) return;
    snprintf(path, sizeof(path), "/v1/models/%s/rollback", name);
    gw_proxy(g, req, g->scorer, "scorer", EVHTTP_REQ_POST, path, "{}", 2, NULL, NULL);
}

static void on_shadow(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    gw *g = arg;
    (void)p;
    if (!gw_guard(g, req, GW_SCOPE_ADMIN)) return;
    char name[128], path[256];
    if (model_name(g, req, name, sizeof(name))) return;
    snprintf(path, sizeof(path), "/v1/models/%s/shadow", name);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_DELETE) {
        gw_proxy(g, req, g->scorer, "scorer", EVHTTP_REQ_DELETE, path, NULL, 0, NULL, NULL);
        return;
    }
    json_t *doc = ss_http_body_json(req, 1);
    if (!doc) return;
    const char *version = json_string_value(json_object_get(doc, "version"));
    if (!json_is_object(doc) || !version_ok(req, version)) {
        json_decref(doc);
        return;
    }
    char body[256];
    version_body(body, sizeof(body), version);
    json_decref(doc);
    gw_proxy(g, req, g->scorer, "scorer", EVHTTP_REQ_PUT, path, body, strlen(body), NULL, NULL);
}

/* ------------------------------------------------------------------- drift */

static void on_drift(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    gw *g = arg;
    (void)p;
    if (!gw_guard(g, req, GW_SCOPE_READ)) return;
    if (!g->drift) {
        ss_http_reply_problem(req, 503, "upstream unavailable",
                              json_pack("{s:s}", "upstream", "drift"),
                              "drift service not configured (DRIFT_URL is empty)");
        return;
    }
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    char path[1024];
    snprintf(path, sizeof(path), "/v1/drift%s%s", q ? "?" : "", q ? q : "");
    gw_proxy(g, req, g->drift, "drift", EVHTTP_REQ_GET, path, NULL, 0, NULL, NULL);
}

void gw_routes_read(gw *g)
{
    ss_http_route(g->http, EVHTTP_REQ_GET, "/v1/features/{entity}/{id}", on_features, g);
    ss_http_route(g->http, EVHTTP_REQ_GET, "/v1/models", on_models_list, g);
    ss_http_route(g->http, EVHTTP_REQ_POST, "/v1/models/{version}/promote", on_promote, g);
    ss_http_route(g->http, EVHTTP_REQ_POST, "/v1/models/rollback", on_rollback, g);
    ss_http_route(g->http, EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE, "/v1/models/shadow", on_shadow, g);
    ss_http_route(g->http, EVHTTP_REQ_GET, "/v1/drift", on_drift, g);
}
