/* fx.h - fixtures for the feature library tests: a real redis-server on a
 * free port (started and killed here), CardTransaction-shaped Avro events. */
#ifndef SS_FEATURES_TESTS_FX_H
#define SS_FEATURES_TESTS_FX_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <avro.h>
#include <hiredis/hiredis.h>

typedef struct fx_redis {
    pid_t pid;
    int port;
    char url[64];
    char dir[64];
} fx_redis;

static inline int fx_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

static inline redisContext *fx_redis_connect(const fx_redis *r)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    return c;
}

/** Start redis-server on a free port; returns 0 when it answers PING. */
static inline int fx_redis_start(fx_redis *r)
{
    char port[16];
    memset(r, 0, sizeof *r);
    r->port = fx_free_port();
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d", r->port);
    snprintf(r->dir, sizeof r->dir, "/tmp/ss-fx-redis.XXXXXX");
    if (!mkdtemp(r->dir)) return -1;
    r->pid = fork();
    if (r->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", r->dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        redisContext *c = fx_redis_connect(r);
        if (c) {
            redisReply *rep = redisCommand(c, "PING");
            int ok = rep && rep->type == REDIS_REPLY_STATUS;
            if (rep) freeReplyObject(rep);
            redisFree(c);
            if (ok) return 0;
        }
        usleep(50000);
    }
    return -1;
}

static inline void fx_redis_stop(fx_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    if (r->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
        if (system(cmd) != 0) { /* best effort */
        }
    }
}

/** schemas/card_transaction.avsc, found from the repository root or below. */
static inline avro_schema_t fx_card_schema(void)
{
    static const char *paths[] = {"schemas/card_transaction.avsc",
                                  "../schemas/card_transaction.avsc",
                                  "../../schemas/card_transaction.avsc"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        FILE *f = fopen(paths[i], "rb");
        char buf[16384];
        size_t n;
        avro_schema_t s = NULL;
        if (!f) continue;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        if (avro_schema_from_json_length(buf, n, &s) == 0) return s;
    }
    return NULL;
}

/** A raw card event: strings may be NULL for the nullable fields. */
typedef struct fx_event {
    char event_id[48];
    int64_t t;
    char card[24], merchant[24], device[24];
    int has_device;
    double amount;
    const char *channel; /* POS ECOM ATM MOTO */
    int declined;        /* -1 = null auth result, 0 approved, 1 declined */
    char country[4];
} fx_event;

static inline int fx_enum_index(avro_schema_t enum_schema, const char *sym)
{
    return avro_schema_enum_get_by_name(enum_schema, sym);
}

static inline void fx_set_str(avro_value_t *rec, const char *f, const char *s)
{
    avro_value_t v;
    avro_value_get_by_name(rec, f, &v, NULL);
    avro_value_set_string(&v, s);
}

static inline void fx_set_nullable_str(avro_value_t *rec, const char *f, const char *s)
{
    avro_value_t u, b;
    avro_value_get_by_name(rec, f, &u, NULL);
    if (s) {
        avro_value_set_branch(&u, 1, &b);
        avro_value_set_string(&b, s);
    } else {
        avro_value_set_branch(&u, 0, &b);
        avro_value_set_null(&b);
    }
}

/** Fill an avro value (of fx_card_schema) from e. */
static inline void fx_fill(avro_value_t *rec, const fx_event *e)
{
    avro_value_t v, b;
    avro_value_reset(rec);
    fx_set_str(rec, "event_id", e->event_id);
    avro_value_get_by_name(rec, "event_time", &v, NULL);
    avro_value_set_long(&v, e->t);
    fx_set_str(rec, "card_id", e->card);
    fx_set_str(rec, "merchant_id", e->merchant);
    fx_set_nullable_str(rec, "device_id", e->has_device ? e->device : NULL);
    avro_value_get_by_name(rec, "amount", &v, NULL);
    avro_value_set_double(&v, e->amount);
    fx_set_str(rec, "currency", "EUR");
    fx_set_str(rec, "merchant_category", "5411");
    fx_set_str(rec, "merchant_country", e->country);
    fx_set_nullable_str(rec, "card_country", "FR");
    avro_value_get_by_name(rec, "channel", &v, NULL);
    avro_value_set_enum(&v, fx_enum_index(avro_value_get_schema(&v), e->channel));
    avro_value_get_by_name(rec, "auth_result", &v, NULL);
    if (e->declined < 0) {
        avro_value_set_branch(&v, 0, &b);
        avro_value_set_null(&b);
    } else {
        avro_value_set_branch(&v, 1, &b);
        avro_value_set_enum(
            &b, fx_enum_index(avro_value_get_schema(&b), e->declined ? "DECLINED" : "APPROVED"));
    }
    fx_set_nullable_str(rec, "ip_address", NULL);
    avro_value_get_by_name(rec, "latitude", &v, NULL);
    avro_value_set_branch(&v, 0, &b);
    avro_value_set_null(&b);
    avro_value_get_by_name(rec, "longitude", &v, NULL);
    avro_value_set_branch(&v, 0, &b);
    avro_value_set_null(&b);
}

#endif
