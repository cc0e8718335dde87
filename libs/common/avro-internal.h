/* avro-internal.h - private helpers of avro.c, exposed for its tests. */
#ifndef SS_COMMON_AVRO_INTERNAL_H
#define SS_COMMON_AVRO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <avro.h>

#include "common/util.h"

/** Walk one Avro binary datum of `schema` in [p, end) without allocating,
 * checking every length, count, enum and union index against the schema and
 * the bytes left. Returns 0 and advances *pos, or -1 with *pos at the byte
 * where the datum became impossible (truncated or corrupt). Run before
 * avro_value_read so hostile input never reaches avro-c's allocations. */
int ss_avro_binary_skip(avro_schema_t schema, const uint8_t *base, size_t len, size_t *pos);

/** Blocking HTTP/1.1 request to a Schema Registry (one connection per call,
 * Connection: close, 5 s timeouts). url: http://[user:pass@]host[:port][/prefix].
 * body may be NULL. Returns the HTTP status (>= 100) with the response body in
 * *resp, or -1 with err. */
int ss_sr_http(const char *url, const char *method, const char *path, const char *body,
               ss_buf *resp, char *err, size_t errlen);

#endif
