/* model/runner.c — memory planning and the forward loop.
 *
 * All activations of one batch live in one arena. Each tensor gets an offset when its producer
 * runs, first fit among the tensors still alive (those whose last reader has not run yet); so
 * a deep chain needs about two activations of memory, not one per layer. Model inputs are read
 * from the caller's buffers and never copied.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mem.h"
#include "model/dnnl_plan.h"
#include "model/layers/layers.h"
#include "model/mask.h"
#include "model/model_internal.h"

struct sc_runner {
    const sc_model *m;
    int max_batch;
    float *arena;
    size_t arena_floats;
    float *scratch;
    size_t *offsets;       /* per tensor, floats into the arena */
    float **logits;        /* per output: pre-activation copy, or NULL */
    const float **in_ptrs; /* per tensor: where the current batch's data is */
    sc_dnnl_plan *engine;  /* Dense and convolution nodes as oneDNN primitives */
    unsigned shape_gen;    /* the model's shapes this plan is for */
    size_t arena_cap, scratch_cap, *logits_cap; /* floats allocated (arena_floats <= arena_cap) */
    float **masks;     /* per tensor: its Keras mask (model/mask.h), or NULL */
    size_t *masks_cap; /* floats allocated per mask */
};

#define ALIGN_FLOATS 16 /* 64-byte alignment for every tensor */

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

static int keeps_logits(const sc_model *m, size_t out) {
    int p = m->tensors[m->outputs[out]].producer;
    if (p < 0) return 0;
    const sc_layer *L = m->nodes[p].layer;
    /* TimeDistributed's output is a reshape of the inner layer's, not a Softmax/Sigmoid op:
     * Keras' crossentropy then clips the probabilities instead of taking the logits. */
    if (m->outputs[out] != m->nodes[p].output || !strcmp(L->class_name, "TimeDistributed"))
        return 0;
    return L->act == SC_ACT_SOFTMAX || L->act == SC_ACT_SIGMOID;
}

/* First-fit placement over the intervals alive at each node. A node the engine absorbed
 * (dnnl_plan.h) writes nothing: its output is its input's memory, which the absorbing node
 * wrote (that input has no other reader). */
static size_t plan(const sc_model *m, const sc_dnnl_plan *eng, int batch, size_t *offsets) {
    size_t nt = m->num_tensors, top = 0;
    for (size_t t = 0; t < nt; t++) offsets[t] = SIZE_MAX;
    for (size_t i = 0; i < m->num_nodes; i++) {
        if (sc_dnnl_plan_absorbed(eng, i)) { /* one output, in its input's memory */
            offsets[m->nodes[i].output] = offsets[m->nodes[i].inputs[0]];
            continue;
        }
        for (int k = 0; k < m->nodes[i].num_outputs; k++) {
            int t = m->nodes[i].output + k;
            size_t need = round_up((size_t)batch * (size_t)sc_shape_elems(&m->tensors[t].shape));
            size_t off = 0;
            for (int moved = 1; moved;) {
                moved = 0;
                for (size_t u = 0; u < nt; u++) {
                    const sc_tensor_slot *s = &m->tensors[u];
                    if (offsets[u] == SIZE_MAX || s->producer < 0 || s->last_use < (int)i)
                        continue;
                    size_t us = round_up((size_t)batch * (size_t)sc_shape_elems(&s->shape));
                    if (off < offsets[u] + us && offsets[u] < off + need) {
                        off = offsets[u] + us;
                        moved = 1;
                    }
                }
            }
            offsets[t] = off;
            if (off + need > top) top = off + need;
        }
    }
    return top;
}

/* Grows buf to hold n floats (64-byte aligned); keeps it when it already does. */
static int reserve(float **buf, size_t *cap, size_t n) {
    if (n <= *cap && *buf) return 0;
    float *p = sc_mem_aligned_large(64, (round_up(n) + ALIGN_FLOATS) * sizeof(float));
    if (!p) return -1;
    free(*buf);
    *buf = p;
    *cap = n;
    return 0;
}

/* Offsets, arena, scratch and logits for the model's current shapes. Allocates only what the
 * previous plan did not already hold. */
static int replan(sc_runner *r) {
    const sc_model *m = r->m;
    int max_batch = r->max_batch;
    r->arena_floats = plan(m, r->engine, max_batch, r->offsets);
    size_t scratch = 0;
    for (size_t i = 0; i < m->num_nodes; i++) {
        const sc_node *n = &m->nodes[i];
        if (n->layer->ops->scratch_floats) {
            size_t s = n->layer->ops->scratch_floats(n->layer, n, max_batch);
            if (s > scratch) scratch = s;
        }
    }
    if (reserve(&r->arena, &r->arena_cap, r->arena_floats)) return -1;
    if (scratch && reserve(&r->scratch, &r->scratch_cap, scratch)) return -1;
    for (size_t o = 0; o < m->num_outputs; o++)
        if (keeps_logits(m, o)) {
            size_t n = (size_t)max_batch * (size_t)sc_shape_elems(&m->tensors[m->outputs[o]].shape);
            if (reserve(&r->logits[o], &r->logits_cap[o], n ? n : 1)) return -1;
        }
    /* Masks are small ([batch, timesteps]): one buffer each, sized for the current shapes. */
    for (size_t t = 0; t < m->num_tensors; t++)
        if (m->tensors[t].has_mask) {
            size_t n = (size_t)max_batch * sc_mask_len(m, (int)t);
            if (n > r->masks_cap[t] || !r->masks[t]) {
                float *p = malloc((n ? n : 1) * sizeof(float));
                if (!p) return -1;
                free(r->masks[t]);
                r->masks[t] = p;
                r->masks_cap[t] = n;
            }
        }
    r->shape_gen = m->shape_gen;
    return 0;
}

sc_status sc_runner_create(const sc_model *m, int max_batch, sc_runner **out, sc_error *err) {
    *out = NULL;
    if (max_batch < 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "batch size must be >= 1, got %d", max_batch);
    sc_runner *r = calloc(1, sizeof *r);
    if (!r) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    r->m = m;
    r->max_batch = max_batch;
    r->offsets = malloc((m->num_tensors ? m->num_tensors : 1) * sizeof *r->offsets);
    r->in_ptrs = calloc(m->num_tensors ? m->num_tensors : 1, sizeof *r->in_ptrs);
    r->logits = calloc(m->num_outputs ? m->num_outputs : 1, sizeof *r->logits);
    r->logits_cap = calloc(m->num_outputs ? m->num_outputs : 1, sizeof *r->logits_cap);
    r->masks = calloc(m->num_tensors ? m->num_tensors : 1, sizeof *r->masks);
    r->masks_cap = calloc(m->num_tensors ? m->num_tensors : 1, sizeof *r->masks_cap);
    if (!r->offsets || !r->in_ptrs || !r->logits || !r->logits_cap || !r->masks || !r->masks_cap)
        goto oom;
    sc_status es = sc_dnnl_plan_create(m, &r->engine, err);
    if (es) {
        sc_runner_free(r);
        return es;
    }
    if (replan(r)) goto oom;
    *out = r;
    return SC_OK;
oom:
    sc_runner_free(r);
    return sc_error_set(err, SC_NO_MEMORY, "out of memory planning activations for batch %d",
                        max_batch);
}

void sc_runner_free(sc_runner *r) {
    if (!r) return;
    if (r->logits)
        for (size_t o = 0; o < r->m->num_outputs; o++) free(r->logits[o]);
    free(r->logits);
    free(r->logits_cap);
    if (r->masks)
        for (size_t t = 0; t < r->m->num_tensors; t++) free(r->masks[t]);
    free(r->masks);
    free(r->masks_cap);
    free(r->arena);
    free(r->scratch);
    free(r->offsets);
    free(r->in_ptrs);
    sc_dnnl_plan_free(r->engine);
    free(r);
}

static sc_status run_nodes(sc_runner *r, int batch, sc_error *err);

sc_status sc_runner_run(sc_runner *r, int batch, const float *const *inputs, sc_error *err) {
    const sc_model *m = r->m;
    if (batch < 1 || batch > r->max_batch)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "batch of %d examples: the runner was planned "
                            "for 1 to %d",
                            batch, r->max_batch);
    if (r->shape_gen != m->shape_gen && replan(r)) /* sc_model_set_input_shapes changed them */
        return sc_error_set(err, SC_NO_MEMORY,
                            "out of memory planning activations for the new "
                            "input shapes");
    for (size_t i = 0; i < m->num_inputs; i++) r->in_ptrs[m->inputs[i]] = inputs[i];
    sc_dnnl_plan_begin(r->engine);
    sc_status s = run_nodes(r, batch, err);
    sc_dnnl_plan_end(r->engine);
    return s;
}

static sc_status run_nodes(sc_runner *r, int batch, sc_error *err) {
    const sc_model *m = r->m;
    for (size_t i = 0; i < m->num_nodes; i++) {
        const sc_node *n = &m->nodes[i];
        const float *in[SC_MAX_NODE_INPUTS], *in_masks[SC_MAX_NODE_INPUTS];
        for (int k = 0; k < n->num_inputs; k++) {
            int t = n->inputs[k];
            in[k] = m->tensors[t].producer < 0 ? r->in_ptrs[t] : r->arena + r->offsets[t];
            in_masks[k] = r->masks[t];
        }
        if (sc_dnnl_plan_absorbed(r->engine, i)) continue; /* done by the node before */
        float *out = r->arena + r->offsets[n->output];
        int handled = 0, act_done = 0;
        sc_status s;
        if (n->num_outputs > 1) {
            float *outs[SC_MAX_NODE_OUTPUTS];
            for (int k = 0; k < n->num_outputs; k++) outs[k] = r->arena + r->offsets[n->output + k];
            s = sc_layer_forward_multi(n->layer, n, batch, in, in_masks[0], outs, r->scratch, err);
        } else if (sc_mask_uses(m, n)) {
            s = sc_mask_forward(n, batch, in, in_masks, out, r->scratch, err);
            act_done = sc_layer_fuses_activation(n->layer);
        } else {
            s = sc_dnnl_plan_run(r->engine, i, batch, in[0], out, &handled, &act_done, err);
            if (s == SC_OK && !handled) {
                s = n->layer->ops->forward(n->layer, n, batch, in, out, r->scratch, err);
                act_done = sc_layer_fuses_activation(n->layer);
            }
        }
        if (s) return s;
        for (int k = 0; k < n->num_outputs; k++)
            if (r->masks[n->output + k])
                sc_mask_compute(m, n, n->output + k, batch, in, in_masks, r->masks[n->output + k]);
        if (n->layer->act != SC_ACT_LINEAR && !act_done) {
            size_t last = n->out_shape.rank ? (size_t)n->out_shape.dims[n->out_shape.rank - 1] : 1;
            size_t total = (size_t)batch * (size_t)sc_shape_elems(&n->out_shape);
            for (size_t o = 0; o < m->num_outputs; o++)
                if (r->logits[o] && m->outputs[o] == n->output)
                    memcpy(r->logits[o], out, total * sizeof(float));
            sc_activation_apply(n->layer->act, out, last ? total / last : 0, last);
        }
    }
    return SC_OK;
}

const float *sc_runner_output(const sc_runner *r, size_t i) {
    int t = r->m->outputs[i];
    return r->m->tensors[t].producer < 0 ? r->in_ptrs[t] : r->arena + r->offsets[t];
}

const float *sc_runner_output_logits(const sc_runner *r, size_t i) { return r->logits[i]; }

const float *sc_runner_output_mask(const sc_runner *r, size_t i) {
    return r->masks[r->m->outputs[i]];
}

size_t sc_runner_arena_bytes(const sc_runner *r) { return r->arena_floats * sizeof(float); }

void sc_runner_stats_get(const sc_runner *r, sc_runner_stats *out) {
    sc_dnnl_plan_stats(r->engine, out);
}
