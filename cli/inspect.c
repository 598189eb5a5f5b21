/* cli/inspect.c — `sidecar inspect PATH [--values N] [--json]`: what a checkpoint holds.
 *
 * Resolves PATH (prefix, directory with a `checkpoint` state file, SavedModel), opens the
 * bundle, describes it (layout, step) and lists every tensor. With --values every tensor is read
 * whole, so every data CRC is verified, and its first N values are shown. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sidecar/keras_weights.h"
#include "sidecar/safetensors.h"

typedef struct inspect_opts {
    const char *path;
    const char *model; /* --model MODEL: show the binding to this Keras model */
    sc_error bind_err; /* the binding's outcome, reported after the output */
    int json;
    uint64_t values;                   /* 0: do not read values */
    const char *model_root, *step_key; /* --model-root, --step-key */
} inspect_opts;

/* Where the tensors come from (a bundle, an HDF5 weights file, a safetensors file), seen through
 * one interface, and one growing buffer reused for every tensor read. */
typedef struct tensor_reader {
    sc_bundle *bundle; /* bundles (and SavedModels) only */
    void *h;           /* the open source: bundle, sc_h5weights or sc_safetensors */
    const char *name;  /* "prefix" in the output: the bundle prefix or the file */
    size_t (*count)(const void *h);
    const sc_tensor_info *(*get)(const void *h, size_t i);
    sc_status (*read)(void *h, const sc_tensor_info *t, void *buf, size_t cap, sc_error *err);
    void *buf;
    size_t cap;
} tensor_reader;

/* What the header shows: for bundles from sc_ckpt_describe, for weight files from the file. */
typedef struct ckpt_view {
    const char *layout; /* sc_ckpt_layout_name, or the file's sc_ckpt_kind_name */
    int has_step;
    int64_t step;
    const char *step_source; /* sc_step_source_name, or the HDF5 key the step came from */
    int32_t num_shards;
    const char *model_config; /* where the file's own model config is, NULL when it has none */
    sc_ckpt_kind kind;
    /* Bundles: the key that gave the step (NULL for the file-name forms) and why that one, and
     * where the object graph holds the model (model_path_found 0: not known). */
    const char *step_key, *step_reason;
    int model_path_found;
    const char *model_path;
} ckpt_view;

static const char k_usage_line[] =
    "usage: sidecar inspect PATH [--model MODEL] [--values N] [--json]\n";

void cli_inspect_usage(FILE *f) {
    fputs(k_usage_line, f);
    fputs(
        "\n"
        "Lists what a checkpoint holds: its resolved prefix (or file), layout, training step\n"
        "(and where the step came from), where its own model config is (files that carry\n"
        "one), number of data shards, and every tensor's key, dtype, shape and size in bytes.\n"
        "\n"
        "  PATH        a checkpoint prefix (runs/a/ckpt-3), a directory holding a `checkpoint`\n"
        "              state file (its latest checkpoint), a SavedModel directory, a Keras 3\n"
        "              .weights.h5 or .keras file, a Keras 2 .h5 file, or a .safetensors file\n"
        "  --model MODEL  a Keras model JSON (model.to_json()) or .keras: also show which key\n"
        "              binds to which model variable, and what is missing or left over\n"
        "              (exit 1 when a variable is missing or has the wrong shape)\n"
        "  --values N  read every tensor whole (verifying its CRC) and show its first N values;\n"
        "              strings are shown escaped and cut short, types that are not decoded\n"
        "              (variant, resource, ...) say so\n"
        "  --model-root NAME  where the model is in the object graph (\"net\", \"\" for the\n"
        "              root); default: found (with --model: the object holding all its variables)\n"
        "  --step-key KEY  the tensor holding the training step (a key or a graph path such\n"
        "              as net/optimizer/iter); default: the counter of the optimizer that\n"
        "              trained the model (the one holding slot variables)\n"
        "  --json      print one JSON object instead:\n"
        "              {\"prefix\", \"layout\", \"step\", \"step_source\", \"num_shards\",\n"
        "               \"tensors\": [{\"key\", \"dtype\", \"shape\", \"bytes\", \"values\"}]}\n"
        "              (\"values\" only with --values; NaN and infinities as strings)\n"
        "  -h, --help  show this help\n"
        "\n"
        "Exit status: 0 success, 1 the checkpoint cannot be read (one line on stderr),\n"
        "2 usage error.\n",
        f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
    va_list ap;
    fputs("sidecar: inspect: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(k_usage_line, stderr);
    fputs("Run 'sidecar inspect --help' for details.\n", stderr);
    return CLI_EXIT_USAGE;
}

/* A positive decimal count, digits only, no overflow. */
static int parse_count(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (!*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (v == 0) return 0;
    *out = v;
    return 1;
}

/* Returns -1 to go on, or the exit code (0 after --help). */
static int parse_args(int argc, char **argv, inspect_opts *o) {
    int only_positional = 0;
    memset(o, 0, sizeof *o);
    sc_error_clear(&o->bind_err);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *count = NULL;
        if (!only_positional && a[0] == '-' && a[1] != '\0') {
            if (!strcmp(a, "--")) {
                only_positional = 1;
            } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                cli_inspect_usage(stdout);
                return CLI_EXIT_OK;
            } else if (!strcmp(a, "--json")) {
                o->json = 1;
            } else if (!strcmp(a, "--model")) {
                if (i + 1 >= argc) return usage_error("--model needs a file");
                o->model = argv[++i];
            } else if (!strncmp(a, "--model=", 8)) {
                o->model = a + 8;
            } else if (!strcmp(a, "--model-root") || !strcmp(a, "--step-key")) {
                if (i + 1 >= argc) return usage_error("%s needs a value", a);
                *(a[2] == 'm' ? &o->model_root : &o->step_key) = argv[++i];
            } else if (!strncmp(a, "--model-root=", 13)) {
                o->model_root = a + 13;
            } else if (!strncmp(a, "--step-key=", 11)) {
                o->step_key = a + 11;
            } else if (!strcmp(a, "--values")) {
                if (i + 1 >= argc) return usage_error("--values needs a count N");
                count = argv[++i];
            } else if (!strncmp(a, "--values=", 9)) {
                count = a + 9;
            } else {
                return usage_error("unknown option '%s'", a);
            }
            if (count && !parse_count(count, &o->values))
                return usage_error("--values expects a positive integer, got '%s'", count);
            continue;
        }
        if (o->path) return usage_error("expected one PATH, got '%s' and '%s'", o->path, a);
        o->path = a;
    }
    if (!o->path) return usage_error("missing PATH");
    return -1;
}

static sc_status read_whole(tensor_reader *r, const sc_tensor_info *t, sc_error *err) {
    if (t->size > SIZE_MAX) {
        snprintf(err->message, sizeof err->message,
                 "%s: tensor '%s': %" PRIu64 " bytes do not fit in memory", r->name, t->key,
                 t->size);
        return err->status = SC_NO_MEMORY;
    }
    if (t->size > r->cap || !r->buf) {
        size_t want = t->size ? (size_t)t->size : 1;
        void *nb = realloc(r->buf, want);
        if (!nb) {
            snprintf(err->message, sizeof err->message, "%s: tensor '%s': no memory for %zu bytes",
                     r->name, t->key, want);
            return err->status = SC_NO_MEMORY;
        }
        r->buf = nb;
        r->cap = want;
    }
    return r->read(r->h, t, r->buf, r->cap, err);
}

/* Values of one tensor, or the reason they are not shown. */
static sc_status put_values(FILE *f, cli_format fmt, tensor_reader *r, const sc_tensor_info *t,
                            uint64_t n, sc_error *err) {
    const char *why = cli_values_not_decoded(t);
    /* Strings and compounds of an HDF5 file are listed, not read (keras_weights.h). */
    if (!why && !r->bundle && (t->dtype == SC_DT_STRING || t->dtype == SC_DT_INVALID))
        why = "HDF5 string or compound dataset";
    if (why) {
        if (fmt == CLI_JSON) {
            fputs("null,\"not_decoded\":", f);
            cli_json_string(f, why);
        } else {
            fprintf(f, "(not decoded: %s, %" PRIu64 " bytes)", why, t->size);
        }
        return SC_OK;
    }
    sc_status st = read_whole(r, t, err);
    if (st != SC_OK) return st;
    return cli_write_values(f, fmt, t, r->buf, (size_t)t->size, n, err);
}

/* "[784,512]", "[]" for scalars. f may be NULL to only measure. */
static size_t put_shape(FILE *f, const sc_tensor_info *t) {
    size_t cols = 1;
    if (f) fputc('[', f);
    for (int d = 0; d < t->rank; d++) {
        const char *sep = d ? "," : "";
        int n = f ? fprintf(f, "%s%" PRId64, sep, t->shape[d])
                  : snprintf(NULL, 0, "%s%" PRId64, sep, t->shape[d]);
        cols += n > 0 ? (size_t)n : 0;
    }
    if (f) fputc(']', f);
    return cols + 1;
}

static void pad(FILE *f, size_t n) {
    while (n-- > 0) fputc(' ', f);
}

static sc_status write_json(FILE *f, tensor_reader *r, const ckpt_view *info, inspect_opts *o,
                            sc_error *err) {
    size_t n = r->count(r->h);
    fputs("{\"prefix\":", f);
    cli_json_string(f, r->name);
    fputs(",\"layout\":", f);
    cli_json_string(f, info->layout);
    if (!info->has_step)
        fputs(",\"step\":null", f);
    else
        fprintf(f, ",\"step\":%" PRId64, info->step);
    fputs(",\"step_source\":", f);
    cli_json_string(f, info->step_source);
    if (info->step_key) {
        fputs(",\"step_key\":", f);
        cli_json_string(f, info->step_key);
    }
    if (info->model_path_found) {
        fputs(",\"model_root\":", f);
        cli_json_string(f, info->model_path);
    }
    if (info->model_config) {
        fputs(",\"model_config\":", f);
        cli_json_string(f, info->model_config);
    }
    fprintf(f, ",\"num_shards\":%" PRId32 ",\"tensors\":[", info->num_shards);
    for (size_t i = 0; i < n; i++) {
        const sc_tensor_info *t = r->get(r->h, i);
        fputs(i ? ",{\"key\":\"" : "{\"key\":\"", f);
        cli_json_bytes(f, t->key, t->key_len);
        fputs("\",\"dtype\":", f);
        cli_json_string(f, sc_dtype_name(t->dtype));
        fputs(",\"shape\":[", f);
        for (int d = 0; d < t->rank; d++) fprintf(f, d ? ",%" PRId64 : "%" PRId64, t->shape[d]);
        fprintf(f, "],\"bytes\":%" PRIu64, t->size);
        if (o->values) {
            fputs(",\"values\":", f);
            sc_status st = put_values(f, CLI_JSON, r, t, o->values, err);
            if (st != SC_OK) return st;
        }
        fputc('}', f);
    }
    fputc(']', f);
    if (o->model) {
        sc_status st = cli_write_binding(f, CLI_JSON, o->model, o->model_root, info->kind, r->h,
                                         &o->bind_err, err);
        if (st != SC_OK) return st;
    }
    fputs("}\n", f);
    return SC_OK;
}

static sc_status write_human(FILE *f, tensor_reader *r, const ckpt_view *info, inspect_opts *o,
                             sc_error *err) {
    size_t n = r->count(r->h);
    size_t wkey = 3, wdtype = 5, wshape = 5, wbytes = 5; /* the headings */
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const sc_tensor_info *t = r->get(r->h, i);
        size_t w = cli_text_bytes(NULL, t->key, t->key_len, 0);
        if (w > wkey) wkey = w;
        w = strlen(sc_dtype_name(t->dtype));
        if (w > wdtype) wdtype = w;
        w = put_shape(NULL, t);
        if (w > wshape) wshape = w;
        w = (size_t)snprintf(NULL, 0, "%" PRIu64, t->size);
        if (w > wbytes) wbytes = w;
        total = total > UINT64_MAX - t->size ? UINT64_MAX : total + t->size;
    }

    fputs("prefix   ", f);
    cli_text_bytes(f, r->name, strlen(r->name), 0);
    fprintf(f, "\nlayout   %s", info->layout);
    if (info->model_path_found && info->model_path[0])
        fprintf(f, ", model under '%s'", info->model_path);
    else if (info->model_path_found)
        fputs(", model at the root", f);
    fputc('\n', f);
    if (!info->has_step)
        fputs("step     unknown (no step variable, no number in the file name)\n", f);
    else if (info->step_key) {
        /* The key, without the /.ATTRIBUTES/VARIABLE_VALUE every variable has. */
        const char *k = info->step_key, *attr = strstr(k, "/.ATTRIBUTES/VARIABLE_VALUE");
        fprintf(f, "step     %" PRId64 ", from %.*s", info->step,
                (int)(attr && !attr[27] ? (size_t)(attr - k) : strlen(k)), k);
        if (info->step_reason) fprintf(f, " (%s)", info->step_reason);
        fputc('\n', f);
    } else
        fprintf(f, "step     %" PRId64 ", from %s\n", info->step, info->step_source);
    if (info->model_config) fprintf(f, "model    %s (no --model needed)\n", info->model_config);
    fprintf(f, "shards   %" PRId32 "\n", info->num_shards);
    fprintf(f, "tensors  %zu, %" PRIu64 " bytes\n\n", n, total);

    fprintf(f, "%-*s  %-*s  %-*s  %*s\n", (int)wkey, "KEY", (int)wdtype, "DTYPE", (int)wshape,
            "SHAPE", (int)wbytes, "BYTES");
    for (size_t i = 0; i < n; i++) {
        const sc_tensor_info *t = r->get(r->h, i);
        pad(f, wkey - cli_text_bytes(f, t->key, t->key_len, 0));
        fprintf(f, "  %-*s  ", (int)wdtype, sc_dtype_name(t->dtype));
        pad(f, wshape - put_shape(f, t));
        fprintf(f, "  %*" PRIu64 "\n", (int)wbytes, t->size);
        if (o->values) {
            fputs("    = ", f);
            sc_status st = put_values(f, CLI_HUMAN, r, t, o->values, err);
            if (st != SC_OK) return st;
            fputc('\n', f);
        }
    }
    return o->model ? cli_write_binding(f, CLI_HUMAN, o->model, o->model_root, info->kind, r->h,
                                        &o->bind_err, err)
                    : SC_OK;
}

/* ---- the sources ---- */

static size_t b_count(const void *h) { return sc_bundle_num_tensors(h); }
static const sc_tensor_info *b_get(const void *h, size_t i) { return sc_bundle_tensor(h, i); }
static sc_status b_read(void *h, const sc_tensor_info *t, void *buf, size_t cap, sc_error *err) {
    return sc_bundle_read(h, t, buf, cap, err);
}
static size_t h_count(const void *h) { return sc_h5weights_num_tensors(h); }
static const sc_tensor_info *h_get(const void *h, size_t i) { return sc_h5weights_tensor(h, i); }
static sc_status h_read(void *h, const sc_tensor_info *t, void *buf, size_t cap, sc_error *err) {
    return sc_h5weights_read(h, t, buf, cap, err);
}
static size_t s_count(const void *h) { return sc_safetensors_num_tensors(h); }
static const sc_tensor_info *s_get(const void *h, size_t i) { return sc_safetensors_tensor(h, i); }
static sc_status s_read(void *h, const sc_tensor_info *t, void *buf, size_t cap, sc_error *err) {
    return sc_safetensors_read(h, t, buf, cap, err);
}

typedef struct file_handles {
    sc_h5weights *h5;
    sc_keras_archive *archive;
    sc_safetensors *st;
} file_handles;

/* A weight file: its tensors, and the step as the evaluator reads it (restore.c). */
static sc_status open_file(const sc_ckpt_ref *ref, tensor_reader *r, ckpt_view *v, file_handles *fh,
                           sc_error *err) {
    sc_status st;
    v->layout = sc_ckpt_kind_name(ref->kind);
    v->kind = ref->kind;
    v->num_shards = 1;
    if (ref->kind == SC_CKPT_SAFETENSORS) {
        if ((st = sc_safetensors_open(ref->path, &fh->st, err)) != SC_OK) return st;
        *r = (tensor_reader){NULL, fh->st, ref->path, s_count, s_get, s_read, NULL, 0};
    } else {
        sc_h5weights *h;
        if (ref->kind == SC_CKPT_KERAS_ARCHIVE) {
            if ((st = sc_keras_archive_open(ref->path, &fh->archive, err)) != SC_OK) return st;
            h = sc_keras_archive_weights(fh->archive);
        } else {
            if ((st = sc_h5weights_open(ref->path, &fh->h5, err)) != SC_OK) return st;
            h = fh->h5;
        }
        *r = (tensor_reader){NULL, h, ref->path, h_count, h_get, h_read, NULL, 0};
        sc_error e2;
        const char *key = "optimizer/vars/0";
        st = sc_h5weights_is_legacy(h) ? sc_h5weights_legacy_step(h, &v->step, &key, &e2)
                                       : sc_h5weights_keras3_step(h, &v->step, &e2);
        if (st == SC_OK) {
            v->has_step = 1;
            v->step_source = key;
            return SC_OK;
        }
        if (st != SC_NOT_FOUND) return *err = e2, st;
    }
    /* No optimizer in the file: the number in its name stands in, as when evaluating. */
    v->has_step = ref->number >= 0;
    v->step = ref->number;
    v->step_source = sc_step_source_name(v->has_step ? SC_STEP_FILE_NAME : SC_STEP_NONE);
    return SC_OK;
}

void cli_report_error(const sc_error *err, sc_status st) {
    if (err->message[0])
        fprintf(stderr, "sidecar: %s\n", err->message);
    else
        fprintf(stderr, "sidecar: %s (no message)\n", sc_status_name(st));
}

int cli_inspect_main(int argc, char **argv) {
    inspect_opts o;
    int code = parse_args(argc, argv, &o);
    if (code >= 0) return code;

    code = CLI_EXIT_INPUT;
    sc_error err;
    sc_error_clear(&err);
    char *prefix = NULL, *out = NULL;
    size_t out_len = 0;
    FILE *mem = NULL;
    tensor_reader r = {0};
    ckpt_view view = {0};
    sc_ckpt_ref ref = {SC_CKPT_NONE, NULL, -1};
    sc_keras_config kc = {0};
    file_handles fh = {0};
    sc_ckpt_info info; /* bundles: view points into it */
    sc_status st;
    int mem_bad, close_rc;

    if ((st = sc_ckpt_ref_resolve(o.path, &ref, &err)) != SC_OK) goto fail;
    if (ref.kind == SC_CKPT_BUNDLE || ref.kind == SC_CKPT_SAVED_MODEL) {
        if ((st = sc_ckpt_ref_bundle_prefix(&ref, &prefix, &err)) != SC_OK) goto fail;
        if ((st = sc_bundle_open(prefix, &r.bundle, &err)) != SC_OK) goto fail;
        sc_step_params sp = {o.step_key, NULL, 0};
        if ((st = sc_ckpt_describe_ex(r.bundle, &sp, &info, &err)) != SC_OK) goto fail;
        r.h = r.bundle;
        r.name = sc_bundle_prefix(r.bundle);
        r.count = b_count;
        r.get = b_get;
        r.read = b_read;
        view = (ckpt_view){sc_ckpt_layout_name(info.layout),
                           info.step_source != SC_STEP_NONE,
                           info.step,
                           sc_step_source_name(info.step_source),
                           sc_bundle_num_shards(r.bundle),
                           NULL,
                           ref.kind,
                           NULL,
                           NULL,
                           info.model_path_found,
                           info.model_path};
        /* The step's key, for the optimizer forms and a --step-key. */
        if (info.step_source == SC_STEP_OPTIMIZER_ITER
            || info.step_source == SC_STEP_OPTIMIZER_ITERATIONS
            || info.step_source == SC_STEP_GIVEN_KEY) {
            view.step_key = info.step_key;
            view.step_reason = info.step_reason;
        }
    } else if ((st = open_file(&ref, &r, &view, &fh, &err)) != SC_OK) {
        goto fail;
    }
    /* Say where the model config is when the checkpoint carries one (eval needs no --model). */
    if (ref.kind == SC_CKPT_SAVED_MODEL || ref.kind == SC_CKPT_LEGACY_H5
        || ref.kind == SC_CKPT_KERAS_ARCHIVE) {
        sc_error e2;
        if (sc_ckpt_keras_config(&ref, &kc, &e2) == SC_OK) view.model_config = kc.source;
    }

    /* Everything goes to memory first: a read failing half-way must not leave half an
     * object on stdout. */
    mem = open_memstream(&out, &out_len);
    if (!mem) {
        fprintf(stderr, "sidecar: cannot buffer the output: %s\n", strerror(errno));
        goto done;
    }
    st = o.json ? write_json(mem, &r, &view, &o, &err) : write_human(mem, &r, &view, &o, &err);
    if (st != SC_OK) goto fail;
    mem_bad = ferror(mem);
    close_rc = fclose(mem);
    mem = NULL;
    if (mem_bad || close_rc != 0) {
        fprintf(stderr, "sidecar: cannot buffer the output: out of memory\n");
        goto done;
    }
    if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout) != 0) {
        fprintf(stderr, "sidecar: writing the output: %s\n", strerror(errno));
        goto done;
    }
    code = CLI_EXIT_OK;
    if (o.bind_err.status != SC_OK) {
        cli_report_error(&o.bind_err, o.bind_err.status);
        code = CLI_EXIT_INPUT;
    }
    goto done;
fail:
    cli_report_error(&err, st);
done:
    if (mem) fclose(mem);
    free(out);
    free(r.buf);
    sc_bundle_free(r.bundle);
    sc_h5weights_free(fh.h5);
    sc_keras_archive_free(fh.archive);
    sc_safetensors_free(fh.st);
    sc_keras_config_clear(&kc);
    sc_ckpt_ref_clear(&ref);
    free(prefix);
    return code;
}
