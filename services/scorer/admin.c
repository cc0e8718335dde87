/* admin.c - the registry over HTTP and as a CLI (docs/scorer.md).
 *
 * HTTP operations run on the service's async Redis connection: each is a
 * short chain of registry commands (libs/model registry.h) ending in exactly
 * one reply. Bundles are validated (fully loaded) before a pointer may name
 * them; after a change this instance polls the registry at once, the others
 * within their poll interval.
 */
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "scorer.h"

struct scorer_admin {
    ss_redis *redis;
    scorer_models *models;
};

typedef enum { OP_LIST, OP_PROMOTE, OP_ROLLBACK, OP_SHADOW } op_kind;

typedef struct admin_op {
    scorer_admin *a;
    struct evhttp_request *req;
    op_kind kind;
    char name[SS_REGISTRY_MAX_VERSION];
    char version[SS_REGISTRY_MAX_VERSION]; /* target ("" = clear shadow) */
    char previous[SS_REGISTRY_MAX_VERSION];
} admin_op;

static json_t *versions_json(const char *store, const char *name)
{
    json_t *arr = json_array();
    char **v = NULL, err[256];
    size_t n = 0;
    if (ss_registry_versions(store, name, &v, &n, err, sizeof err) == 0)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_string(v[i]));
    ss_registry_versions_free(v, n);
    return arr;
}

static json_t *str_or_null(const char *s)
{
    return *s ? json_string(s) : json_null();
}

static json_t *state_json(admin_op *op, const ss_registry_state *st)
{
    scorer_models *m = op->a->models;
    json_t *hist = json_array();
    for (int i = 0; i < st->nhistory; i++)
        json_array_append_new(hist, json_string(st->history[i]));
    json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:o}", "name", op->name, "active",
                          str_or_null(st->active), "shadow", str_or_null(st->shadow), "history",
                          hist, "versions", versions_json(m->store, op->name));
    if (strcmp(op->name, m->name) == 0) {
        const ss_model *act = m->slot[SCORER_ACTIVE].model, *sh = m->slot[SCORER_SHADOW].model;
        json_object_set_new(
            o, "loaded",
            json_pack("{s:o,s:o}", "active", act ? json_string(ss_model_version(act)) : json_null(),
                      "shadow", sh ? json_string(ss_model_version(sh)) : json_null()));
    }
    if (op->kind != OP_LIST) json_object_set_new(o, "previous", str_or_null(op->previous));
    return o;
}

static void op_free(admin_op *op)
{
    ss_free(op);
}

static void send_cmd(admin_op *op, ss_registry_cmd *c, ss_redis_cb cb)
{
    ss_redis_command(op->a->redis, c->argc, c->argv, c->argvlen, cb, op);
}

static void on_final_state(ss_redis *r, redisReply *reply, void *arg)
{
    admin_op *op = arg;
    (void)r;
    ss_registry_state st;
    char err[256];
    if (ss_registry_parse_state(reply, &st, err, sizeof err) < 0)
        ss_http_reply_problem(op->req, 503, "registry unavailable", NULL, "%s", err);
    else
        ss_http_reply_json(op->req, 200, state_json(op, &st));
    op_free(op);
}

static void get_state(admin_op *op, ss_redis_cb cb)
{
    ss_registry_cmd c;
    ss_registry_cmd_get(&c, op->name);
    send_cmd(op, &c, cb);
}

static void on_changed(ss_redis *r, redisReply *reply, void *arg)
{
    admin_op *op = arg;
    (void)r;
    char err[256], out[SS_REGISTRY_MAX_VERSION];
    if (ss_registry_parse_change(reply, out, sizeof out, err, sizeof err) < 0) {
        ss_http_reply_problem(op->req, 409, "registry change refused", NULL, "%s", err);
        op_free(op);
        return;
    }
    if (op->kind == OP_PROMOTE) ss_strlcpy(op->previous, out, sizeof op->previous);
    ss_log(SS_LOG_INFO, "registry changed", "op",
           op->kind == OP_PROMOTE    ? "promote"
           : op->kind == OP_ROLLBACK ? "rollback"
                                     : "shadow",
           "name", op->name, "version", op->kind == OP_ROLLBACK ? out : op->version, NULL);
    if (strcmp(op->name, op->a->models->name) == 0) scorer_models_poll_now(op->a->models);
    get_state(op, on_final_state);
}

/* Validate a bundle; on failure reply (404 unknown, 422 invalid) and return -1. */
static int validate(admin_op *op, const char *version)
{
    char err[1024];
    if (ss_registry_validate(op->a->models->store, op->name, version, err, sizeof err) == 0)
        return 0;
    int unknown = strstr(err, "no such bundle directory") || strstr(err, "bad model reference");
    ss_metric_inc(op->a->models->failures[op->kind == OP_SHADOW ? SCORER_SHADOW : SCORER_ACTIVE]);
    ss_http_reply_problem(op->req, unknown ? 404 : 422,
                          unknown ? "unknown model version" : "bundle refused", NULL, "%s", err);
    return -1;
}

static void on_rollback_state(ss_redis *r, redisReply *reply, void *arg)
{
    admin_op *op = arg;
    (void)r;
    ss_registry_state st;
    char err[256];
    if (ss_registry_parse_state(reply, &st, err, sizeof err) < 0) {
        ss_http_reply_problem(op->req, 503, "registry unavailable", NULL, "%s", err);
        op_free(op);
        return;
    }
    if (st.nhistory == 0) {
        ss_http_reply_problem(op->req, 409, "registry change refused", NULL,
                              "rollback: no previous version of %s", op->name);
        op_free(op);
        return;
    }
    if (validate(op, st.history[0]) < 0) {
        op_free(op);
        return;
    }
    ss_strlcpy(op->previous, st.active, sizeof op->previous);
    ss_registry_cmd c;
    ss_registry_cmd_rollback(&c, op->name, st.history[0]);
    send_cmd(op, &c, on_changed);
}

static admin_op *op_new(scorer_admin *a, struct evhttp_request *req, op_kind kind,
                        const ss_http_params *p)
{
    const char *name = p ? ss_http_param(p, "name") : a->models->name;
    char **v = NULL, err[256];
    size_t n = 0;
    if (!name || ss_registry_versions(a->models->store, name, &v, &n, err, sizeof err) < 0) {
        ss_http_reply_problem(req, 404, "unknown model", NULL, "no model \"%s\" in the store",
                              name ? name : "");
        return NULL;
    }
    ss_registry_versions_free(v, n);
    admin_op *op = ss_calloc(1, sizeof *op);
    op->a = a;
    op->req = req;
    op->kind = kind;
    ss_strlcpy(op->name, name, sizeof op->name);
    return op;
}

/* Body {"version": "..."}; replies 400 and returns -1 when absent. */
static int body_version(admin_op *op)
{
    json_t *body = ss_http_body_json(op->req, 0);
    if (!body) return -1; /* replied */
    const char *v = json_string_value(json_object_get(body, "version"));
    if (!v || !*v || strlen(v) >= sizeof op->version) {
        ss_http_reply_problem(op->req, 400, "bad request", NULL,
                              "bad request: field \"version\": expected a version string");
        json_decref(body);
        return -1;
    }
    ss_strlcpy(op->version, v, sizeof op->version);
    json_decref(body);
    return 0;
}

static void h_list(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    (void)p;
    admin_op *op = op_new(arg, req, OP_LIST, NULL);
    if (op) get_state(op, on_final_state);
}

static void h_promote(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    admin_op *op = op_new(arg, req, OP_PROMOTE, p);
    if (!op) return;
    if (body_version(op) < 0 || validate(op, op->version) < 0) {
        op_free(op);
        return;
    }
    ss_registry_cmd c;
    ss_registry_cmd_promote(&c, op->name, op->version);
    send_cmd(op, &c, on_changed);
}

static void h_rollback(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    admin_op *op = op_new(arg, req, OP_ROLLBACK, p);
    if (op) get_state(op, on_rollback_state);
}

static void h_shadow(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    admin_op *op = op_new(arg, req, OP_SHADOW, p);
    if (!op) return;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_DELETE &&
        (body_version(op) < 0 || validate(op, op->version) < 0)) {
        op_free(op);
        return;
    }
    ss_registry_cmd c;
    ss_registry_cmd_shadow(&c, op->name, op->version);
    send_cmd(op, &c, on_changed);
}

scorer_admin *scorer_admin_new(ss_http *h, ss_redis *r, scorer_models *models)
{
    scorer_admin *a = ss_calloc(1, sizeof *a);
    a->redis = r;
    a->models = models;
    ss_http_route(h, EVHTTP_REQ_GET, "/v1/models", h_list, a);
    ss_http_route(h, EVHTTP_REQ_POST, "/v1/models/{name}/promote", h_promote, a);
    ss_http_route(h, EVHTTP_REQ_POST, "/v1/models/{name}/rollback", h_rollback, a);
    ss_http_route(h, EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE, "/v1/models/{name}/shadow", h_shadow, a);
    return a;
}

void scorer_admin_free(scorer_admin *a)
{
    ss_free(a);
}

/* ------------------------------------------------------------------ CLI */

/* The CLI runs the same registry commands on ss_redis over a private loop,
 * one at a time, each answered within CLI_TIMEOUT_MS or failed. */
#define CLI_TIMEOUT_MS 5000

typedef struct cli {
    struct event_base *base;
    ss_redis *redis;
    int done;
    int rc;
    ss_registry_state st;
    char out[SS_REGISTRY_MAX_VERSION];
    char err[1024];
} cli;

static void cli_on_state(ss_redis *r, redisReply *reply, void *arg)
{
    cli *c = arg;
    (void)r;
    c->rc = ss_registry_parse_state(reply, &c->st, c->err, sizeof c->err);
    c->done = 1;
}

static void cli_on_change(ss_redis *r, redisReply *reply, void *arg)
{
    cli *c = arg;
    (void)r;
    c->rc = ss_registry_parse_change(reply, c->out, sizeof c->out, c->err, sizeof c->err);
    c->done = 1;
}

static int cli_run(cli *c, ss_registry_cmd *cmd, ss_redis_cb cb)
{
    c->done = 0;
    c->rc = -1;
    ss_redis_command(c->redis, cmd->argc, cmd->argv, cmd->argvlen, cb, c);
    int64_t end = ss_mono_us() + CLI_TIMEOUT_MS * 1000;
    struct timeval tick = {0, 50000};
    while (!c->done && ss_mono_us() < end) {
        event_base_loopexit(c->base, &tick);
        event_base_dispatch(c->base);
    }
    if (!c->done)
        return ss_err(c->err, sizeof c->err, "redis did not answer within %d ms", CLI_TIMEOUT_MS);
    return c->rc;
}

static int cli_get(cli *c, const char *name)
{
    ss_registry_cmd cmd;
    ss_registry_cmd_get(&cmd, name);
    return cli_run(c, &cmd, cli_on_state);
}

static int cli_promote(cli *c, const scorer_config *cfg, const char *version)
{
    if (ss_registry_validate(cfg->model_store, cfg->model_name, version, c->err, sizeof c->err))
        return -1;
    ss_registry_cmd cmd;
    ss_registry_cmd_promote(&cmd, cfg->model_name, version);
    if (cli_run(c, &cmd, cli_on_change) < 0) return -1;
    printf("promoted %s (previous %s)\n", version, *c->out ? c->out : "-");
    return 0;
}

static int cli_rollback(cli *c, const scorer_config *cfg)
{
    if (cli_get(c, cfg->model_name) < 0) return -1;
    if (c->st.nhistory == 0) return ss_err(c->err, sizeof c->err, "rollback: no previous version");
    char head[SS_REGISTRY_MAX_VERSION];
    ss_strlcpy(head, c->st.history[0], sizeof head);
    if (ss_registry_validate(cfg->model_store, cfg->model_name, head, c->err, sizeof c->err))
        return -1;
    ss_registry_cmd cmd;
    ss_registry_cmd_rollback(&cmd, cfg->model_name, head);
    if (cli_run(c, &cmd, cli_on_change) < 0) return -1;
    printf("rolled back to %s\n", c->out);
    return 0;
}

static int cli_shadow(cli *c, const scorer_config *cfg, const char *arg)
{
    const char *v = strcmp(arg, "-") == 0 ? NULL : arg;
    if (v && ss_registry_validate(cfg->model_store, cfg->model_name, v, c->err, sizeof c->err))
        return -1;
    ss_registry_cmd cmd;
    ss_registry_cmd_shadow(&cmd, cfg->model_name, v);
    if (cli_run(c, &cmd, cli_on_change) < 0) return -1;
    printf(v ? "shadow %s\n" : "shadow cleared\n", v);
    return 0;
}

static int cli_list(cli *c, const scorer_config *cfg)
{
    if (cli_get(c, cfg->model_name) < 0) return -1;
    const ss_registry_state *st = &c->st;
    printf("model %s\nactive %s\nshadow %s\nhistory", cfg->model_name,
           *st->active ? st->active : "-", *st->shadow ? st->shadow : "-");
    for (int i = 0; i < st->nhistory; i++)
        printf(" %s", st->history[i]);
    char **v = NULL;
    size_t n = 0;
    printf("\nversions");
    if (ss_registry_versions(cfg->model_store, cfg->model_name, &v, &n, c->err, sizeof c->err) == 0)
        for (size_t i = 0; i < n; i++)
            printf(" %s", v[i]);
    printf("\n");
    ss_registry_versions_free(v, n);
    return 0;
}

int scorer_admin_cli(const scorer_config *cfg, int argc, char **argv)
{
    const char *cmd = argv[1];
    int needs_arg = strcmp(cmd, "promote") == 0 || strcmp(cmd, "shadow") == 0;
    int known = needs_arg || strcmp(cmd, "rollback") == 0 || strcmp(cmd, "list") == 0;
    if (!known) {
        fprintf(stderr,
                "streamscore-scorer: unknown command \"%s\" (promote, rollback, shadow, "
                "list)\n",
                cmd);
        return 2;
    }
    if (argc != (needs_arg ? 3 : 2)) {
        fprintf(stderr, "usage: streamscore-scorer %s%s\n", cmd, needs_arg ? " <version>" : "");
        return 2;
    }
    cli c = {0};
    c.base = event_base_new();
    c.redis = ss_redis_new(c.base, cfg->redis_url, c.err, sizeof c.err);
    int rc = -1;
    if (c.redis) {
        if (strcmp(cmd, "promote") == 0)
            rc = cli_promote(&c, cfg, argv[2]);
        else if (strcmp(cmd, "rollback") == 0)
            rc = cli_rollback(&c, cfg);
        else if (strcmp(cmd, "shadow") == 0)
            rc = cli_shadow(&c, cfg, argv[2]);
        else
            rc = cli_list(&c, cfg);
        ss_redis_free(c.redis);
    }
    if (rc < 0) fprintf(stderr, "streamscore-scorer %s: %s\n", cmd, c.err);
    event_base_free(c.base);
    return rc < 0 ? 1 : 0;
}
