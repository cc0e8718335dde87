/* offline.c - hourly Avro part files, atomically published (see offline.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "common/log.h"
#include "common/util.h"
#include "offline.h"

#define HOUR_MS 3600000LL

typedef struct ofile {
    int64_t hour; /* floor(time / 1h) */
    FILE *fp;
    avro_file_writer_t w;
    char *tmp, *final;
    int64_t last_wall_ms; /* last append, wall clock */
    int dirty;            /* appended since the last flush */
} ofile;

struct offline_store {
    char *dir, *kind, *codec;
    avro_schema_t schema;
    int64_t close_after_ms, idle_close_ms;
    int max_open;
    ofile *files;
    size_t n, cap;
    int64_t max_time;
    uint64_t seq, closed, records;
};

static int mkdirs(const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    size_t len = ss_strlcpy(buf, path, sizeof buf);
    if (len >= sizeof buf) return ss_err(err, errlen, "offline store: path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return ss_err(err, errlen, "offline store: mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return ss_err(err, errlen, "offline store: mkdir %s: %s", buf, strerror(errno));
    return 0;
}

static void fsync_dir(const char *file)
{
    char dir[PATH_MAX];
    ss_strlcpy(dir, file, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (!slash) return;
    *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static void hour_dir(const offline_store *o, int64_t hour, char *out, size_t len)
{
    time_t secs = (time_t)(hour * 3600);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, len, "%s/%s/date=%04d-%02d-%02d/hour=%02d", o->dir, o->kind, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
}

static int file_open(offline_store *o, int64_t hour, ofile *f, char *err, size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    memset(f, 0, sizeof *f);
    f->hour = hour;
    hour_dir(o, hour, dir, sizeof dir);
    if (mkdirs(dir, err, errlen) < 0) return -1;
    snprintf(path, sizeof path, "%s/part-%lld-%d-%llu.avro", dir, (long long)ss_now_ms(),
             (int)getpid(), (unsigned long long)++o->seq);
    f->final = ss_strdup(path);
    strcat(path, ".tmp");
    f->tmp = ss_strdup(path);
    f->fp = fopen(f->tmp, "wb");
    if (!f->fp) {
        ss_err(err, errlen, "offline store: create %s: %s", f->tmp, strerror(errno));
        goto fail;
    }
    if (avro_file_writer_create_with_codec_fp(f->fp, f->tmp, 1, o->schema, &f->w, o->codec, 0)) {
        ss_err(err, errlen, "offline store: avro writer %s: %s", f->tmp, avro_strerror());
        fclose(f->fp);
        goto fail;
    }
    return 0;
fail:
    unlink(f->tmp);
    ss_free(f->tmp);
    ss_free(f->final);
    memset(f, 0, sizeof *f);
    return -1;
}

/** Flush, fsync, close and publish (rename .avro.tmp -> .avro). */
static int file_close(offline_store *o, ofile *f, char *err, size_t errlen)
{
    int rc = 0;
    if (avro_file_writer_flush(f->w) != 0 || fsync(fileno(f->fp)) != 0)
        rc = ss_err(err, errlen, "offline store: flush %s: %s", f->tmp, strerror(errno));
    if (avro_file_writer_close(f->w) != 0 && rc == 0)
        rc = ss_err(err, errlen, "offline store: close %s: %s", f->tmp, avro_strerror());
    if (rc == 0 && rename(f->tmp, f->final) != 0)
        rc = ss_err(err, errlen, "offline store: rename %s: %s", f->tmp, strerror(errno));
    if (rc == 0) {
        fsync_dir(f->final);
        o->closed++;
        ss_log(SS_LOG_INFO, "offline file published", "file", f->final, NULL);
    }
    ss_free(f->tmp);
    ss_free(f->final);
    memset(f, 0, sizeof *f);
    return rc;
}

static int close_index(offline_store *o, size_t i, char *err, size_t errlen)
{
    int rc = file_close(o, &o->files[i], err, errlen);
    o->files[i] = o->files[--o->n];
    return rc;
}

offline_store *offline_new(const offline_opts *opts, char *err, size_t errlen)
{
    if (!opts || !opts->dir || !opts->dir[0] || !opts->kind || !opts->schema) {
        ss_err(err, errlen, "offline store: directory, kind and schema are required");
        return NULL;
    }
    offline_store *o = ss_calloc(1, sizeof *o);
    o->dir = ss_strdup(opts->dir);
    o->kind = ss_strdup(opts->kind);
    o->codec = ss_strdup(opts->codec && opts->codec[0] ? opts->codec : "deflate");
    o->schema = avro_schema_incref(opts->schema);
    o->close_after_ms = opts->close_after_ms;
    o->idle_close_ms = opts->idle_close_ms > 0 ? opts->idle_close_ms : 600000;
    o->max_open = opts->max_open > 0 ? opts->max_open : 24;
    o->max_time = INT64_MIN;
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s/%s", o->dir, o->kind);
    if (mkdirs(root, err, errlen) < 0) {
        offline_free(o, NULL, 0);
        return NULL;
    }
    return o;
}

int offline_free(offline_store *o, char *err, size_t errlen)
{
    int rc = 0;
    if (!o) return 0;
    while (o->n > 0)
        if (close_index(o, o->n - 1, err, errlen) < 0) rc = -1;
    ss_free(o->files);
    avro_schema_decref(o->schema);
    ss_free(o->dir);
    ss_free(o->kind);
    ss_free(o->codec);
    ss_free(o);
    return rc;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/** The open file of an hour, opening one (and closing the least recently
 * used hour when too many are open). */
static ofile *file_for(offline_store *o, int64_t hour, char *err, size_t errlen)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->files[i].hour == hour) return &o->files[i];
    if (o->n >= (size_t)o->max_open) {
        size_t lru = 0;
        for (size_t i = 1; i < o->n; i++)
            if (o->files[i].last_wall_ms < o->files[lru].last_wall_ms) lru = i;
        if (close_index(o, lru, err, errlen) < 0) return NULL;
    }
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 8;
        o->files = ss_realloc(o->files, o->cap * sizeof *o->files);
    }
    if (file_open(o, hour, &o->files[o->n], err, errlen) < 0) return NULL;
    return &o->files[o->n++];
}

int offline_append(offline_store *o, int64_t time_ms, avro_value_t *record, char *err,
                   size_t errlen)
{
    ofile *f = file_for(o, floor_div(time_ms, HOUR_MS), err, errlen);
    if (!f) return -1;
    if (avro_file_writer_append_value(f->w, record) != 0)
        return ss_err(err, errlen, "offline store: append to %s: %s", f->tmp, avro_strerror());
    f->dirty = 1;
    f->last_wall_ms = ss_now_ms();
    if (time_ms > o->max_time) o->max_time = time_ms;
    o->records++;
    return 0;
}

int offline_flush(offline_store *o, char *err, size_t errlen)
{
    for (size_t i = 0; i < o->n; i++) {
        ofile *f = &o->files[i];
        if (!f->dirty) continue;
        if (avro_file_writer_flush(f->w) != 0 || fsync(fileno(f->fp)) != 0)
            return ss_err(err, errlen, "offline store: flush %s: %s", f->tmp, strerror(errno));
        f->dirty = 0;
    }
    return 0;
}

int offline_roll(offline_store *o, int64_t now_ms, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < o->n;) {
        ofile *f = &o->files[i];
        int complete =
            o->max_time != INT64_MIN && o->max_time >= (f->hour + 1) * HOUR_MS + o->close_after_ms;
        int idle = now_ms - f->last_wall_ms >= o->idle_close_ms;
        if (complete || idle) {
            if (close_index(o, i, err, errlen) < 0) rc = -1;
        } else {
            i++;
        }
    }
    return rc;
}

size_t offline_open_files(const offline_store *o)
{
    return o->n;
}
uint64_t offline_files_closed(const offline_store *o)
{
    return o->closed;
}
uint64_t offline_records(const offline_store *o)
{
    return o->records;
}

/* ------------------------------------------------------------ recovery */

static char **recover_list;
static size_t recover_n;

static int collect_tmp(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    size_t len = strlen(path);
    (void)sb;
    (void)ftw;
    if (type == FTW_F && len > 9 && strcmp(path + len - 9, ".avro.tmp") == 0) {
        recover_list = ss_realloc(recover_list, (recover_n + 1) * sizeof *recover_list);
        recover_list[recover_n++] = ss_strdup(path);
    }
    return 0;
}

/* An Avro long (zig-zag varint) from f; 0 or -1 at the end of the file. */
static int read_long(FILE *f, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        int c = fgetc(f);
        if (c == EOF) return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

/* Skip n bytes that must all be in the file (size bytes long). */
static int skip_bytes(FILE *f, int64_t n, off_t size)
{
    off_t at = ftello(f);
    if (n < 0 || at < 0 || at + n > size) return -1;
    return fseeko(f, at + n, SEEK_SET);
}

/** Records a reader can get back from a part file cut anywhere by a crash:
 * those of its whole blocks, walked by their framing (count, byte size, data,
 * sync marker; a block counts once its data is whole). 0 when even the header
 * is cut. Asked before avro-c opens the file: avro-c 1.11 leaks a little when
 * it fails to open a file whose header or first block is cut, and stdio
 * writes part files in 4 KiB chunks, so such files are common after a kill. */
static int64_t whole_records(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char magic[4], sync[16], mark[16];
    int64_t n = 0, count, len;
    if (!f) return 0;
    if (fstat(fileno(f), &st) != 0 || fread(magic, 1, 4, f) != 4 || memcmp(magic, "Obj\x01", 4))
        goto out;
    for (;;) { /* the metadata map, in blocks */
        if (read_long(f, &count)) goto out;
        if (count == 0) break;
        if (count < 0 && (count = -count, read_long(f, &len))) goto out;
        for (int64_t i = 0; i < 2 * count; i++) /* key, value */
            if (read_long(f, &len) || skip_bytes(f, len, st.st_size)) goto out;
    }
    if (fread(sync, 1, 16, f) != 16) goto out;
    while (!read_long(f, &count) && !read_long(f, &len) && !skip_bytes(f, len, st.st_size)) {
        n += count;
        if (fread(mark, 1, 16, f) != 16 || memcmp(mark, sync, 16)) break;
    }
out:
    fclose(f);
    return n;
}

/** Copy the complete records of one crashed part file into a new one in the
 * same hour directory; returns records copied or -1. */
static long recover_file(offline_store *o, const char *tmp, char *err, size_t errlen)
{
    avro_file_reader_t r;
    avro_value_iface_t *iface = NULL;
    avro_value_t v;
    long copied = 0;
    ofile out;
    int have_out = 0;
    int64_t whole = whole_records(tmp);
    if (whole <= 0 || avro_file_reader(tmp, &r) != 0) { /* nothing whole was flushed */
        unlink(tmp);
        return 0;
    }
    avro_schema_t ws = avro_file_reader_get_writer_schema(r);
    iface = avro_generic_class_from_schema(ws);
    avro_generic_value_new(iface, &v);
    char dir[PATH_MAX];
    ss_strlcpy(dir, tmp, sizeof dir);
    *strrchr(dir, '/') = 0;
    while (copied < whole && avro_file_reader_read_value(r, &v) == 0) {
        if (!have_out) {
            /* same hour directory, a fresh part name */
            memset(&out, 0, sizeof out);
            char path[PATH_MAX + 64];
            snprintf(path, sizeof path, "%s/part-%lld-%d-%llu-recovered.avro", dir,
                     (long long)ss_now_ms(), (int)getpid(), (unsigned long long)++o->seq);
            out.final = ss_strdup(path);
            strcat(path, ".tmp");
            out.tmp = ss_strdup(path);
            out.fp = fopen(out.tmp, "wb");
            if (!out.fp || avro_file_writer_create_with_codec_fp(out.fp, out.tmp, 1, ws, &out.w,
                                                                 o->codec, 0) != 0) {
                ss_err(err, errlen, "offline store: recover into %s failed", out.tmp);
                if (out.fp) fclose(out.fp);
                ss_free(out.tmp);
                ss_free(out.final);
                copied = -1;
                break;
            }
            have_out = 1;
        }
        if (avro_file_writer_append_value(out.w, &v) != 0) {
            ss_err(err, errlen, "offline store: recover %s: %s", tmp, avro_strerror());
            copied = -1;
            break;
        }
        copied++;
        avro_value_reset(&v);
    }
    if (have_out && file_close(o, &out, err, errlen) < 0) copied = -1;
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(ws);
    avro_file_reader_close(r);
    if (copied >= 0) unlink(tmp);
    return copied;
}

long offline_recover(const offline_opts *opts, char *err, size_t errlen)
{
    char root[PATH_MAX];
    long total = 0;
    offline_store *o = offline_new(opts, err, errlen);
    if (!o) return -1;
    snprintf(root, sizeof root, "%s/%s", o->dir, o->kind);
    recover_list = NULL;
    recover_n = 0;
    nftw(root, collect_tmp, 16, FTW_PHYS);
    for (size_t i = 0; i < recover_n; i++) {
        long n = total >= 0 ? recover_file(o, recover_list[i], err, errlen) : 0;
        if (n < 0)
            total = -1;
        else if (total >= 0)
            total += n;
        if (n > 0)
            ss_log(SS_LOG_WARN, "offline file recovered after a crash", "file", recover_list[i],
                   NULL);
        ss_free(recover_list[i]);
    }
    ss_free(recover_list);
    recover_list = NULL;
    offline_free(o, NULL, 0);
    return total;
}
