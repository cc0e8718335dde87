/* avro.c - schema registry (local schemas/ or Schema Registry REST), codecs
 * with Confluent framing and writer -> reader resolution, JSON conversion.
 *
 * avro-c's schema parser drops field defaults and its resolved writer
 * refuses reader fields the writer lacks, so this file keeps each schema's
 * JSON next to it: defaults come from there, and a writer without some
 * defaulted reader fields is read into a projection of the reader schema
 * (reader minus those fields), copied over, and the defaults filled in.
 */
#include "common/avro.h"
#include "common/json.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "avro-internal.h"

#define SA_NEG_CACHE_MS 10000 /* unknown remote ids are asked again after this */
#define SA_MAX_DEPTH 64       /* nesting limit for hostile binary input */

typedef struct sa_entry {
    int32_t id;  /* local id from ids.json */
    char *file;  /* as in ids.json: "card_transaction.avsc", "history/x.v0.avsc" */
    char *stem;  /* file without ".avsc" */
    int current; /* top-level file: found by record name */
    avro_schema_t schema;
    json_t *json; /* the schema's JSON: defaults, projections */
    char *canon;  /* compact JSON text, registered with a remote registry */
} sa_entry;

typedef struct sa_remote {
    int32_t id;
    avro_schema_t schema; /* NULL = known unknown (negative cache) */
    int64_t retry_at_ms;
} sa_remote;

/* One GET /schemas/ids/<id> on a helper thread (ss_avro_registry_set_wait):
 * the loop thread never blocks on the registry longer than wait_ms. The
 * thread only fills status/body/err; the loop thread parses. */
typedef struct sa_fetch {
    struct sa_fetch *next;
    int32_t id;
    char *url;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int status; /* HTTP status, or -1 with err */
    ss_buf body;
    char err[256];
} sa_fetch;

typedef struct sa_subject {
    char *subject;
    char *canon;
    int32_t id;
} sa_subject;

typedef struct sa_defaults {
    avro_schema_t record; /* a record node inside a registry schema */
    json_t *fields;       /* its JSON "fields" array */
} sa_defaults;

struct ss_avro_registry {
    char *url; /* NULL = local */
    sa_entry *entries;
    size_t nentries;
    sa_remote *remote;
    size_t nremote;
    int wait_ms;       /* how long a lookup waits for the registry; -1 = until it answers */
    sa_fetch *fetches; /* lookups under way */
    sa_subject *subjects;
    size_t nsubjects;
    sa_defaults *defaults;
    size_t ndefaults;
    struct ss_avro_registry *next; /* all live registries, for field defaults */
};

static ss_avro_registry *live_registries;
static void fetch_free(sa_fetch *f);

typedef struct sa_resolver {
    int32_t id;
    avro_schema_t wschema; /* writer schema (borrowed from the registry) */
    int incompatible;      /* resolution failed; message kept */
    char *why;
    int direct;                     /* writer schema equals reader: plain read */
    avro_value_iface_t *iface;      /* resolved writer: writer -> target */
    avro_value_t wvalue;            /* bound to the reader value or to proj */
    avro_value_iface_t *proj_iface; /* reader minus fields the writer lacks */
    avro_value_t proj;
    int *proj_to_reader; /* reader field index of each projection field */
    size_t nproj;
    int *missing; /* reader fields the writer lacks (take defaults) */
    size_t nmissing;
} sa_resolver;

struct ss_avro_codec {
    ss_avro_registry *reg;
    sa_entry *entry;
    avro_schema_t schema;
    int32_t id;
    avro_value_iface_t *iface;
    avro_value_t value; /* decode target, reset per message */
    avro_value_t out;   /* handed out by ss_avro_codec_new_value */
    avro_reader_t reader;
    avro_writer_t writer;
    sa_resolver *res;
    size_t nres;
    ss_avro_errcode code;
};

/* ------------------------------------------------------------ small helpers */

static avro_schema_t deref(avro_schema_t s)
{
    while (s && avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    return s;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    ss_buf b;
    ss_buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ss_buf_append(&b, chunk, n);
    fclose(f);
    ss_buf_reserve(&b, 0);
    if (len) *len = b.len;
    return b.data;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ------------------------------------------------------------ defaults map */

static void defaults_collect(ss_avro_registry *r, avro_schema_t s, json_t *j, int depth)
{
    if (!s || !j || depth > SA_MAX_DEPTH) return;
    switch (avro_typeof(s)) {
    case AVRO_RECORD: {
        json_t *fields = json_is_object(j) ? json_object_get(j, "fields") : NULL;
        if (!json_is_array(fields)) return;
        r->defaults = ss_realloc(r->defaults, (r->ndefaults + 1) * sizeof *r->defaults);
        r->defaults[r->ndefaults++] = (sa_defaults){s, fields};
        size_t n = avro_schema_record_size(s);
        for (size_t i = 0; i < n && i < json_array_size(fields); i++)
            defaults_collect(r, avro_schema_record_field_get_by_index(s, (int)i),
                             json_object_get(json_array_get(fields, i), "type"), depth + 1);
        break;
    }
    case AVRO_UNION:
        if (!json_is_array(j)) return;
        for (size_t i = 0; i < avro_schema_union_size(s) && i < json_array_size(j); i++)
            defaults_collect(r, avro_schema_union_branch(s, (int)i), json_array_get(j, i),
                             depth + 1);
        break;
    case AVRO_ARRAY:
        if (json_is_object(j))
            defaults_collect(r, avro_schema_array_items(s), json_object_get(j, "items"), depth + 1);
        break;
    case AVRO_MAP:
        if (json_is_object(j))
            defaults_collect(r, avro_schema_map_values(s), json_object_get(j, "values"), depth + 1);
        break;
    default:
        break;
    }
}

/* The JSON "default" of field `name` of record schema `rec`, or NULL. */
static json_t *field_default(avro_schema_t rec, const char *name)
{
    for (ss_avro_registry *r = live_registries; r; r = r->next)
        for (size_t i = 0; i < r->ndefaults; i++) {
            if (r->defaults[i].record != rec) continue;
            json_t *f;
            size_t k;
            json_array_foreach(r->defaults[i].fields, k, f)
            {
                const char *fn = json_string_value(json_object_get(f, "name"));
                if (fn && strcmp(fn, name) == 0) return json_object_get(f, "default");
            }
            return NULL;
        }
    return NULL;
}

/* ------------------------------------------------------------ local registry */

static int load_entry(ss_avro_registry *r, const char *dir, int32_t id, const char *file, char *err,
                      size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text)
        return ss_err(err, errlen, "avro registry: cannot read %s: %s", path, strerror(errno));
    json_error_t jerr;
    json_t *json = json_loadb(text, len, 0, &jerr);
    avro_schema_t schema = NULL;
    int rc = -1;
    if (!json) {
        ss_err(err, errlen, "avro registry: %s: invalid json at line %d: %s", path, jerr.line,
               jerr.text);
        goto done;
    }
    if (avro_schema_from_json_length(text, len, &schema)) {
        ss_err(err, errlen, "avro registry: %s: bad schema: %s", path, avro_strerror());
        goto done;
    }
    for (size_t i = 0; i < r->nentries; i++)
        if (r->entries[i].id == id) {
            ss_err(err, errlen, "avro registry: id %d used twice (%s, %s)", id, r->entries[i].file,
                   file);
            goto done;
        }
    r->entries = ss_realloc(r->entries, (r->nentries + 1) * sizeof *r->entries);
    sa_entry *e = &r->entries[r->nentries++];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->file = ss_strdup(file);
    e->stem = ss_strndup(file, ends_with(file, ".avsc") ? strlen(file) - 5 : strlen(file));
    e->current = strchr(file, '/') == NULL;
    e->schema = schema;
    e->json = json;
    e->canon = json_dumps(json, JSON_COMPACT);
    schema = NULL;
    json = NULL;
    defaults_collect(r, e->schema, e->json, 0);
    rc = 0;
done:
    if (schema) avro_schema_decref(schema);
    json_decref(json);
    free(text);
    return rc;
}

static sa_entry *entry_by_file(ss_avro_registry *r, const char *file)
{
    for (size_t i = 0; i < r->nentries; i++)
        if (strcmp(r->entries[i].file, file) == 0) return &r->entries[i];
    return NULL;
}

static int load_local(ss_avro_registry *r, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/ids.json", dir);
    json_error_t jerr;
    json_t *ids = json_load_file(path, 0, &jerr);
    if (!ids) return ss_err(err, errlen, "avro registry: cannot load %s: %s", path, jerr.text);
    json_t *list = json_object_get(ids, "schemas"), *item;
    size_t i;
    int rc = 0;
    if (!json_is_array(list)) {
        rc = ss_err(err, errlen, "avro registry: %s: expected a \"schemas\" array", path);
        goto done;
    }
    json_array_foreach(list, i, item)
    {
        json_t *id = json_object_get(item, "id");
        const char *file = json_string_value(json_object_get(item, "file"));
        if (!json_is_integer(id) || !file || json_integer_value(id) < 0 ||
            json_integer_value(id) > INT32_MAX) {
            rc = ss_err(err, errlen, "avro registry: %s: entry %zu needs an integer id and a file",
                        path, i);
            goto done;
        }
        if ((rc = load_entry(r, dir, (int32_t)json_integer_value(id), file, err, errlen)))
            goto done;
    }
    DIR *d = opendir(dir);
    if (!d) {
        rc = ss_err(err, errlen, "avro registry: cannot open %s: %s", dir, strerror(errno));
        goto done;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (ends_with(de->d_name, ".avsc") && !entry_by_file(r, de->d_name)) {
            rc = ss_err(err, errlen, "avro registry: %s/%s has no id in ids.json", dir, de->d_name);
            break;
        }
    closedir(d);
done:
    json_decref(ids);
    return rc;
}

ss_avro_registry *ss_avro_registry_new(const char *schema_dir, const char *registry_url, char *err,
                                       size_t errlen)
{
    ss_avro_registry *r = ss_calloc(1, sizeof *r);
    r->wait_ms = -1;
    if (registry_url && *registry_url) {
        if (strncmp(registry_url, "http://", 7) != 0) {
            ss_err(err, errlen, "avro registry: unsupported registry url \"%s\" (http:// only)",
                   registry_url);
            ss_free(r);
            return NULL;
        }
        r->url = ss_strdup(registry_url);
        size_t n = strlen(r->url);
        while (n > 7 && r->url[n - 1] == '/')
            r->url[--n] = '\0';
    }
    r->next = live_registries;
    live_registries = r;
    if (load_local(r, schema_dir ? schema_dir : "schemas", err, errlen)) {
        ss_avro_registry_free(r);
        return NULL;
    }
    return r;
}

void ss_avro_registry_free(ss_avro_registry *r)
{
    if (!r) return;
    for (ss_avro_registry **p = &live_registries; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    for (size_t i = 0; i < r->nentries; i++) {
        sa_entry *e = &r->entries[i];
        ss_free(e->file);
        ss_free(e->stem);
        free(e->canon);
        json_decref(e->json);
        avro_schema_decref(e->schema);
    }
    while (r->fetches) { /* a lookup under way ends within the socket timeouts */
        sa_fetch *f = r->fetches;
        r->fetches = f->next;
        fetch_free(f);
    }
    for (size_t i = 0; i < r->nremote; i++)
        if (r->remote[i].schema) avro_schema_decref(r->remote[i].schema);
    for (size_t i = 0; i < r->nsubjects; i++) {
        ss_free(r->subjects[i].subject);
        ss_free(r->subjects[i].canon);
    }
    ss_free(r->entries);
    ss_free(r->remote);
    ss_free(r->subjects);
    ss_free(r->defaults);
    ss_free(r->url);
    ss_free(r);
}

static sa_entry *entry_by_name(ss_avro_registry *r, const char *name)
{
    if (!r || !name) return NULL;
    for (size_t i = 0; i < r->nentries; i++) {
        sa_entry *e = &r->entries[i];
        if (strcmp(e->stem, name) == 0 || strcmp(e->file, name) == 0) return e;
    }
    for (size_t i = 0; i < r->nentries; i++) {
        sa_entry *e = &r->entries[i];
        if (!e->current) continue;
        const char *n = avro_schema_name(e->schema), *ns = avro_schema_namespace(e->schema);
        if (n && strcmp(n, name) == 0) return e;
        if (n && ns) {
            size_t l = strlen(ns);
            if (strncmp(name, ns, l) == 0 && name[l] == '.' && strcmp(name + l + 1, n) == 0)
                return e;
        }
    }
    return NULL;
}

avro_schema_t ss_avro_registry_schema(ss_avro_registry *r, const char *name)
{
    sa_entry *e = entry_by_name(r, name);
    return e ? e->schema : NULL;
}

int32_t ss_avro_registry_local_id(ss_avro_registry *r, const char *schema_name)
{
    sa_entry *e = entry_by_name(r, schema_name);
    return e ? e->id : -1;
}

/* ------------------------------------------------------------ remote registry */

static int32_t remote_register(ss_avro_registry *r, const char *subject, const char *canon,
                               char *err, size_t errlen)
{
    for (size_t i = 0; i < r->nsubjects; i++)
        if (strcmp(r->subjects[i].subject, subject) == 0 &&
            strcmp(r->subjects[i].canon, canon) == 0)
            return r->subjects[i].id;
    json_t *body = json_pack("{s:s}", "schema", canon);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char path[512];
    snprintf(path, sizeof path, "/subjects/%s/versions", subject);
    ss_buf resp;
    ss_buf_init(&resp);
    int32_t id = -1;
    int status = ss_sr_http(r->url, "POST", path, text, &resp, err, errlen);
    free(text);
    if (status < 0) goto done;
    json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
    json_t *jid = json_object_get(j, "id");
    if (status != 200 || !json_is_integer(jid)) {
        ss_err(err, errlen, "avro registry: register %s: http %d: %.200s", subject, status,
               resp.data ? resp.data : "");
    } else {
        id = (int32_t)json_integer_value(jid);
        r->subjects = ss_realloc(r->subjects, (r->nsubjects + 1) * sizeof *r->subjects);
        r->subjects[r->nsubjects++] = (sa_subject){ss_strdup(subject), ss_strdup(canon), id};
    }
    json_decref(j);
done:
    ss_buf_free(&resp);
    return id;
}

int32_t ss_avro_registry_register(ss_avro_registry *r, const char *subject, avro_schema_t schema,
                                  char *err, size_t errlen)
{
    sa_entry *e = NULL;
    for (size_t i = 0; i < r->nentries && !e; i++)
        if (r->entries[i].schema == schema) e = &r->entries[i];
    for (size_t i = 0; i < r->nentries && !e; i++)
        if (avro_schema_equal(r->entries[i].schema, schema)) e = &r->entries[i];
    if (!r->url) {
        if (!e) return ss_err(err, errlen, "avro registry: schema is not in the local registry");
        return e->id;
    }
    if (!subject || !*subject)
        return ss_err(err, errlen, "avro registry: register needs a subject");
    if (e) return remote_register(r, subject, e->canon, err, errlen);
    /* a schema built elsewhere: serialise it with avro-c */
    char buf[65536];
    avro_writer_t w = avro_writer_memory(buf, sizeof buf - 1);
    int rc = avro_schema_to_json(schema, w);
    size_t n = (size_t)avro_writer_tell(w);
    avro_writer_free(w);
    if (rc)
        return ss_err(err, errlen, "avro registry: cannot serialise schema: %s", avro_strerror());
    buf[n] = '\0';
    return remote_register(r, subject, buf, err, errlen);
}

static sa_remote *remote_slot(ss_avro_registry *r, int32_t id)
{
    for (size_t i = 0; i < r->nremote; i++)
        if (r->remote[i].id == id) return &r->remote[i];
    r->remote = ss_realloc(r->remote, (r->nremote + 1) * sizeof *r->remote);
    sa_remote *s = &r->remote[r->nremote++];
    *s = (sa_remote){id, NULL, 0};
    return s;
}

/* ------------------------------------------------------------ lookups off the loop */

static void *fetch_main(void *arg)
{
    sa_fetch *f = arg;
    char path[64], err[256] = "";
    ss_buf body;
    ss_buf_init(&body);
    snprintf(path, sizeof path, "/schemas/ids/%d", f->id);
    int status = ss_sr_http(f->url, "GET", path, NULL, &body, err, sizeof err);
    pthread_mutex_lock(&f->mu);
    f->status = status;
    f->body = body;
    ss_strlcpy(f->err, err, sizeof f->err);
    f->done = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static sa_fetch *fetch_start(ss_avro_registry *r, int32_t id)
{
    sa_fetch *f = ss_calloc(1, sizeof *f);
    f->id = id;
    f->url = ss_strdup(r->url);
    ss_buf_init(&f->body);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (pthread_create(&f->thread, NULL, fetch_main, f) != 0) {
        fetch_main(f); /* no thread: ask from here */
        f->thread = pthread_self();
    }
    f->next = r->fetches;
    r->fetches = f;
    return f;
}

/* 1 when the lookup has finished, waiting up to wait_ms (-1: until it does) */
static int fetch_wait(sa_fetch *f, int wait_ms)
{
    pthread_mutex_lock(&f->mu);
    if (wait_ms < 0) {
        while (!f->done)
            pthread_cond_wait(&f->cv, &f->mu);
    } else if (!f->done && wait_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!f->done && pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0) {
        }
    }
    int done = f->done;
    pthread_mutex_unlock(&f->mu);
    return done;
}

static void fetch_free(sa_fetch *f)
{
    if (!pthread_equal(f->thread, pthread_self())) pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    ss_buf_free(&f->body);
    ss_free(f->url);
    ss_free(f);
}

/* The finished lookup for id, unlinked (caller frees), or NULL while none
 * has finished; starts one if none is under way. */
static sa_fetch *fetch_take(ss_avro_registry *r, int32_t id)
{
    sa_fetch **pp = &r->fetches;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    if (!*pp) {
        fetch_start(r, id); /* linked at the head */
        pp = &r->fetches;
    }
    sa_fetch *f = *pp;
    if (!fetch_wait(f, r->wait_ms)) return NULL;
    *pp = f->next;
    return f;
}

void ss_avro_registry_set_wait(ss_avro_registry *r, int wait_ms)
{
    r->wait_ms = wait_ms;
}

/* Returns 1 found, 0 unknown id, -1 registry failure (err set). */
static int remote_fetch(ss_avro_registry *r, int32_t id, avro_schema_t *out, char *err,
                        size_t errlen)
{
    sa_remote *s = remote_slot(r, id);
    if (s->schema) return *out = s->schema, 1;
    if (s->retry_at_ms > ss_now_ms()) {
        ss_err(err, errlen, "bad avro: unknown schema id %d", id);
        return 0;
    }
    sa_fetch *f = fetch_take(r, id);
    if (!f) { /* still asking; the caller tries again later */
        ss_err(err, errlen, "avro registry: schema id %d: no answer from the registry within %d ms",
               id, r->wait_ms);
        return -1;
    }
    ss_buf resp = f->body;
    ss_buf_init(&f->body);
    int rc = -1;
    int status = f->status;
    if (status < 0) ss_strlcpy(err, f->err, errlen);
    fetch_free(f);
    if (status < 0) goto done;
    if (status == 404) {
        s = remote_slot(r, id);
        s->retry_at_ms = ss_now_ms() + SA_NEG_CACHE_MS;
        ss_err(err, errlen, "bad avro: unknown schema id %d", id);
        rc = 0;
        goto done;
    }
    json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
    const char *text = json_string_value(json_object_get(j, "schema"));
    avro_schema_t schema = NULL;
    if (status != 200 || !text) {
        ss_err(err, errlen, "avro registry: get schema %d: http %d: %.200s", id, status,
               resp.data ? resp.data : "");
    } else if (avro_schema_from_json_length(text, strlen(text), &schema)) {
        ss_err(err, errlen, "avro registry: schema %d: %s", id, avro_strerror());
        schema = NULL;
    } else {
        s = remote_slot(r, id);
        s->schema = schema;
        *out = schema;
        rc = 1;
    }
    json_decref(j);
done:
    ss_buf_free(&resp);
    return rc;
}

/* 1 found, 0 unknown, -1 registry failure */
static int schema_by_id(ss_avro_registry *r, int32_t id, avro_schema_t *out, char *err,
                        size_t errlen)
{
    if (r->url) return remote_fetch(r, id, out, err, errlen);
    for (size_t i = 0; i < r->nentries; i++)
        if (r->entries[i].id == id) return *out = r->entries[i].schema, 1;
    ss_err(err, errlen, "bad avro: unknown schema id %d", id);
    return 0;
}

avro_schema_t ss_avro_registry_schema_by_id(ss_avro_registry *r, int32_t id, char *err,
                                            size_t errlen)
{
    avro_schema_t s = NULL;
    return schema_by_id(r, id, &s, err, errlen) == 1 ? s : NULL;
}

/* ------------------------------------------------------------ codec */

ss_avro_codec *ss_avro_codec_new(ss_avro_registry *r, const char *schema_name, const char *subject,
                                 char *err, size_t errlen)
{
    sa_entry *e = entry_by_name(r, schema_name);
    if (!e) {
        ss_err(err, errlen, "avro codec: unknown schema \"%s\"", schema_name ? schema_name : "");
        return NULL;
    }
    int32_t id = e->id;
    if (r->url) {
        id = remote_register(r, subject && *subject ? subject : e->stem, e->canon, err, errlen);
        if (id < 0) return NULL;
    }
    ss_avro_codec *c = ss_calloc(1, sizeof *c);
    c->reg = r;
    c->entry = e;
    c->schema = avro_schema_incref(e->schema);
    c->id = id;
    c->iface = avro_generic_class_from_schema(c->schema);
    if (!c->iface || avro_generic_value_new(c->iface, &c->value) ||
        avro_generic_value_new(c->iface, &c->out)) {
        ss_err(err, errlen, "avro codec: %s: %s", schema_name, avro_strerror());
        ss_avro_codec_free(c);
        return NULL;
    }
    c->reader = avro_reader_memory("", 0);
    c->writer = avro_writer_memory("", 0);
    return c;
}

static void resolver_clear(sa_resolver *s)
{
    if (s->iface) {
        avro_value_decref(&s->wvalue);
        avro_value_iface_decref(s->iface);
    }
    if (s->proj_iface) {
        avro_value_decref(&s->proj);
        avro_value_iface_decref(s->proj_iface);
    }
    ss_free(s->proj_to_reader);
    ss_free(s->missing);
    ss_free(s->why);
}

void ss_avro_codec_free(ss_avro_codec *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nres; i++)
        resolver_clear(&c->res[i]);
    ss_free(c->res);
    if (c->reader) avro_reader_free(c->reader);
    if (c->writer) avro_writer_free(c->writer);
    if (c->iface) {
        if (c->value.self) avro_value_decref(&c->value);
        if (c->out.self) avro_value_decref(&c->out);
        avro_value_iface_decref(c->iface);
    }
    avro_schema_decref(c->schema);
    ss_free(c);
}

avro_schema_t ss_avro_codec_schema(ss_avro_codec *c)
{
    return c->schema;
}

int32_t ss_avro_codec_schema_id(ss_avro_codec *c)
{
    return c->id;
}

ss_avro_errcode ss_avro_codec_errcode(const ss_avro_codec *c)
{
    return c->code;
}

avro_value_t *ss_avro_codec_new_value(ss_avro_codec *c)
{
    avro_value_reset(&c->out);
    return &c->out;
}

/* Record the error class on the codec and format err: `return fail(...)`. */
#define fail(c, errcode, ...) ((c)->code = (errcode), ss_err(__VA_ARGS__))

int ss_avro_encode(ss_avro_codec *c, avro_value_t *v, ss_buf *out, char *err, size_t errlen)
{
    c->code = SS_AVRO_OK;
    avro_schema_t vs = avro_value_get_schema(v);
    if (vs != c->schema && !avro_schema_equal(vs, c->schema))
        return fail(c, SS_AVRO_E_ENCODE, err, errlen, "avro encode: value is not a %s",
                    avro_schema_name(c->schema));
    size_t size = 0;
    if (avro_value_sizeof(v, &size))
        return fail(c, SS_AVRO_E_ENCODE, err, errlen, "avro encode: %s", avro_strerror());
    ss_buf_reserve(out, 5 + size);
    uint8_t *p = (uint8_t *)out->data + out->len;
    p[0] = 0;
    p[1] = (uint8_t)((uint32_t)c->id >> 24);
    p[2] = (uint8_t)((uint32_t)c->id >> 16);
    p[3] = (uint8_t)((uint32_t)c->id >> 8);
    p[4] = (uint8_t)c->id;
    avro_writer_memory_set_dest(c->writer, (char *)p + 5, (int64_t)size);
    if (avro_value_write(c->writer, v))
        return fail(c, SS_AVRO_E_ENCODE, err, errlen, "avro encode: %s", avro_strerror());
    out->len += 5 + size;
    out->data[out->len] = '\0';
    return 0;
}

/* A writer record that lacks reader fields: build the projection of the
 * reader (its JSON without those fields) and note which fields take defaults.
 * Returns 0, or -1 with why (a field without default is missing). */
static int resolver_project(ss_avro_codec *c, sa_resolver *s, avro_schema_t wschema, char *why,
                            size_t whylen)
{
    avro_schema_t rs = c->schema;
    size_t n = avro_schema_record_size(rs);
    json_t *proj = json_deep_copy(c->entry->json);
    json_t *pfields = json_array();
    s->proj_to_reader = ss_calloc(n, sizeof(int));
    s->missing = ss_calloc(n, sizeof(int));
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(rs, (int)i);
        if (avro_schema_record_field_get_index(wschema, name) >= 0) {
            json_array_append(pfields, json_array_get(json_object_get(proj, "fields"), i));
            s->proj_to_reader[s->nproj++] = (int)i;
        } else if (field_default(rs, name)) {
            s->missing[s->nmissing++] = (int)i;
        } else {
            ss_err(why, whylen, "reader field \"%s\" has no default and the writer lacks it", name);
            goto done;
        }
    }
    json_object_set(proj, "fields", pfields);
    char *text = json_dumps(proj, JSON_COMPACT);
    avro_schema_t ps = NULL;
    if (avro_schema_from_json_length(text, strlen(text), &ps)) {
        ss_err(why, whylen, "cannot build projection: %s", avro_strerror());
        free(text);
        goto done;
    }
    free(text);
    s->proj_iface = avro_generic_class_from_schema(ps);
    avro_schema_decref(ps);
    if (!s->proj_iface || avro_generic_value_new(s->proj_iface, &s->proj)) {
        ss_err(why, whylen, "%s", avro_strerror());
        if (s->proj_iface) avro_value_iface_decref(s->proj_iface);
        s->proj_iface = NULL;
        goto done;
    }
    rc = 0;
done:
    json_decref(pfields);
    json_decref(proj);
    return rc;
}

static void resolver_init(ss_avro_codec *c, sa_resolver *s, int32_t id, avro_schema_t wschema)
{
    char why[512] = "";
    memset(s, 0, sizeof *s);
    s->id = id;
    s->wschema = wschema;
    if (wschema == c->schema || avro_schema_equal(wschema, c->schema)) {
        s->direct = 1;
        return;
    }
    avro_value_t *target = &c->value;
    if (avro_typeof(wschema) == AVRO_RECORD && avro_typeof(c->schema) == AVRO_RECORD) {
        size_t n = avro_schema_record_size(c->schema);
        for (size_t i = 0; i < n; i++)
            if (avro_schema_record_field_get_index(
                    wschema, avro_schema_record_field_name(c->schema, (int)i)) < 0) {
                if (resolver_project(c, s, wschema, why, sizeof why)) goto bad;
                target = &s->proj;
                break;
            }
    }
    s->iface = avro_resolved_writer_new(wschema, avro_value_get_schema(target));
    if (!s->iface) {
        snprintf(why, sizeof why, "%s", avro_strerror());
        goto bad;
    }
    if (avro_resolved_writer_new_value(s->iface, &s->wvalue)) {
        snprintf(why, sizeof why, "%s", avro_strerror());
        avro_value_iface_decref(s->iface);
        s->iface = NULL;
        goto bad;
    }
    avro_resolved_writer_set_dest(&s->wvalue, target);
    return;
bad:
    s->incompatible = 1;
    s->why = ss_strdup(why);
}

static int set_default(avro_value_t *v, avro_schema_t s, json_t *dflt, ss_avro_json_error *e);

/* Copy the projection into the reader value and fill the defaults. */
static int resolver_finish(ss_avro_codec *c, sa_resolver *s, char *why, size_t whylen)
{
    for (size_t i = 0; i < s->nproj; i++) {
        avro_value_t src, dst;
        if (avro_value_get_by_index(&s->proj, i, &src, NULL) ||
            avro_value_get_by_index(&c->value, (size_t)s->proj_to_reader[i], &dst, NULL) ||
            avro_value_copy(&dst, &src))
            return ss_err(why, whylen, "%s", avro_strerror());
    }
    for (size_t i = 0; i < s->nmissing; i++) {
        int fi = s->missing[i];
        avro_value_t dst;
        ss_avro_json_error e;
        const char *name = avro_schema_record_field_name(c->schema, fi);
        if (avro_value_get_by_index(&c->value, (size_t)fi, &dst, NULL) ||
            set_default(&dst, avro_schema_record_field_get_by_index(c->schema, fi),
                        field_default(c->schema, name), &e))
            return ss_err(why, whylen, "default of \"%s\": %s", name, e.msg);
    }
    return 0;
}

static sa_resolver *resolver_for(ss_avro_codec *c, int32_t id, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->nres; i++)
        if (c->res[i].id == id) return &c->res[i];
    avro_schema_t ws = NULL;
    int found = schema_by_id(c->reg, id, &ws, err, errlen);
    if (found <= 0) {
        c->code = found == 0 ? SS_AVRO_E_UNKNOWN_ID : SS_AVRO_E_REGISTRY;
        return NULL;
    }
    c->res = ss_realloc(c->res, (c->nres + 1) * sizeof *c->res);
    sa_resolver *s = &c->res[c->nres++];
    resolver_init(c, s, id, ws);
    return s;
}

int ss_avro_decode(ss_avro_codec *c, const void *data, size_t len, avro_value_t **out, char *err,
                   size_t errlen)
{
    const uint8_t *p = data;
    char why[512];
    c->code = SS_AVRO_OK;
    if (len == 0 || !p) return fail(c, SS_AVRO_E_EMPTY, err, errlen, "bad avro: empty message");
    if (p[0] != 0)
        return fail(c, SS_AVRO_E_MAGIC, err, errlen, "bad avro: wrong magic byte 0x%02x", p[0]);
    if (len < 5)
        return fail(c, SS_AVRO_E_TRUNCATED, err, errlen,
                    "bad avro: truncated at byte %zu (header is 5 bytes)", len);
    int32_t id =
        (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) | p[4]);
    sa_resolver *s = resolver_for(c, id, err, errlen);
    if (!s) return -1;
    if (s->incompatible)
        return fail(c, SS_AVRO_E_INCOMPATIBLE, err, errlen,
                    "bad avro: schema id %d cannot be read as %s: %s", id,
                    avro_schema_name(c->schema), s->why);
    size_t pos = 5;
    if (ss_avro_binary_skip(s->wschema, p, len, &pos))
        return fail(c, SS_AVRO_E_TRUNCATED, err, errlen,
                    "bad avro: truncated or corrupt at byte %zu of %zu (schema id %d)", pos, len,
                    id);
    if (pos != len)
        return fail(c, SS_AVRO_E_TRAILING, err, errlen,
                    "bad avro: %zu trailing bytes after the record (schema id %d)", len - pos, id);
    avro_value_reset(&c->value);
    avro_reader_memory_set_source(c->reader, (const char *)p + 5, (int64_t)(len - 5));
    int rc;
    if (s->direct) {
        rc = avro_value_read(c->reader, &c->value);
    } else {
        if (s->proj_iface) avro_value_reset(&s->proj);
        rc = avro_value_read(c->reader, &s->wvalue);
    }
    if (rc)
        return fail(c, SS_AVRO_E_TRUNCATED, err, errlen, "bad avro: schema id %d: %s", id,
                    avro_strerror());
    if (s->proj_iface && resolver_finish(c, s, why, sizeof why))
        return fail(c, SS_AVRO_E_INCOMPATIBLE, err, errlen, "bad avro: schema id %d: %s", id, why);
    *out = &c->value;
    return 0;
}

/* ------------------------------------------------------------ binary walker */

static int read_zigzag(const uint8_t *b, size_t len, size_t *pos, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*pos >= len) return -1;
        uint8_t c = b[(*pos)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

static int skip_n(size_t len, size_t *pos, int64_t n)
{
    if (n < 0 || (uint64_t)n > len - *pos) return -1;
    *pos += (size_t)n;
    return 0;
}

static int skip_value(avro_schema_t s, const uint8_t *b, size_t len, size_t *pos, int depth)
{
    int64_t n;
    s = deref(s);
    if (!s || depth > SA_MAX_DEPTH) return -1;
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (*pos >= len || b[*pos] > 1) return -1;
        (*pos)++;
        return 0;
    case AVRO_INT32:
        if (read_zigzag(b, len, pos, &n)) return -1;
        return n < INT32_MIN || n > INT32_MAX ? -1 : 0;
    case AVRO_INT64:
        return read_zigzag(b, len, pos, &n);
    case AVRO_FLOAT:
        return skip_n(len, pos, 4);
    case AVRO_DOUBLE:
        return skip_n(len, pos, 8);
    case AVRO_STRING:
    case AVRO_BYTES:
        if (read_zigzag(b, len, pos, &n)) return -1;
        return skip_n(len, pos, n);
    case AVRO_FIXED:
        return skip_n(len, pos, avro_schema_fixed_size(s));
    case AVRO_ENUM:
        if (read_zigzag(b, len, pos, &n)) return -1;
        return n < 0 || n >= avro_schema_enum_number_of_symbols(s) ? -1 : 0;
    case AVRO_UNION:
        if (read_zigzag(b, len, pos, &n)) return -1;
        if (n < 0 || (size_t)n >= avro_schema_union_size(s)) return -1;
        return skip_value(avro_schema_union_branch(s, (int)n), b, len, pos, depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (skip_value(avro_schema_record_field_get_by_index(s, (int)i), b, len, pos,
                           depth + 1))
                return -1;
        return 0;
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t item = is_map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        int64_t total = 0;
        for (;;) {
            if (read_zigzag(b, len, pos, &n)) return -1;
            if (n == 0) return 0;
            if (n < 0) {
                int64_t bytes;
                if (n == INT64_MIN || read_zigzag(b, len, pos, &bytes) || bytes < 0) return -1;
                n = -n;
            }
            /* zero-size items (null) could make a tiny message expand into
             * billions of elements inside avro-c: cap the count */
            total += n;
            if (total > (int64_t)(len - *pos) + 65536) return -1;
            for (int64_t i = 0; i < n; i++) {
                if (is_map) {
                    int64_t kl;
                    if (read_zigzag(b, len, pos, &kl) || skip_n(len, pos, kl)) return -1;
                }
                if (skip_value(item, b, len, pos, depth + 1)) return -1;
            }
        }
    }
    default:
        return -1;
    }
}

int ss_avro_binary_skip(avro_schema_t schema, const uint8_t *base, size_t len, size_t *pos)
{
    return skip_value(schema, base, len, pos, 0);
}

/* ------------------------------------------------------------ JSON -> Avro */


static int jfail(ss_avro_json_error *e, ss_avro_json_errkind kind, const char *path,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int jfail(ss_avro_json_error *e, ss_avro_json_errkind kind, const char *path,
                 const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    e->kind = kind;
    ss_strlcpy(e->field, path, sizeof e->field);
    if (*path)
        snprintf(e->msg, sizeof e->msg, "field \"%s\": %s", path, what);
    else
        snprintf(e->msg, sizeof e->msg, "%s", what);
    return -1;
}

static void describe(const json_t *j, char *buf, size_t len)
{
    if (json_is_string(j))
        snprintf(buf, len, "string \"%.40s\"", json_string_value(j));
    else if (json_is_integer(j))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    else if (json_is_real(j))
        snprintf(buf, len, "%.17g", json_real_value(j));
    else
        snprintf(buf, len, "%s", ss_json_type_name(j));
}

static int set_value(avro_value_t *v, avro_schema_t s, json_t *j, char *path, size_t plen,
                     int flags, ss_avro_json_error *e);

/* Integral JSON number into [lo, hi]. */
static int get_integral(json_t *j, int64_t lo, int64_t hi, const char *tname, const char *path,
                        int64_t *out, ss_avro_json_error *e)
{
    char d[64];
    if (json_is_integer(j)) {
        json_int_t i = json_integer_value(j);
        if (i < lo || i > hi)
            return jfail(e, SS_AVRO_JSON_OUT_OF_RANGE, path,
                         "%" JSON_INTEGER_FORMAT " is out of range for %s", i, tname);
        *out = i;
        return 0;
    }
    if (json_is_real(j)) {
        double x = json_real_value(j);
        if (!isfinite(x)) return jfail(e, SS_AVRO_JSON_NOT_FINITE, path, "%g is not finite", x);
        if (x != floor(x))
            return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected integer, got %.17g", x);
        if (x < (double)lo || x >= -(double)INT64_MIN || x > (double)hi)
            return jfail(e, SS_AVRO_JSON_OUT_OF_RANGE, path, "%.17g is out of range for %s", x,
                         tname);
        *out = (int64_t)x;
        return 0;
    }
    describe(j, d, sizeof d);
    return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected %s, got %s", tname, d);
}

static int get_double(json_t *j, double maxabs, const char *tname, const char *path, double *out,
                      ss_avro_json_error *e)
{
    if (!json_is_number(j))
        return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected number, got %s", ss_json_type_name(j));
    double x = json_number_value(j);
    if (!isfinite(x)) return jfail(e, SS_AVRO_JSON_NOT_FINITE, path, "%g is not finite", x);
    if (fabs(x) > maxabs)
        return jfail(e, SS_AVRO_JSON_OUT_OF_RANGE, path, "%g is out of range for %s", x, tname);
    *out = x;
    return 0;
}

/* Avro's JSON form of bytes/fixed: one code point U+0000..U+00FF per byte. */
static int latin1_bytes(json_t *j, ss_buf *out)
{
    const unsigned char *s = (const unsigned char *)json_string_value(j);
    size_t n = json_string_length(j);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ss_buf_append(out, &c, 1);
        } else if ((c == 0xc2 || c == 0xc3) && i + 1 < n) {
            unsigned char b = (unsigned char)(((c & 0x1f) << 6) | (s[++i] & 0x3f));
            ss_buf_append(out, &b, 1);
        } else {
            return -1;
        }
    }
    return 0;
}

static int set_enum(avro_value_t *v, avro_schema_t s, json_t *j, const char *path,
                    ss_avro_json_error *e)
{
    if (!json_is_string(j))
        return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected enum symbol, got %s",
                     ss_json_type_name(j));
    int i = avro_schema_enum_get_by_name(s, json_string_value(j));
    if (i < 0) {
        char list[160] = "";
        int n = avro_schema_enum_number_of_symbols(s);
        for (int k = 0; k < n; k++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", k ? ", " : "", avro_schema_enum_get(s, k));
        }
        return jfail(e, SS_AVRO_JSON_BAD_ENUM, path,
                     "unknown symbol \"%.40s\" (expected one of %s)", json_string_value(j), list);
    }
    avro_value_set_enum(v, i);
    return 0;
}

static size_t path_push(char *path, size_t plen, const char *name)
{
    size_t old = strlen(path);
    snprintf(path + old, plen - old, old ? ".%s" : "%s", name);
    return old;
}

static size_t path_push_index(char *path, size_t plen, size_t idx)
{
    size_t old = strlen(path);
    snprintf(path + old, plen - old, "[%zu]", idx);
    return old;
}

static int set_record(avro_value_t *v, avro_schema_t s, json_t *j, char *path, size_t plen,
                      int flags, ss_avro_json_error *e)
{
    if (!json_is_object(j))
        return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected object, got %s", ss_json_type_name(j));
    size_t n = avro_schema_record_size(s);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(s, (int)i);
        avro_schema_t fs = avro_schema_record_field_get_by_index(s, (int)i);
        avro_value_t child;
        avro_value_get_by_index(v, i, &child, NULL);
        json_t *fj = json_object_get(j, name);
        size_t old = path_push(path, plen, name);
        int rc = 0;
        avro_schema_t dfs = deref(fs);
        int nullable = avro_typeof(dfs) == AVRO_NULL;
        if (avro_typeof(dfs) == AVRO_UNION)
            for (size_t b = 0; b < avro_schema_union_size(dfs); b++)
                if (avro_typeof(avro_schema_union_branch(dfs, (int)b)) == AVRO_NULL) nullable = 1;
        if (!fj) {
            json_t *dflt = field_default(s, name);
            if (dflt)
                rc = set_default(&child, fs, dflt, e);
            else if (nullable)
                rc = set_value(&child, fs, json_null(), path, plen, flags, e);
            else
                rc = jfail(e, SS_AVRO_JSON_MISSING, path, "required field is missing");
        } else if (json_is_null(fj) && !nullable) {
            rc = jfail(e, SS_AVRO_JSON_MISSING, path, "required field is null");
        } else {
            rc = set_value(&child, fs, fj, path, plen, flags, e);
        }
        path[old] = '\0';
        if (rc) return rc;
    }
    if (flags & SS_AVRO_JSON_STRICT) {
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            if (avro_schema_record_field_get_index(s, key) < 0) {
                size_t old = path_push(path, plen, key);
                jfail(e, SS_AVRO_JSON_UNKNOWN_FIELD, path, "not a field of %s",
                      avro_schema_name(s));
                path[old] = '\0';
                return -1;
            }
        }
    }
    return 0;
}

/* Which branch of union s takes JSON value j; -1 if none. */
static int union_pick(avro_schema_t s, json_t *j, json_t **inner)
{
    size_t n = avro_schema_union_size(s);
    *inner = j;
    if (json_is_object(j) && json_object_size(j) == 1) { /* Avro JSON encoding: {"type": v} */
        const char *key = json_object_iter_key(json_object_iter(j));
        for (size_t b = 0; b < n; b++) {
            avro_schema_t bs = deref(avro_schema_union_branch(s, (int)b));
            const char *name = avro_schema_type_name(bs);
            const char *ns = avro_schema_namespace(bs);
            char full[256];
            snprintf(full, sizeof full, "%s.%s", ns ? ns : "", name ? name : "");
            if ((name && strcmp(key, name) == 0) || (ns && strcmp(key, full) == 0)) {
                int named_record = avro_typeof(bs) == AVRO_RECORD || avro_typeof(bs) == AVRO_MAP;
                if (!named_record || json_is_object(json_object_get(j, key))) {
                    *inner = json_object_get(j, key);
                    return (int)b;
                }
            }
        }
    }
    static const avro_type_t by_json[][4] = {
        /* preference order for each JSON kind */
        [JSON_OBJECT] = {AVRO_RECORD, AVRO_MAP, AVRO_RECORD, AVRO_RECORD},
        [JSON_ARRAY] = {AVRO_ARRAY, AVRO_ARRAY, AVRO_ARRAY, AVRO_ARRAY},
        [JSON_STRING] = {AVRO_ENUM, AVRO_STRING, AVRO_BYTES, AVRO_FIXED},
        [JSON_INTEGER] = {AVRO_INT64, AVRO_INT32, AVRO_DOUBLE, AVRO_FLOAT},
        [JSON_REAL] = {AVRO_DOUBLE, AVRO_FLOAT, AVRO_INT64, AVRO_INT32},
        [JSON_TRUE] = {AVRO_BOOLEAN, AVRO_BOOLEAN, AVRO_BOOLEAN, AVRO_BOOLEAN},
        [JSON_FALSE] = {AVRO_BOOLEAN, AVRO_BOOLEAN, AVRO_BOOLEAN, AVRO_BOOLEAN},
        [JSON_NULL] = {AVRO_NULL, AVRO_NULL, AVRO_NULL, AVRO_NULL},
    };
    int fallback = -1;
    for (int k = 0; k < 4; k++)
        for (size_t b = 0; b < n; b++) {
            avro_schema_t bs = deref(avro_schema_union_branch(s, (int)b));
            if (avro_typeof(bs) != by_json[json_typeof(j)][k]) continue;
            if (avro_typeof(bs) == AVRO_ENUM &&
                avro_schema_enum_get_by_name(bs, json_string_value(j)) < 0) {
                if (fallback < 0) fallback = (int)b; /* reports bad_enum if nothing else fits */
                continue;
            }
            return (int)b;
        }
    return fallback;
}

static int set_union(avro_value_t *v, avro_schema_t s, json_t *j, char *path, size_t plen,
                     int flags, ss_avro_json_error *e)
{
    json_t *inner;
    int b = union_pick(s, j, &inner);
    if (b < 0) {
        char list[160] = "";
        for (size_t k = 0; k < avro_schema_union_size(s); k++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", k ? " or " : "",
                     avro_schema_type_name(deref(avro_schema_union_branch(s, (int)k))));
        }
        if (json_is_null(j)) return jfail(e, SS_AVRO_JSON_MISSING, path, "required field is null");
        return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected %s, got %s", list, ss_json_type_name(j));
    }
    avro_value_t branch;
    if (avro_value_set_branch(v, b, &branch))
        return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "%s", avro_strerror());
    return set_value(&branch, avro_schema_union_branch(s, b), inner, path, plen, flags, e);
}

static int set_value(avro_value_t *v, avro_schema_t s, json_t *j, char *path, size_t plen,
                     int flags, ss_avro_json_error *e)
{
    int64_t i;
    double d;
    s = deref(s);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        if (!json_is_null(j))
            return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected null, got %s", ss_json_type_name(j));
        return avro_value_set_null(v);
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected boolean, got %s",
                         ss_json_type_name(j));
        return avro_value_set_boolean(v, json_is_true(j));
    case AVRO_INT32:
        if (get_integral(j, INT32_MIN, INT32_MAX, "int", path, &i, e)) return -1;
        return avro_value_set_int(v, (int32_t)i);
    case AVRO_INT64:
        if (get_integral(j, INT64_MIN, INT64_MAX, "long", path, &i, e)) return -1;
        return avro_value_set_long(v, i);
    case AVRO_FLOAT:
        if (get_double(j, FLT_MAX, "float", path, &d, e)) return -1;
        return avro_value_set_float(v, (float)d);
    case AVRO_DOUBLE:
        if (get_double(j, DBL_MAX, "double", path, &d, e)) return -1;
        return avro_value_set_double(v, d);
    case AVRO_STRING:
        if (!json_is_string(j))
            return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected string, got %s", ss_json_type_name(j));
        return avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1);
    case AVRO_BYTES:
    case AVRO_FIXED: {
        ss_buf b;
        ss_buf_init(&b);
        int rc = -1;
        if (!json_is_string(j))
            jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected string of bytes, got %s",
                  ss_json_type_name(j));
        else if (latin1_bytes(j, &b))
            jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "bytes must be code points U+0000..U+00FF");
        else if (avro_typeof(s) == AVRO_BYTES)
            rc = avro_value_set_bytes(v, b.data ? b.data : "", b.len);
        else if ((int64_t)b.len != avro_schema_fixed_size(s))
            jfail(e, SS_AVRO_JSON_OUT_OF_RANGE, path, "expected %" PRId64 " bytes, got %zu",
                  avro_schema_fixed_size(s), b.len);
        else
            rc = avro_value_set_fixed(v, b.data ? b.data : "", b.len);
        ss_buf_free(&b);
        return rc;
    }
    case AVRO_ENUM:
        return set_enum(v, s, j, path, e);
    case AVRO_RECORD:
        return set_record(v, s, j, path, plen, flags, e);
    case AVRO_UNION:
        return set_union(v, s, j, path, plen, flags, e);
    case AVRO_ARRAY: {
        if (!json_is_array(j))
            return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected array, got %s", ss_json_type_name(j));
        size_t k;
        json_t *item;
        json_array_foreach(j, k, item)
        {
            avro_value_t child;
            avro_value_append(v, &child, NULL);
            size_t old = path_push_index(path, plen, k);
            int rc = set_value(&child, avro_schema_array_items(s), item, path, plen, flags, e);
            path[old] = '\0';
            if (rc) return rc;
        }
        return 0;
    }
    case AVRO_MAP: {
        if (!json_is_object(j))
            return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected object, got %s", ss_json_type_name(j));
        const char *key;
        json_t *item;
        json_object_foreach(j, key, item)
        {
            avro_value_t child;
            avro_value_add(v, key, &child, NULL, NULL);
            size_t old = path_push(path, plen, key);
            int rc = set_value(&child, avro_schema_map_values(s), item, path, plen, flags, e);
            path[old] = '\0';
            if (rc) return rc;
        }
        return 0;
    }
    default:
        return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "unsupported avro type %s",
                     avro_schema_type_name(s));
    }
}

/* A field default: for a union it belongs to the first branch. */
static int set_default(avro_value_t *v, avro_schema_t s, json_t *dflt, ss_avro_json_error *e)
{
    char path[8] = "";
    s = deref(s);
    if (!dflt) return jfail(e, SS_AVRO_JSON_MISSING, path, "no default");
    if (avro_typeof(s) == AVRO_UNION) {
        avro_value_t branch;
        avro_value_set_branch(v, 0, &branch);
        return set_value(&branch, avro_schema_union_branch(s, 0), dflt, path, sizeof path, 0, e);
    }
    return set_value(v, s, dflt, path, sizeof path, 0, e);
}

int ss_avro_from_json_ex(avro_value_t *v, json_t *obj, int flags, ss_avro_json_error *e)
{
    char path[128] = "";
    ss_avro_json_error local;
    if (!e) e = &local;
    e->kind = SS_AVRO_JSON_OK;
    e->field[0] = e->msg[0] = '\0';
    avro_value_reset(v);
    if (!obj) return jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "expected object, got nothing");
    int rc = set_value(v, avro_value_get_schema(v), obj, path, sizeof path, flags, e);
    if (rc && e->kind == SS_AVRO_JSON_OK) /* avro-c refused a setter */
        jfail(e, SS_AVRO_JSON_WRONG_TYPE, path, "%s", avro_strerror());
    return rc ? -1 : 0;
}

int ss_avro_from_json(avro_value_t *v, json_t *obj, char *err, size_t errlen,
                      const char **bad_field)
{
    static char field[128];
    ss_avro_json_error e;
    int rc = ss_avro_from_json_ex(v, obj, 0, &e);
    if (rc) {
        ss_strlcpy(field, e.field, sizeof field);
        if (bad_field) *bad_field = field;
        ss_err(err, errlen, "%s", e.msg);
    }
    return rc;
}

/* ------------------------------------------------------------ Avro -> JSON */

static json_t *latin1_string(const void *p, size_t n)
{
    const unsigned char *s = p;
    ss_buf b;
    ss_buf_init(&b);
    ss_buf_reserve(&b, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ss_buf_append(&b, &c, 1);
        } else {
            unsigned char two[2] = {(unsigned char)(0xc0 | (c >> 6)),
                                    (unsigned char)(0x80 | (c & 0x3f))};
            ss_buf_append(&b, two, 2);
        }
    }
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    ss_buf_free(&b);
    return j;
}

json_t *ss_avro_to_json(avro_value_t *v)
{
    const char *str;
    const void *bytes;
    size_t size, n;
    int32_t i32;
    int64_t i64;
    float f;
    double d;
    int bl;
    switch (avro_value_get_type(v)) {
    case AVRO_STRING:
        avro_value_get_string(v, &str, &size);
        n = size ? size - 1 : 0;
        {
            json_t *j = json_stringn(str ? str : "", n);
            return j ? j : latin1_string(str, n); /* not UTF-8: keep the bytes visible */
        }
    case AVRO_BYTES:
        avro_value_get_bytes(v, &bytes, &size);
        return latin1_string(bytes, size);
    case AVRO_FIXED:
        avro_value_get_fixed(v, &bytes, &size);
        return latin1_string(bytes, size);
    case AVRO_INT32:
        avro_value_get_int(v, &i32);
        return json_integer(i32);
    case AVRO_INT64:
        avro_value_get_long(v, &i64);
        return json_integer(i64);
    case AVRO_FLOAT:
        avro_value_get_float(v, &f);
        return isfinite(f) ? json_real(f) : json_null();
    case AVRO_DOUBLE:
        avro_value_get_double(v, &d);
        return isfinite(d) ? json_real(d) : json_null();
    case AVRO_BOOLEAN:
        avro_value_get_boolean(v, &bl);
        return json_boolean(bl);
    case AVRO_NULL:
        return json_null();
    case AVRO_ENUM: {
        avro_value_get_enum(v, &i32);
        const char *sym = avro_schema_enum_get(avro_value_get_schema(v), i32);
        return sym ? json_string(sym) : json_null();
    }
    case AVRO_UNION: {
        avro_value_t branch;
        if (avro_value_get_current_branch(v, &branch)) return json_null();
        return ss_avro_to_json(&branch);
    }
    case AVRO_RECORD:
    case AVRO_MAP: {
        json_t *o = json_object();
        avro_value_get_size(v, &n);
        for (size_t k = 0; k < n; k++) {
            avro_value_t child;
            const char *name = NULL;
            avro_value_get_by_index(v, k, &child, &name);
            json_object_set_new(o, name ? name : "", ss_avro_to_json(&child));
        }
        return o;
    }
    case AVRO_ARRAY: {
        json_t *a = json_array();
        avro_value_get_size(v, &n);
        for (size_t k = 0; k < n; k++) {
            avro_value_t child;
            avro_value_get_by_index(v, k, &child, NULL);
            json_array_append_new(a, ss_avro_to_json(&child));
        }
        return a;
    }
    default:
        return json_null();
    }
}

/* ------------------------------------------------------------ registry HTTP */

typedef struct sa_url {
    char host[256];
    char port[8];
    char prefix[512];
    char auth[512]; /* "user:pass", or "" */
} sa_url;

static int parse_url(const char *url, sa_url *u)
{
    memset(u, 0, sizeof *u);
    if (strncmp(url, "http://", 7) != 0) return -1;
    const char *p = url + 7, *slash = strchr(p, '/');
    size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
    const char *at = memchr(p, '@', hostlen);
    if (at) {
        if ((size_t)(at - p) >= sizeof u->auth) return -1;
        memcpy(u->auth, p, (size_t)(at - p));
        hostlen -= (size_t)(at - p) + 1;
        p = at + 1;
    }
    if (hostlen == 0 || hostlen >= sizeof u->host) return -1;
    memcpy(u->host, p, hostlen);
    char *colon = strrchr(u->host, ':');
    if (colon && !strchr(u->host, ']')) {
        *colon = '\0';
        ss_strlcpy(u->port, colon + 1, sizeof u->port);
    } else {
        strcpy(u->port, "80");
    }
    ss_strlcpy(u->prefix, slash ? slash : "", sizeof u->prefix);
    size_t n = strlen(u->prefix);
    while (n && u->prefix[n - 1] == '/')
        u->prefix[--n] = '\0';
    return 0;
}

static int connect_to(const sa_url *u, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc) return ss_err(err, errlen, "avro registry: resolve %s: %s", u->host, gai_strerror(rc));
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return ss_err(err, errlen, "avro registry: connect %s:%s: %s", u->host, u->port,
                      strerror(errno));
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Decode a chunked body in place; returns the new length or -1. */
static long dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end = NULL;
        if (in >= len) return -1;
        unsigned long n = strtoul(body + in, &end, 16);
        char *crlf = strstr(body + in, "\r\n");
        if (!crlf || end == body + in) return -1;
        in = (size_t)(crlf - body) + 2;
        if (n == 0) return (long)out;
        if (n > len - in) return -1;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;
    }
}

int ss_sr_http(const char *url, const char *method, const char *path, const char *body,
               ss_buf *resp, char *err, size_t errlen)
{
    sa_url u;
    if (parse_url(url, &u)) return ss_err(err, errlen, "avro registry: bad url \"%s\"", url);
    ss_buf req, in;
    ss_buf_init(&req);
    ss_buf_init(&in);
    ss_buf_printf(&req,
                  "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: streamscore\r\n"
                  "Accept: application/vnd.schemaregistry.v1+json, application/json\r\n"
                  "Connection: close\r\n",
                  method, u.prefix, path, u.host, u.port);
    if (u.auth[0]) {
        unsigned char b64[700];
        EVP_EncodeBlock(b64, (const unsigned char *)u.auth, (int)strlen(u.auth));
        ss_buf_printf(&req, "Authorization: Basic %s\r\n", b64);
    }
    if (body)
        ss_buf_printf(&req,
                      "Content-Type: application/vnd.schemaregistry.v1+json\r\n"
                      "Content-Length: %zu\r\n",
                      strlen(body));
    ss_buf_printf(&req, "\r\n%s", body ? body : "");
    int status = -1;
    int fd = connect_to(&u, err, errlen);
    if (fd < 0) goto done;
    if (send_all(fd, req.data, req.len)) {
        ss_err(err, errlen, "avro registry: send to %s: %s", url, strerror(errno));
        goto done;
    }
    char chunk[8192];
    for (;;) {
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ss_err(err, errlen, "avro registry: read from %s: %s", url, strerror(errno));
            goto done;
        }
        if (n == 0) break;
        ss_buf_append(&in, chunk, (size_t)n);
        if (in.len > (16u << 20)) {
            ss_err(err, errlen, "avro registry: response from %s over 16 MiB", url);
            goto done;
        }
    }
    int code = 0;
    char *hdr_end = in.data ? strstr(in.data, "\r\n\r\n") : NULL;
    if (!hdr_end || sscanf(in.data, "HTTP/1.%*d %d", &code) != 1 || code < 100) {
        ss_err(err, errlen, "avro registry: bad http response from %s", url);
        goto done;
    }
    *hdr_end = '\0';
    char *bodyp = hdr_end + 4;
    size_t blen = in.len - (size_t)(bodyp - in.data);
    for (char *h = in.data; (h = strchr(h, '\n')); h++) {
        if (strncasecmp(h + 1, "transfer-encoding:", 18) == 0 && strstr(h, "chunked")) {
            long n = dechunk(bodyp, blen);
            if (n < 0) {
                ss_err(err, errlen, "avro registry: bad chunked body from %s", url);
                goto done;
            }
            blen = (size_t)n;
        } else if (strncasecmp(h + 1, "content-length:", 15) == 0) {
            unsigned long cl = strtoul(h + 16, NULL, 10);
            if (cl < blen) blen = cl;
        }
    }
    ss_buf_reset(resp);
    ss_buf_append(resp, bodyp, blen);
    status = code;
done:
    if (fd >= 0) close(fd);
    ss_buf_free(&req);
    ss_buf_free(&in);
    return status;
}
