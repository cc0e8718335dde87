/* validate.h - validation of incoming events against the canonical event
 * schema and the configured rules, shared by ingest (events.ingest) and the
 * gateway (POST /v1/events) so both accept and reject exactly the same input.
 *
 * Nothing here hard-codes the card-fraud fields: the canonical schema gives
 * types, required fields (non-union, no default) and enum symbols; the rules
 * name which fields carry the event id, the key, the event time, the amount
 * and the currency, and give the bounds.
 *
 * Every rejection names a stable machine reason (SS_EV_* below, also listed
 * in docs/ingest.md), the first failing field (empty when the message as a
 * whole is bad) and a human detail.
 */
#ifndef SS_EVENTS_VALIDATE_H
#define SS_EVENTS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <avro.h>

#include "common/avro.h"
#include "common/config.h"

/* ---- reason codes (stable; used as DLQ header values and metric labels) */
#define SS_EV_INVALID_JSON "invalid_json"                 /* not parseable JSON */
#define SS_EV_NOT_AN_OBJECT "not_an_object"               /* JSON, but not an object */
#define SS_EV_DUPLICATE_FIELD "duplicate_field"           /* same key twice in one object */
#define SS_EV_UNKNOWN_FIELD "unknown_field"               /* key not in the schema (strict mode) */
#define SS_EV_MISSING_FIELD "missing_field"               /* required field absent or null */
#define SS_EV_WRONG_TYPE "wrong_type"                     /* e.g. string where a number belongs */
#define SS_EV_BAD_ENUM "bad_enum"                         /* symbol not in the enum */
#define SS_EV_NOT_FINITE "not_finite"                     /* NaN, Infinity, 1e400 */
#define SS_EV_OUT_OF_RANGE "out_of_range"                 /* int/long overflow, amount bounds */
#define SS_EV_BAD_CURRENCY "bad_currency"                 /* not an allowed ISO 4217 code */
#define SS_EV_BAD_TIMESTAMP "bad_timestamp"               /* unparseable / impossible time */
#define SS_EV_FUTURE_TIMESTAMP "future_timestamp"         /* beyond the allowed clock skew */
#define SS_EV_STALE_TIMESTAMP "stale_timestamp"           /* older than the allowed age */
#define SS_EV_TOO_LONG "too_long"                         /* string over the length cap */
#define SS_EV_EMPTY_STRING "empty_string"                 /* id/key field is "" */
#define SS_EV_INVALID_UTF8 "invalid_utf8"                 /* string is not valid UTF-8 */
#define SS_EV_TOO_LARGE "too_large"                       /* whole message over the size cap */
#define SS_EV_BAD_MAGIC "bad_magic"                       /* Avro framing: first byte not 0x00 */
#define SS_EV_UNKNOWN_SCHEMA "unknown_schema"             /* Avro framing: id not in registry */
#define SS_EV_INCOMPATIBLE_SCHEMA "incompatible_schema"   /* writer can't resolve to canonical */
#define SS_EV_TRUNCATED_AVRO "truncated_avro"             /* body ends early / is corrupt */
#define SS_EV_TRAILING_BYTES "trailing_bytes"             /* bytes left after the record */
#define SS_EV_EMPTY_MESSAGE "empty_message"               /* zero-length value */
#define SS_EV_REGISTRY_UNAVAILABLE "registry_unavailable" /* transient: retry, never DLQ */
#define SS_EV_NULL_KEY "null_key"   /* (ingest) no Kafka key, with INGEST_REQUIRE_KEY */
#define SS_EV_DUPLICATE "duplicate" /* (ingest) event id seen within the horizon: dropped */

typedef struct ss_event_error {
    const char *reason; /* one of SS_EV_* (static) */
    char field[128];    /* failing field, "" for the whole message */
    char detail[256];   /* human: "field \"amount\": -3 is below the minimum 0" */
} ss_event_error;

/** Rules as they come from configuration; embed in a service's config struct
 * and add SS_EVENT_RULES_CONFIG(service_config, member) to its table. */
typedef struct ss_event_rules_config {
    char *id_field;        /* EVENT_ID_FIELD, default event_id */
    char *time_field;      /* EVENT_TIME_FIELD, default event_time */
    char *key_field;       /* EVENT_KEY_FIELD, default card_id */
    char *amount_field;    /* EVENT_AMOUNT_FIELD, default amount ("" = none) */
    char *currency_field;  /* EVENT_CURRENCY_FIELD, default currency ("" = none) */
    char *currencies;      /* EVENT_CURRENCIES: comma list; "" = every ISO 4217 code */
    double amount_min;     /* EVENT_AMOUNT_MIN, default 0 */
    double amount_max;     /* EVENT_AMOUNT_MAX, default 1e9 */
    int64_t max_future_ms; /* EVENT_MAX_FUTURE_SKEW, default 5m */
    int64_t max_age_ms;    /* EVENT_MAX_AGE, default 0 = unlimited */
    int64_t max_string;    /* EVENT_MAX_STRING_BYTES, default 256 */
    int64_t max_message;   /* EVENT_MAX_MESSAGE_BYTES, default 64KiB */
    int strict_fields;     /* EVENT_STRICT_FIELDS, default true: unknown JSON keys rejected */
} ss_event_rules_config;

/* Table fragment for ss_config_entry tables (T: the service's config type, M:
 * its ss_event_rules_config member). */
// clang-format off
#define SS_EVENT_RULES_CONFIG(T, M)                                                             \
    {"EVENT_ID_FIELD", SS_CFG_STRING, "event_id", SS_UNBOUNDED, offsetof(T, M.id_field),         \
     "Field holding the globally unique event id (dedup key)."},                                 \
    {"EVENT_TIME_FIELD", SS_CFG_STRING, "event_time", SS_UNBOUNDED, offsetof(T, M.time_field),   \
     "Field holding the event time (epoch millis; JSON may also use RFC 3339)."},                \
    {"EVENT_KEY_FIELD", SS_CFG_STRING, "card_id", SS_UNBOUNDED, offsetof(T, M.key_field),        \
     "Field whose value is the Kafka key of the canonical event (primary entity)."},             \
    {"EVENT_AMOUNT_FIELD", SS_CFG_STRING, "amount", SS_UNBOUNDED, offsetof(T, M.amount_field),   \
     "Numeric field checked against EVENT_AMOUNT_MIN/MAX (empty: no amount check)."},            \
    {"EVENT_CURRENCY_FIELD", SS_CFG_STRING, "currency", SS_UNBOUNDED,                            \
     offsetof(T, M.currency_field), "Field checked against EVENT_CURRENCIES (empty: none)."},   \
    {"EVENT_CURRENCIES", SS_CFG_STRING, "", SS_UNBOUNDED, offsetof(T, M.currencies),             \
     "Allowed currency codes, comma separated; empty = every active ISO 4217 code."},           \
    {"EVENT_AMOUNT_MIN", SS_CFG_DOUBLE, "0", SS_UNBOUNDED, offsetof(T, M.amount_min),            \
     "Smallest accepted amount (inclusive)."},                                                   \
    {"EVENT_AMOUNT_MAX", SS_CFG_DOUBLE, "1e9", SS_UNBOUNDED, offsetof(T, M.amount_max),          \
     "Largest accepted amount (inclusive)."},                                                    \
    {"EVENT_MAX_FUTURE_SKEW", SS_CFG_DURATION, "5m", 0, 1e12, offsetof(T, M.max_future_ms),      \
     "How far in the future an event time may be (producer clock skew)."},                       \
    {"EVENT_MAX_AGE", SS_CFG_DURATION, "0", 0, 1e13, offsetof(T, M.max_age_ms),                  \
     "How old an event time may be; 0 = no limit (backfills need old events)."},                \
    {"EVENT_MAX_STRING_BYTES", SS_CFG_SIZE, "256", 1, 1e8, offsetof(T, M.max_string),            \
     "Length cap for every string field, in bytes."},                                            \
    {"EVENT_MAX_MESSAGE_BYTES", SS_CFG_SIZE, "64KiB", 16, 1e9, offsetof(T, M.max_message),       \
     "Size cap for a whole incoming message."},                                                  \
    {"EVENT_STRICT_FIELDS", SS_CFG_BOOL, "true", SS_UNBOUNDED, offsetof(T, M.strict_fields),     \
     "Reject JSON keys that are not fields of the event schema."}
// clang-format on

/** Compiled rules: field indexes resolved against the canonical schema. */
typedef struct ss_event_rules ss_event_rules;

/** Build rules for `schema` (the canonical event record, borrowed; must
 * outlive the rules). Fails with err naming a configured field that the
 * schema lacks or whose type does not fit (e.g. amount not numeric). */
ss_event_rules *ss_event_rules_new(const ss_event_rules_config *cfg, avro_schema_t schema,
                                   char *err, size_t errlen);
void ss_event_rules_free(ss_event_rules *r);
size_t ss_event_rules_max_message(const ss_event_rules *r);
/** Default configuration (the table's defaults), for tests and tools. Strings
 * are static: do not ss_config_free it. */
void ss_event_rules_config_defaults(ss_event_rules_config *cfg);

/** Parse and validate one JSON event (data need not be NUL-terminated) into
 * out_canonical (a value of the canonical schema, e.g. from
 * ss_avro_codec_new_value; reset here). JSON may give the time field as epoch
 * millis or an RFC 3339 string. Returns 0, or -1 with e filled. */
int ss_event_validate_json(const ss_event_rules *r, const char *data, size_t len,
                           avro_value_t *out_canonical, ss_event_error *e);

/** Validate an already-decoded canonical value (types are given by the
 * schema; this checks the rules: ranges, finiteness, currency, time, string
 * caps, UTF-8, non-empty id and key). Returns 0, or -1 with e filled. */
int ss_event_validate_value(const ss_event_rules *r, avro_value_t *canonical, ss_event_error *e);

/** Decode a Confluent-framed Avro event with `codec` (whose reader schema is
 * the canonical one) and validate it. *out valid until the next decode.
 * Framing errors map to bad_magic / unknown_schema / truncated_avro / ... */
int ss_event_validate_avro(const ss_event_rules *r, ss_avro_codec *codec, const void *data,
                           size_t len, avro_value_t **out, ss_event_error *e);

/** Either format: a value whose first byte is 0x00 is Avro; one starting with
 * another control byte (below 0x20, not whitespace) is Avro with a wrong
 * magic byte (bad_magic); anything else is judged as JSON (so "[1]" is
 * not_an_object, "hello" invalid_json). */
int ss_event_validate_any(const ss_event_rules *r, ss_avro_codec *codec, const void *data,
                          size_t len, avro_value_t **out, ss_event_error *e);

/** The identity of a validated event: pointers into the value (valid until it
 * is reset). */
typedef struct ss_event_info {
    const char *event_id;
    size_t event_id_len;
    const char *key;
    size_t key_len;
    int64_t event_time_ms;
} ss_event_info;
int ss_event_info_get(const ss_event_rules *r, avro_value_t *canonical, ss_event_info *info);

/** Parse RFC 3339 ("2026-11-24T09:30:00.123Z", "+01:00" offsets) to epoch
 * millis. Returns 0 / -1. */
int ss_parse_rfc3339_ms(const char *s, int64_t *out);
/** 1 if [s, s+len) is valid UTF-8 (no overlongs, no surrogates). */
int ss_utf8_valid(const char *s, size_t len);

#endif
