/* cli/inspect_model.c — `sidecar inspect --model MODEL CKPT`: which checkpoint key binds to which
 * model variable, and what is missing or left over. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "sidecar/keras_weights.h"
#include "sidecar/model.h"

static void shape_str(const sc_shape *s, char *buf, size_t cap) {
    size_t pos = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < s->rank && pos < cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%" PRId64, i ? "," : "", s->dims[i]);
    if (pos < cap) snprintf(buf + pos, cap - pos, "]");
}

static void write_json(FILE *f, sc_model *m, const sc_bind_report *rep, const char *model_path) {
    fputs(",\"model\":", f);
    cli_json_string(f, model_path);
    fputs(",\"binding\":[", f);
    for (size_t i = 0; i < rep->num_entries; i++) {
        const sc_variable *v = sc_model_variable(m, i);
        char shape[160];
        shape_str(&v->shape, shape, sizeof shape);
        fputs(i ? ",{\"variable\":" : "{\"variable\":", f);
        cli_json_string(f, rep->entries[i].variable ? rep->entries[i].variable : "?");
        fprintf(f, ",\"shape\":%s,\"key\":", shape);
        if (rep->entries[i].key)
            cli_json_string(f, rep->entries[i].key);
        else
            fputs("null", f);
        fputc('}', f);
    }
    fputc(']', f);
    if (rep->model_root) {
        fputs(",\"model_found_under\":", f);
        cli_json_string(f, rep->model_root);
    }
    fputs(",\"unused\":[", f);
    for (size_t i = 0; i < rep->num_unused; i++) {
        if (i) fputc(',', f);
        cli_json_string(f, rep->unused_keys[i]);
    }
    fputc(']', f);
}

static void write_human(FILE *f, sc_model *m, const sc_bind_report *rep, const char *model_path) {
    size_t wv = 8, ws = 5;
    for (size_t i = 0; i < rep->num_entries; i++) {
        char shape[160];
        shape_str(&sc_model_variable(m, i)->shape, shape, sizeof shape);
        size_t l = rep->entries[i].variable ? strlen(rep->entries[i].variable) : 1;
        if (l > wv) wv = l;
        if (strlen(shape) > ws) ws = strlen(shape);
    }
    fprintf(f, "\nmodel    %s (%s, %zu layers, %zu variables)\n\n", model_path, sc_model_name(m),
            sc_model_num_layers(m), sc_model_num_variables(m));
    if (rep->model_root && rep->model_root[0]) /* found through the object graph */
        fprintf(f, "found    model under '%s'\n\n", rep->model_root);
    else if (rep->model_root)
        fputs("found    model at the root\n\n", f);
    fprintf(f, "%-*s  %-*s  %s\n", (int)wv, "VARIABLE", (int)ws, "SHAPE", "CHECKPOINT KEY");
    for (size_t i = 0; i < rep->num_entries; i++) {
        char shape[160];
        shape_str(&sc_model_variable(m, i)->shape, shape, sizeof shape);
        fprintf(f, "%-*s  %-*s  %s\n", (int)wv,
                rep->entries[i].variable ? rep->entries[i].variable : "?", (int)ws, shape,
                rep->entries[i].key ? rep->entries[i].key : "MISSING");
    }
    if (rep->num_unused) {
        fprintf(f, "\nleft over (layer variables no model variable took): %zu\n", rep->num_unused);
        for (size_t i = 0; i < rep->num_unused; i++) fprintf(f, "  %s\n", rep->unused_keys[i]);
    }
}

sc_status cli_write_binding(FILE *f, cli_format fmt, const char *model_path, const char *model_root,
                            sc_ckpt_kind kind, void *source, sc_error *bind_err, sc_error *err) {
    sc_model *m = NULL;
    sc_bind_report rep;
    memset(&rep, 0, sizeof rep);
    sc_status st = sc_model_load_keras(model_path, &m, err);
    if (st != SC_OK) return st;
    sc_status bs;
    sc_bind_params bp = {model_root};
    if (kind == SC_CKPT_SAFETENSORS)
        bs = sc_model_bind_safetensors(m, source, &rep, bind_err);
    else if (kind == SC_CKPT_BUNDLE || kind == SC_CKPT_SAVED_MODEL)
        bs = sc_model_bind_bundle_ex(m, source, &bp, &rep, bind_err);
    else if (sc_h5weights_is_legacy(source))
        bs = sc_model_bind_h5legacy(m, source, &rep, bind_err);
    else
        bs = sc_model_bind_h5weights(m, source, &rep, bind_err);
    /* The table is the point of --model: print it even when binding fails (the caller reports
     * bind_err after the output). */
    int rep_written = rep.entries != NULL;
    if (rep_written) {
        if (fmt == CLI_JSON)
            write_json(f, m, &rep, model_path);
        else
            write_human(f, m, &rep, model_path);
    }
    sc_bind_report_clear(&rep);
    sc_model_free(m);
    return bs != SC_OK && !rep_written ? (*err = *bind_err, bs) : SC_OK;
}
