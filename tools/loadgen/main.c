/* loadgen - synthetic card transactions for streamscore.
 *
 * generate (seeded world, fraud episodes) -> pace (target rate, or as fast as
 * the sink takes them) -> inject invalid events -> send to the sink -> emit
 * each event's label after the chargeback delay -> summary (JSON).
 *
 *   loadgen --out events.jsonl --labels-out labels.jsonl --events 100000
 *   loadgen --kafka localhost:9092 --rate 2000 --duration 60 --drift --invalid 20
 *   loadgen --gateway http://127.0.0.1:8080 --api-key KEY --labels-kafka localhost:9092
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/service.h"
#include "common/util.h"
#include "gen.h"
#include "invalid.h"
#include "sink.h"

#define TICK_US 5000            /* pacing timer */
#define UNPACED_BATCH 2000      /* events per loop turn when not pacing */
#define BACKLOG_LIMIT 200000    /* stop generating above this many unacknowledged */
#define INTERRUPT_GRACE_MS 5000 /* after SIGINT/SIGTERM: wait this long for acks, then give up */

/* ------------------------------------------------------------------ options */

typedef struct options {
    lg_config gen;
    double duration_s; /* 0 = unbounded */
    long long events;  /* valid events to send; 0 = unbounded */
    int drift;         /* shift the distribution mid-run */
    double drift_at_s; /* seconds after start; <0 = half-way */
    long long invalid; /* invalid events to inject */
    int bad_kinds[LG_NBAD];
    int nbad_kinds;
    double label_delay_s; /* chargeback delay */
    int labels;           /* emit labels */
    int pace;             /* -1 = auto (pace unless writing files) */
    const char *out, *labels_out, *kafka, *labels_kafka, *gateway, *api_key;
    const char *format, *topic, *labels_topic, *schema_dir, *registry_url;
    const char *summary_path;
    double status_s;
} options;

typedef struct opt_doc {
    const char *name, *arg, *help;
} opt_doc;

/* One table for parsing and --help. */
static const opt_doc opt_docs[] = {
    {"seed", "N", "PRNG seed; the same seed and options give the same events (42)"},
    {"rate", "EV/S", "mean events per second, shaped by the hour of day (1000)"},
    {"duration", "S", "stop after S seconds of event time (0 = no limit)"},
    {"events", "N", "stop after N valid events (0 = no limit)"},
    {"fraud-rate", "F", "fraction of fraudulent events (0.01)"},
    {"cards", "N", "cards in the simulated world (50000)"},
    {"merchants", "N", "merchants in the simulated world (4000)"},
    {"diurnal", "A", "amplitude of the daily rate cycle, 0..0.99 (0.3)"},
    {"drift", NULL, "shift the distribution half-way through the run"},
    {"drift-at", "S", "shift it S seconds after the start instead"},
    {"invalid", "N", "inject N invalid events, spread over the run (0)"},
    {"invalid-kinds", "LIST",
     "kinds to cycle through (malformed,missing_field,wrong_type,"
     "bad_enum,negative_amount,not_object; with Avro also "
     "avro_truncated,avro_unknown_schema)"},
    {"label-delay", "S", "seconds until an event's label (chargeback) is emitted (10)"},
    {"no-labels", NULL, "emit no labels"},
    {"start-time", "MS", "event time of the first event, epoch ms (now)"},
    {"pace", NULL, "follow the wall clock (default for Kafka and gateway output)"},
    {"no-pace", NULL, "as fast as the sink takes them (default for files)"},
    {"out", "FILE", "write events as JSON lines to FILE (- = stdout)"},
    {"labels-out", "FILE", "write labels as JSON lines to FILE"},
    {"kafka", "BROKERS", "produce events and labels to Kafka (env KAFKA_BROKERS)"},
    {"labels-kafka", "BROKERS", "produce only labels to Kafka (with --gateway)"},
    {"gateway", "URL", "POST events to the gateway's /v1/events"},
    {"api-key", "KEY", "gateway API key, scope produce (env STREAMSCORE_API_KEY)"},
    {"format", "json|avro", "event encoding on Kafka (json)"},
    {"topic", "NAME", "events topic (env TOPIC_INGEST, events.ingest)"},
    {"labels-topic", "NAME", "labels topic (env TOPIC_LABELS, labels)"},
    {"schema-dir", "DIR", "Avro schemas (env SCHEMA_DIR, schemas)"},
    {"schema-registry", "URL", "Schema Registry (env SCHEMA_REGISTRY_URL; empty = local ids)"},
    {"id-prefix", "P", "event ids are P-<seq> (tx<seed>)"},
    {"summary", "FILE", "write the summary JSON to FILE (default: stderr)"},
    {"status-interval", "S", "progress log every S seconds, 0 = off (5)"},
    {"help", NULL, "this help"},
};
#define NOPTS ((int)(sizeof opt_docs / sizeof opt_docs[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: loadgen [options]\n"
               "Synthetic card transactions with learnable fraud patterns, labels after a "
               "delay,\noptional drift and invalid events; writes JSON lines, Kafka or the "
               "gateway.\n\n");
    for (int i = 0; i < NOPTS; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", opt_docs[i].name, opt_docs[i].arg ? " " : "",
                 opt_docs[i].arg ? opt_docs[i].arg : "");
        fprintf(f, "  %-28s %s\n", left, opt_docs[i].help);
    }
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "loadgen: bad option --%s: expected a number in [%g, %g], got \"%s\"\n",
                opt, lo, hi, s);
        exit(2);
    }
    *out = v;
    return 0;
}

static void parse_kinds(options *o, const char *list)
{
    char *copy = ss_strdup(list), *save = NULL;
    o->nbad_kinds = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int k = lg_bad_parse(t);
        if (k < 0) {
            fprintf(stderr, "loadgen: bad option --invalid-kinds: unknown kind \"%s\"\n", t);
            exit(2);
        }
        if (o->nbad_kinds < LG_NBAD) o->bad_kinds[o->nbad_kinds++] = k;
    }
    ss_free(copy);
}

static void parse_options(int argc, char **argv, options *o)
{
    struct option longopts[NOPTS + 1];
    for (int i = 0; i < NOPTS; i++)
        longopts[i] = (struct option){
            opt_docs[i].name, opt_docs[i].arg ? required_argument : no_argument, NULL, 1000 + i};
    longopts[NOPTS] = (struct option){NULL, 0, NULL, 0};

    memset(o, 0, sizeof *o);
    lg_config_defaults(&o->gen);
    o->drift_at_s = -1;
    o->label_delay_s = 10;
    o->labels = 1;
    o->pace = -1;
    o->status_s = 5;
    o->format = "json";
    o->kafka = NULL;
    o->api_key = env_or("STREAMSCORE_API_KEY", NULL);
    o->topic = env_or("TOPIC_INGEST", "events.ingest");
    o->labels_topic = env_or("TOPIC_LABELS", "labels");
    o->schema_dir = env_or("SCHEMA_DIR", "schemas");
    o->registry_url = env_or("SCHEMA_REGISTRY_URL", "");
    parse_kinds(o, "malformed,missing_field,wrong_type,bad_enum,negative_amount,not_object");

    int c;
    double v;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') c = 1000 + NOPTS - 1;
        if (c < 1000) {
            usage(stderr);
            exit(2);
        }
        const char *name = opt_docs[c - 1000].name;
        const char *a = optarg;
        if (!strcmp(name, "seed")) {
            parse_num(name, a, 0, 9e15, &v);
            o->gen.seed = (uint64_t)v;
        } else if (!strcmp(name, "rate")) {
            parse_num(name, a, 0.001, 1e7, &o->gen.rate);
        } else if (!strcmp(name, "duration")) {
            parse_num(name, a, 0, 1e9, &o->duration_s);
        } else if (!strcmp(name, "events")) {
            parse_num(name, a, 0, 1e15, &v);
            o->events = (long long)v;
        } else if (!strcmp(name, "fraud-rate")) {
            parse_num(name, a, 0, 0.5, &o->gen.fraud_rate);
        } else if (!strcmp(name, "cards")) {
            parse_num(name, a, 1, 1e8, &v);
            o->gen.ncards = (int)v;
        } else if (!strcmp(name, "merchants")) {
            parse_num(name, a, 15, 1e7, &v);
            o->gen.nmerchants = (int)v;
        } else if (!strcmp(name, "diurnal")) {
            parse_num(name, a, 0, 0.99, &o->gen.diurnal);
        } else if (!strcmp(name, "drift")) {
            o->drift = 1;
        } else if (!strcmp(name, "drift-at")) {
            o->drift = 1;
            parse_num(name, a, 0, 1e9, &o->drift_at_s);
        } else if (!strcmp(name, "invalid")) {
            parse_num(name, a, 0, 1e9, &v);
            o->invalid = (long long)v;
        } else if (!strcmp(name, "invalid-kinds")) {
            parse_kinds(o, a);
        } else if (!strcmp(name, "label-delay")) {
            parse_num(name, a, 0, 1e7, &o->label_delay_s);
        } else if (!strcmp(name, "no-labels")) {
            o->labels = 0;
        } else if (!strcmp(name, "start-time")) {
            parse_num(name, a, 0, 1e14, &v);
            o->gen.start_ms = (int64_t)v;
        } else if (!strcmp(name, "pace")) {
            o->pace = 1;
        } else if (!strcmp(name, "no-pace")) {
            o->pace = 0;
        } else if (!strcmp(name, "out")) {
            o->out = a;
        } else if (!strcmp(name, "labels-out")) {
            o->labels_out = a;
        } else if (!strcmp(name, "kafka")) {
            o->kafka = a;
        } else if (!strcmp(name, "labels-kafka")) {
            o->labels_kafka = a;
        } else if (!strcmp(name, "gateway")) {
            o->gateway = a;
        } else if (!strcmp(name, "api-key")) {
            o->api_key = a;
        } else if (!strcmp(name, "format")) {
            if (strcmp(a, "json") && strcmp(a, "avro")) {
                fprintf(stderr, "loadgen: bad option --format: expected json or avro, got \"%s\"\n",
                        a);
                exit(2);
            }
            o->format = a;
        } else if (!strcmp(name, "topic")) {
            o->topic = a;
        } else if (!strcmp(name, "labels-topic")) {
            o->labels_topic = a;
        } else if (!strcmp(name, "schema-dir")) {
            o->schema_dir = a;
        } else if (!strcmp(name, "schema-registry")) {
            o->registry_url = a;
        } else if (!strcmp(name, "id-prefix")) {
            o->gen.id_prefix = a;
        } else if (!strcmp(name, "summary")) {
            o->summary_path = a;
        } else if (!strcmp(name, "status-interval")) {
            parse_num(name, a, 0, 1e6, &o->status_s);
        } else if (!strcmp(name, "help")) {
            usage(stdout);
            exit(0);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loadgen: unexpected argument \"%s\"\n", argv[optind]);
        exit(2);
    }
    if (!o->out && !o->kafka && !o->gateway) o->kafka = env_or("KAFKA_BROKERS", NULL);
    if (!o->out && !o->kafka && !o->gateway) {
        fprintf(stderr, "loadgen: no output: give --out FILE, --kafka BROKERS or --gateway URL\n");
        exit(2);
    }
    if (!!o->out + !!o->kafka + !!o->gateway > 1) {
        fprintf(stderr, "loadgen: more than one output: choose one of --out, --kafka, --gateway\n");
        exit(2);
    }
    if (o->pace < 0) o->pace = !o->out;
    if (o->invalid && !o->duration_s && !o->events) {
        fprintf(stderr, "loadgen: --invalid needs a bounded run (--events or --duration)\n");
        exit(2);
    }
}

/* ------------------------------------------------------------------ run state */

typedef struct label_due {
    lg_event ev;    /* the labelled event (ids, time, pattern) */
    int64_t due_ms; /* when to emit: wall clock when pacing, event time otherwise */
} label_due;

typedef struct run {
    options o;
    struct event_base *base;
    lg_gen *gen;
    lg_sink *events, *labels; /* labels may be the same sink */
    int labels_share_events;  /* labels is a tee whose first sink is events */
    struct event *tick, *status;
    int64_t wall_start_ms, end_time_ms; /* end_time_ms: event-time bound, 0 = none */
    long long planned;                  /* expected valid events (for spreading invalid ones) */
    /* labels waiting for their delay, FIFO (the delay is constant) */
    label_due *due;
    size_t due_head, due_len, due_cap;
    int stopping; /* generation finished or interrupted */
    int interrupted;
    int64_t interrupted_at_ms;
    size_t unacked; /* accepted by the sink but never acknowledged (broker gone) */
    /* counters */
    long long sent, fraud, by_pattern[LG_NPATTERNS], drifted;
    long long bad_sent, bad_by_kind[LG_NBAD];
    long long labels_sent, labels_fraud, send_errors;
    int64_t first_time, last_time;
    long long last_status_sent;
    ss_buf buf;
    int exit_code;
} run;

static void due_push(run *r, const lg_event *ev, int64_t due_ms)
{
    if (r->due_len == r->due_cap) {
        size_t cap = r->due_cap ? r->due_cap * 2 : 1024;
        label_due *d = ss_malloc(cap * sizeof *d);
        for (size_t i = 0; i < r->due_len; i++)
            d[i] = r->due[(r->due_head + i) % r->due_cap];
        ss_free(r->due);
        r->due = d;
        r->due_cap = cap;
        r->due_head = 0;
    }
    label_due *slot = &r->due[(r->due_head + r->due_len++) % r->due_cap];
    slot->ev = *ev;
    slot->due_ms = due_ms;
}

/* Emit labels due by `now` (wall or event time); all of them when now < 0. */
static void emit_labels(run *r, int64_t now)
{
    int64_t delay = (int64_t)(r->o.label_delay_s * 1000);
    while (r->due_len) {
        label_due *d = &r->due[r->due_head];
        if (now >= 0 && d->due_ms > now) break;
        if (r->labels->label(r->labels, &d->ev, d->ev.event_time + delay) == 0) {
            r->labels_sent++;
            r->labels_fraud += lg_is_fraud(&d->ev);
        } else {
            r->send_errors++;
        }
        r->due_head = (r->due_head + 1) % r->due_cap;
        r->due_len--;
    }
}

static int bounded(const run *r)
{
    return r->o.events > 0 || r->end_time_ms > 0;
}

static int generation_done(run *r)
{
    if (r->o.events > 0 && r->sent >= r->o.events) return 1;
    if (r->end_time_ms > 0 && lg_gen_peek_time(r->gen) >= r->end_time_ms) return 1;
    return 0;
}

static void send_invalid(run *r, const lg_event *base)
{
    lg_bad_kind k = r->o.bad_kinds[r->bad_sent % r->o.nbad_kinds];
    ss_buf_reset(&r->buf);
    lg_bad_json(k, base, &r->buf);
    if (r->events->event(r->events, base, r->buf.data, r->buf.len, (int)k) == 0) {
        r->bad_sent++;
        r->bad_by_kind[k]++;
    } else {
        r->send_errors++;
    }
}

/* Is the next valid event the place for an invalid one? Spread evenly. */
static int invalid_due(const run *r)
{
    if (r->bad_sent >= r->o.invalid) return 0;
    long long every = r->planned / (r->o.invalid + 1);
    if (every < 1) every = 1;
    return r->sent >= (r->bad_sent + 1) * every;
}

static void send_one(run *r)
{
    lg_event ev;
    lg_gen_next(r->gen, &ev);
    if (invalid_due(r)) {
        send_invalid(r, &ev); /* this event becomes an invalid one: no label */
        return;
    }
    ss_buf_reset(&r->buf);
    lg_event_json(&ev, &r->buf);
    if (r->events->event(r->events, &ev, r->buf.data, r->buf.len, -1) != 0) {
        r->send_errors++;
        return;
    }
    if (!r->sent) r->first_time = ev.event_time;
    r->last_time = ev.event_time;
    r->sent++;
    r->fraud += lg_is_fraud(&ev);
    r->by_pattern[ev.pattern]++;
    r->drifted += ev.drifted;
    if (r->labels) {
        int64_t delay = (int64_t)(r->o.label_delay_s * 1000);
        due_push(r, &ev, r->o.pace ? ss_now_ms() + delay : ev.event_time + delay);
    }
}

static size_t backlog(run *r)
{
    size_t n = r->events->backlog(r->events);
    if (r->labels && r->labels != r->events) n += r->labels->backlog(r->labels);
    return n;
}

static void finish(run *r)
{
    /* the rest of the invalid events of a bounded run, so exactly N go out */
    if (!r->interrupted)
        while (r->bad_sent < r->o.invalid) {
            lg_event ev;
            lg_gen_next(r->gen, &ev);
            send_invalid(r, &ev);
        }
    r->stopping = 1;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    (void)fd;
    (void)what;
    if (!r->stopping) {
        if (backlog(r) < BACKLOG_LIMIT) {
            if (r->o.pace) {
                int64_t now = ss_now_ms();
                while (!generation_done(r) && lg_gen_peek_time(r->gen) <= now)
                    send_one(r);
            } else {
                for (int i = 0; i < UNPACED_BATCH && !generation_done(r); i++)
                    send_one(r);
            }
        }
        if (generation_done(r)) finish(r);
    }
    /* labels: by wall clock when pacing, by event time otherwise */
    if (r->labels) {
        if (r->o.pace && !r->interrupted)
            emit_labels(r, ss_now_ms());
        else if (!r->o.pace)
            emit_labels(r, r->stopping ? -1 : r->last_time);
    }
    int labels_left = r->labels && r->due_len && !r->interrupted;
    int gave_up = r->interrupted && ss_now_ms() - r->interrupted_at_ms > INTERRUPT_GRACE_MS;
    if (r->stopping && ((!labels_left && backlog(r) == 0) || gave_up)) {
        if (gave_up)
            ss_log(SS_LOG_WARN, "loadgen: giving up on unacknowledged messages after interrupt",
                   NULL);
        event_base_loopexit(r->base, NULL);
        return;
    }
    struct timeval tv = {0, r->o.pace || r->stopping ? TICK_US : 0};
    evtimer_add(r->tick, &tv);
}

static void status_cb(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    (void)fd;
    (void)what;
    char msg[256];
    snprintf(msg, sizeof msg,
             "loadgen: %lld events (%.0f ev/s), %lld fraud, %lld invalid, %lld labels, "
             "backlog %zu%s",
             r->sent, (r->sent - r->last_status_sent) / r->o.status_s, r->fraud, r->bad_sent,
             r->labels_sent, backlog(r), r->stopping ? ", draining" : "");
    ss_log(SS_LOG_INFO, msg, NULL);
    r->last_status_sent = r->sent;
}

static void on_signal(void *arg)
{
    run *r = arg;
    if (r->stopping && r->interrupted) return;
    ss_log(SS_LOG_INFO, "loadgen: interrupted, flushing what was sent", NULL);
    r->interrupted = 1;
    r->interrupted_at_ms = ss_now_ms();
    r->stopping = 1;
}

/* ------------------------------------------------------------------ summary */

static void write_summary(run *r)
{
    ss_buf b;
    ss_buf_init(&b);
    double wall = (ss_now_ms() - r->wall_start_ms) / 1000.0;
    int separate = r->labels && r->labels != r->events && !r->labels_share_events;
    if (r->labels) r->labels->backlog(r->labels); /* refresh a tee's counters */
    ss_buf_printf(&b, "{\"seed\":%llu,\"events\":%lld,\"fraud\":%lld,\"fraud_rate\":%.5f,",
                  (unsigned long long)r->o.gen.seed, r->sent, r->fraud,
                  r->sent ? (double)r->fraud / r->sent : 0.0);
    ss_buf_printf(&b, "\"by_pattern\":{");
    for (int p = 0; p < LG_NPATTERNS; p++)
        ss_buf_printf(&b, "%s\"%s\":%lld", p ? "," : "", lg_pattern_name(p), r->by_pattern[p]);
    ss_buf_printf(&b, "},\"invalid\":{\"total\":%lld", r->bad_sent);
    for (int k = 0; k < LG_NBAD; k++)
        if (r->bad_by_kind[k]) ss_buf_printf(&b, ",\"%s\":%lld", lg_bad_name(k), r->bad_by_kind[k]);
    ss_buf_printf(&b, "},\"labels\":%lld,\"labels_fraud\":%lld,\"labels_dropped\":%zu,",
                  r->labels_sent, r->labels_fraud, r->due_len);
    ss_buf_printf(&b, "\"drifted\":%lld,\"drift_at\":", r->drifted);
    if (r->o.gen.drift_at_ms)
        ss_buf_printf(&b, "%lld,", (long long)r->o.gen.drift_at_ms);
    else
        ss_buf_printf(&b, "null,");
    ss_buf_printf(&b,
                  "\"first_event_time\":%lld,\"last_event_time\":%lld,\"wall_s\":%.3f,"
                  "\"rate\":%.1f,\"sink\":\"%s\",\"acked\":%llu,\"failed\":%llu,\"rejected\":%llu,"
                  "\"unacked\":%zu,\"send_errors\":%lld,\"interrupted\":%s}\n",
                  (long long)r->first_time, (long long)r->last_time, wall,
                  wall > 0 ? r->sent / wall : 0.0, r->events->name,
                  (unsigned long long)(r->events->acked + (separate ? r->labels->acked : 0)),
                  (unsigned long long)(r->events->failed + (separate ? r->labels->failed : 0)),
                  (unsigned long long)r->events->rejected, r->unacked, r->send_errors,
                  r->interrupted ? "true" : "false");
    FILE *f = r->o.summary_path ? fopen(r->o.summary_path, "w") : stderr;
    if (!f) {
        fprintf(stderr, "loadgen: cannot write summary: %s: %s\n", r->o.summary_path,
                strerror(errno));
        r->exit_code = 1;
        f = stderr;
    }
    fwrite(b.data, 1, b.len, f);
    if (f != stderr) fclose(f);
    ss_buf_free(&b);
}

/* ------------------------------------------------------------------ main */

/* Labels also go to --labels-out when it accompanies Kafka or gateway output. */
static int open_label_sink(run *r, lg_kafka_opts *ko, char *err, size_t errlen)
{
    options *o = &r->o;
    lg_sink *k = NULL, *f = NULL;
    if (!o->labels) return 0;
    if (o->kafka || o->labels_kafka) {
        ko->brokers = o->kafka ? o->kafka : o->labels_kafka;
        if (o->kafka)
            k = r->events; /* events and labels share the producer */
        else if (!(k = lg_sink_kafka_new(r->base, ko, err, errlen)))
            return -1;
    }
    if (o->labels_out && !(f = lg_sink_file_new(NULL, o->labels_out, err, errlen))) return -1;
    if (k && f) {
        r->labels = lg_sink_tee_new(k, f, k != r->events);
        r->labels_share_events = k == r->events;
    } else {
        r->labels = k ? k : f;
    }
    return 0;
}

static int open_sinks(run *r)
{
    options *o = &r->o;
    char err[512] = "";
    lg_kafka_opts ko = {.brokers = o->kafka,
                        .topic_events = o->topic,
                        .topic_labels = o->labels_topic,
                        .avro = !strcmp(o->format, "avro"),
                        .schema_dir = o->schema_dir,
                        .registry_url = o->registry_url};
    if (o->out) {
        r->events = lg_sink_file_new(o->out, o->labels ? o->labels_out : NULL, err, sizeof err);
        if (r->events) r->labels = o->labels && o->labels_out ? r->events : NULL;
    } else {
        if (o->kafka)
            r->events = lg_sink_kafka_new(r->base, &ko, err, sizeof err);
        else
            r->events = lg_sink_http_new(r->base, o->gateway, o->api_key, err, sizeof err);
        if (r->events && open_label_sink(r, &ko, err, sizeof err) != 0) {
            r->events->free(r->events);
            r->events = NULL;
        }
    }
    if (!r->events) {
        fprintf(stderr, "loadgen: %s\n", err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    ss_log_init("loadgen");
    parse_options(argc, argv, &r.o);
    options *o = &r.o;

    r.base = event_base_new();
    r.wall_start_ms = ss_now_ms();
    if (o->pace) o->gen.start_ms = r.wall_start_ms; /* event time follows the wall clock */
    if (o->duration_s > 0) r.end_time_ms = o->gen.start_ms + (int64_t)(o->duration_s * 1000);
    double rate0 = o->gen.rate; /* diurnal shape is applied by the generator */
    r.planned = o->events > 0 ? o->events : (long long)(rate0 * o->duration_s);
    if (o->events > 0 && o->duration_s > 0 && rate0 * o->duration_s < r.planned)
        r.planned = (long long)(rate0 * o->duration_s);
    if (o->drift) {
        double at = o->drift_at_s >= 0 ? o->drift_at_s : r.planned / rate0 / 2.0;
        if (!bounded(&r) && o->drift_at_s < 0) at = 60; /* unbounded: after a minute */
        o->gen.drift_at_ms = o->gen.start_ms + (int64_t)(at * 1000);
    }
    ss_buf_init(&r.buf);
    if (open_sinks(&r) != 0) {
        event_base_free(r.base);
        return 1;
    }
    r.gen = lg_gen_new(&o->gen);
    ss_service_signals(r.base, on_signal, &r);

    r.tick = evtimer_new(r.base, tick_cb, &r);
    struct timeval now = {0, 0};
    evtimer_add(r.tick, &now);
    if (o->status_s > 0) {
        r.status = event_new(r.base, -1, EV_PERSIST, status_cb, &r);
        struct timeval tv = {(time_t)o->status_s, (suseconds_t)(fmod(o->status_s, 1.0) * 1e6)};
        event_add(r.status, &tv);
    }
    event_base_dispatch(r.base);

    int flush_ms = r.interrupted ? 1000 : 30000;
    r.unacked = backlog(&r);
    if (r.events->flush(r.events, flush_ms) != 0) r.exit_code = 1;
    if (r.labels && r.labels != r.events && r.labels->flush(r.labels, flush_ms) != 0)
        r.exit_code = 1;
    if (r.unacked) r.exit_code = 1;
    if (r.send_errors || r.events->failed) r.exit_code = 1;
    write_summary(&r);

    if (r.status) event_free(r.status);
    event_free(r.tick);
    if (r.labels && r.labels != r.events) r.labels->free(r.labels);
    r.events->free(r.events);
    ss_service_signals_free();
    lg_gen_free(r.gen);
    ss_free(r.due);
    ss_buf_free(&r.buf);
    event_base_free(r.base);
    return r.exit_code;
}
