/* data/dataset_arrays.c — float32 arrays in memory as a dataset source (NumPy arrays handed over
 * by the Python package). Batches are views into the caller's arrays: nothing is copied. */
#include <stdlib.h>

#include "core/error.h"
#include "data/dataset_internal.h"

typedef struct arrays_src {
    sc_dataset_arrays a;
    size_t num_inputs, num_outputs;
    size_t in_elems[SC_DATASET_MAX_INPUTS], out_elems[SC_DATASET_MAX_OUTPUTS];
    size_t next; /* first example of the next batch */
    const char *name;
} arrays_src;

static sc_status arrays_view(void *self, const float **inputs, const float **labels,
                             const float **weights, size_t cap, size_t *n, sc_ds_origin *first,
                             sc_error *err) {
    (void)err;
    arrays_src *s = self;
    size_t k = s->a.num_examples - s->next;
    if (k > cap) k = cap;
    for (size_t i = 0; i < s->num_inputs; i++)
        inputs[i] = s->a.inputs[i].data + s->next * s->in_elems[i];
    for (size_t o = 0; o < s->num_outputs; o++)
        labels[o] = s->a.labels[o].data + s->next * s->out_elems[o];
    *weights = s->a.sample_weight ? s->a.sample_weight + s->next : NULL;
    first->file = s->name;
    first->record = s->next;
    s->next += k;
    *n = k;
    return SC_OK;
}

static sc_status arrays_rewind(void *self, sc_error *err) {
    (void)err;
    ((arrays_src *)self)->next = 0;
    return SC_OK;
}

/* Another shard's examples (dataset.h, num_shards): moving past them is moving the index. */
static sc_status arrays_skip(void *self, size_t cap, size_t *n, sc_error *err) {
    (void)err;
    arrays_src *s = self;
    size_t k = s->a.num_examples - s->next;
    if (k > cap) k = cap;
    s->next += k;
    *n = k;
    return SC_OK;
}

static void arrays_free(void *self) { free(self); }

static const sc_ds_source_ops k_arrays_ops = {
    .skip = arrays_skip, .rewind = arrays_rewind, .free = arrays_free, .view = arrays_view};

/* Each array must hold num_examples rows: rows * elements per row must not overflow, which also
 * makes every batch's pointer arithmetic in arrays_view safe. */
static sc_status check_array(const sc_dataset_array *a, const char *file, const char *what,
                             const char *name, size_t rows, sc_error *err) {
    size_t total;
    if (!a->data)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: %s '%s': no data (NULL pointer)", file,
                            what, name);
    if (a->rank < 0 || a->rank > SC_DATASET_MAX_RANK)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: %s '%s': rank %d (0..%d)", file, what,
                            name, a->rank, SC_DATASET_MAX_RANK);
    total = rows;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] < 0 || __builtin_mul_overflow(total, (size_t)a->dims[d], &total))
            return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: %s '%s': dimension %d is %lld", file,
                                what, name, d, (long long)a->dims[d]);
    return SC_OK;
}

sc_status sc_ds_arrays_open(sc_ds_spec *spec, const sc_dataset_arrays *arrays, sc_ds_source *out,
                            sc_error *err) {
    const sc_dataset_params *p = &spec->p;
    sc_status st;
    for (size_t i = 0; i < p->num_inputs; i++) {
        const sc_dataset_array *a = &arrays->inputs[i];
        const char *name = sc_ds_input_name(spec, i);
        if ((st = check_array(a, p->path, "input layer", name, arrays->num_examples, err)))
            return st;
        if ((st = sc_ds_resolve_shape(&spec->p.inputs[i].shape, a->dims, a->rank, 1, p->path,
                                      "input layer", name, NULL, &spec->in_elems[i], err)))
            return st;
    }
    for (size_t o = 0; o < p->num_outputs; o++) {
        const sc_dataset_array *a = &arrays->labels[o];
        const char *name = sc_ds_label_name(spec, o);
        if ((st = check_array(a, p->path, "label", name, arrays->num_examples, err))) return st;
        if ((st = sc_ds_resolve_shape(&spec->p.outputs[o].shape, a->dims, a->rank, 0, p->path,
                                      "label", name, NULL, &spec->out_elems[o], err)))
            return st;
    }
    arrays_src *s = calloc(1, sizeof *s);
    if (!s) return sc_error_set(err, SC_NO_MEMORY, "%s: dataset", p->path);
    s->a = *arrays;
    s->num_inputs = p->num_inputs;
    s->num_outputs = p->num_outputs;
    for (size_t i = 0; i < p->num_inputs; i++) s->in_elems[i] = spec->in_elems[i];
    for (size_t o = 0; o < p->num_outputs; o++) s->out_elems[o] = spec->out_elems[o];
    s->name = p->path;
    spec->num_examples = (int64_t)arrays->num_examples;
    out->ops = &k_arrays_ops;
    out->self = s;
    return SC_OK;
}
