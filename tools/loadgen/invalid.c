/* invalid.c - deliberately invalid events (see invalid.h). */
#include "invalid.h"

#include <string.h>

static const char *bad_names[LG_NBAD] = {
    "malformed",       "missing_field", "wrong_type",     "bad_enum",
    "negative_amount", "not_object",    "avro_truncated", "avro_unknown_schema",
};

const char *lg_bad_name(lg_bad_kind k)
{
    return k < LG_NBAD ? bad_names[k] : "?";
}

int lg_bad_parse(const char *name)
{
    for (int k = 0; k < LG_NBAD; k++)
        if (strcmp(name, bad_names[k]) == 0) return k;
    return -1;
}

int lg_bad_is_avro(lg_bad_kind k)
{
    return k == LG_BAD_AVRO_TRUNCATED || k == LG_BAD_AVRO_SCHEMA;
}

void lg_bad_json(lg_bad_kind k, const lg_event *ev, ss_buf *out)
{
    lg_event bad = *ev;
    size_t idlen = strlen(bad.event_id);
    if (idlen + 4 < sizeof bad.event_id) memcpy(bad.event_id + idlen, "-bad", 5);
    ev = &bad;
    ss_buf json;
    ss_buf_init(&json);
    lg_event_json(&bad, &json);
    switch (k) {
    case LG_BAD_MALFORMED:
        ss_buf_append(out, json.data, json.len / 2);
        break;
    case LG_BAD_MISSING_FIELD: {
        /* drop "card_id":"...", */
        const char *s = strstr(json.data, "\"card_id\"");
        const char *e = strchr(s, ',');
        ss_buf_append(out, json.data, (size_t)(s - json.data));
        ss_buf_append(out, e + 1, strlen(e + 1));
        break;
    }
    case LG_BAD_WRONG_TYPE:
        ss_buf_printf(out,
                      "{\"event_id\":\"%s\",\"event_time\":%lld,\"card_id\":\"%s\","
                      "\"merchant_id\":\"%s\",\"amount\":\"%.2f\",\"currency\":\"%s\","
                      "\"merchant_category\":\"%s\",\"merchant_country\":\"%s\","
                      "\"channel\":\"%s\"}",
                      ev->event_id, (long long)ev->event_time, ev->card_id, ev->merchant_id,
                      ev->amount, ev->currency, ev->mcc, ev->merchant_country,
                      lg_channel_name(ev->channel));
        break;
    case LG_BAD_ENUM: {
        const char *ch = strstr(json.data, "\"channel\":\"");
        const char *e = strchr(ch + 11, '"');
        ss_buf_append(out, json.data, (size_t)(ch - json.data));
        ss_buf_printf(out, "\"channel\":\"TELEPATHY");
        ss_buf_append(out, e, strlen(e));
        break;
    }
    case LG_BAD_NEGATIVE:
        bad.amount = -(bad.amount + 1.0);
        lg_event_json(&bad, out);
        break;
    case LG_BAD_NOT_OBJECT:
        ss_buf_printf(out, "[\"%s\",%lld,%.2f]", ev->event_id, (long long)ev->event_time,
                      ev->amount);
        break;
    default: /* Avro kinds start from the valid event; the caller corrupts the encoding */
        ss_buf_append(out, json.data, json.len);
        break;
    }
    ss_buf_free(&json);
}

void lg_bad_avro(lg_bad_kind k, ss_buf *framed)
{
    if (framed->len < 6) return;
    if (k == LG_BAD_AVRO_TRUNCATED) {
        framed->len = 5 + (framed->len - 5) / 3; /* header intact, body cut short */
        framed->data[framed->len] = '\0';
    } else if (k == LG_BAD_AVRO_SCHEMA) {
        memcpy(framed->data + 1, "\x00\x00\x03\xe7", 4); /* schema id 999 */
    }
}
