/* avrocat - encode JSON lines to Confluent-framed Avro and back, through
 * libs/common's registry and codec (the same code the services use).
 *
 *   avrocat encode SCHEMA < events.jsonl > records.hex
 *   avrocat decode SCHEMA < records.hex  > events.jsonl
 *   avrocat id SCHEMA
 *
 * Framing of records: hex (default, one record per line), len (4-byte
 * big-endian length, then the record) or raw (exactly one record, all of
 * stdin / stdout). Bad lines are reported on stderr as "line N: why" and
 * skipped; the exit status is then 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/avro.h"

typedef enum { FRAME_HEX, FRAME_LEN, FRAME_RAW } framing;

typedef struct opts {
    const char *schema_dir;
    const char *registry;
    const char *topic;
    framing frame;
    int strict;
} opts;

static void usage(FILE *f)
{
    fputs("usage: avrocat [options] encode|decode|id SCHEMA\n"
          "  encode  JSON lines on stdin -> framed Avro records on stdout\n"
          "  decode  framed Avro records on stdin -> JSON lines on stdout\n"
          "          (any writer schema the registry knows, resolved to SCHEMA)\n"
          "  id      print the schema id records are written with\n"
          "options:\n"
          "  --schema-dir DIR   local schemas and ids.json (default $SCHEMA_DIR or schemas)\n"
          "  --registry URL     Schema Registry (default $SCHEMA_REGISTRY_URL; empty = local)\n"
          "  --topic TOPIC      registry subject TOPIC-value (default: the schema's file stem)\n"
          "  --framing F        hex (one record per line, default) | len (4-byte BE length\n"
          "                     prefix) | raw (exactly one record)\n"
          "  --strict           encode: reject JSON keys that are not schema fields\n",
          f);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void write_record(framing fr, const char *p, size_t n)
{
    if (fr == FRAME_HEX) {
        for (size_t i = 0; i < n; i++)
            printf("%02x", (unsigned char)p[i]);
        putchar('\n');
    } else {
        if (fr == FRAME_LEN) {
            unsigned char h[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                                  (unsigned char)(n >> 8), (unsigned char)n};
            fwrite(h, 1, 4, stdout);
        }
        fwrite(p, 1, n, stdout);
    }
}

static int encode_line(ss_avro_codec *c, const opts *o, const char *line, size_t len, ss_buf *out,
                       char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) return ss_err(err, errlen, "invalid json at column %d: %s", jerr.column, jerr.text);
    ss_avro_json_error e;
    avro_value_t *v = ss_avro_codec_new_value(c);
    int rc = ss_avro_from_json_ex(v, j, o->strict ? SS_AVRO_JSON_STRICT : 0, &e);
    json_decref(j);
    if (rc) return ss_err(err, errlen, "%s", e.msg);
    ss_buf_reset(out);
    return ss_avro_encode(c, v, out, err, errlen);
}

static int cmd_encode(ss_avro_codec *c, const opts *o)
{
    char *line = NULL, err[512];
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, bad = 0;
    ss_buf out;
    ss_buf_init(&out);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0 && o->frame != FRAME_RAW) continue;
        if (encode_line(c, o, line, (size_t)n, &out, err, sizeof err)) {
            fprintf(stderr, "line %ld: %s\n", lineno, err);
            bad++;
            continue;
        }
        write_record(o->frame, out.data, out.len);
        if (o->frame == FRAME_RAW) break;
    }
    free(line);
    ss_buf_free(&out);
    return bad ? 1 : 0;
}

static int decode_one(ss_avro_codec *c, const char *p, size_t n, long recno)
{
    char err[512];
    avro_value_t *v = NULL;
    if (ss_avro_decode(c, p, n, &v, err, sizeof err)) {
        fprintf(stderr, "record %ld: %s\n", recno, err);
        return -1;
    }
    json_t *j = ss_avro_to_json(v);
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    puts(text ? text : "null");
    free(text);
    json_decref(j);
    return 0;
}

static int cmd_decode(ss_avro_codec *c, const opts *o)
{
    long recno = 0, bad = 0;
    ss_buf rec;
    ss_buf_init(&rec);
    if (o->frame == FRAME_HEX) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) >= 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
                n--;
            recno++;
            ss_buf_reset(&rec);
            int ok = n % 2 == 0;
            for (ssize_t i = 0; ok && i < n; i += 2) {
                int hi = hexval(line[i]), lo = hexval(line[i + 1]);
                if (hi < 0 || lo < 0) ok = 0;
                char b = (char)(hi << 4 | lo);
                ss_buf_append(&rec, &b, 1);
            }
            if (!ok) {
                fprintf(stderr, "record %ld: not a hex line\n", recno);
                bad++;
            } else if (decode_one(c, rec.data, rec.len, recno)) {
                bad++;
            }
        }
        free(line);
    } else if (o->frame == FRAME_LEN) {
        unsigned char h[4];
        while (fread(h, 1, 4, stdin) == 4) {
            size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
            recno++;
            ss_buf_reset(&rec);
            ss_buf_reserve(&rec, n);
            if (fread(rec.data, 1, n, stdin) != n) {
                fprintf(stderr, "record %ld: input ends inside the record\n", recno);
                bad++;
                break;
            }
            rec.len = n;
            if (decode_one(c, rec.data, rec.len, recno)) bad++;
        }
    } else {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            ss_buf_append(&rec, chunk, n);
        if (decode_one(c, rec.data, rec.len, 1)) bad++;
    }
    ss_buf_free(&rec);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    opts o = {getenv("SCHEMA_DIR"), getenv("SCHEMA_REGISTRY_URL"), NULL, FRAME_HEX, 0};
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--strict") == 0) {
            o.strict = 1;
        } else if (!val) {
            usage(stderr);
            return 2;
        } else if (strcmp(a, "--schema-dir") == 0) {
            o.schema_dir = argv[++i];
        } else if (strcmp(a, "--registry") == 0) {
            o.registry = argv[++i];
        } else if (strcmp(a, "--topic") == 0) {
            o.topic = argv[++i];
        } else if (strcmp(a, "--framing") == 0) {
            i++;
            o.frame = strcmp(val, "len") == 0   ? FRAME_LEN
                      : strcmp(val, "raw") == 0 ? FRAME_RAW
                                                : FRAME_HEX;
            if (o.frame == FRAME_HEX && strcmp(val, "hex") != 0) {
                fprintf(stderr, "avrocat: unknown framing \"%s\"\n", val);
                return 2;
            }
        } else {
            fprintf(stderr, "avrocat: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (argc - i != 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i], *schema = argv[i + 1];
    char err[512], subject[300];
    snprintf(subject, sizeof subject, "%s-value", o.topic ? o.topic : schema);
    ss_avro_registry *r =
        ss_avro_registry_new(o.schema_dir ? o.schema_dir : "schemas", o.registry, err, sizeof err);
    if (!r) {
        fprintf(stderr, "avrocat: %s\n", err);
        return 2;
    }
    ss_avro_codec *c = ss_avro_codec_new(r, schema, subject, err, sizeof err);
    if (!c) {
        fprintf(stderr, "avrocat: %s\n", err);
        ss_avro_registry_free(r);
        return 2;
    }
    int rc;
    if (strcmp(cmd, "encode") == 0) {
        rc = cmd_encode(c, &o);
    } else if (strcmp(cmd, "decode") == 0) {
        rc = cmd_decode(c, &o);
    } else if (strcmp(cmd, "id") == 0) {
        printf("%d\n", ss_avro_codec_schema_id(c));
        rc = 0;
    } else {
        usage(stderr);
        rc = 2;
    }
    ss_avro_codec_free(c);
    ss_avro_registry_free(r);
    return rc;
}
