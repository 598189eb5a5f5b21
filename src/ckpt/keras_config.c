/* ckpt/keras_config.c — the Keras model config and compile config that a checkpoint file
 * carries (see sidecar/ckpt_ref.h, sc_ckpt_keras_config): a .keras archive's config.json, a
 * legacy HDF5 file's model_config / training_config attributes (FORMATS §7.5), a Keras 2
 * SavedModel's keras_metadata.pb or, without it, the metadata inside saved_model.pb (§7.6). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/pb.h"
#include "sidecar/ckpt_ref.h"
#include "sidecar/keras_weights.h"

void sc_keras_config_clear(sc_keras_config *c) {
    if (!c) return;
    free(c->model_json);
    free(c->compile_json);
    memset(c, 0, sizeof *c);
}

static sc_status take_text(char **dst, const char *src, size_t n, sc_error *err) {
    if (!(*dst = malloc(n + 1))) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    memcpy(*dst, src, n);
    (*dst)[n] = '\0';
    return SC_OK;
}

static sc_status from_archive(const char *path, sc_keras_config *c, sc_error *err) {
    sc_keras_archive *ar;
    sc_status s = sc_keras_archive_open(path, &ar, err);
    if (s) return s;
    size_t len;
    const char *cfg = sc_keras_archive_config(ar, &len);
    /* config.json holds the model and, under compile_config, the compile config. */
    s = take_text(&c->model_json, cfg, len, err);
    if (!s) s = take_text(&c->compile_json, cfg, len, err);
    snprintf(c->source, sizeof c->source, "%s:config.json", path);
    sc_keras_archive_free(ar);
    return s;
}

static sc_status from_h5(const char *path, sc_keras_config *c, sc_error *err) {
    sc_h5weights *h;
    sc_status s = sc_h5weights_open(path, &h, err);
    if (s) return s;
    if ((s = sc_h5weights_root_attr(h, "model_config", &c->model_json, err))) goto done;
    if (!c->model_json) {
        s = sc_error_set(err, SC_NOT_FOUND,
                         "%s: no model_config attribute (a weights-only file: saved with "
                         "save_weights or ModelCheckpoint(save_weights_only=True)); give --model",
                         path);
        goto done;
    }
    s = sc_h5weights_root_attr(h, "training_config", &c->compile_json, err);
    snprintf(c->source, sizeof c->source, "%s:model_config", path);
done:
    sc_h5weights_free(h);
    return s;
}

/* ---- SavedModel (FORMATS §7.6) ---- */

typedef struct {
    const uint8_t *identifier, *metadata;
    size_t identifier_len, metadata_len;
} pb_node;

/* keras_metadata.pb: SavedMetadata { repeated SavedObject nodes = 1 }, SavedObject
 * { int32 node_id = 2; string node_path = 3; string identifier = 4; string metadata = 5 }. The
 * model is the node whose node_path is "root". */
static int metadata_root(const uint8_t *d, size_t n, pb_node *out) {
    sc_pb_reader r = sc_pb_reader_init(d, n);
    uint32_t f;
    int w, k;
    while ((k = sc_pb_next(&r, &f, &w)) == 1) {
        if (f != 1 || w != SC_PB_LEN) {
            if (sc_pb_skip(&r, w)) return -1;
            continue;
        }
        sc_pb_reader sub;
        if (sc_pb_read_sub(&r, &sub)) return -1;
        pb_node node = {0};
        int is_root = 0;
        while ((k = sc_pb_next(&sub, &f, &w)) == 1) {
            const uint8_t *v;
            size_t vl;
            if (w != SC_PB_LEN || (f != 3 && f != 4 && f != 5)) {
                if (sc_pb_skip(&sub, w)) return -1;
                continue;
            }
            if (sc_pb_read_len(&sub, &v, &vl)) return -1;
            if (f == 3)
                is_root = vl == 4 && !memcmp(v, "root", 4);
            else if (f == 4)
                node.identifier = v, node.identifier_len = vl;
            else
                node.metadata = v, node.metadata_len = vl;
        }
        if (k < 0) return -1;
        if (is_root) {
            *out = node;
            return 1;
        }
    }
    return k < 0 ? -1 : 0;
}

/* Descends into the first field `field` (a sub-message) of r. */
static int first_sub(sc_pb_reader *r, uint32_t field, sc_pb_reader *sub) {
    uint32_t f;
    int w, k;
    while ((k = sc_pb_next(r, &f, &w)) == 1) {
        if (f == field && w == SC_PB_LEN) return sc_pb_read_sub(r, sub) ? -1 : 1;
        if (sc_pb_skip(r, w)) return -1;
    }
    return k < 0 ? -1 : 0;
}

/* saved_model.pb: SavedModel.meta_graphs (2) -> MetaGraphDef.object_graph_def (7) ->
 * SavedObjectGraph.nodes (1), node 0 the root -> SavedObject.user_object (4) ->
 * SavedUserObject { string identifier = 1; string metadata = 3 }. */
static int saved_model_root(const uint8_t *d, size_t n, pb_node *out) {
    sc_pb_reader r = sc_pb_reader_init(d, n), mg, og, node, uo;
    int k;
    if ((k = first_sub(&r, 2, &mg)) != 1 || (k = first_sub(&mg, 7, &og)) != 1
        || (k = first_sub(&og, 1, &node)) != 1 || (k = first_sub(&node, 4, &uo)) != 1)
        return k;
    uint32_t f;
    int w;
    memset(out, 0, sizeof *out);
    while ((k = sc_pb_next(&uo, &f, &w)) == 1) {
        const uint8_t *v;
        size_t vl;
        if (w != SC_PB_LEN || (f != 1 && f != 3)) {
            if (sc_pb_skip(&uo, w)) return -1;
            continue;
        }
        if (sc_pb_read_len(&uo, &v, &vl)) return -1;
        if (f == 1)
            out->identifier = v, out->identifier_len = vl;
        else
            out->metadata = v, out->metadata_len = vl;
    }
    return k < 0 ? -1 : 1;
}

/* Keras' SavedModel metadata serializes tuples as {"class_name": "__tuple__", "items": [...]}
 * (get_json_type), where to_json() writes lists: turn them back into lists, everywhere. */
static json_t *untuple(json_t *v, int depth) {
    if (depth > 256) return v;
    if (json_is_object(v)) {
        const json_t *cn = json_object_get(v, "class_name");
        json_t *items = json_object_get(v, "items");
        if (json_is_string(cn) && !strcmp(json_string_value(cn), "__tuple__")
            && json_is_array(items)) {
            json_incref(items);
            json_decref(v);
            return untuple(items, depth + 1);
        }
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x) {
            json_incref(x);
            json_t *y = untuple(x, depth + 1);
            if (y != x) json_object_set(v, k, y);
            json_decref(y);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            json_incref(x);
            json_t *y = untuple(x, depth + 1);
            if (y != x) json_array_set(v, i, y);
            json_decref(y);
        }
    }
    return v;
}

/* The root's metadata JSON: class_name and config at the top (what to_json() has), beside
 * training_config (the compile arguments). */
static sc_status from_metadata(const pb_node *node, const char *src, sc_keras_config *c,
                               sc_error *err) {
    if (node->identifier_len < 10 || memcmp(node->identifier, "_tf_keras_", 10) != 0
        || node->metadata_len == 0)
        return sc_error_set(err, SC_NOT_FOUND,
                            "%s: the root object is no Keras model (identifier '%.*s'); give "
                            "--model",
                            src, (int)(node->identifier_len > 64 ? 64 : node->identifier_len),
                            (const char *)node->identifier);
    json_error_t je;
    json_t *root = json_loadb((const char *)node->metadata, node->metadata_len, 0, &je);
    if (root) root = untuple(root, 0);
    if (!json_is_object(root)) {
        json_decref(root);
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: the root object's Keras metadata is not a "
                            "JSON object (%s)",
                            src, je.text);
    }
    sc_status s = SC_OK;
    if (!json_object_get(root, "class_name") || !json_object_get(root, "config")) {
        s = sc_error_set(err, SC_NOT_FOUND,
                         "%s: the root's Keras metadata has no class_name / "
                         "config (a subclassed model); give --model",
                         src);
        goto done;
    }
    /* Metadata is Keras 2 only (Keras 3 writes no SavedModel metadata). */
    if (!json_object_get(root, "keras_version"))
        json_object_set_new(root, "keras_version", json_string("2"));
    json_t *tc = json_object_get(root, "training_config");
    if (json_is_object(tc)) {
        json_incref(tc);
        json_object_del(root, "training_config");
        c->compile_json = json_dumps(tc, JSON_COMPACT);
        json_decref(tc);
        if (!c->compile_json) s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
    }
    if (s == SC_OK && !(c->model_json = json_dumps(root, JSON_COMPACT)))
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
    snprintf(c->source, sizeof c->source, "%s", src);
done:
    json_decref(root);
    return s;
}

static sc_status from_saved_model(const char *dir, sc_keras_config *c, sc_error *err) {
    char *path = sc_path_join(dir, "keras_metadata.pb");
    if (!path) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    int keras_file = sc_path_exists(path);
    if (!keras_file) {
        free(path);
        if (!(path = sc_path_join(dir, "saved_model.pb")))
            return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    }
    uint8_t *d = NULL;
    size_t n = 0;
    sc_status s = sc_read_file(path, &d, &n, err);
    if (s == SC_OK) {
        pb_node node;
        int k = keras_file ? metadata_root(d, n, &node) : saved_model_root(d, n, &node);
        if (k < 0)
            s = sc_error_set(err, SC_DATA_LOSS, "%s: malformed protocol buffer (%s)", path,
                             keras_file ? "SavedMetadata" : "SavedModel");
        else if (k == 0)
            s = sc_error_set(err, SC_NOT_FOUND,
                             "%s: no root object with Keras metadata; give "
                             "--model",
                             path);
        else
            s = from_metadata(&node, path, c, err);
    }
    free(d);
    free(path);
    return s;
}

sc_status sc_ckpt_keras_config(const sc_ckpt_ref *ref, sc_keras_config *out, sc_error *err) {
    memset(out, 0, sizeof *out);
    sc_status s;
    switch (ref->kind) {
    case SC_CKPT_KERAS_ARCHIVE: s = from_archive(ref->path, out, err); break;
    case SC_CKPT_LEGACY_H5: s = from_h5(ref->path, out, err); break;
    case SC_CKPT_SAVED_MODEL: s = from_saved_model(ref->path, out, err); break;
    default:
        s = sc_error_set(err, SC_NOT_FOUND, "%s: a %s carries no model config; give --model",
                         ref->path, sc_ckpt_kind_name(ref->kind));
    }
    if (s) sc_keras_config_clear(out);
    return s;
}
