/* config.h - 12-factor configuration from environment variables, one table per
 * service. The table is the single source for parsing, bounds checks, --help and
 * the docs table (ss_config_markdown). */
#ifndef SS_COMMON_CONFIG_H
#define SS_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    SS_CFG_STRING,   /* char * (owned by the struct; ss_config_free releases) */
    SS_CFG_INT,      /* int64_t */
    SS_CFG_DOUBLE,   /* double */
    SS_CFG_BOOL,     /* int: true/false/1/0/yes/no/on/off */
    SS_CFG_DURATION, /* int64_t milliseconds: "250ms", "5s", "2m", "1h", "30d", bare = ms */
    SS_CFG_SIZE,     /* int64_t bytes: "512", "64KiB", "1MiB", "2GiB", "1MB" */
} ss_cfg_type;

typedef struct ss_config_entry {
    const char *env;  /* environment variable, e.g. "KAFKA_BROKERS" */
    ss_cfg_type type;
    const char *def;  /* default, as text; NULL = required */
    double min, max;  /* bounds for numeric types (inclusive); min > max = unbounded */
    size_t offset;    /* offsetof(service_config, field) */
    const char *help;
} ss_config_entry;

#define SS_CFG_END {NULL, 0, NULL, 0, 0, 0, NULL}
#define SS_UNBOUNDED 1, 0

/* Entries every service shares, each with one default and one help text, so
 * that a default changes in one place (T: the service's config type; the other
 * arguments name its members; USE and ROUTES complete the help text). */
// clang-format off
#define SS_CFG_KAFKA_BROKERS(T, M)                                                              \
    {"KAFKA_BROKERS", SS_CFG_STRING, "localhost:9092", SS_UNBOUNDED, offsetof(T, M),            \
     "Kafka bootstrap servers; KAFKA_CONF_* variables set any librdkafka property (TLS, SASL)."}
#define SS_CFG_REDIS_URL(T, M, USE)                                                             \
    {"REDIS_URL", SS_CFG_STRING, "redis://127.0.0.1:6379", SS_UNBOUNDED, offsetof(T, M),        \
     "Redis, redis://[:password@]host[:port][/db]: " USE}
#define SS_CFG_SCHEMAS(T, DIR, URL)                                                             \
    {"SCHEMA_DIR", SS_CFG_STRING, "schemas", SS_UNBOUNDED, offsetof(T, DIR),                   \
     "Directory of the *.avsc schemas and ids.json (the local registry)."},                    \
    {"SCHEMA_REGISTRY_URL", SS_CFG_STRING, "", SS_UNBOUNDED, offsetof(T, URL),                 \
     "Confluent Schema Registry, http://[user:pass@]host:port; empty = the local registry."}
#define SS_CFG_HTTP(T, BIND, PORT, DEFPORT, ROUTES)                                             \
    {"HTTP_BIND", SS_CFG_STRING, "0.0.0.0", SS_UNBOUNDED, offsetof(T, BIND),                   \
     "Address the HTTP server listens on."},                                                   \
    {"HTTP_PORT", SS_CFG_INT, DEFPORT, 0, 65535, offsetof(T, PORT),                             \
     "Port of " ROUTES " (0 = any free port, logged)."}
// clang-format on

/** Fill `out` from the environment (getenv) using a table terminated by
 * SS_CFG_END. Returns 0, or -1 with err naming the variable and the reason:
 * "bad config: KAFKA_BATCH: expected integer, got \"ten\"". */
int ss_config_load(const ss_config_entry *table, void *out, char *err, size_t errlen);
/** Free the strings ss_config_load allocated in out. */
void ss_config_free(const ss_config_entry *table, void *out);
void ss_config_help(FILE *f, const char *program, const char *summary, const ss_config_entry *table);
void ss_config_markdown(FILE *f, const ss_config_entry *table);
/** Parse helpers, exposed for tests and other parsers. Return 0 / -1. */
int ss_parse_duration_ms(const char *s, int64_t *out);
int ss_parse_size(const char *s, int64_t *out);

/** Standard start-up: handles --help and --config-markdown (prints, exits 0),
 * then loads; on error prints it to stderr and exits 2. */
void ss_config_main(int argc, char **argv, const char *program, const char *summary,
                    const ss_config_entry *table, void *out);

#endif
