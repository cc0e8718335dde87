/* xgb.c - read an XGBoost JSON model (Booster.save_model("x.json"), as
 * written by XGBoost 1.x) into flattened trees.
 *
 * Supported: gbtree boosters with one output (num_class <= 1, num_target 1),
 * numerical splits, the objectives in objectives[] below. Anything else is
 * refused with the reason: a model we cannot evaluate exactly must not serve.
 */
#include "model-internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct xgb_objective {
    const char *name;
    ss_link link;
    int margin_logit; /* base_score -> margin by logit (else by the link's inverse) */
} xgb_objective;

static const xgb_objective objectives[] = {
    {"binary:logistic", SS_LINK_SIGMOID, 1},   {"reg:logistic", SS_LINK_SIGMOID, 1},
    {"binary:logitraw", SS_LINK_IDENTITY, 0}, /* 1.7 takes its base_score as a margin */
    {"reg:squarederror", SS_LINK_IDENTITY, 0}, {"count:poisson", SS_LINK_EXP, 0},
};

/* Per-tree column arrays, borrowed from the parsed document. */
typedef struct xgb_tree {
    json_t *left, *right, *split_index, *split_cond, *default_left, *cover, *split_type;
    size_t n;
} xgb_tree;

static json_t *get(json_t *obj, const char *key, json_type type, const char *where, char *err,
                   size_t errlen)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v) {
        ss_err(err, errlen, "missing \"%s\" in %s", key, where);
        return NULL;
    }
    if (json_typeof(v) != type) {
        ss_err(err, errlen, "\"%s\" in %s: expected %s, got %s", key, where,
               type == JSON_OBJECT  ? "object"
               : type == JSON_ARRAY ? "array"
                                    : "string",
               ss_json_type_name(v));
        return NULL;
    }
    return v;
}

/* learner_model_param values are strings ("5E-1", "10"). */
static int get_num_str(json_t *obj, const char *key, const char *where, double *out, char *err,
                       size_t errlen)
{
    json_t *v = get(obj, key, JSON_STRING, where, err, errlen);
    if (!v) return -1;
    const char *s = json_string_value(v);
    if (*s == '[') s++; /* newer writers store vectors: "[5E-1]" */
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || errno || !isfinite(d))
        return ss_err(err, errlen, "\"%s\" in %s: expected a number, got \"%s\"", key, where,
                      json_string_value(v));
    *out = d;
    return 0;
}

static const xgb_objective *find_objective(const char *name)
{
    for (size_t i = 0; i < sizeof objectives / sizeof objectives[0]; i++)
        if (strcmp(objectives[i].name, name) == 0) return &objectives[i];
    return NULL;
}

static int check_column(json_t *tree, const char *key, size_t n, int tid, json_t **out, char *err,
                        size_t errlen)
{
    char where[64];
    snprintf(where, sizeof where, "tree %d", tid);
    json_t *a = get(tree, key, JSON_ARRAY, where, err, errlen);
    if (!a) return -1;
    if (json_array_size(a) != n)
        return ss_err(err, errlen, "tree %d: \"%s\" has %zu entries, expected num_nodes %zu", tid,
                      key, json_array_size(a), n);
    *out = a;
    return 0;
}

static int num_at(json_t *a, size_t i, double *out)
{
    json_t *v = json_array_get(a, i);
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    return -1;
}

static int int_at(json_t *a, size_t i, long long *out)
{
    json_t *v = json_array_get(a, i);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    return -1;
}

static int read_tree_columns(json_t *tree, int tid, xgb_tree *t, char *err, size_t errlen)
{
    char where[64];
    snprintf(where, sizeof where, "tree %d", tid);
    json_t *param = get(tree, "tree_param", JSON_OBJECT, where, err, errlen);
    double nn = 0, leafvec = 0;
    if (!param || get_num_str(param, "num_nodes", where, &nn, err, errlen) < 0) return -1;
    if (json_object_get(param, "size_leaf_vector") &&
        get_num_str(param, "size_leaf_vector", where, &leafvec, err, errlen) < 0)
        return -1;
    if (leafvec > 1) return ss_err(err, errlen, "tree %d: vector leaves are not supported", tid);
    if (nn < 1 || nn > 1e8 || nn != floor(nn))
        return ss_err(err, errlen, "tree %d: bad num_nodes %g", tid, nn);
    t->n = (size_t)nn;
    if (check_column(tree, "left_children", t->n, tid, &t->left, err, errlen) < 0 ||
        check_column(tree, "right_children", t->n, tid, &t->right, err, errlen) < 0 ||
        check_column(tree, "split_indices", t->n, tid, &t->split_index, err, errlen) < 0 ||
        check_column(tree, "split_conditions", t->n, tid, &t->split_cond, err, errlen) < 0 ||
        check_column(tree, "default_left", t->n, tid, &t->default_left, err, errlen) < 0 ||
        check_column(tree, "sum_hessian", t->n, tid, &t->cover, err, errlen) < 0)
        return -1;
    t->split_type = json_object_get(tree, "split_type");
    json_t *cats = json_object_get(tree, "categories_nodes");
    if (json_array_size(cats) > 0)
        return ss_err(err, errlen, "tree %d: categorical splits are not supported", tid);
    return 0;
}

/* Append one tree to m->nodes in breadth-first order, children adjacent.
 * Every index is checked: a node must be reached exactly once from the root. */
static int flatten_tree(ss_model *m, const xgb_tree *t, int tid, char *err, size_t errlen)
{
    int rc = -1;
    size_t n = t->n;
    int32_t *newidx = ss_malloc(n * sizeof *newidx);
    int32_t *queue = ss_malloc(n * sizeof *queue);
    int *depth = ss_calloc(n, sizeof *depth);
    for (size_t i = 0; i < n; i++)
        newidx[i] = -1;
    size_t base = m->nnodes, next = base + 1, head = 0, tail = 0;
    queue[tail++] = 0;
    newidx[0] = (int32_t)base;
    m->roots[tid] = (uint32_t)base;
    while (head < tail) {
        int32_t old = queue[head++];
        ss_tnode *node = &m->nodes[newidx[old]];
        long long l, r, feat, stype = 0;
        double cond, cover, dleft;
        if (int_at(t->left, old, &l) < 0 || int_at(t->right, old, &r) < 0 ||
            int_at(t->split_index, old, &feat) < 0 || num_at(t->split_cond, old, &cond) < 0 ||
            num_at(t->default_left, old, &dleft) < 0 || num_at(t->cover, old, &cover) < 0) {
            ss_err(err, errlen, "tree %d node %d: non-numeric entry", tid, old);
            goto done;
        }
        if (t->split_type && json_array_size(t->split_type) == n &&
            int_at(t->split_type, old, &stype) == 0 && stype != 0) {
            ss_err(err, errlen, "tree %d node %d: categorical splits are not supported", tid, old);
            goto done;
        }
        m->cover[newidx[old]] = (float)cover;
        node->value = (float)cond;
        if (l == -1) {
            if (r != -1) {
                ss_err(err, errlen, "tree %d node %d: leaf with a right child %lld", tid, old, r);
                goto done;
            }
            node->feature = 0;
            node->child = -1;
            if (depth[old] > m->max_depth) m->max_depth = depth[old];
            continue;
        }
        if (l < 0 || r < 0 || (size_t)l >= n || (size_t)r >= n || l == r || newidx[l] != -1 ||
            newidx[r] != -1 || l == 0 || r == 0) {
            ss_err(err, errlen, "tree %d node %d: bad children %lld/%lld", tid, old, l, r);
            goto done;
        }
        if (feat < 0 || (size_t)feat >= m->nfeatures) {
            ss_err(err, errlen, "tree %d node %d: split feature %lld out of range (%zu features)",
                   tid, old, feat, m->nfeatures);
            goto done;
        }
        node->feature = (uint32_t)feat | (dleft != 0 ? SS_TNODE_DEFAULT_LEFT : 0);
        node->child = (int32_t)next;
        newidx[l] = (int32_t)next;
        newidx[r] = (int32_t)(next + 1);
        depth[l] = depth[r] = depth[old] + 1;
        next += 2;
        queue[tail++] = (int32_t)l;
        queue[tail++] = (int32_t)r;
    }
    m->nnodes = next;
    rc = 0;
done:
    ss_free(depth);
    ss_free(queue);
    ss_free(newidx);
    return rc;
}

static int check_feature_names(ss_model *m, json_t *learner, char *err, size_t errlen)
{
    json_t *names = json_object_get(learner, "feature_names");
    if (!json_is_array(names) || json_array_size(names) == 0) return 0;
    if (json_array_size(names) != m->nfeatures)
        return ss_err(err, errlen, "model has %zu feature names, bundle lists %zu features",
                      json_array_size(names), m->nfeatures);
    for (size_t i = 0; i < m->nfeatures; i++) {
        const char *s = json_string_value(json_array_get(names, i));
        if (!s || strcmp(s, m->features[i]) != 0)
            return ss_err(err, errlen, "feature %zu: model calls it \"%s\", bundle calls it \"%s\"",
                          i, s ? s : "?", m->features[i]);
    }
    return 0;
}

static int load_params(ss_model *m, json_t *learner, char *err, size_t errlen)
{
    json_t *obj = get(learner, "objective", JSON_OBJECT, "learner", err, errlen);
    json_t *oname = obj ? get(obj, "name", JSON_STRING, "objective", err, errlen) : NULL;
    json_t *mp = get(learner, "learner_model_param", JSON_OBJECT, "learner", err, errlen);
    if (!oname || !mp) return -1;
    double base = 0, ncls = 0, ntarget = 1, nfeat = 0;
    if (get_num_str(mp, "base_score", "learner_model_param", &base, err, errlen) < 0 ||
        get_num_str(mp, "num_class", "learner_model_param", &ncls, err, errlen) < 0 ||
        get_num_str(mp, "num_feature", "learner_model_param", &nfeat, err, errlen) < 0)
        return -1;
    if (json_object_get(mp, "num_target") &&
        get_num_str(mp, "num_target", "learner_model_param", &ntarget, err, errlen) < 0)
        return -1;
    if (ncls > 1)
        return ss_err(err, errlen, "multi-class models are not supported (num_class %g)", ncls);
    if (ntarget > 1)
        return ss_err(err, errlen, "multi-target models are not supported (num_target %g)",
                      ntarget);
    const xgb_objective *o = find_objective(json_string_value(oname));
    if (!o) return ss_err(err, errlen, "unsupported objective \"%s\"", json_string_value(oname));
    if (nfeat != (double)m->nfeatures)
        return ss_err(err, errlen, "wrong feature count: model has %g features, bundle lists %zu",
                      nfeat, m->nfeatures);
    m->objective = ss_strdup(o->name);
    m->link = o->link;
    /* XGBoost 1.7 keeps base_score as a probability / mean and turns it into
     * a margin in float arithmetic (ObjFunction::ProbToMargin). */
    float bs = (float)base;
    if (o->margin_logit) {
        if (!(bs > 0.0f && bs < 1.0f))
            return ss_err(err, errlen, "base_score %g out of (0,1) for %s", base, o->name);
        m->base_margin = -logf(1.0f / bs - 1.0f);
    } else if (o->link == SS_LINK_EXP) {
        if (!(bs > 0.0f)) return ss_err(err, errlen, "base_score %g must be > 0", base);
        m->base_margin = logf(bs);
    } else {
        m->base_margin = bs;
    }
    return check_feature_names(m, learner, err, errlen);
}

static int load_trees(ss_model *m, json_t *booster, char *err, size_t errlen)
{
    json_t *model = get(booster, "model", JSON_OBJECT, "gradient_booster", err, errlen);
    json_t *trees = model ? get(model, "trees", JSON_ARRAY, "model", err, errlen) : NULL;
    json_t *info = model ? get(model, "tree_info", JSON_ARRAY, "model", err, errlen) : NULL;
    json_t *gp = model ? get(model, "gbtree_model_param", JSON_OBJECT, "model", err, errlen) : NULL;
    double ntrees = 0;
    if (!trees || !info || !gp ||
        get_num_str(gp, "num_trees", "gbtree_model_param", &ntrees, err, errlen) < 0)
        return -1;
    size_t nt = json_array_size(trees);
    if (ntrees != (double)nt || json_array_size(info) != nt)
        return ss_err(err, errlen, "num_trees %g, but %zu trees and %zu tree_info entries", ntrees,
                      nt, json_array_size(info));
    xgb_tree *cols = ss_calloc(nt ? nt : 1, sizeof *cols);
    size_t total = 0;
    int rc = -1;
    for (size_t i = 0; i < nt; i++) {
        long long group = -1;
        if (int_at(info, i, &group) < 0 || group != 0) {
            ss_err(err, errlen, "tree %zu: output group %lld (multi-output is not supported)", i,
                   group);
            goto done;
        }
        if (read_tree_columns(json_array_get(trees, i), (int)i, &cols[i], err, errlen) < 0)
            goto done;
        total += cols[i].n;
    }
    m->ntrees = nt;
    m->roots = ss_calloc(nt ? nt : 1, sizeof *m->roots);
    m->nodes = ss_calloc(total ? total : 1, sizeof *m->nodes);
    m->cover = ss_calloc(total ? total : 1, sizeof *m->cover);
    for (size_t i = 0; i < nt; i++)
        if (flatten_tree(m, &cols[i], (int)i, err, errlen) < 0) goto done;
    m->mean = ss_calloc(m->nnodes ? m->nnodes : 1, sizeof *m->mean);
    ss_tree_fill_means(m);
    ss_shap_build(m);
    rc = 0;
done:
    ss_free(cols);
    return rc;
}

int ss_xgb_load(ss_model *m, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    FILE *f = fopen(path, "rb");
    if (!f) return ss_err(err, errlen, "cannot open: %s", strerror(errno));
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!root)
        return ss_err(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                      jerr.text);
    int rc = -1;
    json_t *learner = get(root, "learner", JSON_OBJECT, "model file", err, errlen);
    json_t *booster =
        learner ? get(learner, "gradient_booster", JSON_OBJECT, "learner", err, errlen) : NULL;
    json_t *bname =
        booster ? get(booster, "name", JSON_STRING, "gradient_booster", err, errlen) : NULL;
    if (!bname) goto done;
    if (strcmp(json_string_value(bname), "gbtree") != 0) {
        ss_err(err, errlen, "unsupported booster \"%s\" (only gbtree)", json_string_value(bname));
        goto done;
    }
    if (load_params(m, learner, err, errlen) < 0 || load_trees(m, booster, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    json_decref(root);
    return rc;
}
