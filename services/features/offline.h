/* offline.h - the offline store: Avro object container files, one part file
 * per hour of record time, written as "<name>.avro.tmp" and closed + fsynced +
 * renamed to "<name>.avro" so readers never see half a file.
 *
 * Layout: <dir>/<kind>/date=YYYY-MM-DD/hour=HH/part-<opened ms>-<pid>-<seq>.avro
 * An hour's file is closed when the newest record time seen passes the end of
 * the hour by `close_after_ms` (the grace period), when it has been idle for
 * `idle_close_ms`, when more than `max_open` hours are open (least recently
 * used first) and on shutdown. A record for an hour whose file was closed
 * opens a new part file of that hour.
 *
 * Durability: offline_flush() writes the pending block and fsyncs every open
 * file; the service stores Kafka offsets only after the flush covering a
 * record. A crash leaves "*.avro.tmp" files; offline_recover() at start-up
 * copies every complete record of each into a finished part file. */
#ifndef SS_FEATURES_OFFLINE_H
#define SS_FEATURES_OFFLINE_H

#include <stddef.h>
#include <stdint.h>
#include <avro.h>

typedef struct offline_store offline_store;

typedef struct offline_opts {
    const char *dir;        /* OFFLINE_DIR */
    const char *kind;       /* sub-directory: "features" or "labels" */
    avro_schema_t schema;   /* record schema of every file (borrowed, kept alive) */
    int64_t close_after_ms; /* close an hour once newer records are this far past its end */
    int64_t idle_close_ms;  /* close an hour's file after this long without records (wall) */
    int max_open;           /* open hours at most (default 24) */
    const char *codec;      /* "deflate" (default) or "null" */
} offline_opts;

offline_store *offline_new(const offline_opts *opts, char *err, size_t errlen);
/** Close every open file (rename to .avro) and free. */
int offline_free(offline_store *o, char *err, size_t errlen);

/** Append one record to the file of its hour (time_ms = record time). */
int offline_append(offline_store *o, int64_t time_ms, avro_value_t *record, char *err,
                   size_t errlen);
/** Write pending blocks and fsync every open file. */
int offline_flush(offline_store *o, char *err, size_t errlen);
/** Close hours that are complete (see above); now_ms = wall clock. */
int offline_roll(offline_store *o, int64_t now_ms, char *err, size_t errlen);
size_t offline_open_files(const offline_store *o);
uint64_t offline_files_closed(const offline_store *o);
uint64_t offline_records(const offline_store *o);

/** Finish the *.avro.tmp files a crash left under <dir>/<kind>: their
 * complete records go to new part files; returns the number of records
 * recovered, -1 on error. */
long offline_recover(const offline_opts *opts, char *err, size_t errlen);

#endif
