/* config.c - environment configuration from a table (see config.h). */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

static const char *type_names[] = {"string", "integer", "number", "boolean", "duration", "size"};

static int bounded(const ss_config_entry *e)
{
    return e->min <= e->max;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

/* number followed by an optional unit from a table of (suffix, multiplier) */
static int parse_scaled(const char *s, const char *const *units, const double *mult, size_t n,
                        int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0) return -1;
    while (*end == ' ') end++;
    double m = 1;
    if (*end) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(end, units[i]) == 0) break;
        if (i == n) return -1;
        m = mult[i];
    }
    double r = v * m;
    if (r > 9.2e18 || r != floor(r)) return -1;
    *out = (int64_t)r;
    return 0;
}

int ss_parse_duration_ms(const char *s, int64_t *out)
{
    static const char *const u[] = {"ms", "s", "m", "h", "d"};
    static const double m[] = {1, 1e3, 60e3, 3600e3, 86400e3};
    return parse_scaled(s, u, m, 5, out);
}

int ss_parse_size(const char *s, int64_t *out)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "KB", "MB", "GB", "k", "K", "M", "G"};
    static const double m[] = {1, 1024.0, 1048576.0, 1073741824.0, 1e3, 1e6, 1e9,
                               1024.0, 1024.0, 1048576.0, 1073741824.0};
    return parse_scaled(s, u, m, 11, out);
}

static int load_one(const ss_config_entry *e, const char *s, void *out, char *err, size_t errlen)
{
    char *field = (char *)out + e->offset;
    int64_t i;
    double d;
    int b;

    switch (e->type) {
    case SS_CFG_STRING:
        *(char **)field = ss_strdup(s);
        return 0;
    case SS_CFG_BOOL:
        if (parse_bool(s, &b))
            return ss_err(err, errlen, "bad config: %s: expected boolean (true/false), got \"%s\"",
                          e->env, s);
        *(int *)field = b;
        return 0;
    case SS_CFG_DOUBLE:
        if (parse_double(s, &d))
            return ss_err(err, errlen, "bad config: %s: expected number, got \"%s\"", e->env, s);
        if (bounded(e) && (d < e->min || d > e->max))
            return ss_err(err, errlen, "bad config: %s: %g is outside [%g, %g]", e->env, d, e->min,
                          e->max);
        *(double *)field = d;
        return 0;
    case SS_CFG_INT:
    case SS_CFG_DURATION:
    case SS_CFG_SIZE: {
        int rc = e->type == SS_CFG_INT        ? parse_int(s, &i)
                 : e->type == SS_CFG_DURATION ? ss_parse_duration_ms(s, &i)
                                              : ss_parse_size(s, &i);
        if (rc)
            return ss_err(err, errlen, "bad config: %s: expected %s, got \"%s\"", e->env,
                          e->type == SS_CFG_INT        ? "integer"
                          : e->type == SS_CFG_DURATION ? "duration (e.g. 250ms, 5s, 2m, 1h, 30d)"
                                                       : "size (e.g. 512, 64KiB, 1MiB)",
                          s);
        if (bounded(e) && ((double)i < e->min || (double)i > e->max))
            return ss_err(err, errlen, "bad config: %s: %lld is outside [%.0f, %.0f]", e->env,
                          (long long)i, e->min, e->max);
        *(int64_t *)field = i;
        return 0;
    }
    }
    return ss_err(err, errlen, "bad config: %s: unknown type", e->env);
}

int ss_config_load(const ss_config_entry *table, void *out, char *err, size_t errlen)
{
    for (const ss_config_entry *e = table; e->env; e++) /* so a failure frees only ours */
        if (e->type == SS_CFG_STRING) *(char **)((char *)out + e->offset) = NULL;
    for (const ss_config_entry *e = table; e->env; e++) {
        const char *s = getenv(e->env);
        if (!s) s = e->def;
        if (!s) {
            ss_config_free(table, out);
            return ss_err(err, errlen, "bad config: %s: required, not set", e->env);
        }
        if (load_one(e, s, out, err, errlen)) {
            ss_config_free(table, out);
            return -1;
        }
    }
    return 0;
}

void ss_config_free(const ss_config_entry *table, void *out)
{
    for (const ss_config_entry *e = table; e->env; e++) {
        if (e->type != SS_CFG_STRING) continue;
        char **p = (char **)((char *)out + e->offset);
        ss_free(*p);
        *p = NULL;
    }
}

void ss_config_help(FILE *f, const char *program, const char *summary, const ss_config_entry *table)
{
    fprintf(f, "usage: %s [--help] [--config-markdown]\n\n%s\n\nenvironment:\n", program, summary);
    for (const ss_config_entry *e = table; e->env; e++) {
        fprintf(f, "  %-28s %-8s %s", e->env, type_names[e->type], e->help);
        if (e->def)
            fprintf(f, " (default: \"%s\")", e->def);
        else
            fprintf(f, " (required)");
        if (bounded(e)) fprintf(f, " [%g..%g]", e->min, e->max);
        fputc('\n', f);
    }
}

void ss_config_markdown(FILE *f, const ss_config_entry *table)
{
    fprintf(f, "| variable | type | default | bounds | meaning |\n|---|---|---|---|---|\n");
    for (const ss_config_entry *e = table; e->env; e++) {
        char bounds[64] = "";
        if (bounded(e)) snprintf(bounds, sizeof(bounds), "%g..%g", e->min, e->max);
        fprintf(f, "| `%s` | %s | %s%s%s | %s | %s |\n", e->env, type_names[e->type],
                e->def ? "`" : "", e->def ? (*e->def ? e->def : "\"\"") : "required",
                e->def ? "`" : "", bounds, e->help);
    }
}

void ss_config_main(int argc, char **argv, const char *program, const char *summary,
                    const ss_config_entry *table, void *out)
{
    char err[512];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ss_config_help(stdout, program, summary, table);
            exit(0);
        }
        if (strcmp(argv[i], "--config-markdown") == 0) {
            ss_config_markdown(stdout, table);
            exit(0);
        }
    }
    if (ss_config_load(table, out, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", program, err);
        exit(2);
    }
}
