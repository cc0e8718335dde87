/* redis.h - async hiredis attached to the service's libevent loop.
 *
 * Commands are kept until Redis answers: while disconnected they wait in a
 * queue, and commands lost with a dropped connection are re-sent after the
 * reconnect, so a caller sees every command answered exactly once by its
 * callback (make the commands idempotent: scripts dedup by event id).
 * Reconnects with exponential back-off (100 ms .. 5 s). Scripts are loaded on
 * every (re)connect and run with EVALSHA. Commands issued in one loop
 * iteration go out in one write: batches pipeline for free.
 */
#ifndef SS_COMMON_REDIS_H
#define SS_COMMON_REDIS_H

#include <stddef.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

typedef struct ss_redis ss_redis;

/** reply: valid only during the callback, never NULL (errors arrive as
 * REDIS_REPLY_ERROR replies, e.g. a script error). */
typedef void (*ss_redis_cb)(ss_redis *r, redisReply *reply, void *arg);
/** Readiness changes (1 = connected and scripts loaded). */
typedef void (*ss_redis_state_cb)(ss_redis *r, int ready, void *arg);

/** url: redis://[:password@]host:port[/db]. Connection starts at once. */
ss_redis *ss_redis_new(struct event_base *base, const char *url, char *err, size_t errlen);
void ss_redis_free(ss_redis *r);
void ss_redis_on_state(ss_redis *r, ss_redis_state_cb cb, void *arg);
int ss_redis_ready(const ss_redis *r);
int ss_redis_ready_check(void *r, char *why, size_t whylen); /* ss_ready_fn shape */
size_t ss_redis_pending(const ss_redis *r); /* sent or queued, not yet answered */

/** Register a Lua script; returns its index (>= 0) for ss_redis_evalsha. */
int ss_redis_script(ss_redis *r, const char *lua);
const char *ss_redis_script_sha(const ss_redis *r, int script);

/** Send a command (argv form, binary safe). Returns 0; the callback runs
 * exactly once with Redis's answer. */
int ss_redis_command(ss_redis *r, int argc, const char **argv, const size_t *argvlen,
                     ss_redis_cb cb, void *arg);
/** EVALSHA script numkeys keys... args...; NOSCRIPT reloads and retries. */
int ss_redis_evalsha(ss_redis *r, int script, int nkeys, int argc, const char **argv,
                     const size_t *argvlen, ss_redis_cb cb, void *arg);

#endif
