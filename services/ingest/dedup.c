/* dedup.c - drop events whose id was seen within the horizon.
 *
 * One command per event: SET ss:dedup:<event_id> <token> NX GET PX <horizon>.
 * NX+GET (Redis 7) answers the previous value: nil = first sighting (and the
 * key is now set), our own token = the same input seen again (ss_redis
 * re-sent the command after a reconnect, or Kafka redelivered the input after
 * a crash) and so not a duplicate, any other token = a duplicate.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ingest.h"

#define DEDUP_PREFIX "ss:dedup:"

typedef struct dedup_req {
    dedup_cb cb;
    void *arg;
    size_t tokenlen;
    char token[]; /* flexible: the token we wrote */
} dedup_req;

static void on_reply(ss_redis *r, redisReply *reply, void *arg)
{
    dedup_req *q = arg;
    dedup_answer answer = DEDUP_ERROR;
    (void)r;
    if (reply->type == REDIS_REPLY_NIL) {
        answer = DEDUP_NEW;
    } else if (reply->type == REDIS_REPLY_STRING) {
        answer = reply->len == q->tokenlen && memcmp(reply->str, q->token, q->tokenlen) == 0
                     ? DEDUP_NEW
                     : DEDUP_DUPLICATE;
    } else {
        ss_log(SS_LOG_WARN, "dedup command failed", "error",
               reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply type", NULL);
    }
    q->cb(answer, q->arg);
    ss_free(q);
}

int dedup_check(ss_redis *r, const char *event_id, size_t idlen, const char *token,
                int64_t horizon_ms, dedup_cb cb, void *arg)
{
    size_t tokenlen = strlen(token);
    dedup_req *q = ss_malloc(sizeof *q + tokenlen + 1);
    q->cb = cb;
    q->arg = arg;
    q->tokenlen = tokenlen;
    memcpy(q->token, token, tokenlen + 1);
    ss_buf key;
    ss_buf_init(&key);
    ss_buf_append(&key, DEDUP_PREFIX, strlen(DEDUP_PREFIX));
    ss_buf_append(&key, event_id, idlen);
    char px[32];
    snprintf(px, sizeof px, "%lld", (long long)(horizon_ms > 0 ? horizon_ms : 1));
    const char *argv[] = {"SET", key.data, token, "NX", "GET", "PX", px};
    const size_t lens[] = {3, key.len, tokenlen, 2, 3, 2, strlen(px)};
    int rc = ss_redis_command(r, 7, argv, lens, on_reply, q);
    ss_buf_free(&key);
    if (rc) { /* refused outright: answer once, as the callback would */
        cb(DEDUP_ERROR, arg);
        ss_free(q);
    }
    return rc;
}
