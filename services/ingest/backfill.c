/* backfill.c - a file as an input source: JSON lines, CSV with a header, or
 * an Avro object container file, detected from the content. Every record
 * goes through the same pipeline as the stream (validation, dedup, raw or
 * DLQ); a window bounds the records in flight. CSV and Avro records are
 * turned into JSON objects first (CSV cells typed by the event schema), so
 * a rejected record reaches the DLQ as that JSON text.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ingest.h"

#define MAX_COLS 256

typedef enum { FMT_JSONL, FMT_CSV, FMT_AVRO } file_format;

typedef struct backfill {
    ingest *ig;
    struct event_base *base;
    const char *path;
    char topic[300];
    size_t window;
    file_format fmt;
    FILE *f;
    /* csv */
    char *header_buf;
    char *header[MAX_COLS];
    size_t ncols;
    /* avro */
    avro_file_reader_t avro;
    avro_value_iface_t *iface;
    avro_value_t value;
    int eof;
    int failed;
    char err[256];
    backfill_counts counts;
    int64_t started_us;
    struct event *pump, *progress;
    ss_buf rec;
} backfill;

/* ------------------------------------------------------------ CSV */

int backfill_csv_split(char *buf, char **cells, size_t maxcells)
{
    size_t n = 0;
    char *r = buf, *w = buf;
    for (;;) {
        if (n == maxcells) return -1;
        cells[n++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (!*r) return -1; /* unterminated quote */
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            while (*r && *r != ',')
                r++; /* tolerate junk after the closing quote */
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        char sep = *r;
        *w++ = '\0';
        if (!sep) return (int)n;
        r++;
    }
}

static avro_schema_t field_type(avro_schema_t schema, const char *name)
{
    int idx = avro_schema_record_field_get_index(schema, name);
    if (idx < 0) return NULL;
    avro_schema_t t = avro_schema_record_field_get_by_index(schema, idx);
    if (avro_typeof(t) == AVRO_UNION)
        for (size_t i = 0; i < avro_schema_union_size(t); i++)
            if (avro_typeof(avro_schema_union_branch(t, (int)i)) != AVRO_NULL)
                return avro_schema_union_branch(t, (int)i);
    return t;
}

/* One cell as JSON, typed by the schema; a cell that does not parse as its
 * type stays a string so validation names the field and the reason. */
static json_t *cell_json(avro_schema_t type, const char *cell)
{
    char *end = NULL;
    switch (type ? avro_typeof(type) : AVRO_STRING) {
    case AVRO_INT32:
    case AVRO_INT64: {
        errno = 0;
        long long v = strtoll(cell, &end, 10);
        if (*cell && !*end && !errno) return json_integer(v);
        break;
    }
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        double d = strtod(cell, &end);
        if (*cell && !*end && isfinite(d)) return json_real(d);
        break;
    }
    case AVRO_BOOLEAN:
        if (strcmp(cell, "true") == 0) return json_true();
        if (strcmp(cell, "false") == 0) return json_false();
        break;
    default:
        break;
    }
    return json_string(cell);
}

int backfill_csv_to_json(avro_schema_t schema, char **header, size_t ncols, char **cells,
                         size_t ncells, char **out)
{
    if (ncells != ncols) return -1;
    json_t *o = json_object();
    for (size_t i = 0; i < ncols; i++) {
        if (!cells[i][0]) continue; /* empty cell = absent (null) */
        json_t *v = cell_json(field_type(schema, header[i]), cells[i]);
        if (!v)
            v = json_stringn_nocheck(cells[i],
                                     strlen(cells[i])); /* not UTF-8: let validation say so */
        json_object_set_new(o, header[i], v);
    }
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *out ? 0 : -1;
}

/* A full CSV record: lines joined while a quote is open. */
static int read_csv_record(FILE *f, ss_buf *rec)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int quotes = 0;
    ss_buf_reset(rec);
    while ((n = getline(&line, &cap, f)) >= 0) {
        for (ssize_t i = 0; i < n; i++)
            quotes += line[i] == '"';
        ss_buf_append(rec, line, (size_t)n);
        if (quotes % 2 == 0) break;
    }
    free(line);
    while (rec->len && (rec->data[rec->len - 1] == '\n' || rec->data[rec->len - 1] == '\r'))
        rec->data[--rec->len] = '\0';
    return n < 0 && rec->len == 0 ? -1 : 0;
}

/* ------------------------------------------------------------ sources */

static int next_record(backfill *b, ss_buf *out)
{
    if (b->fmt == FMT_AVRO) {
        avro_value_reset(&b->value);
        int rc = avro_file_reader_read_value(b->avro, &b->value);
        if (rc == EOF) return 0;
        if (rc) {
            snprintf(b->err, sizeof b->err, "backfill: %s: corrupt avro file after record %llu: %s",
                     b->path, (unsigned long long)b->counts.records, avro_strerror());
            b->failed = 1;
            return 0;
        }
        json_t *j = ss_avro_to_json(&b->value);
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        ss_buf_reset(out);
        ss_buf_append(out, text, strlen(text));
        free(text);
        return 1;
    }
    for (;;) {
        if (b->fmt == FMT_JSONL) {
            char *line = NULL;
            size_t cap = 0;
            ssize_t n = getline(&line, &cap, b->f);
            if (n < 0) {
                free(line);
                return 0;
            }
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            ss_buf_reset(out);
            ss_buf_append(out, line, (size_t)n);
            free(line);
        } else {
            ss_buf raw;
            ss_buf_init(&raw);
            if (read_csv_record(b->f, &raw)) {
                ss_buf_free(&raw);
                return 0;
            }
            char *cells[MAX_COLS], *json = NULL;
            int n = raw.len ? backfill_csv_split(raw.data, cells, MAX_COLS) : 0;
            ss_buf_reset(out);
            if (n > 0 && backfill_csv_to_json(ss_avro_codec_schema(ingest_codec(b->ig)), b->header,
                                              b->ncols, cells, (size_t)n, &json) == 0) {
                ss_buf_append(out, json, strlen(json));
                free(json);
            } else if (raw.len) {
                /* malformed row: pass it on as is, validation rejects it */
                ss_buf_printf(out, "csv row with %d cells, header has %zu", n, b->ncols);
            }
            int empty = raw.len == 0;
            ss_buf_free(&raw);
            if (empty) continue;
        }
        if (out->len == 0) continue; /* blank line */
        return 1;
    }
}

static int open_source(backfill *b)
{
    b->f = fopen(b->path, "rb");
    if (!b->f)
        return ss_err(b->err, sizeof b->err, "backfill: cannot open %s: %s", b->path,
                      strerror(errno));
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, 4, b->f);
    rewind(b->f);
    if (got == 4 && memcmp(magic, "Obj\x01", 4) == 0) {
        fclose(b->f);
        b->f = NULL;
        b->fmt = FMT_AVRO;
        if (avro_file_reader(b->path, &b->avro))
            return ss_err(b->err, sizeof b->err, "backfill: %s: %s", b->path, avro_strerror());
        avro_schema_t ws = avro_file_reader_get_writer_schema(b->avro);
        b->iface = avro_generic_class_from_schema(ws);
        avro_schema_decref(ws);
        if (b->iface && avro_generic_value_new(b->iface, &b->value)) {
            avro_value_iface_decref(b->iface);
            b->iface = NULL;
        }
        if (!b->iface)
            return ss_err(b->err, sizeof b->err, "backfill: %s: %s", b->path, avro_strerror());
        return 0;
    }
    int c;
    while ((c = fgetc(b->f)) != EOF && isspace(c)) {
    }
    rewind(b->f);
    if (c == '{' || c == EOF) {
        b->fmt = FMT_JSONL;
        return 0;
    }
    b->fmt = FMT_CSV;
    if (read_csv_record(b->f, &b->rec))
        return ss_err(b->err, sizeof b->err, "backfill: %s: empty csv", b->path);
    b->header_buf = ss_strdup(b->rec.data);
    int n = backfill_csv_split(b->header_buf, b->header, MAX_COLS);
    if (n <= 0) return ss_err(b->err, sizeof b->err, "backfill: %s: bad csv header", b->path);
    b->ncols = (size_t)n;
    return 0;
}

/* ------------------------------------------------------------ driving */

static void print_progress(backfill *b, FILE *f, const char *prefix)
{
    double secs = (double)(ss_mono_us() - b->started_us) / 1e6;
    fprintf(f,
            "%s%llu records, %llu accepted, %llu rejected, %llu duplicate, %zu in flight "
            "(%.0f/s)\n",
            prefix, (unsigned long long)b->counts.records, (unsigned long long)b->counts.accepted,
            (unsigned long long)b->counts.rejected, (unsigned long long)b->counts.duplicates,
            ingest_pending(b->ig), secs > 0 ? (double)b->counts.records / secs : 0.0);
    fflush(f);
}

static void maybe_finish(backfill *b)
{
    if ((b->eof || b->failed) && ingest_pending(b->ig) == 0 && !ingest_blocked(b->ig))
        event_base_loopbreak(b->base);
}

static void pump(evutil_socket_t fd, short what, void *arg)
{
    backfill *b = arg;
    (void)fd;
    (void)what;
    size_t burst = 0;
    while (!b->eof && !b->failed && ingest_pending(b->ig) < b->window && burst < 1000) {
        if (!next_record(b, &b->rec)) {
            b->eof = 1;
            break;
        }
        b->counts.records++;
        burst++;
        ingest_input in = {.value = b->rec.data,
                           .len = b->rec.len,
                           .topic = b->topic,
                           .partition = -1,
                           .offset = (int64_t)b->counts.records};
        ingest_process(b->ig, &in);
    }
    if (!b->eof && !b->failed && ingest_pending(b->ig) < b->window) event_active(b->pump, 0, 0);
    maybe_finish(b);
}

static void on_done(ingest *ig, ingest_outcome outcome, void *arg)
{
    backfill *b = arg;
    (void)ig;
    if (outcome == INGEST_ACCEPTED) b->counts.accepted++;
    if (outcome == INGEST_REJECTED) b->counts.rejected++;
    if (outcome == INGEST_DUPLICATE) b->counts.duplicates++;
    if (outcome == INGEST_FAILED) b->counts.failed++;
    if (!b->eof && ingest_pending(b->ig) < b->window / 2 + 1) event_active(b->pump, 0, 0);
    maybe_finish(b);
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    print_progress(arg, stderr, "backfill: ");
}

int backfill_run(ingest *ig, struct event_base *base, const char *path, size_t window,
                 backfill_counts *out, char *err, size_t errlen)
{
    backfill b = {.ig = ig, .base = base, .path = path, .window = window ? window : 1};
    ss_buf_init(&b.rec);
    snprintf(b.topic, sizeof b.topic, "backfill:%s", path);
    int rc = -1;
    if (open_source(&b)) goto done;
    b.started_us = ss_mono_us();
    ingest_on_done(ig, on_done, &b);
    b.pump = event_new(base, -1, 0, pump, &b);
    b.progress = event_new(base, -1, EV_PERSIST, on_progress, &b);
    struct timeval second = {1, 0};
    event_add(b.progress, &second);
    event_active(b.pump, 0, 0);
    event_base_dispatch(base);
    ingest_on_done(ig, NULL, NULL);
    print_progress(&b, stderr, "backfill: done: ");
    rc = b.failed ? -1 : 0;
done:
    if (rc && b.err[0]) ss_strlcpy(err, b.err, errlen);
    if (out) *out = b.counts;
    if (b.pump) event_free(b.pump);
    if (b.progress) event_free(b.progress);
    if (b.f) fclose(b.f);
    if (b.iface) {
        avro_value_decref(&b.value);
        avro_value_iface_decref(b.iface);
    }
    if (b.avro) avro_file_reader_close(b.avro);
    ss_free(b.header_buf);
    ss_buf_free(&b.rec);
    return rc;
}
