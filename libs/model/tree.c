/* tree.c - evaluation and TreeSHAP over the flattened trees.
 *
 * Arithmetic is float, in the order XGBoost 1.7's CPU predictor uses, so the
 * results match it to the last bit or nearly: leaf values are added tree by
 * tree onto the base margin; TreeSHAP is the path-dependent algorithm of
 * Lundberg et al. as in RegTree::CalculateContributions (node covers as the
 * fractions of training data going each way).
 */
#include "model-internal.h"

#include <math.h>
#include <string.h>

#include "common/util.h"

static inline int32_t next_node(const ss_tnode *n, const float *x)
{
    float v = x[n->feature & SS_TNODE_FEATURE_MASK];
    if (isnan(v)) return n->child + ((n->feature & SS_TNODE_DEFAULT_LEFT) ? 0 : 1);
    return n->child + !(v < n->value);
}

int32_t ss_tree_next(const ss_tnode *n, const float *x)
{
    return next_node(n, x);
}

/* Trees are walked TREE_LANES at a time, interleaved level by level: each
 * walk is a chain of dependent loads, and independent chains overlap. Leaf
 * values are still added in tree order, as XGBoost adds them. */
#define TREE_LANES 16

float ss_tree_margin_f(const ss_model *m, const float *x)
{
    const ss_tnode *nodes = m->nodes;
    float sum = m->base_margin;
    size_t t = 0;
    for (; t + TREE_LANES <= m->ntrees; t += TREE_LANES) {
        const ss_tnode *n[TREE_LANES];
        for (int k = 0; k < TREE_LANES; k++) n[k] = &nodes[m->roots[t + (size_t)k]];
        for (;;) {
            int inner = 0;
            for (int k = 0; k < TREE_LANES; k++) {
                if (n[k]->child < 0) continue;
                n[k] = &nodes[next_node(n[k], x)];
                inner = 1;
            }
            if (!inner) break;
        }
        for (int k = 0; k < TREE_LANES; k++) sum += n[k]->value;
    }
    for (; t < m->ntrees; t++) {
        const ss_tnode *n = &nodes[m->roots[t]];
        while (n->child >= 0) n = &nodes[next_node(n, x)];
        sum += n->value;
    }
    return sum;
}

static float fill_mean(ss_model *m, int32_t i)
{
    const ss_tnode *n = &m->nodes[i];
    float r;
    if (n->child < 0) {
        r = n->value;
    } else {
        int32_t l = n->child, rr = n->child + 1;
        r = fill_mean(m, l) * m->cover[l];
        r += fill_mean(m, rr) * m->cover[rr];
        r /= m->cover[i];
    }
    m->mean[i] = r;
    return r;
}

void ss_tree_fill_means(ss_model *m)
{
    for (size_t t = 0; t < m->ntrees; t++)
        fill_mean(m, (int32_t)m->roots[t]);
}

/* ------------------------------------------------------------ TreeSHAP */

typedef struct path_elem {
    int feature; /* -1 for the root's pseudo split */
    float zero_fraction;
    float one_fraction;
    float pweight;
} path_elem;

static void extend_path(path_elem *p, unsigned depth, float zero, float one, int feature)
{
    p[depth].feature = feature;
    p[depth].zero_fraction = zero;
    p[depth].one_fraction = one;
    p[depth].pweight = depth == 0 ? 1.0f : 0.0f;
    for (int i = (int)depth - 1; i >= 0; i--) {
        p[i + 1].pweight += one * p[i].pweight * (i + 1) / (float)(depth + 1);
        p[i].pweight = zero * p[i].pweight * (depth - i) / (float)(depth + 1);
    }
}

static void unwind_path(path_elem *p, unsigned depth, unsigned index)
{
    const float one = p[index].one_fraction;
    const float zero = p[index].zero_fraction;
    float next_one = p[depth].pweight;
    for (int i = (int)depth - 1; i >= 0; --i) {
        if (one != 0) {
            const float tmp = p[i].pweight;
            p[i].pweight = next_one * (depth + 1) / (float)((i + 1) * one);
            next_one = tmp - p[i].pweight * zero * (depth - i) / (float)(depth + 1);
        } else {
            p[i].pweight = (p[i].pweight * (depth + 1)) / (float)(zero * (depth - i));
        }
    }
    for (unsigned i = index; i < depth; ++i) {
        p[i].feature = p[i + 1].feature;
        p[i].zero_fraction = p[i + 1].zero_fraction;
        p[i].one_fraction = p[i + 1].one_fraction;
    }
}

static float unwound_sum(const path_elem *p, unsigned depth, unsigned index)
{
    const float one = p[index].one_fraction;
    const float zero = p[index].zero_fraction;
    float next_one = p[depth].pweight;
    float total = 0;
    for (int i = (int)depth - 1; i >= 0; --i) {
        if (one != 0) {
            const float tmp = next_one * (depth + 1) / (float)((i + 1) * one);
            total += tmp;
            next_one = p[i].pweight - tmp * zero * ((depth - i) / (float)(depth + 1));
        } else {
            total += (p[i].pweight / zero) / ((depth - i) / (float)(depth + 1));
        }
    }
    return total;
}

typedef struct shap_ctx {
    const ss_model *m;
    const float *x;
    float *phi;
} shap_ctx;

static void tree_shap(const shap_ctx *c, int32_t ni, unsigned depth, path_elem *parent_path,
                      float parent_zero, float parent_one, int parent_feature)
{
    const ss_tnode *node = &c->m->nodes[ni];
    path_elem *path = parent_path + depth + 1;
    memcpy(path, parent_path, (depth + 1) * sizeof *path);
    extend_path(path, depth, parent_zero, parent_one, parent_feature);

    if (node->child < 0) {
        for (unsigned i = 1; i <= depth; ++i) {
            const float w = unwound_sum(path, depth, i);
            const path_elem *el = &path[i];
            c->phi[el->feature] += w * (el->one_fraction - el->zero_fraction) * node->value;
        }
        return;
    }
    const int split = (int)(node->feature & SS_TNODE_FEATURE_MASK);
    const int32_t hot = next_node(node, c->x);
    const int32_t cold = hot == node->child ? node->child + 1 : node->child;
    const float w = c->m->cover[ni];
    const float hot_zero = c->m->cover[hot] / w;
    const float cold_zero = c->m->cover[cold] / w;
    float incoming_zero = 1, incoming_one = 1;

    /* a feature split on before: undo it so it can be redone here */
    unsigned pi = 0;
    for (; pi <= depth; ++pi)
        if (path[pi].feature == split) break;
    if (pi != depth + 1) {
        incoming_zero = path[pi].zero_fraction;
        incoming_one = path[pi].one_fraction;
        unwind_path(path, depth, pi);
        depth -= 1;
    }
    tree_shap(c, hot, depth + 1, path, hot_zero * incoming_zero, incoming_one, split);
    tree_shap(c, cold, depth + 1, path, cold_zero * incoming_zero, 0, split);
}

void ss_tree_contributions(const ss_model *m, const float *x, double *phi_out)
{
    size_t n = m->nfeatures;
    unsigned maxd = (unsigned)m->max_depth + 2;
    float *total = ss_calloc(n + 1, sizeof *total);
    float *tree_phi = ss_malloc((n + 1) * sizeof *tree_phi);
    path_elem *paths = ss_calloc((size_t)maxd * (maxd + 1) / 2 + 1, sizeof *paths);
    shap_ctx c = {m, x, tree_phi};
    for (size_t t = 0; t < m->ntrees; t++) {
        int32_t root = (int32_t)m->roots[t];
        memset(tree_phi, 0, (n + 1) * sizeof *tree_phi);
        tree_phi[n] += m->mean[root];
        if (m->nodes[root].child >= 0) tree_shap(&c, root, 0, paths, 1, 1, -1);
        for (size_t i = 0; i <= n; i++)
            total[i] += tree_phi[i];
    }
    total[n] += m->base_margin;
    for (size_t i = 0; i <= n; i++)
        phi_out[i] = total[i];
    ss_free(paths);
    ss_free(tree_phi);
    ss_free(total);
}
