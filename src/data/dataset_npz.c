/* data/dataset_npz.c — dataset source over an .npz archive (np.savez / np.savez_compressed).
 * The arrays are loaded whole at open; a batch is a run of consecutive rows converted to
 * float32 in one call per array. One shard of a group (num_shards > 1) loads only the rows of
 * its own global batches (npy_rows.c), packed: its k-th batch is rows k * batch_size on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset_internal.h"
#include "data/npy.h"
#include "sidecar/tensor.h"

typedef struct npz_src {
    const sc_ds_spec *spec;
    const char *path;
    sc_array *in[SC_DATASET_MAX_INPUTS];
    sc_array *out[SC_DATASET_MAX_OUTPUTS];
    sc_array *w;
    uint64_t rows, pos; /* rows in the file; the next one the pass reads, as one process counts */
    sc_npy_rows part;   /* this shard's rows only (part.shards > 1), else every row */
} npz_src;

/* Where row pos of the file sits in the arrays held: packed when only this shard's are. */
static uint64_t held_row(const npz_src *s, uint64_t pos) {
    if (s->part.shards <= 1) return pos;
    uint64_t b = s->part.batch, g = pos / b;
    return g / s->part.shards * b + pos % b;
}

static int has_array(const sc_npz *z, const char *name) {
    for (size_t i = 0; i < sc_npz_num_arrays(z); i++)
        if (strcmp(sc_npz_array_name(z, i), name) == 0) return 1;
    return 0;
}

static const char *list_arrays(const sc_npz *z, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc_npz_num_arrays(z) && len < cap; i++)
        len +=
            (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", sc_npz_array_name(z, i));
    if (sc_npz_num_arrays(z) == 0) snprintf(buf, cap, "none");
    return buf;
}

/* An array holds rows of numbers, as many as the first array loaded. */
static sc_status check_rows(npz_src *s, sc_array *a, uint64_t rows, const char *name,
                            const char *what, const char *label, sc_error *err) {
    const sc_array_info *info = sc_array_get_info(a);
    if (!sc_dtype_converts_to_float32(info->dtype))
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: array '%s' (%s '%s') is %s, which does not convert to float32",
                            s->path, name, what, label, sc_dtype_name(info->dtype));
    if (info->rank < 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: array '%s' (%s '%s') is a scalar; expected one row per example",
                            s->path, name, what, label);
    if (s->rows == UINT64_MAX) {
        s->rows = rows;
    } else if (rows != s->rows) {
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: array '%s' (%s '%s') has %llu rows, the first array has %llu",
                            s->path, name, what, label, (unsigned long long)rows,
                            (unsigned long long)s->rows);
    }
    return SC_OK;
}

/* Loads `name` of the archive for `what` 'label'. */
static sc_status load(npz_src *s, sc_npz *z, const char *name, const char *what, const char *label,
                      sc_array **out, sc_error *err) {
    char present[256];
    if (!has_array(z, name))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: no array '%s' for %s '%s' (arrays present: %s)", s->path, name,
                            what, label, list_arrays(z, present, sizeof present));
    uint64_t rows = 0;
    sc_status st = s->part.shards > 1 ? sc_npz_load_rows(z, name, &s->part, out, &rows, err)
                                      : sc_npz_load(z, name, out, err);
    if (st != SC_OK) /* an unsupported dtype: say which of the model's layers it was for */
        return sc_error_prefix(err, st, "%s '%s'", what, label);
    if (s->part.shards <= 1) rows = sc_array_num_rows(*out);
    return check_rows(s, *out, rows, name, what, label, err);
}

/* The message names the model's layer and, when it differs, the array it was read from. */
static sc_status resolve(npz_src *s, sc_array *a, const char *arr, sc_dataset_shape *want,
                         int exact, const char *what, const char *name, size_t *elems,
                         sc_error *err) {
    const sc_array_info *info = sc_array_get_info(a);
    char src[300];
    if (arr) snprintf(src, sizeof src, "array '%s'", arr);
    return sc_ds_resolve_shape(want, info->shape + 1, info->rank - 1, exact, s->path, what, name,
                               arr && strcmp(arr, name) != 0 ? src : NULL, elems, err);
}

/* A .npy file, whole or this shard's rows; *rows: the rows in the file. */
static sc_status read_npy(npz_src *s, const char *path, sc_array **out, uint64_t *rows,
                          sc_error *err) {
    if (s->part.shards > 1) return sc_npy_load_rows(path, &s->part, out, rows, err);
    sc_status st = sc_npy_load(path, out, err);
    if (st == SC_OK) *rows = sc_array_num_rows(*out);
    return st;
}

/* A separate .npy file: `file` as given when absolute, else beside the inputs' .npy. */
static sc_status load_npy(npz_src *s, const char *file, const char *what, sc_array **out,
                          sc_error *err) {
    char path[4096];
    const char *slash = strrchr(s->path, '/');
    if (file[0] == '/' || !slash)
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - s->path), s->path, file);
    uint64_t rows = 0;
    sc_status st = read_npy(s, path, out, &rows, err);
    if (st == SC_NOT_FOUND)
        return sc_error_set(err, SC_NOT_FOUND,
                            "%s: no %s file %s (a .npy holds inputs only: give "
                            "the labels with --label LABELS.npy, or save both with np.savez)",
                            s->path, what, path);
    return st != SC_OK ? st : check_rows(s, *out, rows, path, what, file, err);
}

/* The labels' .npy beside x.npy: the basename's x becomes y (x.npy -> y.npy, x_val.npy ->
 * y_val.npy, val_x.npy -> val_y.npy); NULL when the name has no such x. */
static const char *sibling_labels(const char *xpath, char *buf, size_t cap) {
    const char *base = strrchr(xpath, '/');
    base = base ? base + 1 : xpath;
    const char *pats[3] = {"x.npy", "x_", "_x."};
    for (int i = 0; i < 3; i++) {
        const char *at = strstr(base, pats[i]);
        if (!at || (i == 0 && at != base) || (i == 1 && at != base)) continue;
        snprintf(buf, cap, "%s", base);
        buf[(at - base) + (i == 2 ? 1 : 0)] = 'y';
        return buf;
    }
    return NULL;
}

static sc_status npy_open(npz_src *s, sc_ds_spec *spec, sc_error *err) {
    sc_dataset_params *p = &spec->p;
    const char *name = sc_ds_input_name(spec, 0);
    if (p->num_inputs != 1 || p->num_outputs > 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: a .npy holds one array: for several "
                            "inputs or outputs save them with np.savez and pass the .npz",
                            s->path);
    uint64_t rows = 0;
    sc_status st = read_npy(s, s->path, &s->in[0], &rows, err);
    if (st != SC_OK
        || (st = check_rows(s, s->in[0], rows, s->path, "input layer", name, err)) != SC_OK
        || (st = resolve(s, s->in[0], NULL, &p->inputs[0].shape, 1, "input layer", name,
                         &spec->in_elems[0], err))
               != SC_OK)
        return st;
    if (p->num_outputs == 1) {
        char sib[512];
        const char *label = p->outputs[0].label;
        if (!label || strcmp(label + (strlen(label) > 4 ? strlen(label) - 4 : 0), ".npy") != 0)
            label = sibling_labels(s->path, sib, sizeof sib);
        if (!label)
            return sc_error_set(
                err, SC_INVALID_ARGUMENT,
                "%s: where are the labels? give them with "
                "--label LABELS.npy (or name the inputs x.npy and the labels y.npy)",
                s->path);
        if ((st = load_npy(s, label, "label", &s->out[0], err)) != SC_OK
            || (st = resolve(s, s->out[0], NULL, &p->outputs[0].shape, 0, "label", label,
                             &spec->out_elems[0], err))
                   != SC_OK)
            return st;
    }
    if (p->sample_weight) {
        sc_dataset_shape one = {.rank = 0};
        size_t elems;
        if ((st = load_npy(s, p->sample_weight, "sample weight", &s->w, err)) != SC_OK
            || (st =
                    resolve(s, s->w, NULL, &one, 0, "sample weight", p->sample_weight, &elems, err))
                   != SC_OK)
            return st;
    }
    return SC_OK;
}

static sc_status npz_convert(npz_src *s, sc_array *a, size_t elems, size_t n, float *dst,
                             sc_error *err) {
    const sc_array_info *info = sc_array_get_info(a);
    const uint8_t *src =
        (const uint8_t *)sc_array_data(a) + held_row(s, s->pos) * elems * info->elem_size;
    sc_status st = sc_convert_to_float32(info->dtype, src, n * elems, dst, err);
    return st == SC_OK ? st : sc_error_prefix(err, st, "%s: %s", s->path, sc_array_source(a));
}

static sc_status npz_fill(void *self, float *const *inputs, float *const *labels, float *weights,
                          size_t cap, size_t *n, sc_ds_origin *first, sc_error *err) {
    npz_src *s = self;
    const sc_ds_spec *sp = s->spec;
    size_t k = s->rows - s->pos < cap ? (size_t)(s->rows - s->pos) : cap;
    sc_status st = SC_OK;
    first->file = s->path;
    first->record = s->pos;
    if (s->part.shards > 1
        && (s->pos % s->part.batch || (s->pos / s->part.batch) % s->part.shards != s->part.shard
            || cap > s->part.batch))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: row %llu is not one of this shard's batches", s->path,
                            (unsigned long long)s->pos);
    /* Row offsets cannot overflow: the rows are in memory. */
    for (size_t i = 0; st == SC_OK && i < sp->p.num_inputs; i++)
        st = npz_convert(s, s->in[i], sp->in_elems[i], k, inputs[i], err);
    for (size_t o = 0; st == SC_OK && o < sp->p.num_outputs; o++)
        st = npz_convert(s, s->out[o], sp->out_elems[o], k, labels[o], err);
    if (st == SC_OK && s->w) st = npz_convert(s, s->w, 1, k, weights, err);
    if (st != SC_OK) return st;
    s->pos += k;
    *n = k;
    return SC_OK;
}

static sc_status npz_rewind(void *self, sc_error *err) {
    (void)err;
    ((npz_src *)self)->pos = 0;
    return SC_OK;
}

static void npz_free(void *self) {
    npz_src *s = self;
    if (!s) return;
    for (size_t i = 0; i < SC_DATASET_MAX_INPUTS; i++) sc_array_free(s->in[i]);
    for (size_t o = 0; o < SC_DATASET_MAX_OUTPUTS; o++) sc_array_free(s->out[o]);
    sc_array_free(s->w);
    free(s);
}

/* Another shard's rows: the arrays are in memory, so skipping is moving the row. */
static sc_status npz_skip(void *self, size_t cap, size_t *n, sc_error *err) {
    (void)err;
    npz_src *s = self;
    size_t k = s->rows - s->pos < cap ? (size_t)(s->rows - s->pos) : cap;
    s->pos += k;
    *n = k;
    return SC_OK;
}

static const sc_ds_source_ops npz_ops = {
    .fill = npz_fill, .skip = npz_skip, .rewind = npz_rewind, .free = npz_free};

sc_status sc_ds_npz_open(sc_ds_spec *spec, sc_ds_source *out, sc_error *err) {
    sc_dataset_params *p = &spec->p;
    sc_npz *z = NULL;
    npz_src *s = calloc(1, sizeof *s);
    if (!s) return sc_error_set(err, SC_NO_MEMORY, "%s: dataset source", p->path);
    s->spec = spec;
    s->path = p->path;
    s->rows = UINT64_MAX;
    if (p->num_shards > 1)
        s->part = (sc_npy_rows){p->batch_size, p->num_shards, p->shard_index, p->steps};
    sc_status st;
    if (spec->format == SC_DATA_FORMAT_NPY) {
        if ((st = npy_open(s, spec, err)) != SC_OK) goto fail;
        goto done;
    }
    st = sc_npz_open(p->path, &z, err);
    if (st != SC_OK) goto fail;
    for (size_t i = 0; i < p->num_inputs; i++) {
        /* Keras: a single input is `x` whatever the layer's name; several go by name. */
        const char *name = sc_ds_input_name(spec, i);
        const char *arr = p->num_inputs == 1 && has_array(z, "x") ? "x" : name;
        if (p->num_inputs == 1 && strcmp(name, "x") != 0 && !has_array(z, "x")
            && !has_array(z, name)) {
            char present[256];
            st = sc_error_set(err, SC_INVALID_ARGUMENT,
                              "%s: no array 'x' or '%s' for input layer '%s' (arrays present: %s)",
                              p->path, name, name, list_arrays(z, present, sizeof present));
            goto fail;
        }
        if ((st = load(s, z, arr, "input layer", name, &s->in[i], err)) != SC_OK
            || (st = resolve(s, s->in[i], arr, &p->inputs[i].shape, 1, "input layer", name,
                             &spec->in_elems[i], err))
                   != SC_OK)
            goto fail;
    }
    for (size_t o = 0; o < p->num_outputs; o++) {
        const char *name = sc_ds_label_name(spec, o);
        if ((st = load(s, z, name, "label", name, &s->out[o], err)) != SC_OK
            || (st = resolve(s, s->out[o], name, &p->outputs[o].shape, 0, "label", name,
                             &spec->out_elems[o], err))
                   != SC_OK)
            goto fail;
    }
    if (p->sample_weight) {
        sc_dataset_shape one = {.rank = 0};
        size_t elems;
        if ((st = load(s, z, p->sample_weight, "sample weight", p->sample_weight, &s->w, err))
                != SC_OK
            || (st =
                    resolve(s, s->w, NULL, &one, 0, "sample weight", p->sample_weight, &elems, err))
                   != SC_OK)
            goto fail;
    }
done:
    sc_npz_free(z);
    spec->num_examples = (int64_t)s->rows;
    out->ops = &npz_ops;
    out->self = s;
    return SC_OK;
fail:
    sc_npz_free(z);
    npz_free(s);
    return st;
}
