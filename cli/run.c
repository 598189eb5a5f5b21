/* cli/run.c — `sidecar run` (the SidecarEvaluator loop) and `sidecar eval` (one checkpoint),
 * sharing their options (DESIGN §4). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sidecar/compile.h"
#include "sidecar/eval.h"
#include "sidecar/keras_weights.h"
#include "sidecar/watch.h"
#include "sidecar/report.h"

#define MAX_DATASETS  8
#define MAX_FEATURES  16
#define CLI_MAX_BATCH (1 << 20)

typedef struct run_opts {
    int is_run;
    const char *checkpoint;     /* eval: CKPT */
    const char *checkpoint_dir; /* run */
    const char *model;
    const char *data_name[MAX_DATASETS];
    const char *data_path[MAX_DATASETS];
    size_t num_data;
    const char *loss, *metrics, *compile;
    char *metrics_buf; /* repeated --metrics, merged */
    long batch_size;
    long steps;
    long max_evaluations;
    long threads;
    const char *logdir;
    int every, json, progress; /* progress: -1 auto (terminal), 0 off, 1 on */
    const char *export_dir, *monitor, *mode;
    const char *report; /* run --report FILE.html */
    double timeout, poll;
    const char *watch;
    const char *label, *sample_weight, *compression;
    const char *feature_input[MAX_FEATURES], *feature_name[MAX_FEATURES];
    size_t num_features;
    const char *model_root, *step_key;    /* TF checkpoints: --model-root, --step-key */
    const char *columns;                  /* --columns C1,C2 (CSV input columns) */
    const char *bytes_name[MAX_FEATURES]; /* --bytes-dtype [NAME=]DTYPE; NULL name: every input */
    sc_dtype bytes_dtype[MAX_FEATURES];
    size_t num_bytes;
    double group_timeout;
    int group_stats;
    sc_group *group;
} run_opts;

static const char k_eval_usage[] =
    "usage: sidecar eval CKPT [--model MODEL] --data DATA [--loss L] [--metrics M1,M2]\n"
    "                    [--compile FILE] [--batch-size N] [--steps N] [--json] [options]\n";
static const char k_run_usage[] =
    "usage: sidecar run --checkpoint-dir DIR [--model MODEL] --data DATA [--loss L] [--metrics "
    "M1,M2]\n"
    "                   [--compile FILE] [--batch-size N] [--steps N] [--max-evaluations N]\n"
    "                   [--logdir DIR] [--every] [--export-best DIR [--monitor M] [--mode "
    "min|max|auto]]\n"
    "                   [--timeout SECS] [--poll SECS] [--report FILE.html] [--json] [options]\n";

static const char k_common_help[] =
    "\n"
    "  --model MODEL      Keras model JSON (model.to_json(), Keras 2 or 3) or a .keras archive\n"
    "                     (whose compile config is then the default loss and metrics)\n"
    "  --data DATA        evaluation data: an .npz with arrays x and y (np.savez; for several\n"
    "                     inputs one array per input layer name, plus y), TFRecord files of\n"
    "                     tf.train.Example (glob patterns, comma-separated; GZIP/ZLIB detected),\n"
    "                     a .npy of inputs (np.save) with its labels' .npy (see --label),\n"
    "                     or a CSV file with a header. Repeat as --data NAME=DATA for several\n"
    "                     datasets, each logged under its own name\n"
    "  --label NAME       the label array / feature / column (default y); with a .npy DATA,\n"
    "                     the labels' .npy file (default: y.npy beside x.npy)\n"
    "  --sample-weight NAME  per-example weights array / feature / column\n"
    "  --feature INPUT=FEATURE  TFRecord: read model input INPUT from FEATURE (repeatable)\n"
    "  --bytes-dtype [NAME=]DTYPE  TFRecord: the bytes_list feature of input (or label) NAME\n"
    "                     holds one raw little-endian array of DTYPE (uint8, float32, ...;\n"
    "                     its shape is the model input's); without NAME, every input (repeatable)\n"
    "  --columns C1,C2,.. CSV: the input columns, in order (default: every column that is not\n"
    "                     the label or the sample weight)\n"
    "  --compression none|zlib|gzip|auto  TFRecord compression (default auto)\n"
    "  --loss L           a Keras loss name (sparse_categorical_crossentropy, mse, ...)\n"
    "  --metrics M1,M2    Keras metric names (accuracy, auc, precision, ...)\n"
    "  --compile FILE     Keras' compile config as JSON (model.get_compile_config(), or a\n"
    "                     config.json with compile_config): losses and metrics with options\n"
    "  --batch-size N     examples per batch (default 32, as Keras)\n"
    "  --steps N          batches per evaluation (default: until the data is exhausted)\n"
    "  --threads N        compute threads of the forward pass (oneDNN's OpenMP pool; default:\n"
    "                     OMP_NUM_THREADS when set, else one per online CPU)\n"
    "  --logdir DIR       TensorBoard events (DIR/validation) and the results journal\n"
    "  --json             one JSON object per evaluation on stdout:\n"
    "                     {\"checkpoint\": ..., \"step\": N, \"metrics\": {\"loss\": ..., ...}}\n"
    "  --progress / --no-progress  live progress bar (default: when stderr is a terminal)\n"
    "  --model-root NAME  TF checkpoints: where the model is in the object graph (\"net\" for\n"
    "                     tf.train.Checkpoint(net=model), \"\" for the root); default: the object\n"
    "                     holding all of the model's variables, found by itself\n"
    "  --step-key KEY     TF checkpoints: the tensor holding the training step (a key or a graph\n"
    "                     path, e.g. net/optimizer/iter); default: the counter of the optimizer\n"
    "                     whose slot variables belong to the model\n"
    "  --group-timeout SECS  under mpirun -n N: wait at least SECS (default 60) for another\n"
    "                     rank before ending the run with a message naming it\n"
    "  --group-stats      under mpirun -n N: rank 0 prints the bytes exchanged at the end\n"
    "  -h, --help         this help\n";

static const char k_run_help[] =
    "  --checkpoint-dir DIR  where training writes checkpoints (watched with inotify)\n"
    "  --max-evaluations N   stop after the checkpoint whose number (after the last '-') is >= N;\n"
    "                     0 or unset: run until interrupted (SIGINT/SIGTERM/SIGUSR1 stop\n"
    "                     cleanly; under mpirun, SIGUSR1 to mpirun stops every rank at once)\n"
    "  --every            evaluate every checkpoint in order (default: the newest unseen one)\n"
    "  --export-best DIR  keep a copy of the best checkpoint in DIR (--monitor, default loss;\n"
    "                     --mode min|max|auto; auto: max for names with acc, auc, precision,\n"
    "                     recall, f1, fbeta, iou, top_k or r2, min for the rest)\n"
    "  --timeout SECS     end when no new checkpoint arrives for SECS seconds\n"
    "  --poll SECS        poll the directory every SECS seconds instead of inotify (NFS)\n"
    "  --watch auto|inotify|poll  how to notice checkpoints (default auto: inotify + rescan)\n"
    "  --report FILE.html  keep an HTML page of the curves (sidecar report of --logdir, best\n"
    "                     per --monitor/--mode) up to date: rewritten atomically after each\n"
    "                     evaluation, reloading itself every 5 s while the run goes on\n";

static const char k_exit_help[] =
    "\nExit status: 0 success; 1 evaluation or input error (one line on stderr naming the file\n"
    "and the object); 2 usage error.\n";

void cli_run_usage(FILE *f, int is_run) {
    fputs(is_run ? k_run_usage : k_eval_usage, f);
    fputs(is_run
              ? "\nWatches DIR and evaluates each new checkpoint, like Keras' SidecarEvaluator.\n"
              : "\nEvaluates one checkpoint (a prefix, a directory with a `checkpoint` file, a\n"
                "SavedModel directory, a Keras 3 .weights.h5 or .keras file, a Keras 2 .h5\n"
                "file, or a .safetensors file) like model.evaluate.\n",
          f);
    fputs(k_common_help, f);
    if (is_run) fputs(k_run_help, f);
    fputs(k_exit_help, f);
}

static int usage_error(int is_run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(int is_run, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "sidecar: %s: ", is_run ? "run" : "eval");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(is_run ? k_run_usage : k_eval_usage, stderr);
    fprintf(stderr, "Run 'sidecar %s --help' for details.\n", is_run ? "run" : "eval");
    return CLI_EXIT_USAGE;
}

static int parse_long(const char *s, long min, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min) return 0;
    *out = v;
    return 1;
}

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0)) return 0;
    *out = v;
    return 1;
}

/* Returns -1 to go on, or an exit code. */
/* A numeric dtype by TensorFlow's name ("uint8", "float32"); SC_DT_INVALID otherwise. */
static sc_dtype parse_dtype(const char *s) {
    static const sc_dtype numeric[] = {SC_DT_FLOAT, SC_DT_DOUBLE, SC_DT_HALF,   SC_DT_BFLOAT16,
                                       SC_DT_INT8,  SC_DT_INT16,  SC_DT_INT32,  SC_DT_INT64,
                                       SC_DT_UINT8, SC_DT_UINT16, SC_DT_UINT32, SC_DT_UINT64,
                                       SC_DT_BOOL};
    for (size_t i = 0; i < sizeof numeric / sizeof *numeric; i++)
        if (!strcmp(s, sc_dtype_name(numeric[i]))) return numeric[i];
    return SC_DT_INVALID;
}

static int parse_args(int argc, char **argv, run_opts *o) {
    char opt[64];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *inline_value = NULL;
        /* --opt=VALUE, as getopt_long accepts it. */
        const char *eq = a[0] == '-' && a[1] == '-' ? strchr(a, '=') : NULL;
        if (eq) {
            if ((size_t)(eq - a) >= sizeof opt)
                return usage_error(o->is_run, "unknown option '%s'", a);
            snprintf(opt, sizeof opt, "%.*s", (int)(eq - a), a);
            a = opt;
            inline_value = eq + 1;
        }
#define VALUE()                                                                                    \
    (inline_value   ? inline_value                                                                 \
     : i + 1 < argc ? argv[++i]                                                                    \
                    : (usage_error(o->is_run, "%s needs a value", a), (char *)NULL))
#define ONCE(field)                                                                                \
    if (o->field) return usage_error(o->is_run, "%s given twice (it takes one value)", a)
        int is_flag = !strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "--json")
                      || !strcmp(a, "--every") || !strcmp(a, "--progress")
                      || !strcmp(a, "--no-progress");
        if (is_flag && inline_value) return usage_error(o->is_run, "%s takes no value", a);
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_run_usage(stdout, o->is_run);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--every") && o->is_run) {
            o->every = 1;
        } else if (!strcmp(a, "--progress")) {
            o->progress = 1;
        } else if (!strcmp(a, "--no-progress")) {
            o->progress = 0;
        } else if (!strcmp(a, "--group-stats")) {
            o->group_stats = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            const char *v = VALUE();
            if (!v) return CLI_EXIT_USAGE;
            if (!strcmp(a, "--model")) {
                ONCE(model);
                o->model = v;
            } else if (!strcmp(a, "--model-root")) {
                ONCE(model_root);
                o->model_root = v;
            } else if (!strcmp(a, "--step-key")) {
                ONCE(step_key);
                o->step_key = v;
            } else if (!strcmp(a, "--data")) {
                if (o->num_data == MAX_DATASETS)
                    return usage_error(o->is_run, "at most %d --data", MAX_DATASETS);
                const char *eq = strchr(v, '=');
                o->data_name[o->num_data] = NULL;
                o->data_path[o->num_data] = v;
                if (eq && eq != v) { /* NAME=DATA; a name may not hold '/' or '.' */
                    size_t n = (size_t)(eq - v);
                    if (strcspn(v, "/.") >= n) {
                        char *name = strndup(v, n);
                        if (!name) return CLI_EXIT_INPUT;
                        o->data_name[o->num_data] = name;
                        o->data_path[o->num_data] = eq + 1;
                    }
                }
                for (size_t k = 0; k < o->num_data; k++)
                    if (o->data_name[k] && o->data_name[o->num_data]
                        && !strcmp(o->data_name[k], o->data_name[o->num_data])) {
                        free((char *)o->data_name[o->num_data]);
                        return usage_error(o->is_run,
                                           "--data name '%s' given twice (each dataset "
                                           "needs its own name: its TensorBoard run and journal "
                                           "entry are keyed by it)",
                                           o->data_name[k]);
                    }
                o->num_data++;
            } else if (!strcmp(a, "--loss")) {
                ONCE(loss);
                o->loss = v;
            } else if (!strcmp(a, "--metrics")) {
                /* Repeated --metrics are merged: --metrics a --metrics b is --metrics a,b. */
                if (o->metrics) {
                    size_t n = strlen(o->metrics) + strlen(v) + 2;
                    char *m = malloc(n);
                    if (!m) return CLI_EXIT_INPUT;
                    snprintf(m, n, "%s,%s", o->metrics, v);
                    free(o->metrics_buf);
                    o->metrics = o->metrics_buf = m;
                } else {
                    o->metrics = v;
                }
            } else if (!strcmp(a, "--compile")) {
                ONCE(compile);
                o->compile = v;
            } else if (!strcmp(a, "--label")) {
                ONCE(label);
                o->label = v;
            } else if (!strcmp(a, "--group-timeout")) {
                if (!parse_double(v, &o->group_timeout))
                    return usage_error(o->is_run, "--group-timeout expects seconds > 0, got '%s'",
                                       v);
            } else if (!strcmp(a, "--sample-weight")) {
                ONCE(sample_weight);
                o->sample_weight = v;
            } else if (!strcmp(a, "--compression"))
                o->compression = v;
            else if (!strcmp(a, "--feature")) {
                const char *eq = strchr(v, '=');
                if (!eq || eq == v || !eq[1] || o->num_features == MAX_FEATURES)
                    return usage_error(o->is_run, "--feature expects INPUT=FEATURE, got '%s'", v);
                o->feature_input[o->num_features] = strndup(v, (size_t)(eq - v));
                o->feature_name[o->num_features++] = eq + 1;
            } else if (!strcmp(a, "--columns")) {
                if (!*v) return usage_error(o->is_run, "--columns expects C1,C2,..., got ''");
                o->columns = v;
            } else if (!strcmp(a, "--bytes-dtype")) {
                const char *eq = strchr(v, '='), *dt = eq ? eq + 1 : v;
                sc_dtype t = parse_dtype(dt);
                if ((eq && eq == v) || t == SC_DT_INVALID || o->num_bytes == MAX_FEATURES)
                    return usage_error(o->is_run,
                                       "--bytes-dtype expects [NAME=]DTYPE with a numeric "
                                       "dtype (uint8, float32, ...), got '%s'",
                                       v);
                o->bytes_name[o->num_bytes] = eq ? strndup(v, (size_t)(eq - v)) : NULL;
                o->bytes_dtype[o->num_bytes++] = t;
            } else if (!strcmp(a, "--batch-size")) {
                if (!parse_long(v, 1, &o->batch_size) || o->batch_size > CLI_MAX_BATCH)
                    return usage_error(o->is_run,
                                       "--batch-size expects an integer from 1 to %d "
                                       "(the maximum), got '%s'",
                                       CLI_MAX_BATCH, v);
            } else if (!strcmp(a, "--threads")) {
                if (!parse_long(v, 1, &o->threads) || o->threads > 1024)
                    return usage_error(o->is_run, "--threads expects a positive integer, got '%s'",
                                       v);
            } else if (!strcmp(a, "--steps")) {
                if (!parse_long(v, 1, &o->steps))
                    return usage_error(o->is_run, "--steps expects a positive integer, got '%s'",
                                       v);
            } else if (o->is_run && !strcmp(a, "--checkpoint-dir")) {
                ONCE(checkpoint_dir);
                o->checkpoint_dir = v;
            } else if (o->is_run && !strcmp(a, "--max-evaluations")) {
                if (!parse_long(v, 0, &o->max_evaluations))
                    return usage_error(o->is_run,
                                       "--max-evaluations expects an integer >= 0, got '%s'", v);
            } else if (!strcmp(a, "--logdir")) {
                ONCE(logdir);
                o->logdir = v;
            } else if (o->is_run && !strcmp(a, "--export-best")) {
                ONCE(export_dir);
                o->export_dir = v;
            } else if (o->is_run && !strcmp(a, "--monitor")) {
                ONCE(monitor);
                o->monitor = v;
            } else if (o->is_run && !strcmp(a, "--report")) {
                ONCE(report);
                o->report = v;
            } else if (o->is_run && !strcmp(a, "--mode")) {
                if (strcmp(v, "min") && strcmp(v, "max") && strcmp(v, "auto"))
                    return usage_error(o->is_run, "--mode expects min, max or auto, got '%s'", v);
                o->mode = v;
            } else if (o->is_run && !strcmp(a, "--timeout")) {
                if (!parse_double(v, &o->timeout))
                    return usage_error(o->is_run, "--timeout expects seconds > 0, got '%s'", v);
            } else if (o->is_run && !strcmp(a, "--poll")) {
                if (!parse_double(v, &o->poll))
                    return usage_error(o->is_run, "--poll expects seconds > 0, got '%s'", v);
            } else if (o->is_run && !strcmp(a, "--watch")) {
                if (strcmp(v, "auto") && strcmp(v, "inotify") && strcmp(v, "poll"))
                    return usage_error(o->is_run, "--watch expects auto, inotify or poll, got '%s'",
                                       v);
                o->watch = v;
            } else
                return usage_error(o->is_run, "unknown option '%s'", a);
        } else if (a[0] == '-' && a[1]) {
            return usage_error(o->is_run, "unknown option '%s'", a);
        } else if (!o->is_run && !o->checkpoint) {
            o->checkpoint = a;
        } else {
            return usage_error(o->is_run, "unexpected argument '%s'", a);
        }
#undef VALUE
#undef ONCE
    }
    if (!o->is_run && !o->checkpoint) return usage_error(0, "missing CKPT");
    if (o->is_run && !o->checkpoint_dir) return usage_error(1, "missing --checkpoint-dir DIR");
    if (o->num_data == 0) return usage_error(o->is_run, "missing --data DATA");
    if (o->report && !o->logdir)
        return usage_error(o->is_run, "--report needs --logdir DIR (the page shows its curves)");
    if (o->compile && (o->loss || o->metrics))
        return usage_error(o->is_run, "--compile and --loss/--metrics exclude each other");
    int archive = o->model && sc_ckpt_file_kind(o->model) == SC_CKPT_KERAS_ARCHIVE;
    if (o->model && !o->loss && !o->metrics && !o->compile && !archive)
        return usage_error(o->is_run, "nothing to compute: give --loss, --metrics or --compile "
                                      "(or a .keras model that carries its compile config)");
    if (o->num_data > 1)
        for (size_t i = 0; i < o->num_data; i++)
            if (!o->data_name[i])
                return usage_error(o->is_run,
                                   "with several datasets each needs a name: --data NAME=DATA");
    if (o->is_run && o->export_dir) {
        sc_error e;
        sc_error_clear(&e);
        if (sc_export_dir_check(o->export_dir, o->checkpoint_dir, &e))
            return usage_error(1, "%s", e.message);
    }
    return -1;
}

/* ---- outputs on stdout (--json) ---- */

static void json_line(const sc_eval_logs *logs) {
    fputs("{\"checkpoint\":", stdout);
    cli_json_string(stdout, logs->checkpoint);
    if (logs->dataset[0]) {
        fputs(",\"dataset\":", stdout);
        cli_json_string(stdout, logs->dataset);
    }
    printf(",\"step\":%lld,\"metrics\":{", (long long)logs->step);
    for (size_t i = 0; i < logs->num; i++) {
        if (i) fputc(',', stdout);
        cli_json_string(stdout, logs->names[i]);
        /* JSON has no NaN/infinity: written as the strings Python spells them with (README). */
        double v = logs->values[i];
        if (v != v)
            fputs(":\"NaN\"", stdout);
        else if (v - v != 0)
            fputs(v > 0 ? ":\"Infinity\"" : ":\"-Infinity\"", stdout);
        else
            printf(":%.9g", v);
    }
    fputs("}}\n", stdout);
}

/* One line per dataset, printed once the whole evaluation is done and written (journal,
 * TensorBoard): a stop during a later dataset leaves no line of an earlier one behind. */
static void json_on_results(void *user, const sc_eval_logs *logs, size_t num) {
    (void)user;
    for (size_t d = 0; d < num; d++) json_line(&logs[d]);
    fflush(stdout);
}

/* ---- --report: the page of the curves, rewritten after each evaluation ---- */

#define REPORT_REFRESH_S 5

static void report_warn(void *user, const char *msg) {
    (void)user;
    cli_progress_clear();
    fprintf(stderr, "sidecar: report: %s\n", msg);
}

/* A failure to write the page is reported and the run goes on: the page is a view, the
 * evaluation is the job. */
static void write_report(const run_opts *o, int live) {
    sc_report_params rp = sc_report_default_params();
    if (o->monitor) rp.monitor = o->monitor;
    if (o->mode)
        rp.mode = !strcmp(o->mode, "min")   ? SC_REPORT_MIN
                  : !strcmp(o->mode, "max") ? SC_REPORT_MAX
                                            : SC_REPORT_AUTO;
    rp.refresh_s = live ? REPORT_REFRESH_S : 0;
    rp.warn = report_warn;
    sc_error err;
    sc_error_clear(&err);
    sc_status s = sc_report_write(o->logdir, o->report, &rp, NULL, &err);
    if (s) {
        cli_progress_clear();
        fprintf(stderr, "sidecar: report not written: %s\n", err.message);
    }
}

static void report_after_evaluation(void *user, const char *checkpoint, int64_t step) {
    (void)checkpoint;
    (void)step;
    write_report(user, 1);
}

static sc_evaluator *g_ev;
static volatile sig_atomic_t g_signal;
static sc_group *g_group;

static void on_signal(int sig) {
    g_signal = sig;
    if (g_ev) sc_evaluator_stop(g_ev);
    if (sig == SIGUSR1)
        sc_group_interrupt_forwarded(g_group);
    else
        sc_group_interrupt(g_group);
}

/* Test-only: SIDECAR_TEST_SIGNAL_AT=NAME:BATCH sends this process SIGTERM after batch BATCH of
 * the dataset named NAME ("" for an unnamed one), so that tests stop an evaluation at a known
 * point without timing (tests/cli/test_run_stop_datasets.sh). Unset: no callback at all. */
static struct {
    char name[256];
    long long batch;
} g_signal_at;

static int signal_at_batch_end(void *user, const sc_eval_logs *logs) {
    (void)user;
    if (logs->batch == g_signal_at.batch && strcmp(logs->dataset, g_signal_at.name) == 0)
        raise(SIGTERM);
    return 0;
}

static int test_signal_hook(sc_callback *cb) {
    const char *v = getenv("SIDECAR_TEST_SIGNAL_AT");
    const char *colon = v ? strrchr(v, ':') : NULL;
    if (!colon || (size_t)(colon - v) >= sizeof g_signal_at.name) return 0;
    memcpy(g_signal_at.name, v, (size_t)(colon - v));
    g_signal_at.name[colon - v] = '\0';
    g_signal_at.batch = strtoll(colon + 1, NULL, 10);
    *cb = (sc_callback){NULL, NULL, NULL, signal_at_batch_end, NULL};
    return 1;
}

static void log_line(void *user, const char *line) {
    (void)user;
    cli_progress_clear();
    fprintf(stderr, "%s\n", line);
}

static sc_compression parse_compression(const char *s) {
    if (!s || !strcmp(s, "auto")) return SC_COMPRESSION_AUTO;
    if (!strcmp(s, "none")) return SC_COMPRESSION_NONE;
    if (!strcmp(s, "zlib")) return SC_COMPRESSION_ZLIB;
    return SC_COMPRESSION_GZIP;
}

typedef struct run_state {
    sc_model *model;
    sc_dataset *data[MAX_DATASETS];
    sc_compiled compiled[MAX_DATASETS];
    sc_eval_dataset eds[MAX_DATASETS];
    char *compile_json;
    size_t compile_len;
    const char *config_source; /* the checkpoint's config, when there is no --model */
    char *columns_buf;         /* --columns, split in place */
    char *columns[256];
    size_t num_columns;
    const char *output_names[SC_DATASET_MAX_OUTPUTS];
} run_state;

static sc_status open_data(const run_opts *o, run_state *st, size_t i, sc_error *err) {
    sc_dataset_params dp = sc_dataset_default_params();
    dp.path = o->data_path[i];
    dp.batch_size = (size_t)o->batch_size;
    dp.steps = (uint64_t)o->steps;
    dp.num_inputs = sc_model_num_inputs(st->model);
    if (dp.num_inputs > SC_DATASET_MAX_INPUTS) dp.num_inputs = SC_DATASET_MAX_INPUTS;
    for (size_t k = 0; k < dp.num_inputs; k++) {
        sc_shape s = sc_model_input_shape(st->model, k);
        /* A single input: an .npz array `x` or one named after the input layer; a TFRecord
         * feature `x` unless --feature says otherwise (as before). */
        dp.inputs[k].name = sc_model_input_name(st->model, k);
        if (dp.num_inputs == 1) dp.inputs[k].feature = "x";
        for (size_t b = 0; b < o->num_bytes; b++)
            if (!o->bytes_name[b] || !strcmp(o->bytes_name[b], dp.inputs[k].name)
                || (dp.num_inputs == 1 && !strcmp(o->bytes_name[b], "x")))
                dp.inputs[k].bytes_dtype = o->bytes_dtype[b];
        dp.inputs[k].shape.rank = s.rank;
        for (int d = 0; d < s.rank && d < SC_DATASET_MAX_RANK; d++)
            dp.inputs[k].shape.dims[d] = s.dims[d];
        for (size_t f = 0; f < o->num_features; f++)
            if (!strcmp(o->feature_input[f], sc_model_input_name(st->model, k))
                || (dp.num_inputs == 1 && !strcmp(o->feature_input[f], "x")))
                dp.inputs[k].feature = o->feature_name[f];
    }
    /* Several outputs: output o's labels are the array / feature / column named after its layer
     * (Keras' dict of labels keyed by output name). */
    size_t no = sc_model_num_outputs(st->model);
    dp.num_outputs = no > 1 && no <= SC_DATASET_MAX_OUTPUTS ? no : 1;
    dp.outputs[0].label = o->label;
    for (size_t b = 0; b < o->num_bytes; b++)
        if (o->bytes_name[b] && !strcmp(o->bytes_name[b], o->label ? o->label : "y"))
            dp.outputs[0].bytes_dtype = o->bytes_dtype[b];
    dp.csv_columns = st->num_columns ? (const char *const *)st->columns : NULL;
    dp.num_csv_columns = st->num_columns;
    for (size_t k = 0; no > 1 && k < dp.num_outputs; k++)
        dp.outputs[k].label = sc_model_output_name(st->model, k);
    dp.sample_weight = o->sample_weight;
    dp.compression = parse_compression(o->compression);
    dp.num_shards = (size_t)sc_group_size(o->group); /* this rank's share (sidecar/group.h) */
    dp.shard_index = (size_t)sc_group_rank(o->group);
    sc_status s = sc_dataset_open(&dp, &st->data[i], err);
    if (s) return s;
    /* Empty data would give loss 0 (and so the "best" checkpoint): refuse it up front. Under
     * mpirun a rank's share may be empty while the data is not: only then is the whole data
     * opened to tell (opening it always made every rank load all of an .npz once). */
    sc_batch b;
    if ((s = sc_dataset_next(st->data[i], &b, err))) return s;
    int empty = b.n == 0;
    if (empty && dp.num_shards > 1) {
        dp.num_shards = 1;
        dp.shard_index = 0;
        sc_dataset *whole;
        if ((s = sc_dataset_open(&dp, &whole, err))) return s;
        s = sc_dataset_next(whole, &b, err);
        empty = s == SC_OK && b.n == 0;
        sc_dataset_free(whole);
        if (s) return s;
    }
    if (empty) {
        err->status = SC_INVALID_ARGUMENT;
        snprintf(err->message, sizeof err->message,
                 "%s: no examples to evaluate (the data is "
                 "empty)",
                 o->data_path[i]);
        return SC_INVALID_ARGUMENT;
    }
    return sc_dataset_rewind(st->data[i], err);
}

static sc_status compile_for(const run_opts *o, run_state *st, size_t i, sc_error *err) {
    size_t no = sc_model_num_outputs(st->model);
    if (no > SC_DATASET_MAX_OUTPUTS) {
        snprintf(err->message, sizeof err->message, "the model has %zu outputs (at most %d)", no,
                 SC_DATASET_MAX_OUTPUTS);
        return err->status = SC_UNIMPLEMENTED;
    }
    sc_compile_shapes cs[SC_DATASET_MAX_OUTPUTS];
    const char *names[SC_DATASET_MAX_OUTPUTS];
    for (size_t k = 0; k < no; k++) {
        sc_shape out = sc_model_output_shape(st->model, k);
        const sc_dataset_shape *ls = sc_dataset_label_shape(st->data[i], k);
        memset(&cs[k], 0, sizeof cs[k]);
        cs[k].pred_rank = out.rank + 1;
        cs[k].pred_last_dim = out.rank ? out.dims[out.rank - 1] : 1;
        cs[k].true_rank = ls ? ls->rank + 1 : 1;
        cs[k].true_last_dim = ls && ls->rank ? ls->dims[ls->rank - 1] : 1;
        cs[k].keras_version = sc_model_keras_version(st->model);
        names[k] = sc_model_output_name(st->model, k);
    }
    if (st->compile_json)
        return sc_compile_from_json_outputs(st->compile_json, st->compile_len,
                                            o->compile ? o->compile
                                            : o->model ? o->model
                                                       : st->config_source,
                                            cs, names, no, &st->compiled[i], err);
    if (no > 1) {
        snprintf(err->message, sizeof err->message,
                 "the model has %zu outputs: give their losses "
                 "and metrics in a compile config (--compile, Keras' dict per output), not "
                 "--loss/--metrics",
                 no);
        return err->status = SC_UNIMPLEMENTED;
    }
    return sc_compile_from_names(o->loss, o->metrics, cs, &st->compiled[i], err);
}

/* The library's sc_error_set is internal: the command fills its own errors the same way. */
static sc_status cli_error(sc_error *err, sc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static sc_status cli_error(sc_error *err, sc_status status, const char *fmt, ...) {
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status;
}

static _Atomic(sc_watcher *) g_first_watcher;

static void on_signal_first(int sig) {
    (void)sig;
    sc_watcher *w = atomic_load(&g_first_watcher);
    if (w) sc_watcher_interrupt(w);
}

/* run without --model: waits for the first checkpoint (as the evaluator's watcher will see it)
 * to read the model it carries. --timeout bounds the wait; SIGINT/SIGTERM end it. */
static sc_status first_checkpoint(const run_opts *o, sc_ckpt_ref *ref, sc_error *err) {
    sc_watcher_params wp = sc_watcher_default_params();
    if (o->poll > 0 || (o->watch && !strcmp(o->watch, "poll"))) {
        wp.mode = SC_WATCH_POLL;
        if (o->poll > 0)
            wp.poll_interval_ms = (int)(o->poll * 1000 + 0.5) > 0 ? (int)(o->poll * 1000 + 0.5) : 1;
    }
    sc_watcher *w;
    sc_status s = sc_watcher_create(o->checkpoint_dir, &wp, &w, err);
    if (s) return s;
    atomic_store(&g_first_watcher, w);
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal_first;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    fprintf(stderr, "No --model: waiting for the first checkpoint in %s to read its model\n",
            o->checkpoint_dir);
    sc_watch_event ev;
    s = sc_watcher_wait(w, o->timeout > 0 ? (int)(o->timeout * 1000) : -1, &ev, err);
    if (s == SC_OK && ev.result == SC_WATCH_CHECKPOINT) {
        ref->kind = ev.ref.kind;
        ref->number = ev.ref.number;
        if (!(ref->path = strdup(ev.ref.path))) s = cli_error(err, SC_NO_MEMORY, "out of memory");
    } else if (s == SC_OK) {
        s = cli_error(err, ev.result == SC_WATCH_INTERRUPTED ? SC_ABORTED : SC_NOT_FOUND,
                      "%s: %s before a checkpoint came to read the model from (no --model)",
                      o->checkpoint_dir,
                      ev.result == SC_WATCH_INTERRUPTED ? "stopped" : "timed out");
    }
    atomic_store(&g_first_watcher, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sc_watcher_free(w);
    return s;
}

static void free_opts(run_opts *o) {
    for (size_t i = 0; i < o->num_data; i++) free((char *)o->data_name[i]);
    for (size_t f = 0; f < o->num_features; f++) free((char *)o->feature_input[f]);
    for (size_t b = 0; b < o->num_bytes; b++) free((char *)o->bytes_name[b]);
    free(o->metrics_buf);
}

int cli_run_main(int argc, char **argv, int is_run) {
    run_opts o;
    memset(&o, 0, sizeof o);
    o.is_run = is_run;
    o.batch_size = 32;
    o.progress = -1;
    int code = parse_args(argc, argv, &o);
    if (code >= 0) { /* --help or a usage error: nothing but the options to release */
        free_opts(&o);
        return code;
    }

    code = CLI_EXIT_INPUT;
    sc_error err;
    sc_error_clear(&err);
    run_state st;
    memset(&st, 0, sizeof st);
    sc_evaluator *ev = NULL;
    char *dir = NULL;
    sc_ckpt_ref ref = {SC_CKPT_NONE, NULL, -1};
    sc_keras_config kc;
    memset(&kc, 0, sizeof kc);
    sc_status s;
    sc_callback cbs[2];
    size_t ncb = 0;

    /* Under mpirun -n N: join the group; ranks > 0 print nothing unless they fail. */
    if ((s = sc_group_create(NULL, NULL, &o.group, &err))) goto fail;
    sc_group_set_timeout(o.group, o.group_timeout);
    int rank = sc_group_rank(o.group);
    if (rank != 0) o.progress = o.json = 0;
    if (!is_run && (s = sc_ckpt_ref_resolve(o.checkpoint, &ref, &err))) goto fail;
    if (!o.model) {
        /* The model from the checkpoint itself (run: the first one that comes). */
        if (is_run && (s = first_checkpoint(&o, &ref, &err))) goto fail;
        if ((s = sc_ckpt_keras_config(&ref, &kc, &err))) goto fail;
        st.config_source = kc.source;
        if ((s = sc_model_load_keras_json(kc.model_json, strlen(kc.model_json), kc.source,
                                          &st.model, &err)))
            goto fail;
        if (!o.compile && !o.loss && !o.metrics) {
            if (!kc.compile_json) {
                s = cli_error(&err, SC_NOT_FOUND,
                              "%s: the model was saved before compile() "
                              "(no training config); give --loss/--metrics or --compile",
                              kc.source);
                goto fail;
            }
            st.compile_len = strlen(kc.compile_json);
            st.compile_json = kc.compile_json;
            kc.compile_json = NULL;
        }
        if (is_run) sc_ckpt_ref_clear(&ref);
    } else if ((s = sc_model_load_keras(o.model, &st.model, &err))) {
        goto fail;
    }
    if (o.compile && (s = cli_read_text(o.compile, &st.compile_json, &st.compile_len, &err)))
        goto fail;
    if (o.model && !o.compile && !o.loss && !o.metrics) {
        /* A .keras archive's compile config is the default (parse_args made sure it is one). */
        sc_keras_archive *ar;
        if ((s = sc_keras_archive_open(o.model, &ar, &err))) goto fail;
        size_t len;
        const char *cfg = sc_keras_archive_config(ar, &len);
        st.compile_json = malloc(len + 1);
        if (st.compile_json) {
            memcpy(st.compile_json, cfg, len);
            st.compile_json[len] = '\0';
            st.compile_len = len;
        }
        sc_keras_archive_free(ar);
        if (!st.compile_json) goto fail;
    }
    if (o.columns) {
        if (!(st.columns_buf = strdup(o.columns))) goto fail;
        for (char *tok = strtok(st.columns_buf, ","); tok; tok = strtok(NULL, ",")) {
            if (st.num_columns == sizeof st.columns / sizeof *st.columns) {
                s = cli_error(&err, SC_INVALID_ARGUMENT, "--columns: at most %zu columns",
                              sizeof st.columns / sizeof *st.columns);
                goto fail;
            }
            st.columns[st.num_columns++] = tok;
        }
    }
    for (size_t k = 0; k < sc_model_num_outputs(st.model) && k < SC_DATASET_MAX_OUTPUTS; k++)
        st.output_names[k] = sc_model_output_name(st.model, k);
    for (size_t i = 0; i < o.num_data; i++) {
        if ((s = open_data(&o, &st, i, &err))) goto fail;
        if ((s = compile_for(&o, &st, i, &err))) goto fail;
        const sc_compiled *c = &st.compiled[i];
        st.eds[i] = (sc_eval_dataset){o.data_name[i],  st.data[i],       c->loss,        c->metrics,
                                      c->num_metrics,  c->weighted,      c->num_outputs, c->losses,
                                      c->loss_weights, c->metric_output, st.output_names};
    }
    sc_evaluator_params p = sc_evaluator_default_params();
    p.model = st.model;
    p.datasets = st.eds;
    p.num_datasets = o.num_data;
    p.max_batch = (int)o.batch_size;
    p.threads = (int)o.threads;
    p.logdir = o.logdir;
    p.model_root = o.model_root;
    p.step_key = o.step_key;
    p.log = log_line;
    if (o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO)))
        cbs[ncb++] = cli_progress_callback();
    if (o.json) p.on_results = json_on_results;
    if (test_signal_hook(&cbs[ncb])) ncb++;
    p.callbacks = cbs;
    p.num_callbacks = ncb;
    p.group = o.group;
    if (o.report) {
        p.on_outputs_written = report_after_evaluation;
        p.outputs_user = &o;
    }
    if (is_run) {
        p.checkpoint_dir = o.checkpoint_dir;
        p.max_evaluations = o.max_evaluations;
        p.every = o.every;
        p.timeout_s = o.timeout;
        p.export_dir = o.export_dir;
        if (o.monitor) p.monitor = o.monitor;
        if (o.mode)
            p.export_mode = !strcmp(o.mode, "min")   ? SC_EXPORT_MIN
                            : !strcmp(o.mode, "max") ? SC_EXPORT_MAX
                                                     : SC_EXPORT_AUTO;
        if (o.poll > 0) {
            p.watch_mode = SC_WATCH_POLL;
            p.poll_interval_ms = (int)(o.poll * 1000 + 0.5);
            if (p.poll_interval_ms < 1) p.poll_interval_ms = 1;
        }
        if (o.watch)
            p.watch_mode = !strcmp(o.watch, "poll")      ? SC_WATCH_POLL
                           : !strcmp(o.watch, "inotify") ? SC_WATCH_INOTIFY
                                                         : SC_WATCH_AUTO;
    } else {
        dir = strdup(ref.path);
        if (!dir) goto fail;
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            strcpy(dir, ".");
        p.checkpoint_dir = dir;
        p.retries = 1;
    }
    if ((s = sc_evaluator_create(&p, &ev, &err))) goto fail;
    g_ev = ev;
    g_group = o.group;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* mpirun forwards SIGUSR1 to every rank at once (SIGTERM only after a delay, then SIGKILL,
     * and exits 1 whatever the ranks do): the stop that lets a group exit 0 (README). */
    sigaction(SIGUSR1, &sa, NULL);
    if (o.report && rank == 0)
        write_report(&o, 1); /* a page at once, before the first checkpoint */
    s = is_run ? sc_evaluator_start(ev, &err) : sc_evaluator_evaluate_ref(ev, &ref, &err);
    cli_progress_clear();
    if (o.report && rank == 0) write_report(&o, 0); /* final: stops reloading */
    if (s == SC_ABORTED && g_signal && !is_run) {
        /* A requested stop is not a failure (supervisors read exit 1 as one). */
        fprintf(stderr,
                "sidecar: stop requested (signal %d): the evaluation of %s was abandoned, "
                "nothing written\n",
                (int)g_signal, ref.path);
        s = SC_OK;
    }
    if (s) goto fail;
    code = CLI_EXIT_OK;
    if (o.group_stats && sc_group_size(o.group) > 1 && rank == 0) {
        uint64_t sent, received, reductions;
        sc_group_traffic(o.group, &sent, &received, &reductions);
        fprintf(stderr,
                "group: %d ranks; rank 0 sent %llu and received %llu bytes over %llu "
                "dataset evaluations (%.0f bytes each)\n",
                sc_group_size(o.group), (unsigned long long)sent, (unsigned long long)received,
                (unsigned long long)reductions,
                reductions ? (double)(sent + received) / (double)reductions : 0.0);
    }
    goto done;
fail:
    cli_progress_clear();
    if (sc_group_size(o.group) > 1)
        fprintf(stderr, "sidecar: rank %d of %d: %s\n", sc_group_rank(o.group),
                sc_group_size(o.group), err.message[0] ? err.message : sc_status_name(s));
    else
        cli_report_error(&err, s);
    sc_group_abandon(o.group); /* the others may be waiting for this rank */
done:
    g_ev = NULL;
    sc_evaluator_free(ev);
    g_group = NULL;
    for (size_t i = 0; i < o.num_data; i++) {
        sc_compiled_clear(&st.compiled[i]);
        sc_dataset_free(st.data[i]);
    }
    free_opts(&o);
    free(st.columns_buf);
    sc_model_free(st.model);
    free(st.compile_json);
    sc_ckpt_ref_clear(&ref);
    sc_keras_config_clear(&kc);
    free(dir);
    sc_group_free(o.group);
    return code;
}
