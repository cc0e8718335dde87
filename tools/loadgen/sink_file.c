/* sink_file.c - JSON lines to files or stdout (works without Kafka: unit
 * tests, backfills, training sets). */
#include "sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

typedef struct file_sink {
    lg_sink base;
    FILE *events, *labels;
    ss_buf line;
} file_sink;

static FILE *open_out(const char *path, char *err, size_t errlen)
{
    if (!path) return NULL;
    if (strcmp(path, "-") == 0) return stdout;
    FILE *f = fopen(path, "w");
    if (!f) ss_err(err, errlen, "cannot open output: %s: %s", path, strerror(errno));
    return f;
}

static int write_line(file_sink *s, FILE *f, const char *data, size_t len)
{
    if (!f) return 0;
    if (fwrite(data, 1, len, f) != len || fputc('\n', f) == EOF) {
        s->base.failed++;
        ss_err(s->base.err, sizeof s->base.err, "cannot write output: %s", strerror(errno));
        return -1;
    }
    s->base.acked++;
    return 0;
}

static int file_event(lg_sink *sk, const lg_event *ev, const char *json, size_t len, int bad)
{
    (void)ev;
    (void)bad; /* Avro kinds have no meaning in JSON lines: the base event is written */
    return write_line((file_sink *)sk, ((file_sink *)sk)->events, json, len);
}

static int file_label(lg_sink *sk, const lg_event *ev, int64_t label_time)
{
    file_sink *s = (file_sink *)sk;
    if (!s->labels) return 0;
    ss_buf_reset(&s->line);
    lg_label_json(ev, label_time, &s->line);
    return write_line(s, s->labels, s->line.data, s->line.len);
}

static size_t file_backlog(lg_sink *sk)
{
    (void)sk;
    return 0;
}

static int file_flush(lg_sink *sk, int timeout_ms)
{
    file_sink *s = (file_sink *)sk;
    (void)timeout_ms;
    int rc = 0;
    if (s->events && fflush(s->events) != 0) rc = -1;
    if (s->labels && fflush(s->labels) != 0) rc = -1;
    return rc;
}

static void file_free(lg_sink *sk)
{
    file_sink *s = (file_sink *)sk;
    if (s->events && s->events != stdout) fclose(s->events);
    if (s->labels && s->labels != stdout && s->labels != s->events) fclose(s->labels);
    ss_buf_free(&s->line);
    ss_free(s);
}

lg_sink *lg_sink_file_new(const char *events_path, const char *labels_path, char *err,
                          size_t errlen)
{
    file_sink *s = ss_calloc(1, sizeof *s);
    s->base = (lg_sink){.name = "file",
                        .event = file_event,
                        .label = file_label,
                        .backlog = file_backlog,
                        .flush = file_flush,
                        .free = file_free};
    ss_buf_init(&s->line);
    if (events_path && !(s->events = open_out(events_path, err, errlen))) goto err;
    if (labels_path && !(s->labels = open_out(labels_path, err, errlen))) goto err;
    return &s->base;
err:
    file_free(&s->base);
    return NULL;
}

/* ------------------------------------------------------------------ tee */

typedef struct tee_sink {
    lg_sink base;
    lg_sink *a, *b;
    int owns_a;
} tee_sink;

static int tee_event(lg_sink *sk, const lg_event *ev, const char *json, size_t len, int bad)
{
    tee_sink *s = (tee_sink *)sk;
    int rc = s->a->event(s->a, ev, json, len, bad);
    return s->b->event(s->b, ev, json, len, bad) | rc;
}

static int tee_label(lg_sink *sk, const lg_event *ev, int64_t label_time)
{
    tee_sink *s = (tee_sink *)sk;
    int rc = s->a->label(s->a, ev, label_time);
    return s->b->label(s->b, ev, label_time) | rc;
}

static size_t tee_backlog(lg_sink *sk)
{
    tee_sink *s = (tee_sink *)sk;
    s->base.acked = s->a->acked;
    s->base.failed = s->a->failed + s->b->failed;
    return s->a->backlog(s->a) + s->b->backlog(s->b);
}

static int tee_flush(lg_sink *sk, int timeout_ms)
{
    tee_sink *s = (tee_sink *)sk;
    int rc = s->a->flush(s->a, timeout_ms);
    return s->b->flush(s->b, timeout_ms) | rc;
}

static void tee_free(lg_sink *sk)
{
    tee_sink *s = (tee_sink *)sk;
    if (s->owns_a) s->a->free(s->a);
    s->b->free(s->b);
    ss_free(s);
}

lg_sink *lg_sink_tee_new(lg_sink *a, lg_sink *b, int owns_a)
{
    tee_sink *s = ss_calloc(1, sizeof *s);
    s->base = (lg_sink){.name = a->name,
                        .event = tee_event,
                        .label = tee_label,
                        .backlog = tee_backlog,
                        .flush = tee_flush,
                        .free = tee_free};
    s->a = a;
    s->b = b;
    s->owns_a = owns_a;
    return &s->base;
}
