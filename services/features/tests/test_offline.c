/* Offline store: hourly part files readable by python3-avro holding exactly
 * the vectors appended; no half-written file is ever visible as .avro;
 * crashed part files are recovered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "features/features.h"
#include "offline.h"

static avro_schema_t load_schema(const char *file)
{
    char path[256], buf[16384];
    avro_schema_t s = NULL;
    snprintf(path, sizeof path, "schemas/%s", file);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (avro_schema_from_json_length(buf, n, &s) != 0) return NULL;
    return s;
}

typedef struct fx {
    char dir[64];
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
} fx;

static int setup(void **state)
{
    fx *x = calloc(1, sizeof *x);
    snprintf(x->dir, sizeof x->dir, "/tmp/ss-offline.XXXXXX");
    if (!mkdtemp(x->dir)) return -1;
    x->schema = load_schema("feature_vector.avsc");
    if (!x->schema) return -1;
    x->iface = avro_generic_class_from_schema(x->schema);
    avro_generic_value_new(x->iface, &x->value);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", x->dir);
    if (system(cmd) != 0) return -1;
    avro_value_decref(&x->value);
    avro_value_iface_decref(x->iface);
    avro_schema_decref(x->schema);
    free(x);
    return 0;
}

static const char *names[] = {"f_count", "f_mean"};
static const char *ent_names[] = {"card", "merchant"};
static const char *cat_names[] = {"channel"};

/** Vector i: event "e<i>" at time t, values derived from i (one null). */
static void fill_vector(fx *x, int i, int64_t t)
{
    char id[32], card[32];
    double values[2] = {i, i % 3 == 0 ? NAN : i * 0.5};
    const char *ent_ids[] = {card, NULL};
    const char *cats[] = {"POS"};
    char err[256];
    snprintf(id, sizeof id, "e%d", i);
    snprintf(card, sizeof card, "c%d", i % 5);
    ss_feature_vector v = {
        .event_id = id,
        .event_time_ms = t,
        .entity_id = card,
        .n_entities = 2,
        .entity_names = ent_names,
        .entity_ids = ent_ids,
        .n = 2,
        .names = names,
        .values = values,
        .n_categories = 1,
        .category_names = cat_names,
        .category_values = cats,
        .definitions_version = "v1",
        .late = i % 7 == 0,
        .computed_at_ms = 1000 + i,
    };
    avro_value_reset(&x->value);
    if (ss_feature_vector_to_avro(&v, &x->value, err, sizeof err) < 0) fail_msg("%s", err);
}

/** Read the store with python3-avro; returns the records as a JSON array. */
static json_t *read_with_python(const char *dir, const char *kind)
{
    char cmd[512], line[65536];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 services/features/tests/read_offline.py %s %s", dir,
             kind);
    FILE *p = popen(cmd, "r");
    json_t *all = json_array();
    assert_non_null(p);
    while (fgets(line, sizeof line, p)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        assert_non_null(o);
        json_array_append_new(all, o);
    }
    assert_int_equal(pclose(p), 0);
    return all;
}

static int count_cmd(const char *cmd);

static int count_files(const char *dir, const char *suffix)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "find %s -name '*%s' | wc -l", dir, suffix);
    return count_cmd(cmd);
}

static int count_in(const char *dir, const char *kind, const char *suffix)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "find %s/%s -name '*%s' | wc -l", dir, kind, suffix);
    return count_cmd(cmd);
}

static int count_cmd(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
    return n;
}

#define H 3600000LL
#define T0 (1795500000000LL) /* 2026-11-24T06:00:00Z */

static void test_hourly_files_read_by_python(void **state)
{
    fx *x = *state;
    char err[256];
    offline_opts o = {
        .dir = x->dir, .kind = "features", .schema = x->schema, .close_after_ms = 600000};
    offline_store *s = offline_new(&o, err, sizeof err);
    assert_non_null(s);
    /* 300 vectors over 3 hours, out of order within 4 minutes */
    int before_08 = 0;
    for (int i = 0; i < 300; i++) {
        int64_t t = T0 + (int64_t)i * 36000 - (i % 4) * 75000;
        if (t < T0) t = T0 + i;
        before_08 += t < T0 + 2 * H;
        fill_vector(x, i, t);
        assert_int_equal(offline_append(s, t, &x->value, err, sizeof err), 0);
        if (i % 50 == 0) assert_int_equal(offline_flush(s, err, sizeof err), 0);
        assert_int_equal(offline_roll(s, 0, err, sizeof err), 0);
    }
    /* hours 06 and 07 are published (10m grace passed), 08 is still open */
    assert_int_equal(offline_files_closed(s), 2);
    assert_int_equal(offline_open_files(s), 1);
    assert_int_equal(count_files(x->dir, ".avro"), 2);
    assert_int_equal(count_files(x->dir, ".avro.tmp"), 1);
    json_t *partial = read_with_python(x->dir, "features");
    assert_int_equal(json_array_size(partial), before_08);
    json_decref(partial);
    /* a late record for the closed hour opens a new part file of that hour */
    fill_vector(x, 300, T0 + 5);
    assert_int_equal(offline_append(s, T0 + 5, &x->value, err, sizeof err), 0);
    assert_int_equal(offline_free(s, err, sizeof err), 0); /* shutdown publishes all */
    assert_int_equal(count_files(x->dir, ".avro.tmp"), 0);
    assert_int_equal(count_files(x->dir, ".avro"), 4);

    json_t *all = read_with_python(x->dir, "features");
    assert_int_equal(json_array_size(all), 301);
    int seen[301] = {0};
    size_t i;
    json_t *row;
    json_array_foreach(all, i, row)
    {
        json_t *rec = json_object_get(row, "record");
        const char *file = json_string_value(json_object_get(row, "file"));
        int n = atoi(json_string_value(json_object_get(rec, "event_id")) + 1);
        int64_t t = json_integer_value(json_object_get(rec, "event_time"));
        char hour[32];
        snprintf(hour, sizeof hour, "hour=%02d", (int)((t / H) % 24));
        assert_non_null(strstr(file, hour)); /* in the file of its event-time hour */
        assert_non_null(strstr(file, "features/date=2026-11-24/"));
        seen[n]++;
        json_t *f = json_object_get(rec, "features");
        assert_int_equal(json_real_value(json_object_get(f, "f_count")), n);
        if (n % 3 == 0)
            assert_true(json_is_null(json_object_get(f, "f_mean")));
        else
            assert_true(json_real_value(json_object_get(f, "f_mean")) == n * 0.5);
        assert_int_equal(json_is_true(json_object_get(rec, "late")), n % 7 == 0);
        char card[16];
        snprintf(card, sizeof card, "c%d", n % 5);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(rec, "entities"), "card")), card);
        assert_string_equal(json_string_value(json_object_get(rec, "entity_id")), card);
        assert_null(json_object_get(json_object_get(rec, "entities"), "merchant"));
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(rec, "categories"), "channel")),
            "POS");
        assert_string_equal(json_string_value(json_object_get(rec, "definitions_version")), "v1");
    }
    for (int k = 0; k < 301; k++)
        assert_int_equal(seen[k], 1);
    json_decref(all);
}

static void test_crash_recovery(void **state)
{
    fx *x = *state;
    char err[256];
    offline_opts o = {
        .dir = x->dir, .kind = "labels2", .schema = x->schema, .close_after_ms = 600000};
    pid_t pid = fork();
    if (pid == 0) { /* append, flush some, then die without closing */
        offline_store *s = offline_new(&o, err, sizeof err);
        for (int i = 0; i < 40; i++) {
            fill_vector(x, i, T0 + i * 1000);
            offline_append(s, T0 + i * 1000, &x->value, err, sizeof err);
            if (i == 29) offline_flush(s, err, sizeof err);
        }
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_int_equal(count_in(x->dir, "labels2", ".avro.tmp"), 1);
    json_t *none = read_with_python(x->dir, "labels2"); /* readers see no half file */
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    long n = offline_recover(&o, err, sizeof err);
    assert_true(n >= 30); /* everything flushed survives (maybe more if the block was written) */
    assert_int_equal(count_in(x->dir, "labels2", ".avro.tmp"), 0);
    assert_int_equal(count_in(x->dir, "labels2", "-recovered.avro"), 1);
    json_t *all = read_with_python(x->dir, "labels2");
    assert_int_equal((long)json_array_size(all), n);
    json_decref(all);
}

/* A part file cut after every byte, as a kill can leave it: recovery copies
 * exactly the records of its whole blocks, as counted by an independent
 * reader (whole_records.py), removes the cut file, and never hands avro-c a
 * file it cannot open (avro-c leaks then; the sanitizer pass would fail). */
static void test_recovery_at_every_cut(void **state)
{
    fx *x = *state;
    char err[256], cmd[512], full[400], line[1 << 16];
    offline_opts o = {.dir = x->dir, .kind = "cuts", .schema = x->schema, .close_after_ms = 0};
    offline_store *s = offline_new(&o, err, sizeof err);
    assert_non_null(s);
    for (int i = 0; i < 12; i++) { /* blocks of 4 records */
        fill_vector(x, i, T0 + i * 1000);
        assert_int_equal(offline_append(s, T0 + i * 1000, &x->value, err, sizeof err), 0);
        if (i % 4 == 3) assert_int_equal(offline_flush(s, err, sizeof err), 0);
    }
    assert_int_equal(offline_free(s, err, sizeof err), 0);
    snprintf(cmd, sizeof cmd, "find %s/cuts -name '*.avro'", x->dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(full, sizeof full, p));
    pclose(p);
    full[strcspn(full, "\n")] = 0;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 services/features/tests/whole_records.py --every-cut %s",
             full);
    p = popen(cmd, "r");
    assert_non_null(fgets(line, sizeof line, p));
    pclose(p);
    FILE *f = fopen(full, "rb");
    assert_non_null(f);
    static char data[1 << 16];
    size_t size = fread(data, 1, sizeof data, f);
    fclose(f);
    assert_true(size > 0 && size < sizeof data);
    unlink(full);
    char tmp[PATH_MAX + 16], *next = line;
    snprintf(tmp, sizeof tmp, "%s.tmp", full);
    offline_opts r = {.dir = x->dir, .kind = "cuts", .schema = x->schema};
    long most = 0;
    for (size_t k = 0; k <= size; k++) {
        long want = strtol(next, &next, 10);
        f = fopen(tmp, "wb");
        assert_int_equal(fwrite(data, 1, k, f), k);
        fclose(f);
        long got = offline_recover(&r, err, sizeof err);
        if (got != want) fail_msg("cut after %zu bytes: recovered %ld, whole %ld", k, got, want);
        assert_int_equal(access(tmp, F_OK), -1); /* the cut file is gone */
        most = got > most ? got : most;
        snprintf(cmd, sizeof cmd, "find %s/cuts -name '*-recovered.avro' -delete", x->dir);
        assert_int_equal(system(cmd), 0);
    }
    assert_int_equal(most, 12); /* the whole file: every record */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hourly_files_read_by_python),
        cmocka_unit_test(test_crash_recovery),
        cmocka_unit_test(test_recovery_at_every_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
