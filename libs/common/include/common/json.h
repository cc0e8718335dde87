/* json.h - small jansson helpers shared by the parsers (Avro JSON input, model
 * bundles, feature definitions). */
#ifndef SS_COMMON_JSON_H
#define SS_COMMON_JSON_H

#include <jansson.h>

/** The JSON kind of v for error messages: "object", "array", "string",
 * "number", "boolean" or "null" (also for v == NULL). Static string. */
const char *ss_json_type_name(const json_t *v);

#endif
