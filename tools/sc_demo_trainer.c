/* tools/sc_demo_trainer.c — a small, real training process that writes TensorFlow checkpoints
 * the way tf.train.CheckpointManager or Keras' ModelCheckpoint do, for `make demo` and the
 * end-to-end tests (a trainer writing checkpoints while sidecar evaluates them).
 *
 * It trains Dense(32, relu) -> Dense(4, softmax) on 16-dimensional Gaussian blobs (see
 * demo_common.h) with minibatch SGD and saves a checkpoint after every epoch. Run with --help for
 * the options. stdout carries one line per epoch and nothing else:
 *   epoch <E> step <S> loss <L> accuracy <A> checkpoint <PREFIX>
 * (S = optimizer iterations so far; L and A are the sample-weighted means over the epoch, as
 * Keras logs them). Exit 0 on success, 1 with "sc_demo_trainer: <message>" on stderr on
 * failure, 2 on bad usage.
 */
#include <assert.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sidecar/checkpoint.h"
#include "sidecar/data.h"
#include "core/error.h"
#include "core/fileio.h"
#include "demo_common.h"

#define ATTR        "/.ATTRIBUTES/VARIABLE_VALUE"
#define MAX_EPOCHS  100000
#define MAX_SAMPLES 10000000
#define MAX_BATCH   65536

static const char USAGE[] =
    "usage: sc_demo_trainer [--out DIR] [options]\n"
    "\n"
    "Trains Dense(32, relu) -> Dense(4, softmax) on seeded 16-dimensional Gaussian blobs with\n"
    "minibatch SGD and writes a TensorFlow checkpoint into DIR after every epoch.\n"
    "\n"
    "  --out DIR               checkpoint directory (created; must not hold a `checkpoint` file)\n"
    "  --layout manager|keras  manager (default): tf.train.CheckpointManager, DIR/ckpt-N with\n"
    "                          N = save_counter, keys under model/, save_counter, state file with\n"
    "                          every kept checkpoint and its timestamp, older ones deleted.\n"
    "                          keras: ModelCheckpoint('DIR/ckpt-{epoch}',\n"
    "                          save_weights_only=True), keys at the root, no save_counter,\n"
    "                          every file kept, state file naming only the latest\n"
    "  --max-to-keep K         manager only: checkpoints kept (default 5; 0 keeps all)\n"
    "  --optimizer new|legacy  new (default): optimizer/_iterations and _learning_rate (Keras\n"
    "                          2.11+); legacy: optimizer/iter, learning_rate, decay, momentum\n"
    "  --epochs N              default 10\n"
    "  --steps-per-epoch S     batches per epoch (default: one pass, ceil(samples / batch size));\n"
    "                          the data is reshuffled whenever a pass ends\n"
    "  --batch-size B          default 32\n"
    "  --samples N             training samples (default 1000)\n"
    "  --eval-samples N        rows of the --write-data split (default 500)\n"
    "  --learning-rate LR      default 0.01\n"
    "  --seed S                data, initial weights and shuffling (default 1)\n"
    "  --sleep-ms M            pause after each checkpoint but the last (default 0)\n"
    "  --write-data PATH.npz   held-out split as np.savez(x=float32 [N,16], y=int64 [N])\n"
    "  --write-model PATH.json the model as Keras 2.15 model.to_json()\n"
    "  --archive DIR           also write every checkpoint to DIR/ckpt-N (no state file, never\n"
    "                          deleted): a record of exactly what was saved, for tests\n"
    "\n"
    "Data and model are written before training starts; without --out nothing is trained.\n"
    "Not written: optimizer slot variables (plain SGD has none) and the\n"
    "_CHECKPOINTABLE_OBJECT_GRAPH entry (readers find the variables by key).\n"
    "stdout: one line per epoch, 'epoch E step S loss L accuracy A checkpoint PREFIX'.\n";

typedef struct options {
    const char *out, *data_path, *model_path, *archive;
    int keras_layout, legacy_optimizer;
    long long epochs, steps_per_epoch, batch_size, samples, eval_samples, max_to_keep, sleep_ms;
    uint64_t seed;
    double learning_rate;
} options;

/* ---- command line ---------------------------------------------------------------------------- */

static int parse_ll(const char *s, long long lo, long long hi, long long *v) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

/* 0 on success; prints the problem and returns -1 otherwise. */
static int parse_options(int argc, char **argv, options *o, int *help) {
    *o = (options){.epochs = 10,
                   .batch_size = 32,
                   .samples = 1000,
                   .eval_samples = 500,
                   .max_to_keep = -1,
                   .seed = 1,
                   .learning_rate = 0.01};
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n = 0;
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
            return 0;
        }
        if (a[0] != '-' || a[1] != '-' || !v) {
            fprintf(stderr, "sc_demo_trainer: %s: %s\n", a,
                    a[0] == '-' ? "missing value" : "unexpected argument");
            return -1;
        }
        i++;
        if (!strcmp(a, "--out"))
            bad = !*(o->out = v);
        else if (!strcmp(a, "--archive"))
            bad = !*(o->archive = v);
        else if (!strcmp(a, "--write-data"))
            bad = !*(o->data_path = v);
        else if (!strcmp(a, "--write-model"))
            bad = !*(o->model_path = v);
        else if (!strcmp(a, "--layout")) {
            o->keras_layout = !strcmp(v, "keras");
            bad = !o->keras_layout && strcmp(v, "manager");
        } else if (!strcmp(a, "--optimizer")) {
            o->legacy_optimizer = !strcmp(v, "legacy");
            bad = !o->legacy_optimizer && strcmp(v, "new");
        } else if (!strcmp(a, "--epochs"))
            bad = parse_ll(v, 1, MAX_EPOCHS, &o->epochs);
        else if (!strcmp(a, "--steps-per-epoch"))
            bad = parse_ll(v, 1, INT32_MAX, &o->steps_per_epoch);
        else if (!strcmp(a, "--batch-size"))
            bad = parse_ll(v, 1, MAX_BATCH, &o->batch_size);
        else if (!strcmp(a, "--samples"))
            bad = parse_ll(v, 1, MAX_SAMPLES, &o->samples);
        else if (!strcmp(a, "--eval-samples"))
            bad = parse_ll(v, 1, MAX_SAMPLES, &o->eval_samples);
        else if (!strcmp(a, "--max-to-keep"))
            bad = parse_ll(v, 0, MAX_EPOCHS, &o->max_to_keep);
        else if (!strcmp(a, "--sleep-ms"))
            bad = parse_ll(v, 0, 3600000, &o->sleep_ms);
        else if (!strcmp(a, "--seed")) {
            bad = parse_ll(v, 0, LLONG_MAX, &n);
            o->seed = (uint64_t)n;
        } else if (!strcmp(a, "--learning-rate")) {
            char *end;
            o->learning_rate = strtod(v, &end);
            bad = end == v || *end || !(o->learning_rate > 0.0 && o->learning_rate <= 10.0);
        } else {
            fprintf(stderr, "sc_demo_trainer: unknown option %s\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "sc_demo_trainer: %s: invalid value '%s'\n", a, v);
            return -1;
        }
    }
    if (o->keras_layout && o->max_to_keep >= 0) {
        fprintf(stderr, "sc_demo_trainer: --max-to-keep applies to --layout manager only "
                        "(ModelCheckpoint keeps every file)\n");
        return -1;
    }
    if (o->max_to_keep < 0) o->max_to_keep = 5;
    if (!o->out && !o->data_path && !o->model_path) {
        fprintf(stderr, "sc_demo_trainer: nothing to do: give --out, --write-data or "
                        "--write-model\n");
        return -1;
    }
    return 0;
}

/* ---- model JSON and data --------------------------------------------------------------------- */

#define INIT(cls) "{\"module\": \"keras.initializers\", \"class_name\": \"" cls "\", \"config\": "
#define DENSE_TAIL                                                                                 \
    "\"use_bias\": true, \"kernel_initializer\": " INIT(                                           \
        "GlorotUniform") "{\"seed\": null}, "                                                      \
                         "\"registered_name\": null}, \"bias_initializer\": " INIT(                \
                             "Zeros") "{}, "                                                       \
                                      "\"registered_name\": null}, \"kernel_regularizer\": null, " \
                                      "\"bias_regularizer\": null, "                               \
                                      "\"activity_regularizer\": null, \"kernel_constraint\": "    \
                                      "null, \"bias_constraint\": null}, "                         \
                                      "\"registered_name\": null, \"build_config\": "              \
                                      "{\"input_shape\": [null, %d]}}"

/* What tf.keras 2.15 prints for Sequential([Dense(H, "relu", input_shape=(D,)),
 * Dense(C, "softmax")]).to_json(). */
static sc_status write_model_json(const char *path, sc_error *err) {
    char json[4096];
    int n = snprintf(
        json, sizeof json,
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
        "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": "
        "{\"batch_input_shape\": [null, %d], \"dtype\": \"float32\", \"sparse\": false, "
        "\"ragged\": false, \"name\": \"dense_input\"}, \"registered_name\": null}, "
        "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": "
        "\"dense\", \"trainable\": true, \"dtype\": \"float32\", \"batch_input_shape\": "
        "[null, %d], \"units\": %d, \"activation\": \"relu\", " DENSE_TAIL ", "
        "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": "
        "\"dense_1\", \"trainable\": true, \"dtype\": \"float32\", \"units\": %d, "
        "\"activation\": \"softmax\", " DENSE_TAIL "]}, \"keras_version\": \"2.15.0\", "
        "\"backend\": \"tensorflow\"}",
        DEMO_FEATURES, DEMO_FEATURES, DEMO_HIDDEN, DEMO_FEATURES, DEMO_CLASSES, DEMO_HIDDEN);
    if (n < 0 || (size_t)n >= sizeof json)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: model JSON does not fit", path);
    return sc_write_file_atomic(path, json, (size_t)n, err);
}

/* The held-out split, as np.savez(path, x=x, y=y) writes it (stored members). */
static sc_status write_eval_data(const options *o, sc_error *err) {
    size_t n = (size_t)o->eval_samples;
    float *x = malloc(n * DEMO_FEATURES * sizeof *x); /* n <= MAX_SAMPLES: no overflow */
    int64_t *y = malloc(n * sizeof *y);
    sc_npz_writer *w = NULL;
    sc_status st = SC_OK;
    if (!x || !y) {
        st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory for %zu rows", o->data_path, n);
        goto done;
    }
    demo_make_blobs(o->seed, DEMO_STREAM_EVAL, n, x, y);
    const int64_t xs[2] = {(int64_t)n, DEMO_FEATURES}, ys[1] = {(int64_t)n};
    if ((st = sc_npz_writer_create(o->data_path, 0, &w, err)) != SC_OK
        || (st = sc_npz_writer_add(w, "x", SC_DT_FLOAT, 2, xs, x, n * DEMO_FEATURES * sizeof *x,
                                   err))
               != SC_OK
        || (st = sc_npz_writer_add(w, "y", SC_DT_INT64, 1, ys, y, n * sizeof *y, err)) != SC_OK)
        goto done;
    st = sc_npz_writer_close(w, err);
done:
    sc_npz_writer_free(w);
    free(x);
    free(y);
    return st;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

typedef struct saver {
    const options *o;
    char *prefix; /* "<out>/ckpt-N" of the last save, malloc'd */
    size_t prefix_cap;
    int64_t *kept;  /* manager: checkpoint numbers kept, oldest first */
    double *stamps; /* manager: their save times */
    size_t num_kept;
    double last_preserved; /* manager: when it was created, as CheckpointManager records it */
} saver;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static sc_status add_scalar(sc_bundle_writer *w, const char *key, sc_dtype dt, const void *v,
                            sc_error *err) {
    return sc_bundle_writer_add(w, key, dt, 0, NULL, v, sc_dtype_size(dt), 0, err);
}

static sc_status write_bundle(const saver *s, const demo_mlp *m, int64_t iterations,
                              int64_t save_counter, sc_error *err) {
    const struct {
        const char *key; /* below the root */
        const float *data;
        size_t bytes;
        int rank;
        int64_t shape[2];
    } vars[4] = {
        {"layer_with_weights-0/kernel" ATTR, m->w1, sizeof m->w1, 2, {DEMO_FEATURES, DEMO_HIDDEN}},
        {"layer_with_weights-0/bias" ATTR, m->b1, sizeof m->b1, 1, {DEMO_HIDDEN, 0}},
        {"layer_with_weights-1/kernel" ATTR, m->w2, sizeof m->w2, 2, {DEMO_HIDDEN, DEMO_CLASSES}},
        {"layer_with_weights-1/bias" ATTR, m->b2, sizeof m->b2, 1, {DEMO_CLASSES, 0}},
    };
    const sc_bundle_writer_params params = sc_bundle_writer_default_params();
    const char *root = s->o->keras_layout ? "" : "model/";
    const float lr = (float)s->o->learning_rate, zero = 0.0f;
    sc_bundle_writer *w = NULL;
    sc_status st = sc_bundle_writer_create(s->prefix, &params, &w, err);
    for (int i = 0; st == SC_OK && i < 4; i++) {
        char key[128];
        snprintf(key, sizeof key, "%s%s", root, vars[i].key);
        st = sc_bundle_writer_add(w, key, SC_DT_FLOAT, vars[i].rank, vars[i].shape, vars[i].data,
                                  vars[i].bytes, 0, err);
    }
    if (st == SC_OK && s->o->legacy_optimizer) { /* OptimizerV2 SGD: iter + its hyper variables */
        if ((st = add_scalar(w, "optimizer/iter" ATTR, SC_DT_INT64, &iterations, err)) == SC_OK
            && (st = add_scalar(w, "optimizer/learning_rate" ATTR, SC_DT_FLOAT, &lr, err)) == SC_OK
            && (st = add_scalar(w, "optimizer/decay" ATTR, SC_DT_FLOAT, &zero, err)) == SC_OK)
            st = add_scalar(w, "optimizer/momentum" ATTR, SC_DT_FLOAT, &zero, err);
    } else if (st == SC_OK) { /* keras.optimizers.SGD (2.11+) */
        if ((st = add_scalar(w, "optimizer/_iterations" ATTR, SC_DT_INT64, &iterations, err))
            == SC_OK)
            st = add_scalar(w, "optimizer/_learning_rate" ATTR, SC_DT_FLOAT, &lr, err);
    }
    if (st == SC_OK && save_counter >= 0)
        st = add_scalar(w, "save_counter" ATTR, SC_DT_INT64, &save_counter, err);
    if (st == SC_OK) st = sc_bundle_writer_finish(w, err);
    sc_bundle_writer_free(w);
    return st;
}

/* The state file naming kept[first..num_kept) (relative paths, as both writers use). */
static sc_status write_state(const saver *s, size_t first, int with_stamps, sc_error *err) {
    assert(first < s->num_kept);
    size_t n = s->num_kept - first;
    char **paths = calloc(n, sizeof *paths);
    sc_status st = SC_OK;
    if (!paths) return sc_error_set(err, SC_NO_MEMORY, "%s/checkpoint: out of memory", s->o->out);
    for (size_t i = 0; i < n; i++) {
        if (!(paths[i] = malloc(32))) {
            st = sc_error_set(err, SC_NO_MEMORY, "%s/checkpoint: out of memory", s->o->out);
            goto done;
        }
        snprintf(paths[i], 32, "ckpt-%" PRId64, s->kept[first + i]);
    }
    sc_ckpt_state state = {
        .model_checkpoint_path = paths[n - 1],
        .all_model_checkpoint_paths = paths,
        .num_paths = n,
        .all_model_checkpoint_timestamps = with_stamps ? s->stamps + first : NULL,
        .num_timestamps = with_stamps ? n : 0,
        .last_preserved_timestamp = with_stamps ? s->last_preserved : 0.0,
    };
    st = sc_ckpt_state_write(s->o->out, &state, err);
done:
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return st;
}

static sc_status remove_file(const char *path, sc_error *err) {
    if (unlink(path) != 0 && errno != ENOENT)
        return sc_error_set(err, SC_IO, "%s: cannot delete old checkpoint file: %s", path,
                            strerror(errno));
    return SC_OK;
}

/* TensorFlow's pattern for a prefix's data shards; the \? escapes keep "??-" from being read
 * as a trigraph. */
#define DATA_GLOB ".data-?\?\?\?\?-of-?\?\?\?\?"

/* CheckpointManager._sweep: the .index first (so latest_checkpoint stops matching it), then its
 * data shards, matched by the pattern TensorFlow globs. */
static sc_status delete_checkpoint(const char *dir, int64_t number, sc_error *err) {
    char path[PATH_MAX];
    glob_t g;
    int len = snprintf(path, sizeof path, "%s/ckpt-%" PRId64 DATA_GLOB, dir, number);
    if (len < 0 || (size_t)len >= sizeof path)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: directory name too long", dir);
    snprintf(path, sizeof path, "%s/ckpt-%" PRId64 ".index", dir, number); /* shorter */
    sc_status st = remove_file(path, err);
    if (st != SC_OK) return st;
    snprintf(path, sizeof path, "%s/ckpt-%" PRId64 DATA_GLOB, dir, number);
    int rc = glob(path, GLOB_NOSORT, NULL, &g);
    if (rc == GLOB_NOSPACE) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    for (size_t i = 0; rc == 0 && st == SC_OK && i < g.gl_pathc; i++)
        st = remove_file(g.gl_pathv[i], err);
    if (rc != GLOB_NOMATCH) globfree(&g);
    return st;
}

/* Writes checkpoint number `number` and updates the state file as the chosen writer does. */
static sc_status save_checkpoint(saver *s, const demo_mlp *m, int64_t number, int64_t iterations,
                                 sc_error *err) {
    const options *o = s->o;
    sc_status st;
    if (o->archive) { /* first, so that s->prefix ends up naming the real checkpoint */
        char *arch = malloc(strlen(o->archive) + 32);
        if (!arch) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
        sprintf(arch, "%s/ckpt-%" PRId64, o->archive, number);
        char *real = s->prefix;
        s->prefix = arch;
        st = write_bundle(s, m, iterations, o->keras_layout ? -1 : number, err);
        s->prefix = real;
        free(arch);
        if (st != SC_OK) return st;
    }
    snprintf(s->prefix, s->prefix_cap, "%s/ckpt-%" PRId64, o->out, number);
    st = write_bundle(s, m, iterations, o->keras_layout ? -1 : number, err);
    if (st != SC_OK) return st;
    s->kept[s->num_kept] = number;
    s->stamps[s->num_kept] = now_seconds();
    s->num_kept++;
    if (o->keras_layout) /* Model.save_weights: only the latest, no timestamps */
        return write_state(s, s->num_kept - 1, 0, err);
    /* CheckpointManager.save: the state with the new checkpoint, then the sweep, then the
     * state again without the deleted ones. */
    if ((st = write_state(s, 0, 1, err)) != SC_OK) return st;
    if (o->max_to_keep == 0 || s->num_kept <= (size_t)o->max_to_keep) return SC_OK;
    size_t drop = s->num_kept - (size_t)o->max_to_keep;
    for (size_t i = 0; i < drop; i++)
        if ((st = delete_checkpoint(o->out, s->kept[i], err)) != SC_OK) return st;
    memmove(s->kept, s->kept + drop, (size_t)o->max_to_keep * sizeof *s->kept);
    memmove(s->stamps, s->stamps + drop, (size_t)o->max_to_keep * sizeof *s->stamps);
    s->num_kept = (size_t)o->max_to_keep;
    return write_state(s, 0, 1, err);
}

/* ---- training -------------------------------------------------------------------------------- */

static void sleep_ms(long long ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static sc_status train(const options *o, sc_error *err) {
    size_t n = (size_t)o->samples, b = (size_t)o->batch_size, pos = n;
    long long steps =
        o->steps_per_epoch ? o->steps_per_epoch : (o->samples + o->batch_size - 1) / o->batch_size;
    float *x = malloc(n * DEMO_FEATURES * sizeof *x); /* n <= MAX_SAMPLES: no overflow */
    int64_t *y = malloc(n * sizeof *y);
    size_t *order = malloc(n * sizeof *order);
    demo_mlp *m = malloc(sizeof *m);
    char *state_path = sc_path_join(o->out, "checkpoint");
    size_t prefix_cap = strlen(o->out) + sizeof "/ckpt-" + 20; /* 20 digits hold any int64 */
    saver s = {.o = o,
               .prefix = malloc(prefix_cap),
               .prefix_cap = prefix_cap,
               .kept = malloc((size_t)o->epochs * sizeof(int64_t)),
               .stamps = malloc((size_t)o->epochs * sizeof(double))};
    demo_rng shuffle = demo_rng_make(o->seed, DEMO_STREAM_SHUFFLE);
    int64_t iterations = 0;
    sc_status st;

    if (!x || !y || !order || !m || !state_path || !s.prefix || !s.kept || !s.stamps) {
        st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory for %zu samples", o->out, n);
        goto done;
    }
    if ((st = sc_mkdir_p(o->out, err)) != SC_OK) goto done;
    if (o->archive && (st = sc_mkdir_p(o->archive, err)) != SC_OK) goto done;
    if (sc_path_exists(state_path)) {
        st = sc_error_set(err, SC_INVALID_ARGUMENT,
                          "%s: already exists; the demo trainer "
                          "starts a fresh run in an empty directory",
                          state_path);
        goto done;
    }
    demo_make_blobs(o->seed, DEMO_STREAM_TRAIN, n, x, y);
    demo_mlp_init(m, o->seed);
    for (size_t i = 0; i < n; i++) order[i] = i;
    s.last_preserved = now_seconds();

    for (long long epoch = 1; epoch <= o->epochs; epoch++) {
        double loss = 0.0;
        size_t seen = 0, correct = 0;
        for (long long k = 0; k < steps; k++) {
            if (pos == n) { /* a pass ended: reshuffle (Fisher-Yates), as Keras does per epoch */
                for (size_t i = n - 1; i > 0; i--) {
                    size_t j = (size_t)demo_rng_below(&shuffle, i + 1), t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
                pos = 0;
            }
            size_t bs = n - pos < b ? n - pos : b;
            loss += demo_mlp_step(m, x, y, order + pos, bs, (float)o->learning_rate, &correct);
            seen += bs;
            pos += bs;
            iterations++;
        }
        if ((st = save_checkpoint(&s, m, epoch, iterations, err)) != SC_OK) goto done;
        printf("epoch %lld step %" PRId64 " loss %.6f accuracy %.6f checkpoint %s\n", epoch,
               iterations, loss / (double)seen, (double)correct / (double)seen, s.prefix);
        fflush(stdout);
        if (o->sleep_ms > 0 && epoch < o->epochs) sleep_ms(o->sleep_ms);
    }
    st = SC_OK;
done:
    free(x);
    free(y);
    free(order);
    free(m);
    free(state_path);
    free(s.prefix);
    free(s.kept);
    free(s.stamps);
    return st;
}

int main(int argc, char **argv) {
    options o;
    int help;
    if (parse_options(argc, argv, &o, &help) != 0) {
        fputs("run 'sc_demo_trainer --help' for the options\n", stderr);
        return 2;
    }
    if (help) {
        fputs(USAGE, stdout);
        return 0;
    }
    sc_error err;
    sc_error_clear(&err);
    sc_status st = SC_OK;
    if (o.model_path) st = write_model_json(o.model_path, &err);
    if (st == SC_OK && o.data_path) st = write_eval_data(&o, &err);
    if (st == SC_OK && o.out) st = train(&o, &err);
    if (st != SC_OK) {
        fprintf(stderr, "sc_demo_trainer: %s\n", err.message[0] ? err.message : sc_status_name(st));
        return 1;
    }
    return 0;
}
