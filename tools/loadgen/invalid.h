/* invalid.h - deliberately invalid events for exercising the dead-letter path.
 *
 * Each kind breaks one rule a consumer of events.ingest must enforce, and is
 * built from a real event (with its own event id, suffixed "-bad") so the DLQ
 * record can be traced back. */
#ifndef LOADGEN_INVALID_H
#define LOADGEN_INVALID_H

#include "common/util.h"
#include "gen.h"

typedef enum {
    LG_BAD_MALFORMED = 0,  /* JSON cut off mid-object */
    LG_BAD_MISSING_FIELD,  /* required card_id absent */
    LG_BAD_WRONG_TYPE,     /* amount as a string */
    LG_BAD_ENUM,           /* channel not a Channel symbol */
    LG_BAD_NEGATIVE,       /* amount < 0 */
    LG_BAD_NOT_OBJECT,     /* a JSON array instead of an object */
    LG_BAD_AVRO_TRUNCATED, /* Avro framing with a body cut short (Avro output only) */
    LG_BAD_AVRO_SCHEMA,    /* Avro framing with an unknown schema id (Avro output only) */
    LG_NBAD
} lg_bad_kind;

const char *lg_bad_name(lg_bad_kind k);
/** Parse a name; returns -1 if unknown. */
int lg_bad_parse(const char *name);
/** 1 for kinds that need the Avro encoding of the base event. */
int lg_bad_is_avro(lg_bad_kind k);
/** Append the invalid JSON bytes of a non-Avro kind, derived from ev. */
void lg_bad_json(lg_bad_kind k, const lg_event *ev, ss_buf *out);
/** Corrupt a Confluent-framed Avro message in place for an Avro kind. */
void lg_bad_avro(lg_bad_kind k, ss_buf *framed);

#endif
