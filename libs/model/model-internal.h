/* model-internal.h - the in-memory layout of a loaded bundle. */
#ifndef SS_MODEL_INTERNAL_H
#define SS_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "model/model.h"

#define SS_TNODE_DEFAULT_LEFT 0x80000000u /* flag in ss_tnode.feature */
#define SS_TNODE_FEATURE_MASK 0x7fffffffu

/* One tree node, flattened: children of a node are adjacent (left = child,
 * right = child + 1) so evaluation touches one small array. Indices are
 * absolute into ss_model.nodes. */
typedef struct ss_tnode {
    float value;      /* split threshold, or the leaf value */
    uint32_t feature; /* split feature | SS_TNODE_DEFAULT_LEFT */
    int32_t child;    /* left child index, -1 for a leaf */
} ss_tnode;

typedef enum {
    SS_LINK_IDENTITY = 0, /* reg:squarederror, binary:logitraw */
    SS_LINK_SIGMOID,      /* binary:logistic, reg:logistic */
    SS_LINK_EXP,          /* count:poisson */
} ss_link;

struct ss_model {
    char *dir;
    char *name;
    char *version;
    char *kind;
    char *objective;
    char **features;
    size_t nfeatures;
    double review;
    double decline;
    int top_k;
    int is_tree;

    /* xgboost */
    ss_tnode *nodes;
    float *cover;     /* per node: sum_hessian (TreeSHAP) */
    float *mean;      /* per node: cover-weighted mean leaf value below it */
    size_t nnodes;
    uint32_t *roots;  /* per tree: index of its root in nodes */
    size_t ntrees;
    int max_depth;    /* deepest tree, root = depth 0 */
    float base_margin;
    ss_link link;

    /* logistic */
    double intercept;
    double *weights;
    double *center; /* contribution baseline per feature (default 0) */
};

/* xgb.c: parse an XGBoost JSON model file into m (trees, base margin, link).
 * Checks it against m->nfeatures. */
int ss_xgb_load(ss_model *m, const char *path, char *err, size_t errlen);

/* tree.c */
float ss_tree_margin_f(const ss_model *m, const float *x);
void ss_tree_contributions(const ss_model *m, const float *x, double *phi);
/* per-node means for TreeSHAP, after the nodes are in place */
void ss_tree_fill_means(ss_model *m);

/* shared JSON helpers (bundle.c) */
const char *ss_json_type_name(const json_t *v);

#endif
