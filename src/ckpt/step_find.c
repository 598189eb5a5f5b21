/* The training step from the optimizer that trained the model (FORMATS §3.7).
 *
 * Real checkpoints put the optimizer anywhere the breadth-first walk first reaches it
 * (`optimizer`, `net/optimizer`, a LossScaleOptimizer's `base_optimizer`) and may hold two: one
 * passed to tf.train.Checkpoint(optimizer=...) that never ran (counter 0, no slots) and the
 * compiled one that trained the model. The graph tells them apart: an optimizer that trained a
 * variable holds slot variables for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/step_find.h"
#include "core/error.h"

#define VV "/.ATTRIBUTES/VARIABLE_VALUE"

typedef struct cand {
    int32_t opt, counter;
    const sc_tensor_info *t;
    int64_t step;
    int rank;    /* 3 slots of the model, 2 slots (model unknown), 1 step > 0, 0 */
    int is_iter; /* the old optimizer's `iter` (else `_iterations`) */
} cand;

static const char *const REASONS[] = {
    "the only optimizer, or the first of several that took no step",
    "the optimizer whose counter is not zero",
    "the optimizer that holds slot variables",
    "the optimizer whose slot variables belong to the model",
};

static int is_digits(const char *s, size_t n) {
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static const sc_tensor_info *var_tensor(const sc_bundle *b, const sc_object_graph *g,
                                        int32_t node) {
    const char *k = sc_object_graph_variable_key(g, (size_t)node);
    return k ? sc_bundle_find(b, k) : NULL;
}

static int same_shape(const sc_tensor_info *a, const sc_tensor_info *b) {
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

/* Old layout: the optimizer node lists (original variable, slot) pairs. New layout (Keras
 * 2.11+): lists such as `_momentums`, `_velocities` whose elements are variables (the same nodes
 * as `_variables/N`); they name no original variable, so a list belongs to the model when every
 * element has the shape of one of the model's variables. Returns 2 model slots, 1 other slots,
 * 0 none. */
static int slot_kind(const sc_bundle *b, const sc_object_graph *g, int32_t opt,
                     const unsigned char *in_model, const sc_step_params *p) {
    const sc_og_node *o = sc_object_graph_node(g, (size_t)opt);
    int any = 0;
    for (size_t i = 0; i < o->num_slot_variables; i++) {
        any = 1;
        if (in_model && in_model[o->slot_variables[i].original_variable_node_id]) return 2;
    }
    for (size_t c = 0; c < o->num_children; c++) {
        const sc_og_child *ch = &o->children[c];
        if (!strcmp(ch->local_name, "_variables")) continue;
        const sc_og_node *l = sc_object_graph_node(g, (size_t)ch->node_id);
        if (!l->num_children) continue;
        size_t matched = 0, n = 0;
        int list = 1;
        for (size_t e = 0; e < l->num_children && list; e++) {
            const sc_og_child *el = &l->children[e];
            const sc_tensor_info *t = var_tensor(b, g, el->node_id);
            if (!is_digits(el->local_name, el->local_name_len) || !t) {
                list = 0;
                break;
            }
            n++;
            for (size_t m = 0; in_model && m < p->num_model_nodes; m++) {
                const sc_tensor_info *mt = var_tensor(b, g, p->model_nodes[m]);
                if (mt && same_shape(mt, t)) {
                    matched++;
                    break;
                }
            }
        }
        if (!list || !n) continue;
        any = 1;
        if (in_model && matched == n) return 2;
    }
    return any;
}

sc_status sc_step_given(sc_bundle *b, const sc_object_graph *g, const char *key, sc_ckpt_info *info,
                        sc_error *err) {
    const sc_tensor_info *t = sc_bundle_find(b, key);
    if (!t) {
        char full[1024];
        snprintf(full, sizeof full, "%s" VV, key);
        t = sc_bundle_find(b, full);
    }
    if (!t && g) {
        int32_t node = sc_object_graph_lookup(g, key);
        if (node >= 0) t = var_tensor(b, g, node);
    }
    if (!t)
        return sc_error_set(err, SC_NOT_FOUND,
                            "%s: step key '%s' names no tensor (tried the key, the key + '%s' "
                            "and the object-graph path)",
                            sc_bundle_prefix(b), key, VV);
    sc_status rc = sc_ckpt_read_int_scalar(b, t, &info->step, err);
    if (rc != SC_OK) return rc;
    info->step_source = SC_STEP_GIVEN_KEY;
    info->step_key = t->key;
    info->step_reason = "given";
    return SC_OK;
}

sc_status sc_step_from_graph(sc_bundle *b, const sc_object_graph *g, const sc_step_params *p,
                             sc_ckpt_info *info, sc_error *err) {
    size_t n = sc_object_graph_num_nodes(g);
    sc_status rc = SC_OK;
    int32_t *order = malloc(n * sizeof *order), *parent = malloc(n * sizeof *parent),
            *edge = malloc(n * sizeof *edge);
    unsigned char *in_model = p && p->num_model_nodes ? calloc(n, 1) : NULL;
    cand *cands = malloc(n * sizeof *cands);
    if (!order || !parent || !edge || !cands || (p && p->num_model_nodes && !in_model)) {
        rc = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", sc_bundle_prefix(b));
        goto done;
    }
    for (size_t i = 0; in_model && i < p->num_model_nodes; i++)
        if (p->model_nodes[i] >= 0 && (size_t)p->model_nodes[i] < n)
            in_model[p->model_nodes[i]] = 1;
    size_t reached = sc_object_graph_bfs(g, order, parent, edge), nc = 0;
    for (size_t i = 0; i < reached; i++) {
        const sc_og_node *o = sc_object_graph_node(g, (size_t)order[i]);
        for (size_t c = 0; c < o->num_children; c++) {
            const sc_og_child *ch = &o->children[c];
            int is_iter = !strcmp(ch->local_name, "iter");
            if (!is_iter && strcmp(ch->local_name, "_iterations")) continue;
            const sc_tensor_info *t = var_tensor(b, g, ch->node_id);
            if (!t) continue;
            int dup = 0; /* a wrapper delegating tracking shows its inner counter again */
            for (size_t k = 0; k < nc; k++) dup |= cands[k].counter == ch->node_id;
            if (dup) break;
            cand cd = {order[i], ch->node_id, t, 0, 0, is_iter};
            if ((rc = sc_ckpt_read_int_scalar(b, t, &cd.step, err)) != SC_OK) goto done;
            int sk = slot_kind(b, g, order[i], in_model, p);
            cd.rank = sk == 2 ? 3 : (sk == 1 && !in_model) ? 2 : cd.step > 0 ? 1 : 0;
            cands[nc++] = cd;
            break;
        }
    }
    if (nc) {
        size_t best = 0;
        for (size_t k = 1; k < nc; k++)
            if (cands[k].rank > cands[best].rank) best = k;
        info->step = cands[best].step;
        info->step_key = cands[best].t->key;
        info->step_source =
            cands[best].is_iter ? SC_STEP_OPTIMIZER_ITER : SC_STEP_OPTIMIZER_ITERATIONS;
        info->step_reason = nc > 1 ? REASONS[cands[best].rank] : NULL;
    }
done:
    free(order);
    free(parent);
    free(edge);
    free(in_model);
    free(cands);
    return rc;
}

static int is_layer_list(const sc_og_node *nd) {
    for (size_t c = 0; c < nd->num_children; c++) {
        const char *s = nd->children[c].local_name;
        if (!strncmp(s, "layer_with_weights-", 19) || !strncmp(s, "layer-", 6)
            || !strcmp(s, "_operations") || !strcmp(s, "_functional"))
            return 1;
    }
    return 0;
}

void sc_model_path_guess(const sc_object_graph *g, sc_ckpt_info *info) {
    size_t n = sc_object_graph_num_nodes(g);
    int32_t *order = malloc(n * sizeof *order), *parent = malloc(n * sizeof *parent),
            *edge = malloc(n * sizeof *edge);
    if (order && parent && edge) {
        size_t reached = sc_object_graph_bfs(g, order, parent, edge);
        for (size_t i = 0; i < reached; i++) {
            if (!is_layer_list(sc_object_graph_node(g, (size_t)order[i]))) continue;
            info->model_path_found = 1;
            sc_object_graph_path(g, parent, edge, order[i], info->model_path,
                                 sizeof info->model_path);
            break;
        }
    }
    free(order);
    free(parent);
    free(edge);
}
