/* registry.c - registry pointers in Redis, versions in the store. */
#include "model/registry.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "model/model.h"

#define HISTORY_KEEP "99" /* LTRIM end index: keep 100 previous versions */

/* KEYS: active shadow history. Returns {active|false, shadow|false, history...}. */
static const char lua_get[] =
    "local r = {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}\n"
    "for _, v in ipairs(redis.call('LRANGE', KEYS[3], 0, tonumber(ARGV[1]) - 1)) do\n"
    "  r[#r + 1] = v\n"
    "end\n"
    "return r\n";

/* KEYS: active history. ARGV: version channel. Returns the previous active. */
static const char lua_promote[] = "local cur = redis.call('GET', KEYS[1])\n"
                                  "if cur == ARGV[1] then return cur end\n"
                                  "if cur then\n"
                                  "  redis.call('LPUSH', KEYS[2], cur)\n"
                                  "  redis.call('LTRIM', KEYS[2], 0, " HISTORY_KEEP ")\n"
                                  "end\n"
                                  "redis.call('SET', KEYS[1], ARGV[1])\n"
                                  "redis.call('PUBLISH', ARGV[2], 'active ' .. ARGV[1])\n"
                                  "return cur or ''\n";

/* KEYS: active history. ARGV: expected head, channel. Returns the new active. */
static const char lua_rollback[] =
    "local head = redis.call('LINDEX', KEYS[2], 0)\n"
    "if not head then return redis.error_reply('rollback: no previous version') end\n"
    "if head ~= ARGV[1] then\n"
    "  return redis.error_reply('rollback: history changed meanwhile (head ' .. head .. ')')\n"
    "end\n"
    "redis.call('LPOP', KEYS[2])\n"
    "redis.call('SET', KEYS[1], head)\n"
    "redis.call('PUBLISH', ARGV[2], 'active ' .. head)\n"
    "return head\n";

/* KEYS: shadow. ARGV: version ('' clears), channel. */
static const char lua_shadow[] = "if ARGV[1] == '' then redis.call('DEL', KEYS[1])\n"
                                 "else redis.call('SET', KEYS[1], ARGV[1]) end\n"
                                 "redis.call('PUBLISH', ARGV[2], 'shadow ' .. ARGV[1])\n"
                                 "return ARGV[1]\n";

void ss_registry_key(char *buf, size_t len, const char *name, const char *what)
{
    snprintf(buf, len, "ss:model:%s:%s", name, what);
}

static void cmd_begin(ss_registry_cmd *c, const char *lua, int nkeys)
{
    memset(c, 0, sizeof *c);
    c->argv[0] = "EVAL";
    c->argv[1] = lua;
    snprintf(c->buf[3], sizeof c->buf[3], "%d", nkeys);
    c->argv[2] = c->buf[3];
    c->argc = 3;
}

static void cmd_arg(ss_registry_cmd *c, const char *s)
{
    ss_assert(c->argc < 8);
    c->argv[c->argc++] = s;
}

static const char *cmd_key(ss_registry_cmd *c, int slot, const char *name, const char *what)
{
    ss_registry_key(c->buf[slot], sizeof c->buf[slot], name, what);
    return c->buf[slot];
}

static void cmd_end(ss_registry_cmd *c)
{
    for (int i = 0; i < c->argc; i++)
        c->argvlen[i] = strlen(c->argv[i]);
}

void ss_registry_cmd_get(ss_registry_cmd *c, const char *name)
{
    cmd_begin(c, lua_get, 3);
    cmd_arg(c, cmd_key(c, 0, name, "active"));
    cmd_arg(c, cmd_key(c, 1, name, "shadow"));
    cmd_arg(c, cmd_key(c, 2, name, "history"));
    _Static_assert(SS_REGISTRY_MAX_HISTORY == 32, "history count below");
    cmd_arg(c, "32");
    cmd_end(c);
}

void ss_registry_cmd_promote(ss_registry_cmd *c, const char *name, const char *version)
{
    cmd_begin(c, lua_promote, 2);
    cmd_arg(c, cmd_key(c, 0, name, "active"));
    cmd_arg(c, cmd_key(c, 1, name, "history"));
    cmd_arg(c, version);
    cmd_arg(c, cmd_key(c, 2, name, "changed"));
    cmd_end(c);
}

void ss_registry_cmd_rollback(ss_registry_cmd *c, const char *name, const char *expected)
{
    cmd_begin(c, lua_rollback, 2);
    cmd_arg(c, cmd_key(c, 0, name, "active"));
    cmd_arg(c, cmd_key(c, 1, name, "history"));
    cmd_arg(c, expected ? expected : "");
    cmd_arg(c, cmd_key(c, 2, name, "changed"));
    cmd_end(c);
}

void ss_registry_cmd_shadow(ss_registry_cmd *c, const char *name, const char *version)
{
    cmd_begin(c, lua_shadow, 1);
    cmd_arg(c, cmd_key(c, 0, name, "shadow"));
    cmd_arg(c, version ? version : "");
    cmd_arg(c, cmd_key(c, 2, name, "changed"));
    cmd_end(c);
}

static void copy_str(char *dst, size_t len, const redisReply *r)
{
    dst[0] = '\0';
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        ss_strlcpy(dst, r->str, len);
}

int ss_registry_parse_state(const redisReply *r, ss_registry_state *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    if (!r) return ss_err(err, errlen, "registry: no reply from redis");
    if (r->type == REDIS_REPLY_ERROR) return ss_err(err, errlen, "registry: %s", r->str);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
        return ss_err(err, errlen, "registry: unexpected reply type %d", r->type);
    copy_str(st->active, sizeof st->active, r->element[0]);
    copy_str(st->shadow, sizeof st->shadow, r->element[1]);
    for (size_t i = 2; i < r->elements && st->nhistory < SS_REGISTRY_MAX_HISTORY; i++)
        copy_str(st->history[st->nhistory++], SS_REGISTRY_MAX_VERSION, r->element[i]);
    return 0;
}

int ss_registry_parse_change(const redisReply *r, char *out, size_t outlen, char *err,
                             size_t errlen)
{
    if (out && outlen) out[0] = '\0';
    if (!r) return ss_err(err, errlen, "registry: no reply from redis");
    if (r->type == REDIS_REPLY_ERROR) {
        /* strip Redis's script error decoration down to our message */
        const char *msg = strstr(r->str, "rollback:");
        return ss_err(err, errlen, "%s", msg ? msg : r->str);
    }
    if (out && outlen) copy_str(out, outlen, r);
    return 0;
}

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) >= SS_REGISTRY_MAX_VERSION) return 0;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p <= ' ' || *p == 0x7f) return 0;
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ss_registry_versions(const char *store, const char *name, char ***versions, size_t *n,
                         char *err, size_t errlen)
{
    *versions = NULL;
    *n = 0;
    if (!valid_name(name)) return ss_err(err, errlen, "registry: bad model name \"%s\"", name);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", store, name);
    DIR *d = opendir(dir);
    if (!d) return ss_err(err, errlen, "registry: no model \"%s\" in store %s", name, store);
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !valid_name(e->d_name)) continue;
        char path[2 * PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/bundle.json", dir, e->d_name);
        if (stat(path, &st) < 0) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *versions = ss_realloc(*versions, cap * sizeof **versions);
        }
        (*versions)[(*n)++] = ss_strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(*versions, *n, sizeof **versions, cmp_str);
    return 0;
}

void ss_registry_versions_free(char **versions, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ss_free(versions[i]);
    ss_free(versions);
}

int ss_registry_validate(const char *store, const char *name, const char *version, char *err,
                         size_t errlen)
{
    if (!valid_name(name) || !valid_name(version))
        return ss_err(err, errlen, "registry: bad model reference \"%s\" version \"%s\"",
                      name ? name : "", version ? version : "");
    ss_model *m = ss_model_load_store(store, name, version, err, errlen);
    if (!m) return -1;
    ss_model_free(m);
    return 0;
}

/* ---------------------------------------------------------------- sync */

static redisReply *run(redisContext *rc, ss_registry_cmd *c, char *err, size_t errlen)
{
    redisReply *r = redisCommandArgv(rc, c->argc, c->argv, c->argvlen);
    if (!r) ss_err(err, errlen, "registry: redis: %s", rc->err ? rc->errstr : "no reply");
    return r;
}

int ss_registry_get(redisContext *rc, const char *name, ss_registry_state *st, char *err,
                    size_t errlen)
{
    ss_registry_cmd c;
    ss_registry_cmd_get(&c, name);
    redisReply *r = run(rc, &c, err, errlen);
    if (!r) return -1;
    int ret = ss_registry_parse_state(r, st, err, errlen);
    freeReplyObject(r);
    return ret;
}

static int change(redisContext *rc, ss_registry_cmd *c, char *out, size_t outlen, char *err,
                  size_t errlen)
{
    redisReply *r = run(rc, c, err, errlen);
    if (!r) return -1;
    int ret = ss_registry_parse_change(r, out, outlen, err, errlen);
    freeReplyObject(r);
    return ret;
}

int ss_registry_promote(redisContext *rc, const char *store, const char *name, const char *version,
                        char *prev, size_t prevlen, char *err, size_t errlen)
{
    if (ss_registry_validate(store, name, version, err, errlen) < 0) return -1;
    ss_registry_cmd c;
    ss_registry_cmd_promote(&c, name, version);
    return change(rc, &c, prev, prevlen, err, errlen);
}

int ss_registry_rollback(redisContext *rc, const char *store, const char *name, char *now,
                         size_t nowlen, char *err, size_t errlen)
{
    ss_registry_state st;
    if (ss_registry_get(rc, name, &st, err, errlen) < 0) return -1;
    if (st.nhistory == 0) return ss_err(err, errlen, "rollback: no previous version");
    if (ss_registry_validate(store, name, st.history[0], err, errlen) < 0) return -1;
    ss_registry_cmd c;
    ss_registry_cmd_rollback(&c, name, st.history[0]);
    return change(rc, &c, now, nowlen, err, errlen);
}

int ss_registry_set_shadow(redisContext *rc, const char *store, const char *name,
                           const char *version, char *err, size_t errlen)
{
    if (version && *version && ss_registry_validate(store, name, version, err, errlen) < 0)
        return -1;
    ss_registry_cmd c;
    ss_registry_cmd_shadow(&c, name, version);
    return change(rc, &c, NULL, 0, err, errlen);
}
