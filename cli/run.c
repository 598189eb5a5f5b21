/* cli/run.c — `sidecar run` (the SidecarEvaluator loop) and `sidecar eval` (one checkpoint),
 * sharing their options (DESIGN §4). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sidecar/run.h"

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
    "                   [--timeout SECS] [--poll SECS] [--json] [options]\n";

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
    "  --watch auto|inotify|poll  how to notice checkpoints (default auto: inotify + rescan)\n";

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

static sc_run *volatile g_run;

static void on_signal(int sig) {
    (void)sig;
    if (g_run) sc_run_stop(g_run);
}

static void log_line(void *user, const char *line) {
    (void)user;
    cli_progress_clear();
    fprintf(stderr, "%s\n", line);
}

/* One option, unless an earlier one failed or the value is absent. */
static void opt(sc_run *r, const char *name, const char *value, sc_status *s, sc_error *err) {
    if (*s == SC_OK && value) *s = sc_run_set_option(r, name, value, err);
}

/* The parsed options -> sidecar/run.h, which assembles model, data, compile config and
 * evaluator exactly as a library user's call does. */
static sc_status set_options(const run_opts *o, sc_run *r, sc_error *err) {
    char num[64], kv[1024];
    sc_status s = SC_OK;
    opt(r, "loss", o->loss, &s, err);
    opt(r, "metrics", o->metrics, &s, err);
    opt(r, "label", o->label, &s, err);
    opt(r, "sample_weight", o->sample_weight, &s, err);
    opt(r, "compression", o->compression, &s, err);
    opt(r, "logdir", o->logdir, &s, err);
    snprintf(num, sizeof num, "%ld", o->batch_size);
    opt(r, "batch_size", num, &s, err);
    snprintf(num, sizeof num, "%ld", o->steps);
    opt(r, "steps", num, &s, err);
    for (size_t f = 0; f < o->num_features; f++) {
        int n = snprintf(kv, sizeof kv, "%s=%s", o->feature_input[f], o->feature_name[f]);
        opt(r, "feature", n > 0 && (size_t)n < sizeof kv ? kv : "(too long)=", &s, err);
    }
    if (o->is_run) {
        opt(r, "checkpoint_dir", o->checkpoint_dir, &s, err);
        snprintf(num, sizeof num, "%ld", o->max_evaluations);
        opt(r, "max_evaluations", num, &s, err);
        opt(r, "every", o->every ? "1" : "0", &s, err);
        opt(r, "export_best", o->export_dir, &s, err);
        opt(r, "monitor", o->monitor, &s, err);
        opt(r, "mode", o->mode, &s, err);
        snprintf(num, sizeof num, "%.17g", o->timeout);
        opt(r, "timeout", o->timeout > 0 ? num : NULL, &s, err);
        snprintf(num, sizeof num, "%.17g", o->poll);
        opt(r, "poll", o->poll > 0 ? num : NULL, &s, err);
        opt(r, "watch", o->watch, &s, err);
    }
    return s;
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
    sc_run *r = NULL;
    char *compile_json = NULL;
    size_t compile_len = 0;
    sc_status s;

    if ((s = sc_run_create(&r, &err)) || (s = sc_run_set_model_path(r, o.model, &err))) goto fail;
    if (o.compile &&
        ((s = cli_read_text(o.compile, &compile_json, &compile_len, &err)) ||
         (s = sc_run_set_compile_json(r, compile_json, compile_len, o.compile, &err))))
        goto fail;
    if ((s = set_options(&o, r, &err))) goto fail;
    for (size_t i = 0; i < o.num_data; i++)
        if ((s = sc_run_add_data_path(r, o.data_name[i], o.data_path[i], &err))) goto fail;
    if (o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO))) {
        sc_callback cb = cli_progress_callback();
        if ((s = sc_run_add_callback(r, &cb, &err))) goto fail;
    }
    if (o.json) {
        sc_callback cb = {NULL, NULL, NULL, NULL, json_on_test_end};
        if ((s = sc_run_add_callback(r, &cb, &err))) goto fail;
    }
    sc_run_set_log(r, log_line, NULL);
    g_run = r;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    s = is_run ? sc_run_start(r, &err) : sc_run_evaluate(r, o.checkpoint, &err);
    cli_progress_clear();
    if (s) goto fail;
    code = CLI_EXIT_OK;
    goto done;
fail:
    cli_progress_clear();
    cli_report_error(&err, s);
done:
    g_run = NULL;
    sc_run_free(r);
    for (size_t i = 0; i < o.num_data; i++)
        if (o.data_name[i]) free((char *)o.data_name[i]);
    for (size_t f = 0; f < o.num_features; f++) free((char *)o.feature_input[f]);
    free(compile_json);
    return code;
}
