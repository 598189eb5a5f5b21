/* data/dataset_csv.c — dataset source over a CSV table. The reader is asked for the input
 * columns, then one column per label, then the weight column, in that order, so one row of
 * doubles splits into the example's pieces by position. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset_internal.h"

typedef struct csv_src {
    const sc_ds_spec *spec;
    sc_csv_reader *r;
    size_t num_in_cols; /* columns feeding the inputs */
    uint64_t row;       /* data rows returned so far */
} csv_src;

static int has_col(const sc_csv_reader *r, const char *name) {
    for (size_t i = 0; i < sc_csv_reader_num_columns(r); i++)
        if (strcmp(sc_csv_reader_column_name(r, i), name) == 0) return 1;
    return 0;
}

static const char *list_cols(const sc_csv_reader *r, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc_csv_reader_num_columns(r) && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
                                sc_csv_reader_column_name(r, i));
    return buf;
}

static sc_status need_col(const sc_csv_reader *all, const char *path, const char *col,
                          const char *what, sc_error *err) {
    char present[256];
    if (has_col(all, col)) return SC_OK;
    return sc_error_set(err, SC_INVALID_ARGUMENT,
                        "%s: no column '%s' for the %s (columns present: %s)", path, col, what,
                        list_cols(all, present, sizeof present));
}

static int is_reserved(const sc_ds_spec *sp, const char *col) {
    for (size_t o = 0; o < sp->p.num_outputs; o++)
        if (strcmp(col, sc_ds_label_name(sp, o)) == 0) return 1;
    return sp->p.sample_weight && strcmp(col, sp->p.sample_weight) == 0;
}

static sc_status csv_fill(void *self, float *const *inputs, float *const *labels, float *weights,
                          size_t cap, size_t *n, sc_ds_origin *first, sc_error *err) {
    csv_src *s = self;
    const sc_ds_spec *sp = s->spec;
    size_t k = 0;
    first->file = sp->p.path;
    first->record = s->row;
    for (; k < cap; k++) {
        const double *v;
        sc_status st = sc_csv_reader_next(s->r, &v, NULL, err);
        if (st != SC_OK) return st;
        if (!v) break;
        s->row++;
        for (size_t i = 0; i < sp->p.num_inputs; i++) {
            float *dst = inputs[i] + k * sp->in_elems[i];
            for (size_t e = 0; e < sp->in_elems[i]; e++) dst[e] = (float)*v++;
        }
        for (size_t o = 0; o < sp->p.num_outputs; o++) labels[o][k] = (float)*v++;
        if (weights) weights[k] = (float)*v;
    }
    *n = k;
    return SC_OK;
}

static sc_status csv_rewind(void *self, sc_error *err) {
    csv_src *s = self;
    s->row = 0;
    return sc_csv_reader_rewind(s->r, err);
}

static void csv_free(void *self) {
    csv_src *s = self;
    if (!s) return;
    sc_csv_reader_free(s->r);
    free(s);
}

static const sc_ds_source_ops csv_ops = {.fill = csv_fill, .rewind = csv_rewind, .free = csv_free};

/* Splits the input columns among the inputs and resolves the shapes. */
static sc_status resolve(sc_ds_spec *spec, size_t ncols, sc_error *err) {
    sc_dataset_params *p = &spec->p;
    sc_status st = SC_OK;
    if (p->num_inputs == 1) {
        st = sc_ds_resolve_count(&p->inputs[0].shape, ncols, p->path, "input layer",
                                 sc_ds_input_name(spec, 0), "the CSV's input columns",
                                 &spec->in_elems[0], err);
    } else {
        size_t used = 0;
        for (size_t i = 0; i < p->num_inputs && st == SC_OK; i++) {
            if (sc_ds_shape_elems(&p->inputs[i].shape, &spec->in_elems[i]) != 0)
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "%s: input layer '%s': a CSV file feeding several inputs needs "
                                    "each input's full shape",
                                    p->path, sc_ds_input_name(spec, i));
            if (__builtin_add_overflow(used, spec->in_elems[i], &used)) used = SIZE_MAX;
        }
        if (used != ncols)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: %zu input columns, but the model's %zu inputs take %zu values",
                                p->path, ncols, p->num_inputs, used);
    }
    for (size_t o = 0; o < p->num_outputs && st == SC_OK; o++) {
        int64_t none = 0;
        st = sc_ds_resolve_shape(&p->outputs[o].shape, &none, 0, 0, p->path, "label",
                                 sc_ds_label_name(spec, o), NULL, &spec->out_elems[o], err);
    }
    return st;
}

sc_status sc_ds_csv_open(sc_ds_spec *spec, sc_ds_source *out, sc_error *err) {
    sc_dataset_params *p = &spec->p;
    sc_csv_reader *all = NULL;
    const char **cols = NULL;
    csv_src *s = calloc(1, sizeof *s);
    if (!s) return sc_error_set(err, SC_NO_MEMORY, "%s: dataset source", p->path);
    s->spec = spec;
    sc_csv_params cp = sc_csv_default_params();
    cp.delimiter = p->csv_delimiter;
    /* First the header alone, to check the names and list the default input columns. */
    sc_status st = sc_csv_reader_create(p->path, &cp, &all, err);
    if (st != SC_OK) goto fail;
    size_t nall = sc_csv_reader_num_columns(all), n = 0;
    size_t max = (p->csv_columns ? p->num_csv_columns : nall) + p->num_outputs + 1;
    if (!(cols = calloc(max, sizeof *cols))) {
        st = sc_error_set(err, SC_NO_MEMORY, "%s: column list", p->path);
        goto fail;
    }
    if (p->csv_columns) {
        for (size_t i = 0; i < p->num_csv_columns && st == SC_OK; i++)
            if ((st = need_col(all, p->path, p->csv_columns[i], "input", err)) == SC_OK)
                cols[n++] = p->csv_columns[i];
    } else {
        for (size_t i = 0; i < nall; i++)
            if (!is_reserved(spec, sc_csv_reader_column_name(all, i)))
                cols[n++] = sc_csv_reader_column_name(all, i);
    }
    s->num_in_cols = n;
    for (size_t o = 0; o < p->num_outputs && st == SC_OK; o++)
        if ((st = need_col(all, p->path, sc_ds_label_name(spec, o), "label", err)) == SC_OK)
            cols[n++] = sc_ds_label_name(spec, o);
    if (st == SC_OK && p->sample_weight
        && (st = need_col(all, p->path, p->sample_weight, "sample weight", err)) == SC_OK)
        cols[n++] = p->sample_weight;
    if (st == SC_OK) st = resolve(spec, s->num_in_cols, err);
    if (st != SC_OK) goto fail;
    cp.columns = cols;
    cp.num_columns = n;
    if ((st = sc_csv_reader_create(p->path, &cp, &s->r, err)) != SC_OK) goto fail;
    sc_csv_reader_free(all); /* the default column names pointed into it: used up by now */
    free(cols);
    out->ops = &csv_ops;
    out->self = s;
    return SC_OK;
fail:
    sc_csv_reader_free(all);
    free(cols);
    csv_free(s);
    return st;
}
