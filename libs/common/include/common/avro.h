/* avro.h - Avro schemas, Confluent framing and schema resolution.
 *
 * Wire format: 0x00, 4-byte big-endian schema id, Avro binary body.
 * Registry: without SCHEMA_REGISTRY_URL, a local registry built from
 * schemas/<name>.avsc with stable ids (listed in schemas/ids.json) so nothing
 * needs a registry server; with it, the Schema Registry REST API
 * (TopicNameStrategy subject "<topic>-value"): register on first encode, look
 * up unknown ids on decode, both cached.
 * Decode resolves the writer's schema (by id) into the codec's reader schema
 * (avro-c resolvers), so compatible older/newer writers decode.
 * Schemas, resolvers and values are built once and reused per message.
 */
#ifndef SS_COMMON_AVRO_H
#define SS_COMMON_AVRO_H

#include <stddef.h>
#include <stdint.h>
#include <avro.h>
#include <jansson.h>
#include "common/util.h"

typedef struct ss_avro_registry ss_avro_registry;
typedef struct ss_avro_codec ss_avro_codec;

/** schema_dir: directory of *.avsc files (and ids.json). registry_url: NULL or
 * "" for the local registry. */
ss_avro_registry *ss_avro_registry_new(const char *schema_dir, const char *registry_url, char *err,
                                       size_t errlen);
void ss_avro_registry_free(ss_avro_registry *r);
/** Remote registry only: a schema id seen for the first time is looked up on
 * a helper thread; the caller waits for the answer at most wait_ms (default
 * -1: until it comes, for tools). Services on an event loop set a few ms:
 * past it the decode fails with SS_AVRO_E_REGISTRY ("no answer ... yet"),
 * the lookup goes on, and a later decode of that id takes its answer; the
 * service parks or defers the message meanwhile. */
void ss_avro_registry_set_wait(ss_avro_registry *r, int wait_ms);
#define SS_AVRO_LOOP_WAIT_MS 50 /* what the services use */
/** Schema by record name ("CardTransaction"), full name
 * ("streamscore.CardTransaction") or file stem ("card_transaction").
 * Borrowed; NULL if unknown. */
avro_schema_t ss_avro_registry_schema(ss_avro_registry *r, const char *name);

/** A codec for one topic and its canonical (reader = writer) schema.
 * subject: "<topic>-value" for a remote registry. */
ss_avro_codec *ss_avro_codec_new(ss_avro_registry *r, const char *schema_name, const char *subject,
                                 char *err, size_t errlen);
void ss_avro_codec_free(ss_avro_codec *c);
avro_schema_t ss_avro_codec_schema(ss_avro_codec *c);
int32_t ss_avro_codec_schema_id(ss_avro_codec *c); /* id this codec writes with */

/** A reusable value of the codec's schema, reset for a new message. Valid
 * until the next call or ss_avro_codec_free. */
avro_value_t *ss_avro_codec_new_value(ss_avro_codec *c);
/** Frame and encode v into out (appends). Returns 0 / -1 with err. */
int ss_avro_encode(ss_avro_codec *c, avro_value_t *v, ss_buf *out, char *err, size_t errlen);
/** Decode a framed message into the codec's reader schema. *out is valid until
 * the next decode. Errors: "bad avro: wrong magic byte 0x7b", "bad avro:
 * unknown schema id 99", "bad avro: truncated at byte 17", ... */
int ss_avro_decode(ss_avro_codec *c, const void *data, size_t len, avro_value_t **out, char *err,
                   size_t errlen);

/** What the last failed ss_avro_decode/ss_avro_encode on c ran into, for
 * callers that map errors to stable codes (DLQ reasons). */
typedef enum ss_avro_errcode {
    SS_AVRO_OK = 0,
    SS_AVRO_E_EMPTY,        /* zero-length message */
    SS_AVRO_E_MAGIC,        /* first byte not 0x00 */
    SS_AVRO_E_TRUNCATED,    /* shorter than the 5-byte header, or body ends early / corrupt */
    SS_AVRO_E_UNKNOWN_ID,   /* schema id not in the local / remote registry */
    SS_AVRO_E_INCOMPATIBLE, /* writer schema cannot be resolved to the reader schema */
    SS_AVRO_E_TRAILING,     /* bytes left after the record */
    SS_AVRO_E_REGISTRY,     /* remote registry unreachable / error answer */
    SS_AVRO_E_ENCODE,       /* encode failed (value/schema mismatch) */
} ss_avro_errcode;
ss_avro_errcode ss_avro_codec_errcode(const ss_avro_codec *c);

/** Writer schema for a schema id (local ids.json or the remote registry,
 * fetched and cached on first use). Borrowed; NULL with err if unknown. */
avro_schema_t ss_avro_registry_schema_by_id(ss_avro_registry *r, int32_t id, char *err,
                                            size_t errlen);
/** Id under which `schema_name` is known locally (ids.json), -1 if none. */
int32_t ss_avro_registry_local_id(ss_avro_registry *r, const char *schema_name);
/** Register `schema` under `subject` with the remote registry (POST
 * /subjects/<subject>/versions), cached; with the local registry returns the
 * local id of an equal schema. Returns the id, or -1 with err. */
int32_t ss_avro_registry_register(ss_avro_registry *r, const char *subject, avro_schema_t schema,
                                  char *err, size_t errlen);

/** JSON object -> Avro value of v's schema, field by field, by field name.
 * Unions with null accept null/absent; enums accept their symbols; ints and
 * longs reject fractions and out-of-range numbers; doubles reject non-finite.
 * Errors name the field: "field \"amount\": expected number, got string".
 * *bad_field (optional) receives the failing field's name (static until next call). */
int ss_avro_from_json(avro_value_t *v, json_t *obj, char *err, size_t errlen,
                      const char **bad_field);
/** What went wrong in ss_avro_from_json_ex, for callers mapping to codes. */
typedef enum ss_avro_json_errkind {
    SS_AVRO_JSON_OK = 0,
    SS_AVRO_JSON_WRONG_TYPE,    /* e.g. string where a number belongs, 2.5 for an int */
    SS_AVRO_JSON_MISSING,       /* required field absent or null */
    SS_AVRO_JSON_BAD_ENUM,      /* symbol not in the enum */
    SS_AVRO_JSON_OUT_OF_RANGE,  /* int/long/float range, fixed size */
    SS_AVRO_JSON_NOT_FINITE,    /* NaN / Infinity */
    SS_AVRO_JSON_UNKNOWN_FIELD, /* key not in the record (SS_AVRO_JSON_STRICT only) */
} ss_avro_json_errkind;

typedef struct ss_avro_json_error {
    ss_avro_json_errkind kind;
    char field[128]; /* path of the failing field: "amount", "reasons[1].value" */
    char msg[256];   /* "field \"amount\": expected number, got string" */
} ss_avro_json_error;

#define SS_AVRO_JSON_STRICT 1 /* reject object keys that are not record fields */

/** ss_avro_from_json with flags and a structured error. Absent fields take
 * the schema's default (defaults of schemas loaded by a live registry), else
 * null for unions with null, else SS_AVRO_JSON_MISSING. v is reset first. */
int ss_avro_from_json_ex(avro_value_t *v, json_t *obj, int flags, ss_avro_json_error *e);

/** Avro value -> new JSON object (unions unwrapped, bytes as strings). */
json_t *ss_avro_to_json(avro_value_t *v);

#endif
