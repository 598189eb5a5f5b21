/* data/dataset_tfrecord.c — dataset source over TFRecord files of tf.train.Example: the file
 * list (globs, comma-separated), one reader open at a time, and feature -> float32 decoding. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset_internal.h"
#include "sidecar/tensor.h"

/* One thing read per example: an input, a label or the weight. */
typedef struct field {
    const char *what;    /* "input", "label", "sample weight" */
    const char *name;    /* the input / label name for messages */
    const char *feature; /* the feature read */
    sc_dtype bytes_dtype;
    sc_dataset_shape *shape;
    size_t *elems;
} field;

typedef struct tfr_src {
    const sc_ds_spec *spec;
    sc_tfrecord_params tp;
    char **files;
    size_t num_files, cur;
    sc_tfrecord_reader *r;
    field fields[SC_DATASET_MAX_INPUTS + SC_DATASET_MAX_OUTPUTS + 1];
    size_t num_fields;
    size_t weight_elems;
    sc_dataset_shape weight_shape;
    int64_t *i64; /* int64_list scratch, sized for the largest field */
    size_t i64_cap;
} tfr_src;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static sc_status add_file(tfr_src *s, const char *path, size_t *cap, sc_error *err) {
    if (s->num_files == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char **nf = realloc(s->files, nc * sizeof *nf);
        if (!nf) return sc_error_set(err, SC_NO_MEMORY, "%s: file list", path);
        s->files = nf;
        *cap = nc;
    }
    if (!(s->files[s->num_files] = strdup(path)))
        return sc_error_set(err, SC_NO_MEMORY, "%s: file list", path);
    s->num_files++;
    return SC_OK;
}

/* Splits the comma-separated list and expands each glob pattern; a plain path is kept as is (a
 * missing file is reported when it is opened, with the reader's message). */
static sc_status expand(tfr_src *s, const char *list, sc_error *err) {
    size_t cap = 0;
    sc_status st = SC_OK;
    char *copy = strdup(list), *save = NULL;
    if (!copy) return sc_error_set(err, SC_NO_MEMORY, "%s: file list", list);
    for (char *tok = strtok_r(copy, ",", &save); tok && st == SC_OK;
         tok = strtok_r(NULL, ",", &save)) {
        if (!*tok) continue;
        if (!strpbrk(tok, "*?[")) {
            st = add_file(s, tok, &cap, err);
            continue;
        }
        glob_t g;
        int rc = glob(tok, 0, NULL, &g);
        if (rc == GLOB_NOMATCH)
            st = sc_error_set(err, SC_NOT_FOUND, "%s: no file matches the pattern", tok);
        else if (rc != 0)
            st = sc_error_set(err, rc == GLOB_NOSPACE ? SC_NO_MEMORY : SC_IO,
                              "%s: cannot expand the pattern", tok);
        for (size_t i = 0; rc == 0 && st == SC_OK && i < g.gl_pathc; i++)
            st = add_file(s, g.gl_pathv[i], &cap, err);
        globfree(&g);
    }
    free(copy);
    if (st == SC_OK && s->num_files == 0)
        st = sc_error_set(err, SC_INVALID_ARGUMENT, "'%s': no TFRecord file given", list);
    if (st == SC_OK) qsort(s->files, s->num_files, sizeof *s->files, cmp_str);
    return st;
}

static int key_list(const uint8_t *key, size_t len, void *user) {
    char *buf = user;
    size_t used = strlen(buf), cap = 200;
    if (used + len + 3 >= cap) {
        if (used + 4 < cap) strcat(buf, used ? ", ..." : "...");
        return 1;
    }
    if (used) strcat(buf, ", ");
    strncat(buf, (const char *)key, len);
    return 0;
}

/* Finds f's feature in ex; a missing one is SC_INVALID_ARGUMENT listing the features present. */
static sc_status find(const sc_example *ex, const field *f, sc_feature *feat, sc_error *err) {
    int found = 0;
    sc_status st = sc_example_find(ex, f->feature, feat, &found, err);
    if (st != SC_OK || found) return st;
    char present[208] = "";
    if (sc_example_foreach_key(ex, key_list, present, NULL) != SC_OK || !present[0])
        snprintf(present, sizeof present, "none");
    return sc_error_set(err, SC_INVALID_ARGUMENT,
                        "%s: record %llu: no feature '%s' for %s '%s' (features present: %s)",
                        ex->file, (unsigned long long)ex->record, f->feature, f->what, f->name,
                        present);
}

/* Number of values the feature holds (for bytes: elements of bytes_dtype in its one value). */
static sc_status count_values(const sc_example *ex, const field *f, const sc_feature *feat,
                              uint64_t *count, const uint8_t **raw, sc_error *err) {
    if (f->bytes_dtype == SC_DT_INVALID) {
        if (feat->kind == SC_FEATURE_BYTES)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: record %llu: feature '%s' (%s '%s') is bytes_list; say "
                                "which dtype its bytes hold (bytes_dtype; the command's "
                                "--bytes-dtype NAME=DTYPE)",
                                ex->file, (unsigned long long)ex->record, f->feature, f->what,
                                f->name);
        *count = feat->count;
        return SC_OK;
    }
    sc_bytes b;
    size_t got = 0, esize = sc_dtype_size(f->bytes_dtype);
    if (feat->kind != SC_FEATURE_BYTES || feat->count != 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: record %llu: feature '%s' (%s '%s') is %s with %zu values, "
                            "expected bytes_list with one value",
                            ex->file, (unsigned long long)ex->record, f->feature, f->what, f->name,
                            sc_feature_kind_name(feat->kind), feat->count);
    sc_status st = sc_feature_bytes(ex, feat, &b, 1, &got, err);
    if (st != SC_OK) return st;
    if (esize == 0 || b.size % esize != 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: record %llu: feature '%s' (%s '%s') holds %zu bytes, not a "
                            "whole number of %s elements",
                            ex->file, (unsigned long long)ex->record, f->feature, f->what, f->name,
                            b.size, sc_dtype_name(f->bytes_dtype));
    *count = b.size / esize;
    *raw = b.data;
    return SC_OK;
}

static sc_status decode(tfr_src *s, const sc_example *ex, const field *f, float *dst,
                        sc_error *err) {
    sc_feature feat;
    uint64_t count = 0;
    const uint8_t *raw = NULL;
    size_t got = 0;
    char shape[128];
    sc_status st = find(ex, f, &feat, err);
    if (st == SC_OK) st = count_values(ex, f, &feat, &count, &raw, err);
    if (st != SC_OK) return st;
    if (count != *f->elems)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: record %llu: feature '%s' (%s '%s') has %llu values, expected "
                            "shape %s (%zu values)",
                            ex->file, (unsigned long long)ex->record, f->feature, f->what, f->name,
                            (unsigned long long)count,
                            sc_dataset_shape_str(f->shape, shape, sizeof shape), *f->elems);
    if (raw) return sc_convert_to_float32(f->bytes_dtype, raw, (size_t)count, dst, err);
    if (feat.kind == SC_FEATURE_FLOAT) return sc_feature_floats(ex, &feat, dst, count, &got, err);
    if (feat.kind == SC_FEATURE_INT64) {
        st = sc_feature_int64s(ex, &feat, s->i64, count, &got, err);
        return st == SC_OK ? sc_convert_to_float32(SC_DT_INT64, s->i64, count, dst, err) : st;
    }
    return SC_OK; /* an unset kind with 0 values expected */
}

/* The next record as an Example, moving through the files; ex->data NULL at the end. */
static sc_status next_example(tfr_src *s, sc_example *ex, sc_error *err) {
    for (;;) {
        if (!s->r) {
            if (s->cur == s->num_files) {
                ex->data = NULL;
                return SC_OK;
            }
            sc_status st = sc_tfrecord_reader_create(s->files[s->cur], &s->tp, &s->r, err);
            if (st != SC_OK) return st;
        }
        const uint8_t *payload;
        size_t len;
        uint64_t index = sc_tfrecord_reader_index(s->r);
        sc_status st = sc_tfrecord_reader_next(s->r, &payload, &len, err);
        if (st != SC_OK) return st;
        if (payload) {
            ex->data = payload;
            ex->size = len;
            ex->file = s->files[s->cur];
            ex->record = index;
            return SC_OK;
        }
        sc_tfrecord_reader_free(s->r);
        s->r = NULL;
        s->cur++;
    }
}

static sc_status tfr_fill(void *self, float *const *inputs, float *const *labels, float *weights,
                          size_t cap, size_t *n, sc_ds_origin *first, sc_error *err) {
    tfr_src *s = self;
    size_t ni = s->spec->p.num_inputs, no = s->spec->p.num_outputs;
    size_t k = 0;
    sc_status st = SC_OK;
    first->file = NULL;
    first->record = 0;
    for (; k < cap && st == SC_OK; k++) {
        sc_example ex;
        if ((st = next_example(s, &ex, err)) != SC_OK || !ex.data) break;
        if (k == 0) {
            first->file = ex.file;
            first->record = ex.record;
        }
        for (size_t j = 0; j < s->num_fields && st == SC_OK; j++) {
            float *base = j < ni ? inputs[j] : j < ni + no ? labels[j - ni] : weights;
            st = decode(s, &ex, &s->fields[j], base + k * *s->fields[j].elems, err);
        }
    }
    *n = k;
    return st;
}

static sc_status tfr_rewind(void *self, sc_error *err) {
    (void)err;
    tfr_src *s = self;
    sc_tfrecord_reader_free(s->r);
    s->r = NULL;
    s->cur = 0;
    return SC_OK;
}

static void tfr_free(void *self) {
    tfr_src *s = self;
    if (!s) return;
    sc_tfrecord_reader_free(s->r);
    for (size_t i = 0; i < s->num_files; i++) free(s->files[i]);
    free(s->files);
    free(s->i64);
    free(s);
}

/* Another shard's records: framed and CRC-checked by the reader, not parsed. */
static sc_status tfr_skip(void *self, size_t cap, size_t *n, sc_error *err) {
    tfr_src *s = self;
    size_t k = 0;
    sc_status st = SC_OK;
    for (; k < cap; k++) {
        sc_example ex;
        if ((st = next_example(s, &ex, err)) != SC_OK || !ex.data) break;
    }
    *n = k;
    return st;
}

static const sc_ds_source_ops tfr_ops = {
    .fill = tfr_fill, .skip = tfr_skip, .rewind = tfr_rewind, .free = tfr_free};

/* A group of evaluators with at least as many files as shards, reading whole passes: this shard
 * keeps files shard_index, shard_index + N, ... and batches them itself (dataset.h). */
static void keep_shard_files(tfr_src *s, sc_ds_spec *spec) {
    size_t n = spec->p.num_shards, r = spec->p.shard_index, kept = 0;
    if (n <= 1 || spec->p.steps || s->num_files < n) return;
    for (size_t i = 0; i < s->num_files; i++) {
        if (i % n == r)
            s->files[kept++] = s->files[i];
        else
            free(s->files[i]);
    }
    s->num_files = kept;
    spec->sharded_by_source = 1;
}

/* Resolves every field's shape from the first record (when there is one). */
static sc_status peek(tfr_src *s, sc_error *err) {
    sc_example ex;
    sc_status st = next_example(s, &ex, err);
    for (size_t j = 0; st == SC_OK && j < s->num_fields; j++) {
        field *f = &s->fields[j];
        sc_feature feat;
        uint64_t count = 0;
        const uint8_t *raw = NULL;
        if (f->bytes_dtype != SC_DT_INVALID && !sc_dtype_converts_to_float32(f->bytes_dtype)) {
            st = sc_error_set(err, SC_INVALID_ARGUMENT,
                              "%s: %s '%s': bytes of %s do not convert to float32", s->spec->p.path,
                              f->what, f->name, sc_dtype_name(f->bytes_dtype));
        } else if (!ex.data) {
            /* No records: the shapes must be given in full. */
            if (sc_ds_shape_elems(f->shape, f->elems) != 0)
                st = sc_error_set(err, SC_INVALID_ARGUMENT,
                                  "%s: no records to take the shape of %s '%s' from",
                                  s->spec->p.path, f->what, f->name);
        } else if ((st = find(&ex, f, &feat, err)) == SC_OK
                   && (st = count_values(&ex, f, &feat, &count, &raw, err)) == SC_OK) {
            char src[300];
            snprintf(src, sizeof src, "feature '%s'", f->feature);
            st = sc_ds_resolve_count(f->shape, count, ex.file, f->what, f->name,
                                     strcmp(f->feature, f->name) ? src : NULL, f->elems, err);
        }
        if (st == SC_OK && *f->elems > s->i64_cap) s->i64_cap = *f->elems;
    }
    if (st == SC_OK && s->i64_cap) {
        s->i64 = malloc(s->i64_cap * sizeof *s->i64);
        if (!s->i64) st = sc_error_set(err, SC_NO_MEMORY, "%s: int64 scratch", s->spec->p.path);
    }
    sc_error e2;
    return st == SC_OK ? tfr_rewind(s, &e2) : st;
}

sc_status sc_ds_tfrecord_open(sc_ds_spec *spec, sc_ds_source *out, sc_error *err) {
    sc_dataset_params *p = &spec->p;
    tfr_src *s = calloc(1, sizeof *s);
    if (!s) return sc_error_set(err, SC_NO_MEMORY, "%s: dataset source", p->path);
    s->spec = spec;
    s->tp = sc_tfrecord_default_params();
    s->tp.compression = p->compression;
    for (size_t i = 0; i < p->num_inputs; i++)
        s->fields[s->num_fields++] = (field){"input layer",
                                             sc_ds_input_name(spec, i),
                                             sc_ds_input_feature(spec, i),
                                             p->inputs[i].bytes_dtype,
                                             &p->inputs[i].shape,
                                             &spec->in_elems[i]};
    for (size_t o = 0; o < p->num_outputs; o++)
        s->fields[s->num_fields++] = (field){"label",
                                             sc_ds_label_name(spec, o),
                                             sc_ds_label_name(spec, o),
                                             p->outputs[o].bytes_dtype,
                                             &p->outputs[o].shape,
                                             &spec->out_elems[o]};
    if (p->sample_weight) {
        s->weight_shape.rank = 0;
        s->fields[s->num_fields++] = (field){"sample weight", p->sample_weight, p->sample_weight,
                                             SC_DT_INVALID,   &s->weight_shape, &s->weight_elems};
    }
    sc_status st = expand(s, p->path, err);
    if (st == SC_OK) keep_shard_files(s, spec);
    if (st == SC_OK) st = peek(s, err);
    if (st != SC_OK) {
        tfr_free(s);
        return st;
    }
    out->ops = &tfr_ops;
    out->self = s;
    return SC_OK;
}
