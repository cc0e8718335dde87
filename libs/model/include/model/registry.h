/* registry.h - the model registry: bundles by version in a store directory,
 * the serving pointers in Redis (docs/model-bundle.md):
 *
 *   ss:model:<name>:active    version that decides
 *   ss:model:<name>:shadow    version scored alongside, never decides (absent = none)
 *   ss:model:<name>:history   list, most recent first, of previously active versions
 *   ss:model:<name>:changed   pub/sub channel announcing every change
 *
 * Every change is one Lua script (atomic) that also publishes on the
 * channel. Promote and shadow-set validate the bundle (a full load) first, so
 * a bundle that does not load never becomes a pointer.
 *
 * Two ways to run the operations:
 *  - synchronous, on a hiredis redisContext (CLI, tools, tests):
 *    ss_registry_promote() etc.;
 *  - any other client (e.g. the async ss_redis of a service): build the
 *    command with ss_registry_cmd_*() and interpret the reply with
 *    ss_registry_parse_*().
 */
#ifndef SS_MODEL_REGISTRY_H
#define SS_MODEL_REGISTRY_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#define SS_REGISTRY_MAX_VERSION 128 /* longest version string, with NUL */
#define SS_REGISTRY_MAX_HISTORY 32  /* history entries reported (the list keeps 100) */

typedef struct ss_registry_state {
    char active[SS_REGISTRY_MAX_VERSION]; /* "" = none */
    char shadow[SS_REGISTRY_MAX_VERSION]; /* "" = none */
    int nhistory;
    char history[SS_REGISTRY_MAX_HISTORY][SS_REGISTRY_MAX_VERSION]; /* most recent first */
} ss_registry_state;

/** A ready-to-send command (EVAL script numkeys keys... args...). argv
 * points into the struct itself: do not copy it after building. */
typedef struct ss_registry_cmd {
    int argc;
    const char *argv[8];
    size_t argvlen[8];
    char buf[4][256];
} ss_registry_cmd;

/** "ss:model:<name>:<what>" into buf. */
void ss_registry_key(char *buf, size_t len, const char *name, const char *what);

void ss_registry_cmd_get(ss_registry_cmd *c, const char *name);
void ss_registry_cmd_promote(ss_registry_cmd *c, const char *name, const char *version);
/** expected: the history head the caller validated; the script refuses if
 * the head changed meanwhile. */
void ss_registry_cmd_rollback(ss_registry_cmd *c, const char *name, const char *expected);
/** version NULL or "" clears the shadow. */
void ss_registry_cmd_shadow(ss_registry_cmd *c, const char *name, const char *version);

/** Reply of cmd_get -> state. Returns 0 / -1 with err. */
int ss_registry_parse_state(const redisReply *r, ss_registry_state *st, char *err, size_t errlen);
/** Reply of promote/rollback/shadow: 0, or -1 with err (script errors
 * like "rollback: no previous version"). `out` (optional) gets the returned
 * version: the previous active for promote, the new active for rollback. */
int ss_registry_parse_change(const redisReply *r, char *out, size_t outlen, char *err,
                             size_t errlen);

/** Versions present in <store>/<name>/ (directories holding bundle.json),
 * sorted. Caller frees with ss_registry_versions_free. */
int ss_registry_versions(const char *store, const char *name, char ***versions, size_t *n,
                         char *err, size_t errlen);
void ss_registry_versions_free(char **versions, size_t n);

/** Check that version loads as a valid bundle of `name` from the store. */
int ss_registry_validate(const char *store, const char *name, const char *version, char *err,
                         size_t errlen);

/* ---- synchronous operations on a hiredis context */
int ss_registry_get(redisContext *rc, const char *name, ss_registry_state *st, char *err,
                    size_t errlen);
/** Validate, then active = version (old active pushed on history). prev gets
 * the old active ("" if none). */
int ss_registry_promote(redisContext *rc, const char *store, const char *name, const char *version,
                        char *prev, size_t prevlen, char *err, size_t errlen);
/** active = history head, after validating it. now gets the new active. */
int ss_registry_rollback(redisContext *rc, const char *store, const char *name, char *now,
                         size_t nowlen, char *err, size_t errlen);
/** Validate and set the shadow; version NULL/"" clears it. */
int ss_registry_set_shadow(redisContext *rc, const char *store, const char *name,
                           const char *version, char *err, size_t errlen);

#endif
