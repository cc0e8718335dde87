/* monitor.c - windows, metrics and statuses for one model version. */
#include "drift/monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "drift/perf.h"
#include "drift/stats.h"
#include "drift/window.h"

static const char *const metric_names[SS_DM_COUNT] = {
    [SS_DM_PSI] = "psi",
    [SS_DM_KS] = "ks",
    [SS_DM_KS_PVALUE] = "ks_pvalue",
    [SS_DM_WASSERSTEIN] = "wasserstein",
    [SS_DM_CHI2] = "chi2",
    [SS_DM_CHI2_PVALUE] = "chi2_pvalue",
    [SS_DM_JS] = "jensen_shannon",
    [SS_DM_NULL_RATE] = "null_rate",
    [SS_DM_OUT_OF_RANGE] = "out_of_range_rate",
    [SS_DM_CHANGE] = "change_detected",
    [SS_DM_PRECISION] = "precision",
    [SS_DM_RECALL] = "recall",
    [SS_DM_PRECISION_DECLINE] = "precision_decline",
    [SS_DM_RECALL_DECLINE] = "recall_decline",
    [SS_DM_AUC] = "auc",
    [SS_DM_LABEL_DELAY] = "label_delay_ms",
    [SS_DM_LABELS] = "labels_joined",
    [SS_DM_STATUS] = "status",
};

const char *ss_drift_metric_name(ss_drift_metric m)
{
    return (unsigned)m < SS_DM_COUNT ? metric_names[m] : "?";
}

int ss_drift_metric_parse(const char *name)
{
    for (int i = 0; i < SS_DM_COUNT; i++)
        if (!strcmp(metric_names[i], name)) return i;
    return -1;
}

const char *ss_drift_status_name(ss_drift_status s)
{
    return s == SS_DRIFT_ALERT ? "ALERT" : s == SS_DRIFT_WARN ? "WARN" : "OK";
}

static void set_threshold(ss_drift_config *c, ss_drift_metric m, double warn, double alert,
                          int lower)
{
    c->thresholds[m] =
        (ss_drift_threshold){.set = 1, .lower_is_worse = lower, .warn = warn, .alert = alert};
}

void ss_drift_config_defaults(ss_drift_config *c)
{
    memset(c, 0, sizeof *c);
    c->reservoir = 1000;
    c->min_samples = 100;
    c->psi_eps = SS_DRIFT_PSI_EPS;
    c->seed = 0x5EED5EEDULL;
    set_threshold(c, SS_DM_PSI, 0.1, 0.2, 0);
    set_threshold(c, SS_DM_WASSERSTEIN, 0.1, 0.2, 0);
    set_threshold(c, SS_DM_JS, 0.1, 0.2, 0);
    set_threshold(c, SS_DM_KS_PVALUE, 1e-3, 1e-6, 1);
    set_threshold(c, SS_DM_CHI2_PVALUE, 1e-3, 1e-6, 1);
    set_threshold(c, SS_DM_NULL_RATE, 0.05, 0.1, 0);
    set_threshold(c, SS_DM_OUT_OF_RANGE, 0.01, 0.05, 0);
    set_threshold(c, SS_DM_CHANGE, 1, 1, 0);
    /* metrics whose direction is known, thresholds off until configured */
    c->thresholds[SS_DM_PRECISION].lower_is_worse = 1;
    c->thresholds[SS_DM_RECALL].lower_is_worse = 1;
    c->thresholds[SS_DM_PRECISION_DECLINE].lower_is_worse = 1;
    c->thresholds[SS_DM_RECALL_DECLINE].lower_is_worse = 1;
    c->thresholds[SS_DM_AUC].lower_is_worse = 1;
    c->detector = SS_DRIFT_DETECTOR_PAGE_HINKLEY;
    ss_drift_adwin_defaults(&c->adwin);
    ss_drift_ph_defaults(&c->ph);
    c->join_max = 100000;
    c->join_horizon_ms = 7LL * 24 * 3600 * 1000;
    c->perf_window = 10000;
}

int ss_drift_threshold_parse(ss_drift_config *c, ss_drift_metric m, const char *spec, char *err,
                             size_t errlen)
{
    ss_drift_threshold *t = &c->thresholds[m];
    if (!spec || !*spec || !strcmp(spec, "off")) {
        t->set = 0;
        return 0;
    }
    char *end;
    double a = strtod(spec, &end), b = a;
    if (end == spec || (*end && *end != ',')) goto bad;
    if (*end == ',') {
        const char *s2 = end + 1;
        b = strtod(s2, &end);
        if (end == s2 || *end) goto bad;
    }
    if (!isfinite(a) || !isfinite(b) || (t->lower_is_worse ? a < b : a > b)) goto bad;
    t->set = 1;
    t->warn = a;
    t->alert = b;
    return 0;
bad:
    return ss_err(err, errlen, "bad threshold for %s: expected \"warn,alert\" (%s), got \"%s\"",
                  ss_drift_metric_name(m), t->lower_is_worse ? "warn >= alert" : "warn <= alert",
                  spec);
}

ss_drift_status ss_drift_threshold_status(const ss_drift_threshold *t, double v)
{
    if (!t->set || isnan(v)) return SS_DRIFT_OK;
    if (t->lower_is_worse)
        return v <= t->alert ? SS_DRIFT_ALERT : v <= t->warn ? SS_DRIFT_WARN : SS_DRIFT_OK;
    return v >= t->alert ? SS_DRIFT_ALERT : v >= t->warn ? SS_DRIFT_WARN : SS_DRIFT_OK;
}

/* ---- the monitor */

typedef struct feature_state {
    const ss_drift_feature_baseline *base;
    size_t name_len;
    ss_drift_numwin num;
    ss_drift_catwin cat;
    uint64_t seen_seq;
} feature_state;

struct ss_drift_monitor {
    ss_drift_baseline *baseline;
    ss_drift_config cfg;
    size_t nfeatures;
    feature_state *features;
    int32_t *name_index; /* open addressing: slot -> feature + 1 */
    size_t name_mask;
    uint64_t event_seq;
    uint64_t window_events, window_scores, window_labels;
    feature_state score;
    ss_drift_adwin adwin;
    ss_drift_ph ph;
    uint64_t window_detections;
    ss_drift_join *join;
    ss_drift_perf perf;
    double *scratch_x, *scratch_y, *scratch_e, *scratch_a; /* evaluation buffers */
    size_t scratch_bins;
    uint8_t *prev_status; /* (nfeatures + 3) x SS_DM_COUNT */
    ss_drift_report report;
    int has_report;
};

enum { SLOT_SCORE_OFFSET = 0, SLOT_PERF_OFFSET = 1, SLOT_OVERALL_OFFSET = 2 };

static void feature_init(feature_state *f, const ss_drift_feature_baseline *b,
                         const ss_drift_config *cfg, uint64_t seed)
{
    f->base = b;
    if (b->kind == SS_DRIFT_NUMERIC)
        ss_drift_numwin_init(&f->num, b->edges, b->nbins, b->min, b->max, cfg->reservoir, seed);
    else
        ss_drift_catwin_init(&f->cat, b->cats, b->ncats);
}

static void feature_free(feature_state *f)
{
    if (!f->base) return;
    if (f->base->kind == SS_DRIFT_NUMERIC)
        ss_drift_numwin_free(&f->num);
    else
        ss_drift_catwin_free(&f->cat);
}

static size_t max_bins(const ss_drift_feature_baseline *b)
{
    return b->kind == SS_DRIFT_NUMERIC ? b->nbins : b->ncats + 1;
}

ss_drift_monitor *ss_drift_monitor_new(ss_drift_baseline *baseline, const ss_drift_config *cfg)
{
    ss_drift_monitor *m = ss_calloc(1, sizeof *m);
    m->baseline = baseline;
    m->cfg = *cfg;
    m->nfeatures = baseline->nfeatures;
    m->features = ss_calloc(m->nfeatures ? m->nfeatures : 1, sizeof *m->features);
    size_t slots = 16, sample_max = cfg->reservoir, bins = 2;
    while (slots < 2 * m->nfeatures)
        slots *= 2;
    m->name_index = ss_calloc(slots, sizeof *m->name_index);
    m->name_mask = slots - 1;
    for (size_t i = 0; i < m->nfeatures; i++) {
        const ss_drift_feature_baseline *b = &baseline->features[i];
        feature_init(&m->features[i], b, cfg, cfg->seed + 7919 * (i + 1));
        m->features[i].name_len = strlen(b->name);
        size_t s = ss_drift_hash(b->name, strlen(b->name)) & m->name_mask;
        while (m->name_index[s])
            s = (s + 1) & m->name_mask;
        m->name_index[s] = (int32_t)i + 1;
        if (b->nsample > sample_max) sample_max = b->nsample;
        if (max_bins(b) > bins) bins = max_bins(b);
    }
    if (baseline->has_score) {
        feature_init(&m->score, &baseline->score, cfg, cfg->seed ^ 0xC0FFEEULL);
        if (baseline->score.nsample > sample_max) sample_max = baseline->score.nsample;
        if (max_bins(&baseline->score) > bins) bins = max_bins(&baseline->score);
    }
    m->scratch_x = ss_malloc(sample_max * sizeof *m->scratch_x);
    m->scratch_y = ss_malloc(sample_max * sizeof *m->scratch_y);
    m->scratch_e = ss_malloc(bins * sizeof *m->scratch_e);
    m->scratch_a = ss_malloc(bins * sizeof *m->scratch_a);
    m->scratch_bins = bins;
    m->adwin = cfg->adwin;
    ss_drift_adwin_init(&m->adwin, cfg->adwin.delta, cfg->adwin.clock, cfg->adwin.max_buckets,
                        cfg->adwin.min_window_length, cfg->adwin.grace_period);
    ss_drift_ph_init(&m->ph, cfg->ph.min_instances, cfg->ph.delta, cfg->ph.threshold, cfg->ph.alpha,
                     cfg->ph.mode);
    m->join = ss_drift_join_new(cfg->join_max ? cfg->join_max : 1, cfg->join_horizon_ms);
    ss_drift_perf_init(&m->perf, cfg->perf_window);
    m->prev_status = ss_calloc((m->nfeatures + 3) * SS_DM_COUNT, 1);
    m->report.results = ss_calloc((m->nfeatures + 3) * SS_DM_COUNT, sizeof *m->report.results);
    m->report.model_name = baseline->model_name;
    m->report.model_version = baseline->version;
    return m;
}

void ss_drift_monitor_free(ss_drift_monitor *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nfeatures; i++)
        feature_free(&m->features[i]);
    feature_free(&m->score);
    ss_free(m->features);
    ss_free(m->name_index);
    ss_free(m->scratch_x);
    ss_free(m->scratch_y);
    ss_free(m->scratch_e);
    ss_free(m->scratch_a);
    ss_drift_join_free(m->join);
    ss_drift_perf_free(&m->perf);
    ss_free(m->prev_status);
    ss_free(m->report.results);
    ss_drift_baseline_free(m->baseline);
    ss_free(m);
}

const ss_drift_baseline *ss_drift_monitor_baseline(const ss_drift_monitor *m)
{
    return m->baseline;
}

int ss_drift_monitor_feature(const ss_drift_monitor *m, const char *name, size_t len)
{
    size_t s = ss_drift_hash(name, len) & m->name_mask;
    for (int32_t i; (i = m->name_index[s]); s = (s + 1) & m->name_mask) {
        const feature_state *f = &m->features[i - 1];
        if (f->name_len == len && !memcmp(f->base->name, name, len)) return i - 1;
    }
    return -1;
}

void ss_drift_monitor_begin_event(ss_drift_monitor *m)
{
    m->event_seq++;
}

void ss_drift_monitor_numeric(ss_drift_monitor *m, int feature, double value)
{
    if (feature < 0 || (size_t)feature >= m->nfeatures) return;
    feature_state *f = &m->features[feature];
    if (f->seen_seq == m->event_seq) return; /* one value per event */
    f->seen_seq = m->event_seq;
    if (f->base->kind == SS_DRIFT_NUMERIC)
        ss_drift_numwin_add(&f->num, value);
    else
        ss_drift_catwin_add(&f->cat, NULL, 0); /* a number where a category was expected: null */
}

void ss_drift_monitor_category(ss_drift_monitor *m, int feature, const char *value, size_t len)
{
    if (feature < 0 || (size_t)feature >= m->nfeatures) return;
    feature_state *f = &m->features[feature];
    if (f->seen_seq == m->event_seq) return;
    f->seen_seq = m->event_seq;
    if (f->base->kind == SS_DRIFT_CATEGORICAL)
        ss_drift_catwin_add(&f->cat, value, len);
    else
        ss_drift_numwin_add(&f->num, NAN);
}

void ss_drift_monitor_end_event(ss_drift_monitor *m)
{
    for (size_t i = 0; i < m->nfeatures; i++) {
        feature_state *f = &m->features[i];
        if (f->seen_seq == m->event_seq) continue;
        f->seen_seq = m->event_seq;
        if (f->base->kind == SS_DRIFT_NUMERIC)
            ss_drift_numwin_add(&f->num, NAN);
        else
            ss_drift_catwin_add(&f->cat, NULL, 0);
    }
    m->window_events++;
}

int ss_drift_monitor_score(ss_drift_monitor *m, const char *event_id, size_t id_len, double score,
                           int64_t now_ms)
{
    m->window_scores++;
    if (m->baseline->has_score) ss_drift_numwin_add(&m->score.num, score);
    int change = 0;
    if (m->cfg.detector == SS_DRIFT_DETECTOR_ADWIN)
        change = ss_drift_adwin_update(&m->adwin, score);
    else if (m->cfg.detector == SS_DRIFT_DETECTOR_PAGE_HINKLEY)
        change = ss_drift_ph_update(&m->ph, score);
    m->window_detections += change;
    if (!event_id) return 0;
    ss_drift_pair pair;
    if (ss_drift_join_score(m->join, event_id, id_len, score, now_ms, &pair) != 1) return 0;
    ss_drift_perf_add(&m->perf, &pair);
    return 1;
}

int ss_drift_monitor_label(ss_drift_monitor *m, const char *event_id, size_t id_len, int label,
                           int64_t event_time_ms, int64_t label_time_ms, int64_t now_ms)
{
    ss_drift_pair pair;
    m->window_labels++;
    if (ss_drift_join_label(m->join, event_id, id_len, label, event_time_ms, label_time_ms, now_ms,
                            &pair) != 1)
        return 0;
    ss_drift_perf_add(&m->perf, &pair);
    return 1;
}

uint64_t ss_drift_monitor_window_events(const ss_drift_monitor *m)
{
    return m->window_events;
}

uint64_t ss_drift_monitor_window_scores(const ss_drift_monitor *m)
{
    return m->window_scores;
}

uint64_t ss_drift_monitor_window_labels(const ss_drift_monitor *m)
{
    return m->window_labels;
}

size_t ss_drift_monitor_join_waiting(const ss_drift_monitor *m)
{
    return ss_drift_join_waiting(m->join);
}

/* ---- evaluation */

typedef struct eval_ctx {
    ss_drift_monitor *m;
    size_t slot; /* feature slot for prev_status */
    const char *feature;
    ss_drift_status worst; /* of this feature */
} eval_ctx;

static void emit(eval_ctx *c, ss_drift_metric metric, double value, double threshold_offset)
{
    if (isnan(value)) return; /* undefined this window (e.g. one class only) */
    ss_drift_monitor *m = c->m;
    ss_drift_threshold t = m->cfg.thresholds[metric];
    t.warn += threshold_offset;
    t.alert += threshold_offset;
    ss_drift_result *r = &m->report.results[m->report.n++];
    r->feature = c->feature;
    r->metric = metric;
    r->value = value;
    r->has_threshold = t.set;
    r->threshold = t.set ? t.alert : 0;
    r->status = ss_drift_threshold_status(&t, value);
    uint8_t *prev = &m->prev_status[c->slot * SS_DM_COUNT + metric];
    r->became_alert = r->status == SS_DRIFT_ALERT && *prev != SS_DRIFT_ALERT;
    *prev = (uint8_t)r->status;
    if (r->status > c->worst) c->worst = r->status;
}

static void emit_status(eval_ctx *c)
{
    ss_drift_monitor *m = c->m;
    ss_drift_result *r = &m->report.results[m->report.n++];
    r->feature = c->feature;
    r->metric = SS_DM_STATUS;
    r->value = (double)c->worst;
    r->has_threshold = 0;
    r->threshold = 0;
    r->status = c->worst;
    uint8_t *prev = &m->prev_status[c->slot * SS_DM_COUNT + SS_DM_STATUS];
    r->became_alert = r->status == SS_DRIFT_ALERT && *prev != SS_DRIFT_ALERT;
    *prev = (uint8_t)r->status;
    if (c->worst > m->report.overall) m->report.overall = c->worst;
}

static void eval_numeric(eval_ctx *c, feature_state *f)
{
    ss_drift_monitor *m = c->m;
    const ss_drift_feature_baseline *b = f->base;
    ss_drift_numwin *w = &f->num;
    uint64_t total = w->n + w->nulls;
    if (total > 0) emit(c, SS_DM_NULL_RATE, (double)w->nulls / (double)total, b->null_rate);
    if (w->n == 0) return;
    emit(c, SS_DM_OUT_OF_RANGE, (double)w->out_of_range / (double)w->n, 0);
    if (w->n < m->cfg.min_samples) return;
    for (size_t i = 0; i < b->nbins; i++)
        m->scratch_a[i] = (double)w->counts[i];
    emit(c, SS_DM_PSI, ss_drift_psi(b->freqs, m->scratch_a, b->nbins, m->cfg.psi_eps), 0);
    if (b->nsample == 0 || w->len == 0) return;
    memcpy(m->scratch_x, w->reservoir, w->len * sizeof *m->scratch_x);
    memcpy(m->scratch_y, b->sample, b->nsample * sizeof *m->scratch_y);
    double d, p;
    if (ss_drift_ks_2samp(m->scratch_x, w->len, m->scratch_y, b->nsample, &d, &p) == 0) {
        emit(c, SS_DM_KS, d, 0);
        emit(c, SS_DM_KS_PVALUE, p, 0);
    }
    double wd = ss_drift_wasserstein(m->scratch_x, w->len, m->scratch_y, b->nsample);
    emit(c, SS_DM_WASSERSTEIN, b->std > 0 ? wd / b->std : wd, 0);
}

static void eval_categorical(eval_ctx *c, feature_state *f)
{
    ss_drift_monitor *m = c->m;
    const ss_drift_feature_baseline *b = f->base;
    ss_drift_catwin *w = &f->cat;
    size_t k = b->ncats + 1;
    uint64_t total = w->n + w->nulls;
    if (total > 0) emit(c, SS_DM_NULL_RATE, (double)w->nulls / (double)total, b->null_rate);
    if (w->n == 0) return;
    emit(c, SS_DM_OUT_OF_RANGE, (double)w->counts[b->ncats] / (double)w->n, 0);
    if (w->n < m->cfg.min_samples) return;
    double *e = m->scratch_e, *a = m->scratch_a, esum = 0;
    for (size_t i = 0; i < k; i++)
        a[i] = (double)w->counts[i];
    for (size_t i = 0; i < b->ncats; i++)
        e[i] = b->cat_freqs[i];
    e[b->ncats] = 0.0; /* no unknown category in training */
    emit(c, SS_DM_JS, ss_drift_jensenshannon(a, e, k, 2.0), 0);
    emit(c, SS_DM_PSI, ss_drift_psi(e, a, k, m->cfg.psi_eps), 0);
    /* chi-squared needs expected > 0: floor every baseline share at psi_eps */
    for (size_t i = 0; i < k; i++)
        esum += (e[i] = fmax(e[i], m->cfg.psi_eps));
    for (size_t i = 0; i < k; i++)
        e[i] = e[i] / esum * (double)w->n;
    double stat, p;
    if (ss_drift_chisquare(a, e, k, 0, &stat, &p) == 0) {
        emit(c, SS_DM_CHI2, stat, 0);
        emit(c, SS_DM_CHI2_PVALUE, p, 0);
    }
}

static void eval_performance(eval_ctx *c)
{
    ss_drift_monitor *m = c->m;
    uint64_t delays;
    double delay = ss_drift_perf_take_delay(&m->perf, &delays);
    if (m->perf.len == 0) return;
    ss_drift_perf_result r = ss_drift_perf_compute(&m->perf, m->baseline->threshold_review);
    double pd, rd;
    ss_drift_perf_at(&m->perf, m->baseline->threshold_decline, &pd, &rd);
    emit(c, SS_DM_LABELS, (double)r.n, 0);
    emit(c, SS_DM_PRECISION, r.precision, 0);
    emit(c, SS_DM_RECALL, r.recall, 0);
    emit(c, SS_DM_PRECISION_DECLINE, pd, 0);
    emit(c, SS_DM_RECALL_DECLINE, rd, 0);
    emit(c, SS_DM_AUC, r.auc, 0);
    if (delays) emit(c, SS_DM_LABEL_DELAY, delay, 0);
}

static void window_reset(ss_drift_monitor *m)
{
    for (size_t i = 0; i < m->nfeatures; i++) {
        feature_state *f = &m->features[i];
        if (f->base->kind == SS_DRIFT_NUMERIC)
            ss_drift_numwin_reset(&f->num);
        else
            ss_drift_catwin_reset(&f->cat);
    }
    if (m->baseline->has_score) ss_drift_numwin_reset(&m->score.num);
    m->window_events = m->window_scores = m->window_labels = m->window_detections = 0;
}

const ss_drift_report *ss_drift_monitor_evaluate(ss_drift_monitor *m, int64_t start_ms,
                                                 int64_t end_ms, int64_t now_ms)
{
    ss_drift_report *r = &m->report;
    r->n = 0;
    r->overall = SS_DRIFT_OK;
    r->window_start_ms = start_ms;
    r->window_end_ms = end_ms;
    r->computed_at_ms = now_ms;
    r->window_events = m->window_events;
    r->window_scores = m->window_scores;
    ss_drift_join_expire(m->join, now_ms);
    for (size_t i = 0; i < m->nfeatures; i++) {
        feature_state *f = &m->features[i];
        eval_ctx c = {.m = m, .slot = i, .feature = f->base->name};
        if (f->base->kind == SS_DRIFT_NUMERIC)
            eval_numeric(&c, f);
        else
            eval_categorical(&c, f);
        emit_status(&c);
    }
    eval_ctx sc = {.m = m, .slot = m->nfeatures + SLOT_SCORE_OFFSET, .feature = "__score__"};
    if (m->baseline->has_score) eval_numeric(&sc, &m->score);
    if (m->cfg.detector != SS_DRIFT_DETECTOR_NONE)
        emit(&sc, SS_DM_CHANGE, (double)m->window_detections, 0);
    emit_status(&sc);
    eval_ctx pc = {.m = m, .slot = m->nfeatures + SLOT_PERF_OFFSET, .feature = "__performance__"};
    eval_performance(&pc);
    emit_status(&pc);
    eval_ctx oc = {.m = m, .slot = m->nfeatures + SLOT_OVERALL_OFFSET, .feature = "__overall__"};
    oc.worst = r->overall;
    emit_status(&oc);
    window_reset(m);
    m->has_report = 1;
    return r;
}

const ss_drift_report *ss_drift_monitor_last(const ss_drift_monitor *m)
{
    return m->has_report ? &m->report : NULL;
}
