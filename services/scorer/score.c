/* score.c - one event's score: inputs in bundle order -> prediction, TreeSHAP
 * reasons, decision; and its two renderings (Score record, JSON reply). */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "scorer.h"

void scorer_score(const ss_model *model, const double *x, scorer_result *out)
{
    size_t n = ss_model_nfeatures(model);
    double small[257];
    double *phi = n + 1 <= 257 ? small : ss_malloc((n + 1) * sizeof *phi);
    out->score = ss_model_predict(model, x);
    out->decision = ss_model_decide(model, out->score);
    size_t k = (size_t)ss_model_top_k(model);
    if (k > SCORER_MAX_REASONS) k = SCORER_MAX_REASONS;
    out->nreasons = 0;
    if (k > 0) {
        ss_model_contributions(model, x, phi);
        out->nreasons = ss_model_top_reasons(model, x, phi, out->reasons, k);
    }
    if (phi != small) ss_free(phi);
}

size_t scorer_inputs_from_map(const ss_model *model, avro_value_t *features, double *x)
{
    size_t absent = 0;
    for (size_t i = 0; i < ss_model_nfeatures(model); i++) {
        avro_value_t v, branch;
        x[i] = NAN;
        if (avro_value_get_by_name(features, ss_model_feature(model, i), &v, NULL) != 0) {
            absent++;
            continue;
        }
        if (avro_value_get_type(&v) == AVRO_UNION) {
            if (avro_value_get_current_branch(&v, &branch) != 0) continue;
            v = branch;
        }
        double d;
        if (avro_value_get_type(&v) == AVRO_DOUBLE && avro_value_get_double(&v, &d) == 0) x[i] = d;
    }
    return absent;
}

static int set_string(avro_value_t *rec, const char *field, const char *s)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, field, &f, NULL) || avro_value_set_string(&f, s);
}

static int set_long(avro_value_t *rec, const char *field, int64_t v)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, field, &f, NULL) || avro_value_set_long(&f, v);
}

static int set_double(avro_value_t *rec, const char *field, double v)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, field, &f, NULL) || avro_value_set_double(&f, v);
}

static int set_enum(avro_value_t *rec, const char *field, int v)
{
    avro_value_t f;
    return avro_value_get_by_name(rec, field, &f, NULL) || avro_value_set_enum(&f, v);
}

static int fill_reasons(avro_value_t *rec, const ss_model *model, const scorer_result *r)
{
    avro_value_t arr, item, val, branch;
    if (avro_value_get_by_name(rec, "reasons", &arr, NULL)) return -1;
    for (size_t i = 0; i < r->nreasons; i++) {
        const ss_reason *rs = &r->reasons[i];
        if (avro_value_append(&arr, &item, NULL) ||
            set_string(&item, "feature", ss_model_feature(model, (size_t)rs->feature)) ||
            set_double(&item, "contribution", rs->contribution) ||
            avro_value_get_by_name(&item, "value", &val, NULL))
            return -1;
        if (isnan(rs->value)) {
            if (avro_value_set_branch(&val, 0, &branch) || avro_value_set_null(&branch)) return -1;
        } else if (avro_value_set_branch(&val, 1, &branch) ||
                   avro_value_set_double(&branch, rs->value)) {
            return -1;
        }
    }
    return 0;
}

int scorer_fill_score(avro_value_t *out, const ss_model *model, int role, const scorer_event *ev,
                      const scorer_result *r, const double *x, int64_t scored_at_ms, char *err,
                      size_t errlen)
{
    (void)x;
    /* enum indexes follow schemas/score.avsc: ScoreRole {PRIMARY, SHADOW},
     * Decision {APPROVE, REVIEW, DECLINE} (= ss_decision) */
    if (set_string(out, "event_id", ev->event_id) || set_string(out, "entity_id", ev->entity_id) ||
        set_long(out, "event_time", ev->event_time_ms) ||
        set_string(out, "model_name", ss_model_name(model)) ||
        set_string(out, "model_version", ss_model_version(model)) ||
        set_enum(out, "role", role == SCORER_SHADOW ? 1 : 0) ||
        set_double(out, "score", r->score) || set_enum(out, "decision", (int)r->decision) ||
        fill_reasons(out, model, r) || set_long(out, "scored_at", scored_at_ms))
        return ss_err(err, errlen, "encode score: %s", avro_strerror());
    return 0;
}

static json_t *number_or_null(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

json_t *scorer_result_json(const ss_model *model, const char *event_id, const scorer_result *r,
                           const double *x)
{
    json_t *reasons = json_array();
    for (size_t i = 0; i < r->nreasons; i++) {
        const ss_reason *rs = &r->reasons[i];
        json_array_append_new(reasons, json_pack("{s:s,s:o,s:f}", "feature",
                                                 ss_model_feature(model, (size_t)rs->feature),
                                                 "value", number_or_null(rs->value), "contribution",
                                                 rs->contribution));
    }
    json_t *features = json_object();
    for (size_t i = 0; i < ss_model_nfeatures(model); i++)
        json_object_set_new(features, ss_model_feature(model, i), number_or_null(x[i]));
    return json_pack("{s:s,s:f,s:s,s:o,s:s,s:s,s:o}", "event_id", event_id, "score", r->score,
                     "decision", ss_decision_name(r->decision), "reasons", reasons, "model_name",
                     ss_model_name(model), "model_version", ss_model_version(model), "features",
                     features);
}
