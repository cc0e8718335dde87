/* bench/features - feature state updates per second through the library's
 * stream path (Avro event -> script arguments -> EVALSHA over async hiredis on
 * a libevent loop -> reply -> vector), with the card-fraud definitions.
 *
 *   features-bench --redis URL [--defs FILE] [--events N] [--window W] [--cards K]
 *   features-bench --defs FILE --print-lua           the script, for SCRIPT LOAD
 *   features-bench --defs FILE --print-args          redis-benchmark arguments of
 *                                                    the same call (event id randomised)
 *
 * --cards 1 (default) sends the event shape --print-args describes, so
 * redis-benchmark running those arguments measures the same script on the same
 * state: the ceiling. Prints "updates/s: X". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <openssl/sha.h>
#include "common/avro.h"
#include "common/log.h"
#include "common/redis.h"
#include "common/util.h"
#include "features-internal.h"
#include "features/features.h"

typedef struct bench {
    struct event_base *base;
    ss_features *f;
    avro_value_t *event;
    long total, issued, done, errors, window;
    int cards;
    int64_t t0;
} bench;

/** The benchmark event i: fixed shape, unique id; card from a pool. */
static void fill_event(avro_value_t *v, long i, int cards)
{
    avro_value_t f, b;
    char id[48], card[32];
    snprintf(id, sizeof id, "bench-%ld", i);
    snprintf(card, sizeof card, "card%ld", cards > 1 ? (i * 7919) % cards : 0);
    avro_value_reset(v);
    avro_value_get_by_name(v, "event_id", &f, NULL);
    avro_value_set_string(&f, id);
    avro_value_get_by_name(v, "event_time", &f, NULL);
    avro_value_set_long(&f, 1795500000000LL);
    avro_value_get_by_name(v, "card_id", &f, NULL);
    avro_value_set_string(&f, card);
    avro_value_get_by_name(v, "merchant_id", &f, NULL);
    avro_value_set_string(&f, "merchant1");
    avro_value_get_by_name(v, "device_id", &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_string(&b, "device1");
    avro_value_get_by_name(v, "amount", &f, NULL);
    avro_value_set_double(&f, 42.5);
    avro_value_get_by_name(v, "currency", &f, NULL);
    avro_value_set_string(&f, "EUR");
    avro_value_get_by_name(v, "merchant_category", &f, NULL);
    avro_value_set_string(&f, "5411");
    avro_value_get_by_name(v, "merchant_country", &f, NULL);
    avro_value_set_string(&f, "FR");
    avro_value_get_by_name(v, "card_country", &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_string(&b, "FR");
    avro_value_get_by_name(v, "channel", &f, NULL);
    avro_value_set_enum(&f, 1); /* ECOM */
    avro_value_get_by_name(v, "auth_result", &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_enum(&b, 0); /* APPROVED */
    const char *nulls[] = {"latitude", "longitude", "ip_address"};
    for (int k = 0; k < 3; k++) {
        avro_value_get_by_name(v, nulls[k], &f, NULL);
        avro_value_set_branch(&f, 0, &b);
        avro_value_set_null(&b);
    }
}

static void issue_next(bench *b);

static void on_vector(const ss_feature_vector *v, const char *err, void *arg)
{
    bench *b = arg;
    if (!v) {
        if (b->errors++ < 3) fprintf(stderr, "features-bench: %s\n", err);
    }
    b->done++;
    if (b->issued < b->total)
        issue_next(b);
    else if (b->done == b->total)
        event_base_loopbreak(b->base);
}

static void issue_next(bench *b)
{
    char err[256];
    fill_event(b->event, b->issued++, b->cards);
    if (ss_features_update(b->f, b->event, on_vector, b, err, sizeof err) < 0) {
        fprintf(stderr, "features-bench: %s\n", err);
        exit(1);
    }
}

/** redis-benchmark arguments of the call for the benchmark event, one per
 * line: EVALSHA sha 1 key args...; __rand_int__ makes event ids unique. */
static int print_args(const ss_feature_defs *d, avro_value_t *event)
{
    fd_call c;
    char err[256];
    char sha[41];
    const char **argv;
    const size_t *argvlen;
    unsigned char md[20];
    fd_call_init(&c);
    fill_event(event, 0, 1);
    ss_features_opts o = {.write_online = 1}; /* as the features service runs */
    if (fd_call_build(&c, d, &o, event, 0, 1795500000000LL, err, sizeof err) < 0) {
        fprintf(stderr, "features-bench: %s\n", err);
        return 1;
    }
    fd_call_argv(&c, &argv, &argvlen);
    SHA1((const unsigned char *)ss_feature_defs_lua(d), strlen(ss_feature_defs_lua(d)), md);
    for (int i = 0; i < 20; i++)
        snprintf(sha + 2 * i, 3, "%02x", md[i]);
    printf("EVALSHA\n%s\n1\n", sha);
    for (size_t i = 0; i < c.argc; i++) {
        if (i == 0)
            printf("ss:d:%s:bench-__rand_int__\n", d->tag);
        else if (i == FD_ARG_EVENT_ID)
            printf("bench-__rand_int__\n");
        else
            printf("%s\n", argv[i]);
    }
    fd_call_free(&c);
    return 0;
}

int main(int argc, char **argv)
{
    const char *redis_url = "redis://127.0.0.1:6379", *defs_path = "features/card_fraud.json";
    const char *schema_dir = "schemas";
    int mode = 0; /* 0 run, 1 lua, 2 args */
    char err[512];
    bench b = {.total = 100000, .window = 128, .cards = 1};
    static const struct option opts[] = {
        {"redis", 1, 0, 'r'},     {"defs", 1, 0, 'd'},       {"events", 1, 0, 'n'},
        {"window", 1, 0, 'w'},    {"cards", 1, 0, 'c'},      {"schemas", 1, 0, 's'},
        {"print-lua", 0, 0, 'L'}, {"print-args", 0, 0, 'A'}, {0, 0, 0, 0}};
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (o) {
        case 'r':
            redis_url = optarg;
            break;
        case 'd':
            defs_path = optarg;
            break;
        case 'n':
            b.total = atol(optarg);
            break;
        case 'w':
            b.window = atol(optarg);
            break;
        case 'c':
            b.cards = atoi(optarg);
            break;
        case 's':
            schema_dir = optarg;
            break;
        case 'L':
            mode = 1;
            break;
        case 'A':
            mode = 2;
            break;
        default:
            fprintf(stderr, "usage: see bench/features/main.c\n");
            return 2;
        }
    }
    ss_log_init("features-bench");
    ss_log_set_level(SS_LOG_WARN);
    ss_feature_defs *d = ss_feature_defs_load(defs_path, err, sizeof err);
    if (!d) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (mode == 1) {
        fputs(ss_feature_defs_lua(d), stdout);
        ss_feature_defs_free(d);
        return 0;
    }
    ss_avro_registry *reg = ss_avro_registry_new(schema_dir, "", err, sizeof err);
    if (!reg) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    avro_value_iface_t *iface =
        avro_generic_class_from_schema(ss_avro_registry_schema(reg, "CardTransaction"));
    avro_value_t event;
    avro_generic_value_new(iface, &event);
    b.event = &event;
    int rc = 0;
    if (mode == 2) {
        rc = print_args(d, &event);
        goto done;
    }
    b.base = event_base_new();
    ss_redis *r = ss_redis_new(b.base, redis_url, err, sizeof err);
    ss_features_opts fo = {.write_online = 1}; /* as the features service runs */
    if (!r || !(b.f = ss_features_new(r, d, &fo, err, sizeof err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    while (!ss_redis_ready(r))
        event_base_loop(b.base, EVLOOP_ONCE);
    b.t0 = ss_mono_us();
    for (long i = 0; i < b.window && b.issued < b.total; i++)
        issue_next(&b);
    event_base_dispatch(b.base);
    double secs = (double)(ss_mono_us() - b.t0) / 1e6;
    printf("events: %ld errors: %ld seconds: %.3f\n", b.done, b.errors, secs);
    printf("updates/s: %.0f\n", (double)b.done / secs);
    rc = b.errors ? 1 : 0;
    ss_features_free(b.f);
    ss_redis_free(r);
    event_base_free(b.base);
done:
    avro_value_decref(&event);
    avro_value_iface_decref(iface);
    ss_avro_registry_free(reg);
    ss_feature_defs_free(d);
    return rc;
}
