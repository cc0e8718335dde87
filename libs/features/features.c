/* features.c - update/peek over async Redis: build the call from the event,
 * EVALSHA the definitions' script through ss_redis (pipelined with whatever
 * else this loop iteration sends), decode the reply into a vector. */
#include <string.h>
#include "common/log.h"
#include "features-internal.h"

struct ss_features {
    ss_redis *r;
    const ss_feature_defs *d;
    ss_features_opts opts;
    char *prefix;
    int script;
    size_t pending; /* calls sent, not yet answered */
    int freed;      /* ss_features_free called while calls were pending */
    ss_features_stats stats;
};

typedef struct fd_req {
    ss_features *f;
    fd_call call;
    ss_features_cb cb;
    void *arg;
} fd_req;

ss_features *ss_features_new(ss_redis *r, const ss_feature_defs *d, const ss_features_opts *opts,
                             char *err, size_t errlen)
{
    if (!r || !d) {
        ss_err(err, errlen, "features: redis and definitions are required");
        return NULL;
    }
    ss_features *f = ss_calloc(1, sizeof *f);
    f->r = r;
    f->d = d;
    fd_opts_defaults(&f->opts, opts, d);
    f->prefix = ss_strdup(f->opts.prefix);
    f->opts.prefix = f->prefix;
    f->script = ss_redis_script(r, ss_feature_defs_lua(d));
    if (f->script < 0) {
        ss_err(err, errlen, "features: cannot register the feature script");
        ss_free(f->prefix);
        ss_free(f);
        return NULL;
    }
    return f;
}

static void features_destroy(ss_features *f)
{
    ss_free(f->prefix);
    ss_free(f);
}

void ss_features_free(ss_features *f)
{
    if (!f) return;
    if (f->pending > 0) {
        f->freed = 1; /* the last reply frees it */
        return;
    }
    features_destroy(f);
}

static void on_reply(ss_redis *r, redisReply *reply, void *arg)
{
    fd_req *q = arg;
    ss_features *f = q->f;
    fd_result res;
    char err[512];
    (void)r;
    f->pending--;
    if (fd_result_from_reply(&res, f->d, &q->call, reply, err, sizeof err) < 0) {
        f->stats.errors++;
        q->cb(NULL, err, q->arg);
    } else {
        if (res.v.duplicate)
            f->stats.duplicates++;
        else if (res.v.late)
            f->stats.late++;
        q->cb(&res.v, NULL, q->arg);
        fd_result_free(&res);
    }
    fd_call_free(&q->call);
    ss_free(q);
    if (f->freed && f->pending == 0) features_destroy(f);
}

static int features_call(ss_features *f, avro_value_t *event, int peek, ss_features_cb cb,
                         void *arg, char *err, size_t errlen)
{
    const char **argv;
    const size_t *argvlen;
    if (!f || !event || !cb) return ss_err(err, errlen, "features: bad call");
    fd_req *q = ss_calloc(1, sizeof *q);
    q->f = f;
    q->cb = cb;
    q->arg = arg;
    fd_call_init(&q->call);
    if (fd_call_build(&q->call, f->d, &f->opts, event, peek, ss_now_ms(), err, errlen) < 0) {
        fd_call_free(&q->call);
        ss_free(q);
        f->stats.errors++;
        return -1;
    }
    if (peek)
        f->stats.peeks++;
    else
        f->stats.updates++;
    fd_call_argv(&q->call, &argv, &argvlen);
    f->pending++;
    ss_redis_evalsha(f->r, f->script, 1, (int)q->call.argc, argv, argvlen, on_reply, q);
    return 0;
}

int ss_features_update(ss_features *f, avro_value_t *event, ss_features_cb cb, void *arg, char *err,
                       size_t errlen)
{
    return features_call(f, event, 0, cb, arg, err, errlen);
}

int ss_features_peek(ss_features *f, avro_value_t *event, ss_features_cb cb, void *arg, char *err,
                     size_t errlen)
{
    return features_call(f, event, 1, cb, arg, err, errlen);
}

void ss_features_get_stats(const ss_features *f, ss_features_stats *out)
{
    *out = f->stats;
}
