/* fx.h - fixtures for the feature library tests: a real redis-server
 * (sstest/redis_server.h), CardTransaction-shaped Avro events. */
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

#include "sstest/redis_server.h"

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
