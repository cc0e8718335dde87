/* events.c - POST /v1/events: one event or a batch, validated by the shared
 * validator (libs/events, the same rules ingest applies), produced to
 * events.ingest as the client sent it, keyed by the event's key field.
 *
 * The reply waits for every delivery report. 202 only when every valid event
 * was acknowledged by Kafka; if any was not (broker down past the delivery
 * timeout), 503 with per-item results, so a client never gets a 2xx for an
 * event Kafka does not have. Rejected items of a batch are listed with their
 * field and reason; a batch with nothing valid is a 400. */
#include <event2/buffer.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway.h"

/* ----------------------------------------------------------- array splitter */

static size_t skip_ws(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

long gw_json_array_split(const char *s, size_t len, const char **items, size_t *lens, size_t max,
                         size_t *pos)
{
    size_t i = skip_ws(s, 0, len);
    long n = 0;
    if (i >= len || s[i] != '[') goto bad;
    i = skip_ws(s, i + 1, len);
    if (i < len && s[i] == ']') {
        i = skip_ws(s, i + 1, len);
        if (i != len) goto bad;
        return 0;
    }
    for (;;) {
        size_t start = i;
        int depth = 0, in_str = 0;
        for (; i < len; i++) {
            char c = s[i];
            if (in_str) {
                if (c == '\\')
                    i++;
                else if (c == '"')
                    in_str = 0;
                continue;
            }
            if (c == '"')
                in_str = 1;
            else if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (depth == 0) break;
                depth--;
            } else if (c == ',' && depth == 0)
                break;
        }
        if (i >= len || in_str) goto bad;
        size_t end = i;
        while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\n' ||
                               s[end - 1] == '\r'))
            end--;
        if (end == start) goto bad; /* "[1,,2]" or "[1,]" */
        if ((size_t)n < max) {
            items[n] = s + start;
            lens[n] = end - start;
        }
        n++;
        if (s[i] == ']') break;
        i = skip_ws(s, i + 1, len); /* past ',' */
    }
    i = skip_ws(s, i + 1, len);
    if (i != len) goto bad;
    return n;
bad:
    if (pos) *pos = i;
    return -1;
}

/* ---------------------------------------------------------------- validate */

int gw_validate(gw *g, gw_event *ev)
{
    avro_value_t *v = ss_avro_codec_new_value(g->codec);
    ev->valid = 0;
    ev->event_id[0] = ev->key[0] = '\0';
    if (ss_event_validate_json(g->rules, ev->data, ev->len, v, &ev->err) != 0) return -1;
    ss_event_info info;
    if (ss_event_info_get(g->rules, v, &info) != 0) {
        ev->err.reason = SS_EV_MISSING_FIELD;
        ss_strlcpy(ev->err.field, "", sizeof(ev->err.field));
        ss_strlcpy(ev->err.detail, "event id or key missing", sizeof(ev->err.detail));
        return -1;
    }
    size_t n =
        info.event_id_len < sizeof(ev->event_id) - 1 ? info.event_id_len : sizeof(ev->event_id) - 1;
    memcpy(ev->event_id, info.event_id, n);
    ev->event_id[n] = '\0';
    n = info.key_len < sizeof(ev->key) - 1 ? info.key_len : sizeof(ev->key) - 1;
    memcpy(ev->key, info.key, n);
    ev->key[n] = '\0';
    ev->valid = 1;
    return 0;
}

/* ----------------------------------------------------------------- produce */

typedef struct batch batch;

typedef struct item {
    batch *b;
    gw_event ev;
    int status; /* 0 waiting, 1 accepted, 2 rejected, 3 failed */
    int32_t partition;
    int64_t offset;
    rd_kafka_resp_err_t kerr;
} item;

struct batch {
    gw *g;
    struct evhttp_request *req;
    int single;
    size_t n;
    size_t waiting;
    item *items;
};

enum { ST_WAIT = 0, ST_ACCEPTED, ST_REJECTED, ST_FAILED };

static json_t *item_json(const item *it, size_t index, int with_index)
{
    json_t *o = json_object();
    if (with_index) json_object_set_new(o, "index", json_integer((json_int_t)index));
    if (it->ev.event_id[0]) json_object_set_new(o, "event_id", json_string(it->ev.event_id));
    switch (it->status) {
    case ST_ACCEPTED:
        json_object_set_new(o, "status", json_string("accepted"));
        json_object_set_new(o, "partition", json_integer(it->partition));
        json_object_set_new(o, "offset", json_integer(it->offset));
        break;
    case ST_REJECTED:
        json_object_set_new(o, "status", json_string("rejected"));
        json_object_set_new(o, "reason", json_string(it->ev.err.reason));
        json_object_set_new(o, "field", json_string(it->ev.err.field));
        json_object_set_new(o, "detail", json_string(it->ev.err.detail));
        break;
    default:
        json_object_set_new(o, "status", json_string("failed"));
        json_object_set_new(o, "reason", json_string(rd_kafka_err2name(it->kerr)));
        json_object_set_new(o, "detail", json_string(rd_kafka_err2str(it->kerr)));
        break;
    }
    return o;
}

static void batch_free(batch *b)
{
    ss_free(b->items);
    ss_free(b);
}

static void batch_reply(batch *b)
{
    gw *g = b->g;
    size_t acc = 0, rej = 0, fail = 0;
    for (size_t i = 0; i < b->n; i++) {
        acc += b->items[i].status == ST_ACCEPTED;
        rej += b->items[i].status == ST_REJECTED;
        fail += b->items[i].status == ST_FAILED;
    }
    ss_metric_add(g->m_events_accepted, (double)acc);
    ss_metric_add(g->m_events_rejected, (double)rej);
    ss_metric_add(g->m_events_failed, (double)fail);
    g->pending--;

    if (b->single) {
        item *it = &b->items[0];
        if (it->status == ST_ACCEPTED) {
            json_t *o = item_json(it, 0, 0);
            json_object_set_new(o, "topic", json_string(g->cfg.topic_ingest));
            ss_http_reply_json(b->req, 202, o);
        } else {
            evhttp_add_header(evhttp_request_get_output_headers(b->req), "Retry-After", "1");
            ss_http_reply_problem(b->req, 503, "kafka unavailable",
                                  json_pack("{s:s,s:s}", "event_id", it->ev.event_id, "reason",
                                            rd_kafka_err2name(it->kerr)),
                                  "event %s not acknowledged by kafka: %s; nothing was accepted, "
                                  "retry",
                                  it->ev.event_id, rd_kafka_err2str(it->kerr));
        }
        batch_free(b);
        return;
    }
    json_t *results = json_array();
    for (size_t i = 0; i < b->n; i++)
        json_array_append_new(results, item_json(&b->items[i], i, 1));
    json_t *body = json_pack("{s:I,s:I,s:I,s:o}", "accepted", (json_int_t)acc, "rejected",
                             (json_int_t)rej, "failed", (json_int_t)fail, "results", results);
    if (fail) {
        evhttp_add_header(evhttp_request_get_output_headers(b->req), "Retry-After", "1");
        json_object_set_new(body, "topic", json_string(g->cfg.topic_ingest));
        ss_http_reply_problem(b->req, 503, "kafka unavailable", body,
                              "%zu of %zu events not acknowledged by kafka; resend those marked "
                              "failed",
                              fail, b->n);
    } else {
        json_object_set_new(body, "topic", json_string(g->cfg.topic_ingest));
        ss_http_reply_json(b->req, 202, body);
    }
    batch_free(b);
}

static int on_delivery(void *opaque, rd_kafka_resp_err_t err, int32_t partition, int64_t offset)
{
    item *it = opaque;
    batch *b = it->b;
    it->kerr = err;
    it->partition = partition;
    it->offset = offset;
    it->status = err == RD_KAFKA_RESP_ERR_NO_ERROR ? ST_ACCEPTED : ST_FAILED;
    if (--b->waiting == 0) batch_reply(b);
    return 0; /* the client hears the outcome; no silent retry behind its back */
}

static void produce_valid(batch *b)
{
    gw *g = b->g;
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        if (it->status == ST_REJECTED) continue;
        b->waiting++;
    }
    if (b->waiting == 0) return;
    size_t left = b->waiting;
    b->waiting++; /* hold: no reply until every send is issued */
    for (size_t i = 0; i < b->n && left; i++) {
        item *it = &b->items[i];
        if (it->status == ST_REJECTED) continue;
        left--;
        ss_send s = {.topic = g->cfg.topic_ingest,
                     .partition = RD_KAFKA_PARTITION_UA,
                     .key = it->ev.key,
                     .keylen = strlen(it->ev.key),
                     .value = it->ev.data,
                     .valuelen = it->ev.len,
                     .cb = on_delivery,
                     .opaque = it};
        if (ss_producer_send(g->producer, &s) != 0) {
            it->status = ST_FAILED;
            it->kerr = RD_KAFKA_RESP_ERR__FAIL;
            b->waiting--;
        }
    }
    if (--b->waiting == 0) batch_reply(b);
}

/* ----------------------------------------------------------------- handler */

static json_t *parse_events_body(struct evhttp_request *req, const char **body, size_t *len)
{
    /* duplicate keys are the validator's call (reason duplicate_field, per item) */
    json_t *doc = ss_http_body_json_flags(req, 1, 0);
    if (!doc) return NULL;
    *body = ss_http_body(req, len);
    return doc;
}

static void reject_single(gw *g, struct evhttp_request *req, const gw_event *ev)
{
    ss_metric_inc(g->m_events_rejected);
    ss_http_reply_problem(req, 400, "invalid event",
                          json_pack("{s:s,s:s}", "reason", ev->err.reason, "field", ev->err.field),
                          "bad event: %s", ev->err.detail);
}

static void on_events(struct evhttp_request *req, const ss_http_params *p, void *arg)
{
    gw *g = arg;
    (void)p;
    if (!gw_guard(g, req, GW_SCOPE_PRODUCE)) return;
    const char *body = NULL;
    size_t len = 0;
    json_t *doc = parse_events_body(req, &body, &len);
    if (!doc) return;
    int is_array = json_is_array(doc), is_object = json_is_object(doc);
    size_t count = is_array ? json_array_size(doc) : 1;
    json_decref(doc);
    if (!is_array && !is_object) {
        ss_http_reply_problem(req, 400, "invalid event",
                              json_pack("{s:s}", "reason", "not_an_object"),
                              "bad request: body: expected an event object or an array of events");
        return;
    }
    if (is_array && count == 0) {
        ss_http_reply_problem(req, 400, "empty batch", NULL,
                              "bad request: body: the array holds no events");
        return;
    }
    if (is_array && count > (size_t)g->cfg.max_batch) {
        ss_http_reply_problem(req, 413, "batch too large",
                              json_pack("{s:I}", "limit", (json_int_t)g->cfg.max_batch),
                              "bad request: batch of %zu events exceeds the limit of %lld", count,
                              (long long)g->cfg.max_batch);
        return;
    }

    batch *b = ss_calloc(1, sizeof(*b));
    b->g = g;
    b->req = req;
    b->single = !is_array;
    b->n = count;
    b->items = ss_calloc(count, sizeof(item));
    if (b->single) {
        b->items[0].ev.data = body;
        b->items[0].ev.len = len;
    } else {
        const char **ptrs = ss_calloc(count, sizeof(char *));
        size_t *lens = ss_calloc(count, sizeof(size_t));
        size_t pos = 0;
        long got = gw_json_array_split(body, len, ptrs, lens, count, &pos);
        for (size_t i = 0; i < count && got == (long)count; i++) {
            b->items[i].ev.data = ptrs[i];
            b->items[i].ev.len = lens[i];
        }
        ss_free(ptrs);
        ss_free(lens);
        if (got != (long)count) {
            /* jansson accepted it, so this is a splitter bug: refuse, never crash */
            ss_log(SS_LOG_ERROR, "events: batch splitter disagrees with the JSON parser", NULL);
            ss_http_reply_problem(req, 400, "malformed json",
                                  json_pack("{s:I}", "position", (json_int_t)pos),
                                  "bad request: cannot split the batch near byte %zu", pos);
            batch_free(b);
            return;
        }
    }
    size_t valid = 0;
    for (size_t i = 0; i < count; i++) {
        item *it = &b->items[i];
        it->b = b;
        if (gw_validate(g, &it->ev) == 0)
            valid++;
        else
            it->status = ST_REJECTED;
    }
    if (b->single && !valid) {
        reject_single(g, req, &b->items[0].ev);
        batch_free(b);
        return;
    }
    if (!valid) {
        ss_metric_add(g->m_events_rejected, (double)count);
        json_t *results = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(results, item_json(&b->items[i], i, 1));
        ss_http_reply_problem(req, 400, "invalid events",
                              json_pack("{s:i,s:I,s:i,s:o}", "accepted", 0, "rejected",
                                        (json_int_t)count, "failed", 0, "results", results),
                              "bad request: none of the %zu events is valid", count);
        batch_free(b);
        return;
    }
    g->pending++;
    produce_valid(b); /* replies from the last delivery report */
}

void gw_routes_events(gw *g)
{
    ss_http_route(g->http, EVHTTP_REQ_POST, "/v1/events", on_events, g);
}
