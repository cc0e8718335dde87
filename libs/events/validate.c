/* validate.c - event validation shared by ingest and the gateway.
 *
 * JSON goes through jansson (strict: duplicates rejected, UTF-8 checked
 * first so the failing field can be named), the time field is normalised
 * from RFC 3339 to epoch millis, ss_avro_from_json fills the canonical value
 * field by field, and ss_event_validate_value applies the rules. Avro goes
 * through the codec (writer -> canonical resolution), then the same rules.
 */
#include "events/validate.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

struct ss_event_rules {
    avro_schema_t schema;
    int id_idx, time_idx, key_idx, amount_idx, currency_idx; /* -1 = no such rule */
    const char *time_name;
    uint8_t currencies[26 * 26 * 26 / 8 + 1]; /* bitmap over AAA..ZZZ */
    double amount_min, amount_max;
    int64_t max_future_ms, max_age_ms;
    size_t max_string, max_message;
    int strict;
};

/* Active ISO 4217 alphabetic codes (incl. funds and precious metals; without
 * XTS "testing" and XXX "no currency"). */
static const char iso4217[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP "
    "ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR "
    "ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD "
    "MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR "
    "PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL "
    "THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF "
    "XAG XAU XBA XBB XBC XBD XCD XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWL";

static int ev_fail(ss_event_error *e, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ev_fail(ss_event_error *e, const char *reason, const char *field, const char *fmt, ...)
{
    if (!e) return -1;
    e->reason = reason;
    ss_strlcpy(e->field, field ? field : "", sizeof e->field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    return -1;
}

/* ------------------------------------------------------------ rules */

void ss_event_rules_config_defaults(ss_event_rules_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->id_field = "event_id";
    cfg->time_field = "event_time";
    cfg->key_field = "card_id";
    cfg->amount_field = "amount";
    cfg->currency_field = "currency";
    cfg->currencies = "";
    cfg->amount_min = 0;
    cfg->amount_max = 1e9;
    cfg->max_future_ms = 5 * 60 * 1000;
    cfg->max_age_ms = 0;
    cfg->max_string = 256;
    cfg->max_message = 64 * 1024;
    cfg->strict_fields = 1;
}

static int code_index(const char *s, size_t n)
{
    if (n != 3) return -1;
    for (int i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z') return -1;
    return ((s[0] - 'A') * 26 + (s[1] - 'A')) * 26 + (s[2] - 'A');
}

static int add_currencies(ss_event_rules *r, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, " ,");
        if (!n) break;
        int idx = code_index(p, n);
        if (idx < 0)
            return ss_err(err, errlen,
                          "bad event rules: currency \"%.*s\" is not three letters A-Z", (int)n, p);
        r->currencies[idx / 8] |= (uint8_t)(1u << (idx % 8));
        p += n;
    }
    return 0;
}

static avro_schema_t unwrap_nullable(avro_schema_t s)
{
    if (avro_typeof(s) != AVRO_UNION) return s;
    for (size_t i = 0; i < avro_schema_union_size(s); i++) {
        avro_schema_t b = avro_schema_union_branch(s, (int)i);
        if (avro_typeof(b) != AVRO_NULL) return b;
    }
    return s;
}

/* Index of field `name` whose type is one of `types`; "" or NULL = -1. */
static int rule_field(avro_schema_t schema, const char *name, const avro_type_t *types,
                      size_t ntypes, const char *what, int *out, char *err, size_t errlen)
{
    *out = -1;
    if (!name || !*name) return 0;
    int idx = avro_schema_record_field_get_index(schema, name);
    if (idx < 0)
        return ss_err(err, errlen, "bad event rules: %s field \"%s\" is not in schema %s", what,
                      name, avro_schema_name(schema));
    avro_type_t t =
        avro_typeof(unwrap_nullable(avro_schema_record_field_get_by_index(schema, idx)));
    for (size_t i = 0; i < ntypes; i++)
        if (t == types[i]) return *out = idx, 0;
    return ss_err(err, errlen, "bad event rules: %s field \"%s\" has an unsuitable type", what,
                  name);
}

ss_event_rules *ss_event_rules_new(const ss_event_rules_config *cfg, avro_schema_t schema,
                                   char *err, size_t errlen)
{
    static const avro_type_t str[] = {AVRO_STRING};
    static const avro_type_t lng[] = {AVRO_INT64};
    static const avro_type_t num[] = {AVRO_DOUBLE, AVRO_FLOAT, AVRO_INT64, AVRO_INT32};
    if (!schema || avro_typeof(schema) != AVRO_RECORD) {
        ss_err(err, errlen, "bad event rules: the event schema must be a record");
        return NULL;
    }
    ss_event_rules *r = ss_calloc(1, sizeof *r);
    r->schema = schema;
    if (rule_field(schema, cfg->id_field, str, 1, "id", &r->id_idx, err, errlen) ||
        rule_field(schema, cfg->time_field, lng, 1, "time", &r->time_idx, err, errlen) ||
        rule_field(schema, cfg->key_field, str, 1, "key", &r->key_idx, err, errlen) ||
        rule_field(schema, cfg->amount_field, num, 4, "amount", &r->amount_idx, err, errlen) ||
        rule_field(schema, cfg->currency_field, str, 1, "currency", &r->currency_idx, err,
                   errlen) ||
        add_currencies(r, cfg->currencies && *cfg->currencies ? cfg->currencies : iso4217, err,
                       errlen))
        goto bad;
    if (r->id_idx < 0 || r->key_idx < 0) {
        ss_err(err, errlen, "bad event rules: EVENT_ID_FIELD and EVENT_KEY_FIELD are required");
        goto bad;
    }
    if (!(cfg->amount_min <= cfg->amount_max)) {
        ss_err(err, errlen, "bad event rules: EVENT_AMOUNT_MIN %g > EVENT_AMOUNT_MAX %g",
               cfg->amount_min, cfg->amount_max);
        goto bad;
    }
    r->time_name = r->time_idx >= 0 ? avro_schema_record_field_name(schema, r->time_idx) : NULL;
    r->amount_min = cfg->amount_min;
    r->amount_max = cfg->amount_max;
    r->max_future_ms = cfg->max_future_ms;
    r->max_age_ms = cfg->max_age_ms;
    r->max_string = cfg->max_string > 0 ? (size_t)cfg->max_string : 256;
    r->max_message = cfg->max_message > 0 ? (size_t)cfg->max_message : 65536;
    r->strict = cfg->strict_fields;
    return r;
bad:
    ss_free(r);
    return NULL;
}

void ss_event_rules_free(ss_event_rules *r)
{
    ss_free(r);
}

size_t ss_event_rules_max_message(const ss_event_rules *r)
{
    return r->max_message;
}

/* ------------------------------------------------------------ text helpers */

int ss_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            n = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 4, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if ((size_t)(end - p) < n) return 0;
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        p += n;
    }
    return 1;
}

static size_t utf8_first_bad(const char *s, size_t len)
{
    /* bisect-free: re-check growing prefixes one character at a time */
    size_t i = 0;
    while (i < len) {
        size_t n = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xf0)
            n = 4;
        else if (c >= 0xe0)
            n = 3;
        else if (c >= 0xc0)
            n = 2;
        if (i + n > len || !ss_utf8_valid(s + i, n)) return i;
        i += n;
    }
    return len;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int ss_parse_rfc3339_ms(const char *s, int64_t *out)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;
    const char *p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (isdigit((unsigned char)*p)) {
            if (nd < 3) ms = ms * 10 + (*p - '0');
            nd++, p++;
        }
        if (nd == 0) return -1;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
    } else {
        return -1;
    }
    if (*p) return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    if (sec == 60) sec = 59; /* leap second: clamp, as most clocks do */
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t t = ((days * 24 + h) * 60 + mi) * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);
    *out = t * 1000 + ms;
    return 0;
}

/* The top-level key whose value contains byte offset pos of a JSON object
 * text, to name the field of a parse error. */
static void field_at(const char *s, size_t len, size_t pos, char *out, size_t outlen)
{
    int depth = 0, expect_key = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len && i < pos; i++) {
        char c = s[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < len && s[j] != '"')
                j += s[j] == '\\' ? 2 : 1;
            if (depth == 1 && expect_key) {
                size_t k = j + 1;
                while (k < len && isspace((unsigned char)s[k]))
                    k++;
                if (k < len && s[k] == ':') {
                    size_t n = j - i - 1 < outlen - 1 ? j - i - 1 : outlen - 1;
                    memcpy(out, s + i + 1, n);
                    out[n] = '\0';
                    expect_key = 0;
                }
            }
            i = j;
        } else if (c == '{' || c == '[') {
            depth++;
            expect_key = depth == 1 && c == '{';
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            expect_key = 1;
        }
    }
}

/* The bare token around pos ("NaN", "-Infinity", "1e400"). */
static void token_at(const char *s, size_t len, size_t pos, char *out, size_t outlen)
{
    size_t a = pos < len ? pos : len, b = a;
    while (a > 0 && (isalnum((unsigned char)s[a - 1]) || strchr("+-.", s[a - 1])))
        a--;
    while (b < len && (isalnum((unsigned char)s[b]) || strchr("+-.", s[b])))
        b++;
    size_t n = b - a < outlen - 1 ? b - a : outlen - 1;
    memcpy(out, s + a, n);
    out[n] = '\0';
}

static int json_parse_error(const char *data, size_t len, const json_error_t *jerr,
                            ss_event_error *e)
{
    char field[128], tok[64];
    size_t pos = (size_t)jerr->position;
    field_at(data, len, pos, field, sizeof field);
    token_at(data, len, pos > 0 ? pos - 1 : 0, tok, sizeof tok);
    const char *t = tok + (tok[0] == '-' || tok[0] == '+');
    if (strstr(jerr->text, "real number overflow"))
        return ev_fail(e, SS_EV_NOT_FINITE, field, "field \"%s\": %s overflows a double", field,
                       tok);
    if (strstr(jerr->text, "too big") && strstr(jerr->text, "integer"))
        return ev_fail(e, SS_EV_OUT_OF_RANGE, field, "field \"%s\": %s is out of range for long",
                       field, tok);
    if (strncasecmp(t, "nan", 3) == 0 || strncasecmp(t, "inf", 3) == 0)
        return ev_fail(e, SS_EV_NOT_FINITE, field, "field \"%s\": %s is not a finite number", field,
                       tok);
    if (strstr(jerr->text, "duplicate object key"))
        return ev_fail(e, SS_EV_DUPLICATE_FIELD, field, "field \"%s\": appears twice", field);
    return ev_fail(e, SS_EV_INVALID_JSON, field, "invalid json at byte %d: %s", jerr->position,
                   jerr->text);
}

/* ------------------------------------------------------------ validation */

static const char *json_reason(ss_avro_json_errkind k)
{
    switch (k) {
    case SS_AVRO_JSON_MISSING:
        return SS_EV_MISSING_FIELD;
    case SS_AVRO_JSON_BAD_ENUM:
        return SS_EV_BAD_ENUM;
    case SS_AVRO_JSON_OUT_OF_RANGE:
        return SS_EV_OUT_OF_RANGE;
    case SS_AVRO_JSON_NOT_FINITE:
        return SS_EV_NOT_FINITE;
    case SS_AVRO_JSON_UNKNOWN_FIELD:
        return SS_EV_UNKNOWN_FIELD;
    default:
        return SS_EV_WRONG_TYPE;
    }
}

/* JSON may carry the event time as RFC 3339: replace it by epoch millis. */
static int normalise_time(const ss_event_rules *r, json_t *obj, ss_event_error *e)
{
    json_t *t = r->time_name ? json_object_get(obj, r->time_name) : NULL;
    if (!json_is_string(t)) return 0;
    int64_t ms;
    if (ss_parse_rfc3339_ms(json_string_value(t), &ms))
        return ev_fail(e, SS_EV_BAD_TIMESTAMP, r->time_name,
                       "field \"%s\": \"%.60s\" is neither epoch millis nor RFC 3339", r->time_name,
                       json_string_value(t));
    json_object_set_new(obj, r->time_name, json_integer(ms));
    return 0;
}

int ss_event_validate_json(const ss_event_rules *r, const char *data, size_t len, avro_value_t *out,
                           ss_event_error *e)
{
    if (len == 0) return ev_fail(e, SS_EV_EMPTY_MESSAGE, "", "empty message");
    if (len > r->max_message)
        return ev_fail(e, SS_EV_TOO_LARGE, "", "message of %zu bytes is over the cap of %zu", len,
                       r->max_message);
    if (!ss_utf8_valid(data, len)) {
        char field[128];
        size_t at = utf8_first_bad(data, len);
        field_at(data, len, at, field, sizeof field);
        return ev_fail(e, SS_EV_INVALID_UTF8, field, "field \"%s\": invalid UTF-8 at byte %zu",
                       field, at);
    }
    json_error_t jerr;
    json_t *obj = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!obj) return json_parse_error(data, len, &jerr, e);
    int rc = -1;
    ss_avro_json_error je;
    if (!json_is_object(obj)) {
        ev_fail(e, SS_EV_NOT_AN_OBJECT, "", "expected a JSON object, got %s",
                json_is_array(obj)    ? "an array"
                : json_is_string(obj) ? "a string"
                                      : "a scalar");
    } else if (normalise_time(r, obj, e) == 0) {
        if (ss_avro_from_json_ex(out, obj, r->strict ? SS_AVRO_JSON_STRICT : 0, &je))
            ev_fail(e, json_reason(je.kind), je.field, "%s", je.msg);
        else
            rc = ss_event_validate_value(r, out, e);
    }
    json_decref(obj);
    return rc;
}

static int check_string(const ss_event_rules *r, const char *field, const char *s, size_t n,
                        ss_event_error *e)
{
    if (n > r->max_string)
        return ev_fail(e, SS_EV_TOO_LONG, field, "field \"%s\": %zu bytes is over the cap of %zu",
                       field, n, r->max_string);
    if (!ss_utf8_valid(s, n))
        return ev_fail(e, SS_EV_INVALID_UTF8, field, "field \"%s\": invalid UTF-8 at byte %zu",
                       field, utf8_first_bad(s, n));
    return 0;
}

/* Generic checks on every value: string caps and UTF-8, finite numbers. */
static int check_any(const ss_event_rules *r, const char *field, avro_value_t *v, int depth,
                     ss_event_error *e)
{
    const char *s;
    size_t n;
    double d;
    float f;
    if (depth > 32)
        return ev_fail(e, SS_EV_WRONG_TYPE, field, "field \"%s\": nested too deeply", field);
    switch (avro_value_get_type(v)) {
    case AVRO_STRING:
        avro_value_get_string(v, &s, &n);
        return check_string(r, field, s, n ? n - 1 : 0, e);
    case AVRO_BYTES: {
        const void *b;
        avro_value_get_bytes(v, &b, &n);
        if (n > r->max_string)
            return ev_fail(e, SS_EV_TOO_LONG, field,
                           "field \"%s\": %zu bytes is over the cap of %zu", field, n,
                           r->max_string);
        return 0;
    }
    case AVRO_DOUBLE:
        avro_value_get_double(v, &d);
        if (!isfinite(d))
            return ev_fail(e, SS_EV_NOT_FINITE, field, "field \"%s\": %g is not finite", field, d);
        return 0;
    case AVRO_FLOAT:
        avro_value_get_float(v, &f);
        if (!isfinite(f))
            return ev_fail(e, SS_EV_NOT_FINITE, field, "field \"%s\": %g is not finite", field,
                           (double)f);
        return 0;
    case AVRO_UNION: {
        avro_value_t b;
        if (avro_value_get_current_branch(v, &b))
            return ev_fail(e, SS_EV_MISSING_FIELD, field, "field \"%s\": not set", field);
        return check_any(r, field, &b, depth + 1, e);
    }
    case AVRO_RECORD:
    case AVRO_MAP:
    case AVRO_ARRAY: {
        avro_value_get_size(v, &n);
        int is_map = avro_value_get_type(v) == AVRO_MAP;
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            const char *key = NULL;
            avro_value_get_by_index(v, i, &child, &key);
            if (is_map && check_string(r, field, key, strlen(key), e)) return -1;
            if (check_any(r, field, &child, depth + 1, e)) return -1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* The value of a (possibly nullable) field; 0 = null / unset. */
static int field_value(avro_value_t *rec, int idx, avro_value_t *out)
{
    avro_value_get_by_index(rec, (size_t)idx, out, NULL);
    if (avro_value_get_type(out) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_get_current_branch(out, &b)) return 0;
        *out = b;
    }
    return avro_value_get_type(out) != AVRO_NULL;
}

static int check_number(const ss_event_rules *r, const char *field, avro_value_t *v,
                        ss_event_error *e)
{
    double d = 0;
    int32_t i32;
    int64_t i64;
    float f;
    switch (avro_value_get_type(v)) {
    case AVRO_DOUBLE:
        avro_value_get_double(v, &d);
        break;
    case AVRO_FLOAT:
        avro_value_get_float(v, &f);
        d = f;
        break;
    case AVRO_INT32:
        avro_value_get_int(v, &i32);
        d = i32;
        break;
    case AVRO_INT64:
        avro_value_get_long(v, &i64);
        d = (double)i64;
        break;
    default:
        return 0;
    }
    if (!isfinite(d))
        return ev_fail(e, SS_EV_NOT_FINITE, field, "field \"%s\": %g is not finite", field, d);
    if (d < r->amount_min)
        return ev_fail(e, SS_EV_OUT_OF_RANGE, field, "field \"%s\": %g is below the minimum %g",
                       field, d, r->amount_min);
    if (d > r->amount_max)
        return ev_fail(e, SS_EV_OUT_OF_RANGE, field, "field \"%s\": %g is above the maximum %g",
                       field, d, r->amount_max);
    return 0;
}

static int check_time(const ss_event_rules *r, const char *field, avro_value_t *v,
                      ss_event_error *e)
{
    int64_t t = 0, now = ss_now_ms();
    avro_value_get_long(v, &t);
    if (t < 0)
        return ev_fail(e, SS_EV_BAD_TIMESTAMP, field, "field \"%s\": %" PRId64 " is before 1970",
                       field, t);
    if (t > now && t - now > r->max_future_ms)
        return ev_fail(e, SS_EV_FUTURE_TIMESTAMP, field,
                       "field \"%s\": %" PRId64 " is %" PRId64 " ms in the future (max %" PRId64
                       ")",
                       field, t, t - now, r->max_future_ms);
    if (r->max_age_ms > 0 && now - t > r->max_age_ms)
        return ev_fail(e, SS_EV_STALE_TIMESTAMP, field,
                       "field \"%s\": %" PRId64 " is %" PRId64 " ms old (max %" PRId64 ")", field,
                       t, now - t, r->max_age_ms);
    return 0;
}

static int check_rule(const ss_event_rules *r, int idx, const char *field, avro_value_t *rec,
                      ss_event_error *e)
{
    avro_value_t v;
    const char *s;
    size_t n;
    int set = field_value(rec, idx, &v);
    if (idx == r->id_idx || idx == r->key_idx) {
        if (!set) return ev_fail(e, SS_EV_MISSING_FIELD, field, "field \"%s\": is null", field);
        avro_value_get_string(&v, &s, &n);
        if (n <= 1) return ev_fail(e, SS_EV_EMPTY_STRING, field, "field \"%s\": is empty", field);
    }
    if (!set) return 0; /* optional and absent: nothing more to check */
    if (idx == r->time_idx) return check_time(r, field, &v, e);
    if (idx == r->amount_idx) return check_number(r, field, &v, e);
    if (idx == r->currency_idx) {
        avro_value_get_string(&v, &s, &n);
        int ci = code_index(s, n ? n - 1 : 0);
        if (ci < 0 || !(r->currencies[ci / 8] & (1u << (ci % 8))))
            return ev_fail(e, SS_EV_BAD_CURRENCY, field,
                           "field \"%s\": \"%.20s\" is not an accepted ISO 4217 code", field, s);
    }
    return 0;
}

int ss_event_validate_value(const ss_event_rules *r, avro_value_t *canonical, ss_event_error *e)
{
    size_t n = avro_schema_record_size(r->schema);
    for (size_t i = 0; i < n; i++) {
        const char *field = avro_schema_record_field_name(r->schema, (int)i);
        avro_value_t v;
        if (avro_value_get_by_index(canonical, i, &v, NULL))
            return ev_fail(e, SS_EV_WRONG_TYPE, "", "value is not a %s record",
                           avro_schema_name(r->schema));
        if (check_any(r, field, &v, 0, e) || check_rule(r, (int)i, field, canonical, e)) return -1;
    }
    return 0;
}

static const char *avro_reason(ss_avro_errcode code)
{
    switch (code) {
    case SS_AVRO_E_EMPTY:
        return SS_EV_EMPTY_MESSAGE;
    case SS_AVRO_E_MAGIC:
        return SS_EV_BAD_MAGIC;
    case SS_AVRO_E_UNKNOWN_ID:
        return SS_EV_UNKNOWN_SCHEMA;
    case SS_AVRO_E_INCOMPATIBLE:
        return SS_EV_INCOMPATIBLE_SCHEMA;
    case SS_AVRO_E_TRAILING:
        return SS_EV_TRAILING_BYTES;
    case SS_AVRO_E_REGISTRY:
        return SS_EV_REGISTRY_UNAVAILABLE;
    default:
        return SS_EV_TRUNCATED_AVRO;
    }
}

int ss_event_validate_avro(const ss_event_rules *r, ss_avro_codec *codec, const void *data,
                           size_t len, avro_value_t **out, ss_event_error *e)
{
    char err[256];
    if (len == 0) return ev_fail(e, SS_EV_EMPTY_MESSAGE, "", "empty message");
    if (len > r->max_message)
        return ev_fail(e, SS_EV_TOO_LARGE, "", "message of %zu bytes is over the cap of %zu", len,
                       r->max_message);
    if (ss_avro_decode(codec, data, len, out, err, sizeof err))
        return ev_fail(e, avro_reason(ss_avro_codec_errcode(codec)), "", "%s", err);
    return ss_event_validate_value(r, *out, e);
}

int ss_event_validate_any(const ss_event_rules *r, ss_avro_codec *codec, const void *data,
                          size_t len, avro_value_t **out, ss_event_error *e)
{
    const unsigned char *p = data;
    if (len == 0) return ev_fail(e, SS_EV_EMPTY_MESSAGE, "", "empty message");
    if (p[0] == 0x00) return ss_event_validate_avro(r, codec, data, len, out, e);
    if (p[0] < 0x20 && !isspace(p[0]))
        return ev_fail(e, SS_EV_BAD_MAGIC, "",
                       "bad avro: wrong magic byte 0x%02x (and not JSON either)", p[0]);
    *out = ss_avro_codec_new_value(codec);
    return ss_event_validate_json(r, data, len, *out, e);
}

int ss_event_info_get(const ss_event_rules *r, avro_value_t *canonical, ss_event_info *info)
{
    avro_value_t v;
    memset(info, 0, sizeof *info);
    if (!field_value(canonical, r->id_idx, &v)) return -1;
    avro_value_get_string(&v, &info->event_id, &info->event_id_len);
    if (info->event_id_len) info->event_id_len--;
    if (!field_value(canonical, r->key_idx, &v)) return -1;
    avro_value_get_string(&v, &info->key, &info->key_len);
    if (info->key_len) info->key_len--;
    if (r->time_idx >= 0 && field_value(canonical, r->time_idx, &v))
        avro_value_get_long(&v, &info->event_time_ms);
    return 0;
}
