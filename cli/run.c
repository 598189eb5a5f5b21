/* cli/run.c — `sidecar run` (the SidecarEvaluator loop) and `sidecar eval` (one checkpoint),
 * sharing their options (DESIGN §4). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sidecar/compile.h"
#include "sidecar/eval.h"
#include "sidecar/keras_weights.h"
#include "sidecar/report.h"

#define MAX_DATASETS 8
#define MAX_FEATURES 16

typedef struct run_opts {
    int is_run;
    const char *checkpoint;       /* eval: CKPT */
    const char *checkpoint_dir;   /* run */
    const char *model;
    const char *data_name[MAX_DATASETS];
    const char *data_path[MAX_DATASETS];
    size_t num_data;
    const char *loss, *metrics, *compile;
    long batch_size;
    long steps;
    long max_evaluations;
    const char *logdir;
    int every, json, progress; /* progress: -1 auto (terminal), 0 off, 1 on */
    const char *export_dir, *monitor, *mode;
    const char *report;           /* run --report FILE.html */
    double timeout, poll;
    const char *watch;
    const char *label, *sample_weight, *compression;
    const char *feature_input[MAX_FEATURES], *feature_name[MAX_FEATURES];
    size_t num_features;
} run_opts;

static const char k_eval_usage[] =
    "usage: sidecar eval CKPT --model MODEL --data DATA [--loss L] [--metrics M1,M2]\n"
    "                    [--compile FILE] [--batch-size N] [--steps N] [--json] [options]\n";
static const char k_run_usage[] =
    "usage: sidecar run --checkpoint-dir DIR --model MODEL --data DATA [--loss L] [--metrics M1,M2]\n"
    "                   [--compile FILE] [--batch-size N] [--steps N] [--max-evaluations N]\n"
    "                   [--logdir DIR] [--every] [--export-best DIR [--monitor M] [--mode min|max|auto]]\n"
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
    "  --compression none|zlib|gzip|auto  TFRecord compression (default auto)\n"
    "  --loss L           a Keras loss name (sparse_categorical_crossentropy, mse, ...)\n"
    "  --metrics M1,M2    Keras metric names (accuracy, auc, precision, ...)\n"
    "  --compile FILE     Keras' compile config as JSON (model.get_compile_config(), or a\n"
    "                     config.json with compile_config): losses and metrics with options\n"
    "  --batch-size N     examples per batch (default 32, as Keras)\n"
    "  --steps N          batches per evaluation (default: until the data is exhausted)\n"
    "  --logdir DIR       TensorBoard events (DIR/validation) and the results journal\n"
    "  --json             one JSON object per evaluation on stdout:\n"
    "                     {\"checkpoint\": ..., \"step\": N, \"metrics\": {\"loss\": ..., ...}}\n"
    "  --progress / --no-progress  live progress bar (default: when stderr is a terminal)\n"
    "  -h, --help         this help\n";

static const char k_run_help[] =
    "  --checkpoint-dir DIR  where training writes checkpoints (watched with inotify)\n"
    "  --max-evaluations N   stop after the checkpoint whose number (after the last '-') is >= N;\n"
    "                     0 or unset: run until interrupted (SIGINT/SIGTERM stop cleanly)\n"
    "  --every            evaluate every checkpoint in order (default: the newest unseen one)\n"
    "  --export-best DIR  keep a copy of the best checkpoint in DIR (--monitor, default loss;\n"
    "                     --mode min|max|auto as Keras: auto is max for names with 'acc')\n"
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
    fputs(is_run ? "\nWatches DIR and evaluates each new checkpoint, like Keras' SidecarEvaluator.\n"
                 : "\nEvaluates one checkpoint (a prefix, a directory with a `checkpoint` file, a\n"
                   "SavedModel directory, a Keras 3 .weights.h5 or .keras file, or a .safetensors\n"
                   "file) like model.evaluate.\n",
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
static int parse_args(int argc, char **argv, run_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define VALUE()                                                                                    \
    (i + 1 < argc ? argv[++i] : (usage_error(o->is_run, "%s needs a value", a), (char *)NULL))
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
        } else if (a[0] == '-' && a[1] == '-') {
            const char *v = VALUE();
            if (!v) return CLI_EXIT_USAGE;
            if (!strcmp(a, "--model")) o->model = v;
            else if (!strcmp(a, "--data")) {
                if (o->num_data == MAX_DATASETS) return usage_error(o->is_run, "at most %d --data", MAX_DATASETS);
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
                o->num_data++;
            } else if (!strcmp(a, "--loss")) o->loss = v;
            else if (!strcmp(a, "--metrics")) o->metrics = v;
            else if (!strcmp(a, "--compile")) o->compile = v;
            else if (!strcmp(a, "--label")) o->label = v;
            else if (!strcmp(a, "--sample-weight")) o->sample_weight = v;
            else if (!strcmp(a, "--compression")) o->compression = v;
            else if (!strcmp(a, "--feature")) {
                const char *eq = strchr(v, '=');
                if (!eq || eq == v || !eq[1] || o->num_features == MAX_FEATURES)
                    return usage_error(o->is_run, "--feature expects INPUT=FEATURE, got '%s'", v);
                o->feature_input[o->num_features] = strndup(v, (size_t)(eq - v));
                o->feature_name[o->num_features++] = eq + 1;
            } else if (!strcmp(a, "--batch-size")) {
                if (!parse_long(v, 1, &o->batch_size) || o->batch_size > 1 << 20)
                    return usage_error(o->is_run, "--batch-size expects a positive integer, got '%s'", v);
            } else if (!strcmp(a, "--steps")) {
                if (!parse_long(v, 1, &o->steps))
                    return usage_error(o->is_run, "--steps expects a positive integer, got '%s'", v);
            } else if (o->is_run && !strcmp(a, "--checkpoint-dir")) o->checkpoint_dir = v;
            else if (o->is_run && !strcmp(a, "--max-evaluations")) {
                if (!parse_long(v, 0, &o->max_evaluations))
                    return usage_error(o->is_run, "--max-evaluations expects an integer >= 0, got '%s'", v);
            } else if (!strcmp(a, "--logdir")) o->logdir = v;
            else if (o->is_run && !strcmp(a, "--export-best")) o->export_dir = v;
            else if (o->is_run && !strcmp(a, "--monitor")) o->monitor = v;
            else if (o->is_run && !strcmp(a, "--report")) o->report = v;
            else if (o->is_run && !strcmp(a, "--mode")) {
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
                    return usage_error(o->is_run, "--watch expects auto, inotify or poll, got '%s'", v);
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
    }
    if (!o->is_run && !o->checkpoint) return usage_error(0, "missing CKPT");
    if (o->is_run && !o->checkpoint_dir) return usage_error(1, "missing --checkpoint-dir DIR");
    if (!o->model) return usage_error(o->is_run, "missing --model MODEL");
    if (o->num_data == 0) return usage_error(o->is_run, "missing --data DATA");
    if (o->report && !o->logdir) return usage_error(o->is_run, "--report needs --logdir DIR (the page shows its curves)");
    if (o->compile && (o->loss || o->metrics))
        return usage_error(o->is_run, "--compile and --loss/--metrics exclude each other");
    size_t ml = strlen(o->model);
    int archive = ml > 6 && !strcmp(o->model + ml - 6, ".keras");
    if (!o->loss && !o->metrics && !o->compile && !archive)
        return usage_error(o->is_run, "nothing to compute: give --loss, --metrics or --compile "
                                      "(or a .keras model that carries its compile config)");
    if (o->num_data > 1)
        for (size_t i = 0; i < o->num_data; i++)
            if (!o->data_name[i])
                return usage_error(o->is_run, "with several datasets each needs a name: --data NAME=DATA");
    return -1;
}

/* ---- outputs on stdout (--json) ---- */

static int json_on_test_end(void *user, const sc_eval_logs *logs) {
    (void)user;
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
        if (logs->values[i] == logs->values[i] && logs->values[i] - logs->values[i] == 0)
            printf(":%.9g", logs->values[i]);
        else
            fputs(":null", stdout);
    }
    fputs("}}\n", stdout);
    fflush(stdout);
    return 0;
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
    if (o->mode) rp.mode = !strcmp(o->mode, "min") ? SC_REPORT_MIN
                         : !strcmp(o->mode, "max") ? SC_REPORT_MAX : SC_REPORT_AUTO;
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

static void on_signal(int sig) {
    (void)sig;
    if (g_ev) sc_evaluator_stop(g_ev);
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
        dp.inputs[k].name = dp.num_inputs == 1 ? NULL : sc_model_input_name(st->model, k);
        dp.inputs[k].shape.rank = s.rank;
        for (int d = 0; d < s.rank && d < SC_DATASET_MAX_RANK; d++) dp.inputs[k].shape.dims[d] = s.dims[d];
        for (size_t f = 0; f < o->num_features; f++)
            if (!strcmp(o->feature_input[f], sc_model_input_name(st->model, k)) ||
                (dp.num_inputs == 1 && !strcmp(o->feature_input[f], "x")))
                dp.inputs[k].feature = o->feature_name[f];
    }
    dp.num_outputs = 1;
    dp.outputs[0].label = o->label;
    dp.sample_weight = o->sample_weight;
    dp.compression = parse_compression(o->compression);
    return sc_dataset_open(&dp, &st->data[i], err);
}

static sc_status compile_for(const run_opts *o, run_state *st, size_t i, sc_error *err) {
    sc_shape out = sc_model_output_shape(st->model, 0);
    const sc_dataset_shape *ls = sc_dataset_label_shape(st->data[i], 0);
    sc_compile_shapes cs;
    memset(&cs, 0, sizeof cs);
    cs.pred_rank = out.rank + 1;
    cs.pred_last_dim = out.rank ? out.dims[out.rank - 1] : 1;
    cs.true_rank = ls ? ls->rank + 1 : 1;
    cs.true_last_dim = ls && ls->rank ? ls->dims[ls->rank - 1] : 1;
    cs.keras_version = sc_model_keras_version(st->model);
    if (st->compile_json)
        return sc_compile_from_json(st->compile_json, st->compile_len,
                                    o->compile ? o->compile : o->model, &cs, &st->compiled[i], err);
    return sc_compile_from_names(o->loss, o->metrics, &cs, &st->compiled[i], err);
}

int cli_run_main(int argc, char **argv, int is_run) {
    run_opts o;
    memset(&o, 0, sizeof o);
    o.is_run = is_run;
    o.batch_size = 32;
    o.progress = -1;
    int code = parse_args(argc, argv, &o);
    if (code >= 0) return code;

    code = CLI_EXIT_INPUT;
    sc_error err;
    sc_error_clear(&err);
    run_state st;
    memset(&st, 0, sizeof st);
    sc_evaluator *ev = NULL;
    char *prefix = NULL, *dir = NULL;
    sc_status s;
    sc_callback cbs[2];
    size_t ncb = 0;

    if ((s = sc_model_load_keras(o.model, &st.model, &err))) goto fail;
    if (o.compile && (s = cli_read_text(o.compile, &st.compile_json, &st.compile_len, &err))) goto fail;
    if (!o.compile && !o.loss && !o.metrics) {
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
    for (size_t i = 0; i < o.num_data; i++) {
        if ((s = open_data(&o, &st, i, &err))) goto fail;
        if ((s = compile_for(&o, &st, i, &err))) goto fail;
        st.eds[i] = (sc_eval_dataset){o.data_name[i], st.data[i], st.compiled[i].loss,
                                      st.compiled[i].metrics, st.compiled[i].num_metrics,
                                      st.compiled[i].weighted};
    }
    sc_evaluator_params p = sc_evaluator_default_params();
    p.model = st.model;
    p.datasets = st.eds;
    p.num_datasets = o.num_data;
    p.max_batch = (int)o.batch_size;
    p.logdir = o.logdir;
    p.log = log_line;
    if (o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO))) cbs[ncb++] = cli_progress_callback();
    if (o.json) cbs[ncb++] = (sc_callback){NULL, NULL, NULL, NULL, json_on_test_end};
    p.callbacks = cbs;
    p.num_callbacks = ncb;
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
        if (o.mode) p.export_mode = !strcmp(o.mode, "min") ? SC_EXPORT_MIN
                                  : !strcmp(o.mode, "max") ? SC_EXPORT_MAX : SC_EXPORT_AUTO;
        if (o.poll > 0) {
            p.watch_mode = SC_WATCH_POLL;
            p.poll_interval_ms = (int)(o.poll * 1000 + 0.5);
            if (p.poll_interval_ms < 1) p.poll_interval_ms = 1;
        }
        if (o.watch) p.watch_mode = !strcmp(o.watch, "poll") ? SC_WATCH_POLL
                                  : !strcmp(o.watch, "inotify") ? SC_WATCH_INOTIFY : SC_WATCH_AUTO;
    } else {
        size_t n = strlen(o.checkpoint);
        if ((n > 12 && !strcmp(o.checkpoint + n - 12, ".safetensors")) ||
            (n > 3 && !strcmp(o.checkpoint + n - 3, ".h5")) ||
            (n > 6 && !strcmp(o.checkpoint + n - 6, ".keras"))) {
            prefix = strdup(o.checkpoint);
        } else if ((s = sc_ckpt_resolve(o.checkpoint, &prefix, &err))) {
            goto fail;
        }
        if (!prefix) goto fail;
        dir = strdup(prefix);
        if (!dir) goto fail;
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0'; else strcpy(dir, ".");
        p.checkpoint_dir = dir;
        p.retries = 1;
    }
    if ((s = sc_evaluator_create(&p, &ev, &err))) goto fail;
    g_ev = ev;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (o.report) write_report(&o, 1); /* a page at once, before the first checkpoint */
    s = is_run ? sc_evaluator_start(ev, &err) : sc_evaluator_evaluate(ev, prefix, &err);
    cli_progress_clear();
    if (o.report) write_report(&o, 0); /* final: stops reloading */
    if (s) goto fail;
    code = CLI_EXIT_OK;
    goto done;
fail:
    cli_progress_clear();
    cli_report_error(&err, s);
done:
    g_ev = NULL;
    sc_evaluator_free(ev);
    for (size_t i = 0; i < o.num_data; i++) {
        sc_compiled_clear(&st.compiled[i]);
        sc_dataset_free(st.data[i]);
        if (o.data_name[i]) free((char *)o.data_name[i]);
    }
    for (size_t f = 0; f < o.num_features; f++) free((char *)o.feature_input[f]);
    sc_model_free(st.model);
    free(st.compile_json);
    free(prefix);
    free(dir);
    return code;
}
