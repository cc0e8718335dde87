/* shap.c - path-dependent TreeSHAP by leaf tables (the idea of Fast TreeSHAP
 * v2, Yang 2022): the same values as XGBoost's pred_contribs, computed in
 * O(nodes + leaves x depth) per row instead of O(leaves x depth^2).
 *
 * For one leaf with value v, let U be the distinct features split on along
 * its path (d = |U|), z_j the product of the cover ratios child/parent of the
 * splits on j (the fraction of training data that follows the path there) and
 * o_j = 1 when the row follows the path at every split on j ("hot"), else 0.
 * The Shapley value of the path's game for feature u in U is
 *
 *   v (o_u - z_u) * sum_{S ⊆ U\{u}} w(|S|) prod_{j∈S} o_j prod_{j∈U\{u}\S} z_j
 *
 * with w(k) = k!(d-k-1)!/d!. Only subsets of the hot set H survive the o
 * product, so with M = H\{u} it is
 *
 *   v (o_u - z_u) * F(M) * prod_{j cold, j != u} z_j,
 *   F(M) = sum_{S ⊆ M} w(|S|) prod_{j∈M\S} z_j,
 *
 * and F depends only on the leaf and M: it is tabulated at load for every
 * subset (2^d entries per leaf). Trees too deep for the tables (see
 * SHAP_TABLE_MAX) keep the recursive algorithm (tree.c).
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "model-internal.h"

#define SHAP_MAX_D 16             /* distinct features per path */
#define SHAP_TABLE_MAX (1u << 24) /* table entries per model (64 MiB) */

typedef struct build {
    ss_shap *s;
    const ss_model *m;
    size_t nleaves, nsplits, nfeat, ntable;
    size_t cap_leaves, cap_splits, cap_feat, cap_table;
    int32_t path_node[64];
    uint8_t path_dir[64];
    int depth;
    int too_big;
} build;

#define GROW(arr, cap, need)                                                                       \
    do {                                                                                           \
        if ((need) > (cap)) {                                                                      \
            size_t ncap = (cap) ? (cap)*2 : 64;                                                    \
            while (ncap < (need))                                                                  \
                ncap *= 2;                                                                         \
            (arr) = ss_realloc((arr), ncap * sizeof *(arr));                                       \
            (cap) = ncap;                                                                          \
        }                                                                                          \
    } while (0)

/* F(M) for every M ⊆ U, from the zero fractions z[0..d-1]. */
static void fill_table(float *table, const double *z, int d)
{
    double w[SHAP_MAX_D + 1], c[SHAP_MAX_D + 2];
    w[0] = 1.0 / d;
    for (int k = 1; k < d; k++)
        w[k] = w[k - 1] * k / (d - k);
    uint32_t full = (1u << d) - 1;
    for (uint32_t mask = 0; mask <= full; mask++) {
        if (mask == full) {
            table[mask] = 0; /* never used: M excludes u */
            continue;
        }
        /* coefficients of prod_{j∈M} (t + z_j): c[k] sums prod_{M\S} z over |S| = k */
        int n = 0;
        c[0] = 1;
        for (int j = 0; j < d; j++) {
            if (!(mask >> j & 1)) continue;
            c[n + 1] = c[n];
            for (int k = n; k > 0; k--)
                c[k] = c[k] * z[j] + c[k - 1];
            c[0] *= z[j];
            n++;
        }
        double f = 0;
        for (int k = 0; k <= n; k++)
            f += w[k] * c[k];
        table[mask] = (float)f;
    }
}

static void add_leaf(build *b, int32_t leaf)
{
    const ss_model *m = b->m;
    ss_shap *s = b->s;
    uint32_t feats[64];
    double z[64];
    uint8_t slot_of_split[64];
    int d = 0;
    for (int i = 0; i < b->depth; i++) {
        const ss_tnode *n = &m->nodes[b->path_node[i]];
        uint32_t f = n->feature & SS_TNODE_FEATURE_MASK;
        int32_t child = n->child + b->path_dir[i];
        double ratio = (double)m->cover[child] / (double)m->cover[b->path_node[i]];
        int slot = 0;
        while (slot < d && feats[slot] != f)
            slot++;
        if (slot == d) {
            feats[d] = f;
            z[d] = 1.0;
            d++;
        }
        z[slot] *= ratio;
        slot_of_split[i] = (uint8_t)slot;
    }
    if (d > SHAP_MAX_D || b->ntable + (1u << d) > SHAP_TABLE_MAX) {
        b->too_big = 1;
        return;
    }
    GROW(s->leaves, b->cap_leaves, b->nleaves + 1);
    GROW(s->split_node, b->cap_splits, b->nsplits + (size_t)b->depth);
    s->split_child = ss_realloc(s->split_child, b->cap_splits * sizeof *s->split_child);
    s->split_slot = ss_realloc(s->split_slot, b->cap_splits * sizeof *s->split_slot);
    GROW(s->feature, b->cap_feat, b->nfeat + (size_t)d);
    s->zero = ss_realloc(s->zero, b->cap_feat * sizeof *s->zero);
    GROW(s->table, b->cap_table, b->ntable + (1u << d));

    ss_shap_leaf *l = &s->leaves[b->nleaves++];
    l->value = m->nodes[leaf].value;
    l->d = (uint8_t)d;
    l->nsplits = (uint8_t)b->depth;
    l->split_off = (uint32_t)b->nsplits;
    l->feat_off = (uint32_t)b->nfeat;
    l->table_off = (uint32_t)b->ntable;
    for (int i = 0; i < b->depth; i++) {
        s->split_node[b->nsplits] = b->path_node[i];
        s->split_child[b->nsplits] = b->path_dir[i];
        s->split_slot[b->nsplits] = slot_of_split[i];
        b->nsplits++;
    }
    for (int j = 0; j < d; j++) {
        s->feature[b->nfeat + (size_t)j] = feats[j];
        s->zero[b->nfeat + (size_t)j] = z[j];
    }
    b->nfeat += (size_t)d;
    fill_table(s->table + b->ntable, z, d);
    b->ntable += 1u << d;
}

static void walk(build *b, int32_t node)
{
    if (b->too_big) return;
    const ss_tnode *n = &b->m->nodes[node];
    if (n->child < 0) {
        add_leaf(b, node);
        return;
    }
    if (b->depth >= 64) {
        b->too_big = 1;
        return;
    }
    for (uint8_t dir = 0; dir < 2; dir++) {
        b->path_node[b->depth] = node;
        b->path_dir[b->depth] = dir;
        b->depth++;
        walk(b, n->child + dir);
        b->depth--;
    }
}

void ss_shap_free(ss_shap *s)
{
    if (!s) return;
    ss_free(s->leaves);
    ss_free(s->tree_leaves);
    ss_free(s->split_node);
    ss_free(s->split_child);
    ss_free(s->split_slot);
    ss_free(s->feature);
    ss_free(s->zero);
    ss_free(s->table);
    ss_free(s);
}

void ss_shap_build(ss_model *m)
{
    build b = {0};
    b.m = m;
    b.s = ss_calloc(1, sizeof *b.s);
    b.s->tree_leaves = ss_calloc(m->ntrees + 1, sizeof *b.s->tree_leaves);
    for (size_t t = 0; t < m->ntrees && !b.too_big; t++) {
        b.s->tree_leaves[t] = (uint32_t)b.nleaves;
        walk(&b, (int32_t)m->roots[t]);
    }
    b.s->tree_leaves[m->ntrees] = (uint32_t)b.nleaves;
    if (b.too_big) {
        ss_shap_free(b.s);
        return;
    }
    m->shap = b.s;
}

void ss_shap_contributions(const ss_model *m, const float *x, double *phi)
{
    const ss_shap *s = m->shap;
    size_t n = m->nfeatures;
    /* which way the row goes at every node: 0 left, 1 right */
    uint8_t *dir = ss_malloc(m->nnodes ? m->nnodes : 1);
    for (size_t i = 0; i < m->nnodes; i++) {
        const ss_tnode *node = &m->nodes[i];
        dir[i] = node->child < 0 ? 0 : (uint8_t)(ss_tree_next(node, x) - node->child);
    }
    memset(phi, 0, (n + 1) * sizeof *phi);
    for (size_t t = 0; t < m->ntrees; t++) {
        phi[n] += m->mean[m->roots[t]];
        for (uint32_t li = s->tree_leaves[t]; li < s->tree_leaves[t + 1]; li++) {
            const ss_shap_leaf *l = &s->leaves[li];
            int d = l->d;
            uint32_t hot = (1u << d) - 1;
            for (int k = 0; k < l->nsplits; k++) {
                uint32_t sp = l->split_off + (uint32_t)k;
                if (dir[s->split_node[sp]] != s->split_child[sp]) hot &= ~(1u << s->split_slot[sp]);
            }
            const double *z = s->zero + l->feat_off;
            const uint32_t *feat = s->feature + l->feat_off;
            const float *table = s->table + l->table_off;
            double prefix[SHAP_MAX_D + 1], suffix[SHAP_MAX_D + 1];
            prefix[0] = 1;
            for (int j = 0; j < d; j++)
                prefix[j + 1] = prefix[j] * ((hot >> j & 1) ? 1.0 : z[j]);
            suffix[d] = 1;
            for (int j = d - 1; j >= 0; j--)
                suffix[j] = suffix[j + 1] * ((hot >> j & 1) ? 1.0 : z[j]);
            for (int u = 0; u < d; u++) {
                double o = (double)(hot >> u & 1);
                double f = table[hot & ~(1u << u)];
                phi[feat[u]] += l->value * (o - z[u]) * f * prefix[u] * suffix[u + 1];
            }
        }
    }
    phi[n] += m->base_margin;
    ss_free(dir);
}
