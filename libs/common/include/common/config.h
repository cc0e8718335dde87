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
