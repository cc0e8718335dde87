/* auth.c - API keys, scopes and per-key token buckets.
 *
 * Only SHA-256 digests of keys are configured and kept. A presented key is
 * hashed and compared with every configured digest using CRYPTO_memcmp, with
 * no early exit, so the time taken says nothing about which digest (or how
 * much of one) matched. Keys never reach the logs: keys are named, and the
 * name is what logs and metrics show. */
#include "gateway.h"

#include <ctype.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"

struct gw_key {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    int scopes;
    char name[64];
    double rps, burst;
    double tokens;
    int64_t last_us;
};

struct gw_auth {
    gw_key *keys;
    size_t n;
};

static const struct {
    const char *name;
    int bit;
} scope_names[] = {
    {"produce", GW_SCOPE_PRODUCE},
    {"score", GW_SCOPE_SCORE},
    {"read", GW_SCOPE_READ},
    {"admin", GW_SCOPE_ADMIN},
};

int gw_scopes_parse(const char *s, int *out)
{
    int mask = 0;
    char *copy = ss_strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
            if (strcmp(t, scope_names[i].name) == 0) break;
        if (i == sizeof(scope_names) / sizeof(scope_names[0])) {
            ss_free(copy);
            return -1;
        }
        mask |= scope_names[i].bit;
    }
    ss_free(copy);
    *out = mask;
    return mask ? 0 : -1;
}

static int hex_digest(const char *hex, unsigned char *out)
{
    if (strlen(hex) != 2 * SHA256_DIGEST_LENGTH) return -1;
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* One entry: "<sha256-hex> <scopes> <name> [<rps> [<burst>]]". */
static int parse_entry(gw_auth *a, char *line, const char *origin, int lineno, double rps,
                       double burst, char *err, size_t errlen)
{
    char *f[6] = {0};
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t && n < 6; t = strtok_r(NULL, " \t\r", &save))
        f[n++] = t;
    if (n == 0) return 0;
    if (n < 3 || n > 5)
        return ss_err(err, errlen,
                      "bad api keys: %s:%d: expected \"<sha256-hex> <scopes> <name> [rps "
                      "[burst]]\", got %d fields",
                      origin, lineno, n);
    gw_key k;
    memset(&k, 0, sizeof(k));
    if (hex_digest(f[0], k.digest) != 0)
        return ss_err(err, errlen,
                      "bad api keys: %s:%d: key digest must be 64 hex digits (sha256 of the key), "
                      "got %zu characters",
                      origin, lineno, strlen(f[0]));
    if (gw_scopes_parse(f[1], &k.scopes) != 0)
        return ss_err(err, errlen,
                      "bad api keys: %s:%d: scopes must be a comma list of produce, score, read, "
                      "admin; got \"%s\"",
                      origin, lineno, f[1]);
    ss_strlcpy(k.name, f[2], sizeof(k.name));
    k.rps = rps;
    k.burst = burst;
    char *end = NULL;
    if (n >= 4 && (!(k.rps = strtod(f[3], &end)) || *end || !(k.rps > 0) || isinf(k.rps)))
        return ss_err(err, errlen, "bad api keys: %s:%d: rps must be a positive number, got \"%s\"",
                      origin, lineno, f[3]);
    if (n >= 5 && (!(k.burst = strtod(f[4], &end)) || *end || !(k.burst >= 1) || isinf(k.burst)))
        return ss_err(err, errlen, "bad api keys: %s:%d: burst must be a number >= 1, got \"%s\"",
                      origin, lineno, f[4]);
    for (size_t i = 0; i < a->n; i++) {
        if (memcmp(a->keys[i].digest, k.digest, sizeof(k.digest)) == 0)
            return ss_err(err, errlen,
                          "bad api keys: %s:%d: key \"%s\" repeats the digest of \"%s\"", origin,
                          lineno, k.name, a->keys[i].name);
    }
    k.tokens = k.burst;
    k.last_us = -1;
    a->keys = ss_realloc(a->keys, (a->n + 1) * sizeof(gw_key));
    a->keys[a->n++] = k;
    return 0;
}

static int parse_table(gw_auth *a, const char *text, const char *origin, const char *seps,
                       double rps, double burst, char *err, size_t errlen)
{
    char *copy = ss_strdup(text);
    int lineno = 0, rc = 0;
    /* split by hand: strtok_r would merge empty lines and lose the numbering */
    char *p = copy;
    while (p && rc == 0) {
        char *end = p + strcspn(p, seps);
        char next = *end;
        *end = '\0';
        lineno++;
        char *hash = strchr(p, '#');
        if (hash) *hash = '\0';
        rc = parse_entry(a, p, origin, lineno, rps, burst, err, errlen);
        p = next ? end + 1 : NULL;
    }
    ss_free(copy);
    return rc;
}

gw_auth *gw_auth_new(const char *inline_table, const char *file, double default_rps,
                     double default_burst, char *err, size_t errlen)
{
    gw_auth *a = ss_calloc(1, sizeof(*a));
    if (inline_table && *inline_table &&
        parse_table(a, inline_table, "API_KEYS", ";\n", default_rps, default_burst, err, errlen))
        goto fail;
    if (file && *file) {
        FILE *f = fopen(file, "r");
        if (!f) {
            ss_err(err, errlen, "bad api keys: cannot open API_KEYS_FILE %s: %m", file);
            goto fail;
        }
        ss_buf b;
        ss_buf_init(&b);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            ss_buf_append(&b, chunk, n);
        fclose(f);
        int rc = parse_table(a, b.data ? b.data : "", file, "\n", default_rps, default_burst, err,
                             errlen);
        ss_buf_free(&b);
        if (rc) goto fail;
    }
    return a;
fail:
    gw_auth_free(a);
    return NULL;
}

void gw_auth_free(gw_auth *a)
{
    if (!a) return;
    OPENSSL_cleanse(a->keys, a->n * sizeof(gw_key));
    ss_free(a->keys);
    ss_free(a);
}

size_t gw_auth_count(const gw_auth *a)
{
    return a->n;
}

gw_key *gw_auth_lookup(gw_auth *a, const char *presented)
{
    if (!presented || !*presented) return NULL;
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)presented, strlen(presented), d);
    gw_key *found = NULL;
    for (size_t i = 0; i < a->n; i++) {
        /* every digest is compared: no early exit */
        int eq = CRYPTO_memcmp(a->keys[i].digest, d, sizeof(d)) == 0;
        if (eq && !found) found = &a->keys[i];
    }
    OPENSSL_cleanse(d, sizeof(d));
    return found;
}

const char *gw_key_name(const gw_key *k)
{
    return k->name;
}

int gw_key_scopes(const gw_key *k)
{
    return k->scopes;
}

int gw_key_take(gw_key *k, int64_t now_us)
{
    if (k->last_us >= 0) {
        k->tokens += (double)(now_us - k->last_us) / 1e6 * k->rps;
        if (k->tokens > k->burst) k->tokens = k->burst;
    }
    k->last_us = now_us;
    if (k->tokens >= 1) {
        k->tokens -= 1;
        return 0;
    }
    int wait = (int)ceil((1 - k->tokens) / k->rps);
    return wait < 1 ? 1 : wait;
}

/* ------------------------------------------------------------------- guard */

static const char *bearer(struct evhttp_request *req)
{
    const char *h = ss_http_header(req, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    return ss_http_header(req, "X-API-Key");
}

static const char *scope_name(int scope)
{
    switch (scope) {
    case GW_SCOPE_PRODUCE:
        return "produce";
    case GW_SCOPE_SCORE:
        return "score";
    case GW_SCOPE_READ:
        return "read";
    default:
        return "admin";
    }
}

const gw_key *gw_guard(gw *g, struct evhttp_request *req, int scope)
{
    static char anonymous; /* AUTH_DISABLED: a non-NULL token */
    if (g->cfg.auth_disabled) return (const gw_key *)&anonymous;
    const char *presented = bearer(req);
    if (!presented || !*presented) {
        ss_metric_inc(g->m_auth_missing);
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"streamscore\"");
        ss_http_reply_problem(req, 401, "unauthorized", NULL,
                              "missing api key: send Authorization: Bearer <key> or X-API-Key");
        return NULL;
    }
    gw_key *k = gw_auth_lookup(g->auth, presented);
    if (!k) {
        ss_metric_inc(g->m_auth_invalid);
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"streamscore\", error=\"invalid_token\"");
        ss_http_reply_problem(req, 401, "unauthorized", NULL, "invalid api key");
        return NULL;
    }
    if (!(gw_key_scopes(k) & scope)) {
        ss_metric_inc(g->m_auth_forbidden);
        ss_log(SS_LOG_INFO, "auth: scope missing", "key", gw_key_name(k), "scope",
               scope_name(scope), NULL);
        ss_http_reply_problem(req, 403, "forbidden", json_pack("{s:s}", "scope", scope_name(scope)),
                              "api key \"%s\" lacks the scope \"%s\"", gw_key_name(k),
                              scope_name(scope));
        return NULL;
    }
    int wait = gw_key_take(k, ss_mono_us());
    if (wait) {
        char labels[128], ra[16];
        ss_metric_labels(labels, sizeof(labels), "key", gw_key_name(k), NULL);
        ss_metric_inc(ss_counter("streamscore_gateway_rate_limited_total",
                                 "Requests refused with 429, by key name.", labels));
        snprintf(ra, sizeof(ra), "%d", wait);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
        ss_http_reply_problem(
            req, 429, "too many requests", json_pack("{s:i}", "retry_after", wait),
            "api key \"%s\" is over its rate limit; retry in %d s", gw_key_name(k), wait);
        return NULL;
    }
    return k;
}
