/* data/dataset.c — batching over a source, with an optional reader thread.
 *
 * Two batch slots. Synchronous mode fills slot 0 on each call. With prefetch, the reader thread
 * fills the slots in turn; a slot is `full` from the moment the reader publishes it until the
 * caller, on its next call, hands it back. The reader only writes slots that are not full and
 * the caller only reads full ones, and `full` changes under the mutex, which orders the slot's
 * contents between the threads. The producer state (batch counter, end of data) belongs to
 * whichever thread produces; rewind joins the reader before touching it.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/strutil.h"
#include "data/dataset_internal.h"

typedef struct slot {
    float *in[SC_DATASET_MAX_INPUTS];
    float *lab[SC_DATASET_MAX_OUTPUTS];
    float *w;
    const float *cw;
    const float *cin[SC_DATASET_MAX_INPUTS]; /* the same pointers, typed for sc_batch */
    const float *clab[SC_DATASET_MAX_OUTPUTS];
    size_t n;
    int64_t index;
    sc_ds_origin origin;
    int end;       /* the pass is over: n == 0 */
    int ran_out;   /* ... because the data ran out before `steps` batches */
    int64_t total; /* examples in the data when known, else -1 */
    sc_status status;
    sc_error err;
    int full; /* guarded by mu */
} slot;

struct sc_dataset {
    sc_ds_spec spec;
    sc_ds_source src;
    slot slots[2];

    /* producer side */
    int64_t next_index;
    uint64_t examples;
    int data_done;
    int64_t total;

    /* caller side */
    int finished;
    sc_status fin_status;
    sc_error fin_err;
    int ran_out;
    int held; /* slot handed out by the last next, or -1 */
    int rd;   /* slot the next batch arrives in */

    pthread_mutex_t mu;
    pthread_cond_t cv_ready, cv_space;
    pthread_t thread;
    int thread_running;
    int stop; /* guarded by mu */
};

sc_dataset_params sc_dataset_default_params(void) {
    sc_dataset_params p;
    memset(&p, 0, sizeof p);
    p.format = SC_DATA_FORMAT_AUTO;
    p.batch_size = 32;
    p.num_inputs = 1;
    p.num_outputs = 1;
    for (size_t i = 0; i < SC_DATASET_MAX_INPUTS; i++) p.inputs[i].shape.rank = -1;
    for (size_t o = 0; o < SC_DATASET_MAX_OUTPUTS; o++) p.outputs[o].shape.rank = -1;
    p.compression = SC_COMPRESSION_AUTO;
    p.csv_delimiter = ',';
    p.prefetch = 1;
    p.num_shards = 1;
    return p;
}

static sc_data_format detect_format(const char *path) {
    size_t n = strcspn(path, ","); /* a list: the first entry's extension decides */
    if (sc_ends_with_n(path, n, ".npz", 1)) return SC_DATA_FORMAT_NPZ;
    if (sc_ends_with_n(path, n, ".npy", 1)) return SC_DATA_FORMAT_NPY;
    if (sc_ends_with_n(path, n, ".csv", 1)) return SC_DATA_FORMAT_CSV;
    return SC_DATA_FORMAT_TFRECORD;
}

/* Sharded by global batch (dataset.h): passes over the batches that belong to other shards,
 * counting them as the one-process pass would, so batch indices, `steps` and the end of the
 * data are the same on every shard. */
static sc_status skip_other_shards(sc_dataset *ds, slot *s) {
    const sc_dataset_params *p = &ds->spec.p;
    if (p->num_shards <= 1 || ds->spec.sharded_by_source) return SC_OK;
    while (!ds->data_done && !(p->steps && (uint64_t)ds->next_index >= p->steps)
           && (uint64_t)ds->next_index % p->num_shards != p->shard_index) {
        size_t n = 0;
        sc_status st = ds->src.ops->skip
                           ? ds->src.ops->skip(ds->src.self, p->batch_size, &n, &s->err)
                           : ds->src.ops->fill(ds->src.self, s->in, s->lab, s->w, p->batch_size, &n,
                                               &s->origin, &s->err);
        if (st != SC_OK) return st;
        ds->examples += n;
        if (n < p->batch_size) {
            ds->data_done = 1;
            ds->total = (int64_t)ds->examples;
        }
        if (n > 0) ds->next_index++;
    }
    return SC_OK;
}

/* The pass ends with error st (its message already in s->err). */
static void fail_slot(sc_dataset *ds, slot *s, sc_status st) {
    s->status = st;
    s->err.status = st;
    ds->data_done = 1;
    s->end = 1;
    s->total = ds->total;
}

/* Producer: the next batch of the pass into s. */
static void produce(sc_dataset *ds, slot *s) {
    const sc_dataset_params *p = &ds->spec.p;
    s->n = 0;
    s->end = 0;
    s->ran_out = 0;
    s->status = SC_OK;
    sc_error_clear(&s->err);
    sc_status st = ds->data_done ? SC_OK : skip_other_shards(ds, s);
    if (st != SC_OK) {
        fail_slot(ds, s, st);
        return;
    }
    if (!ds->data_done && !(p->steps && (uint64_t)ds->next_index >= p->steps)) {
        size_t n = 0;
        if (ds->src.ops->view) {
            st = ds->src.ops->view(ds->src.self, s->cin, s->clab, &s->cw, p->batch_size, &n,
                                   &s->origin, &s->err);
        } else {
            s->cw = s->w;
            st = ds->src.ops->fill(ds->src.self, s->in, s->lab, s->w, p->batch_size, &n, &s->origin,
                                   &s->err);
        }
        if (st != SC_OK) {
            fail_slot(ds, s, st);
            return;
        }
        ds->examples += n;
        if (n < p->batch_size) {
            ds->data_done = 1;
            ds->total = (int64_t)ds->examples;
        }
        s->n = n;
    }
    if (s->n == 0) {
        s->end = 1;
        s->ran_out = p->steps && (uint64_t)ds->next_index < p->steps;
    } else {
        s->index = ds->next_index++;
    }
    s->total = ds->total;
}

static void *reader_main(void *arg) {
    sc_dataset *ds = arg;
    int k = 0;
    pthread_mutex_lock(&ds->mu);
    for (;;) {
        while (ds->slots[k].full && !ds->stop) pthread_cond_wait(&ds->cv_space, &ds->mu);
        if (ds->stop) break;
        pthread_mutex_unlock(&ds->mu);
        produce(ds, &ds->slots[k]);
        pthread_mutex_lock(&ds->mu);
        ds->slots[k].full = 1;
        pthread_cond_signal(&ds->cv_ready);
        if (ds->slots[k].end) break; /* errors end the pass too */
        k ^= 1;
    }
    pthread_mutex_unlock(&ds->mu);
    return NULL;
}

static void stop_reader(sc_dataset *ds) {
    if (ds->thread_running) {
        pthread_mutex_lock(&ds->mu);
        ds->stop = 1;
        pthread_cond_broadcast(&ds->cv_space);
        pthread_mutex_unlock(&ds->mu);
        pthread_join(ds->thread, NULL);
        ds->thread_running = 0;
    }
    ds->stop = 0;
    ds->slots[0].full = ds->slots[1].full = 0;
    ds->held = -1;
    ds->rd = 0;
}

static sc_status alloc_slot(sc_dataset *ds, slot *s, sc_error *err) {
    const sc_ds_spec *sp = &ds->spec;
    size_t bs = sp->p.batch_size, bytes;
    for (size_t i = 0; i < sp->p.num_inputs + sp->p.num_outputs; i++) {
        int is_in = i < sp->p.num_inputs;
        size_t elems = is_in ? sp->in_elems[i] : sp->out_elems[i - sp->p.num_inputs];
        if (__builtin_mul_overflow(elems, bs, &bytes)
            || __builtin_mul_overflow(bytes, sizeof(float), &bytes))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: batch of %zu x %zu values does not fit in memory", sp->p.path,
                                bs, elems);
        float *buf = malloc(bytes ? bytes : 1);
        if (!buf)
            return sc_error_set(err, SC_NO_MEMORY, "%s: batch buffer of %zu bytes", sp->p.path,
                                bytes);
        if (is_in)
            s->cin[i] = s->in[i] = buf;
        else
            s->clab[i - sp->p.num_inputs] = s->lab[i - sp->p.num_inputs] = buf;
    }
    if (sp->p.sample_weight) {
        if (__builtin_mul_overflow(bs, sizeof(float), &bytes))
            return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: batch size %zu too large",
                                sp->p.path, bs);
        if (!(s->w = malloc(bytes)))
            return sc_error_set(err, SC_NO_MEMORY, "%s: weight buffer of %zu bytes", sp->p.path,
                                bytes);
    }
    return SC_OK;
}

static void free_slot(slot *s) {
    for (size_t i = 0; i < SC_DATASET_MAX_INPUTS; i++) free(s->in[i]);
    for (size_t o = 0; o < SC_DATASET_MAX_OUTPUTS; o++) free(s->lab[o]);
    free(s->w);
}

/* Opens a file dataset (arrays NULL) or in-memory arrays. */
static sc_status dataset_open(const sc_dataset_params *params, const sc_dataset_arrays *arrays,
                              sc_dataset **out, sc_error *err) {
    assert(params && out);
    sc_status st = SC_OK;
    *out = NULL;
    sc_dataset_params pa;
    if (arrays) { /* nothing to read ahead; a name for messages */
        pa = *params;
        pa.prefetch = 0;
        pa.sample_weight = NULL;
        if (!pa.path || !*pa.path) pa.path = "arrays";
        params = &pa;
    }
    if (!params->path || !*params->path)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "dataset: no data path given");
    if (params->batch_size == 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: batch size must be at least 1",
                            params->path);
    if (params->num_inputs == 0 || params->num_inputs > SC_DATASET_MAX_INPUTS
        || params->num_outputs > SC_DATASET_MAX_OUTPUTS)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: %zu inputs and %zu outputs (1..%d inputs, 0..%d outputs)",
                            params->path, params->num_inputs, params->num_outputs,
                            SC_DATASET_MAX_INPUTS, SC_DATASET_MAX_OUTPUTS);
    for (size_t i = 0; i < params->num_inputs; i++)
        if (params->num_inputs > 1 && !params->inputs[i].name)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: input %zu has no name (a model with several inputs needs "
                                "the input layer names)",
                                params->path, i);
    if (params->num_shards > 1 && params->shard_index >= params->num_shards)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: shard %zu of %zu (0..%zu)", params->path,
                            params->shard_index, params->num_shards, params->num_shards - 1);
    for (size_t i = 0; i < params->num_inputs + params->num_outputs; i++) {
        const sc_dataset_shape *sh = i < params->num_inputs
                                         ? &params->inputs[i].shape
                                         : &params->outputs[i - params->num_inputs].shape;
        if (sh->rank > SC_DATASET_MAX_RANK)
            return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: shape of rank %d (at most %d)",
                                params->path, sh->rank, SC_DATASET_MAX_RANK);
    }

    sc_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return sc_error_set(err, SC_NO_MEMORY, "%s: dataset", params->path);
    ds->spec.p = *params;
    ds->spec.num_examples = -1;
    ds->total = -1;
    ds->held = -1;
    pthread_mutex_init(&ds->mu, NULL);
    pthread_cond_init(&ds->cv_ready, NULL);
    pthread_cond_init(&ds->cv_space, NULL);
    sc_data_format f = arrays                                  ? SC_DATA_FORMAT_ARRAYS
                       : params->format == SC_DATA_FORMAT_AUTO ? detect_format(params->path)
                                                               : params->format;
    ds->spec.format = f;
    switch (f) {
    case SC_DATA_FORMAT_ARRAYS:
        st = arrays
                 ? sc_ds_arrays_open(&ds->spec, arrays, &ds->src, err)
                 : sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: arrays are opened with sc_dataset_open_arrays", params->path);
        break;
    case SC_DATA_FORMAT_NPZ:
    case SC_DATA_FORMAT_NPY: st = sc_ds_npz_open(&ds->spec, &ds->src, err); break;
    case SC_DATA_FORMAT_CSV: st = sc_ds_csv_open(&ds->spec, &ds->src, err); break;
    case SC_DATA_FORMAT_TFRECORD: st = sc_ds_tfrecord_open(&ds->spec, &ds->src, err); break;
    default:
        st = sc_error_set(err, SC_INVALID_ARGUMENT, "%s: unknown data format %d", params->path,
                          (int)f);
    }
    if (st != SC_OK) goto fail;
    ds->total = ds->spec.num_examples;
    for (int k = 0; k < (params->prefetch ? 2 : 1) && !ds->src.ops->view; k++)
        if ((st = alloc_slot(ds, &ds->slots[k], err)) != SC_OK) goto fail;
    *out = ds;
    return SC_OK;
fail:
    sc_dataset_free(ds);
    return st;
}

sc_status sc_dataset_open(const sc_dataset_params *params, sc_dataset **out, sc_error *err) {
    return dataset_open(params, NULL, out, err);
}

sc_status sc_dataset_open_arrays(const sc_dataset_params *params, const sc_dataset_arrays *arrays,
                                 sc_dataset **out, sc_error *err) {
    assert(arrays);
    return dataset_open(params, arrays, out, err);
}

void sc_dataset_free(sc_dataset *ds) {
    if (!ds) return;
    stop_reader(ds);
    if (ds->src.ops) ds->src.ops->free(ds->src.self);
    free_slot(&ds->slots[0]);
    free_slot(&ds->slots[1]);
    pthread_cond_destroy(&ds->cv_ready);
    pthread_cond_destroy(&ds->cv_space);
    pthread_mutex_destroy(&ds->mu);
    free(ds);
}

static sc_status finish(sc_dataset *ds, sc_error *err) {
    if (ds->fin_status != SC_OK && err)
        *err = ds->fin_err;
    else
        sc_error_clear(err);
    return ds->fin_status;
}

sc_status sc_dataset_next(sc_dataset *ds, sc_batch *b, sc_error *err) {
    assert(ds && b);
    memset(b, 0, sizeof *b);
    b->num_inputs = ds->spec.p.num_inputs;
    b->num_outputs = ds->spec.p.num_outputs;
    if (ds->finished) return finish(ds, err);
    slot *s;
    if (ds->spec.p.prefetch) {
        if (!ds->thread_running) {
            if (pthread_create(&ds->thread, NULL, reader_main, ds) != 0)
                return sc_error_set(err, SC_NO_MEMORY, "%s: cannot start the reader thread",
                                    ds->spec.p.path);
            ds->thread_running = 1;
        }
        pthread_mutex_lock(&ds->mu);
        if (ds->held >= 0) {
            ds->slots[ds->held].full = 0;
            pthread_cond_signal(&ds->cv_space);
            ds->held = -1;
        }
        while (!ds->slots[ds->rd].full) pthread_cond_wait(&ds->cv_ready, &ds->mu);
        pthread_mutex_unlock(&ds->mu);
        s = &ds->slots[ds->rd];
        ds->held = ds->rd;
        ds->rd ^= 1;
    } else {
        s = &ds->slots[0];
        produce(ds, s);
    }
    if (s->total >= 0) ds->spec.num_examples = s->total;
    if (s->end) {
        ds->finished = 1;
        ds->ran_out = s->ran_out;
        ds->fin_status = s->status;
        ds->fin_err = s->err;
        return finish(ds, err);
    }
    b->n = s->n;
    b->index = s->index;
    b->inputs = s->cin;
    b->labels = s->clab;
    b->weights = s->cw;
    b->source = s->origin.file;
    b->source_record = s->origin.record;
    sc_error_clear(err);
    return SC_OK;
}

sc_status sc_dataset_rewind(sc_dataset *ds, sc_error *err) {
    stop_reader(ds);
    ds->next_index = 0;
    ds->examples = 0;
    ds->data_done = 0;
    ds->finished = 0;
    ds->fin_status = SC_OK;
    ds->ran_out = 0;
    sc_status st = ds->src.ops->rewind(ds->src.self, &ds->fin_err);
    if (st != SC_OK) { /* next keeps failing until a rewind succeeds */
        ds->finished = 1;
        ds->fin_status = st;
    }
    return finish(ds, err);
}

int sc_dataset_ran_out(const sc_dataset *ds) { return ds->ran_out; }
int64_t sc_dataset_num_examples(const sc_dataset *ds) { return ds->spec.num_examples; }

int64_t sc_dataset_num_batches(const sc_dataset *ds) {
    int64_t n = ds->spec.num_examples, bs = (int64_t)ds->spec.p.batch_size;
    int64_t steps = (int64_t)ds->spec.p.steps;
    if (n < 0) return -1;
    int64_t b = (n + bs - 1) / bs;
    return steps > 0 && steps < b ? steps : b;
}
sc_data_format sc_dataset_format(const sc_dataset *ds) { return ds->spec.format; }
const char *sc_dataset_path(const sc_dataset *ds) { return ds->spec.p.path; }

const sc_dataset_shape *sc_dataset_input_shape(const sc_dataset *ds, size_t i) {
    return i < ds->spec.p.num_inputs ? &ds->spec.p.inputs[i].shape : NULL;
}

const sc_dataset_shape *sc_dataset_label_shape(const sc_dataset *ds, size_t o) {
    return o < ds->spec.p.num_outputs ? &ds->spec.p.outputs[o].shape : NULL;
}
