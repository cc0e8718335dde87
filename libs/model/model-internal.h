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

/* Leaf-table TreeSHAP (shap.c): per leaf, the unique features on its path
 * with their zero fractions (cover ratios), the path's splits, and a table
 * over every subset of those features; a row then costs O(path) per leaf. */
typedef struct ss_shap_leaf {
    float value;        /* leaf value */
    uint8_t d;          /* unique features on the path */
    uint8_t nsplits;    /* splits on the path */
    uint32_t split_off; /* into ss_shap.split_node / split_child / split_slot */
    uint32_t feat_off;  /* into ss_shap.feature / zero */
    uint32_t table_off; /* into ss_shap.table: 2^d entries */
} ss_shap_leaf;

typedef struct ss_shap {
    ss_shap_leaf *leaves;
    uint32_t *tree_leaves; /* per tree: first leaf; tree t has [t, t+1) */
    int32_t *split_node, *split_child;
    uint8_t *split_slot;
    uint32_t *feature;
    double *zero;
    float *table;
} ss_shap;

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
    float *cover; /* per node: sum_hessian (TreeSHAP) */
    float *mean;  /* per node: cover-weighted mean leaf value below it */
    size_t nnodes;
    uint32_t *roots; /* per tree: index of its root in nodes */
    size_t ntrees;
    int max_depth; /* deepest tree, root = depth 0 */
    float base_margin;
    ss_link link;
    ss_shap *shap; /* NULL: trees too deep for tables, recursive TreeSHAP */

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
/* shap.c: build the leaf tables (m->shap stays NULL when too large) */
void ss_shap_build(ss_model *m);
void ss_shap_free(ss_shap *s);
void ss_shap_contributions(const ss_model *m, const float *x, double *phi);
int32_t ss_tree_next(const ss_tnode *n, const float *x);

/* shared JSON helpers (bundle.c) */
#include "common/json.h" /* ss_json_type_name */

#endif
