/* data/example.c — tf.train.Example read in place (FORMATS §5), without allocation.
 *
 *   Example { Features features = 1; }  Features { map<string, Feature> feature = 1; }
 *   Feature { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2;
 *                          Int64List int64_list = 3; } }
 *
 * Protobuf merge rules apply: several `features` fields merge (their maps concatenate, the
 * last entry of a key wins); several Feature values of one entry merge (lists of the same kind
 * append; another kind replaces, as a oneof does).
 */
#include <string.h>

#include "core/error.h"
#include "core/pb.h"
#include "sidecar/data.h"

const char *sc_feature_kind_name(sc_feature_kind k) {
    switch (k) {
    case SC_FEATURE_NONE: return "none";
    case SC_FEATURE_BYTES: return "bytes_list";
    case SC_FEATURE_FLOAT: return "float_list";
    case SC_FEATURE_INT64: return "int64_list";
    }
    return "unknown";
}

/* A reader over the Example's bytes (a NULL data pointer with size 0 is an empty Example). */
static sc_pb_reader example_reader(const sc_example *ex) {
    static const uint8_t empty[1];
    return ex->size ? sc_pb_reader_init(ex->data, ex->size) : sc_pb_reader_init(empty, 0);
}

static const char *file_of(const sc_example *ex) { return ex->file ? ex->file : "example"; }

static sc_status malformed(const sc_example *ex, const char *what, sc_error *err) {
    return sc_error_set(err, SC_DATA_LOSS, "%s: record %llu: malformed tf.train.Example: %s",
                        file_of(ex), (unsigned long long)ex->record, what);
}

/* Walks the map entries of every `features` field. */
typedef struct entry_iter {
    sc_pb_reader ex;
    sc_pb_reader feats;
    int in_feats;
} entry_iter;

/* 1 with the entry's bytes and key, 0 at the end, -1 on malformed input. */
static int next_entry(entry_iter *it, sc_pb_reader *entry, const uint8_t **key, size_t *key_len) {
    uint32_t field;
    int wire, r;
    for (;;) {
        while (it->in_feats && (r = sc_pb_next(&it->feats, &field, &wire)) != 0) {
            if (r < 0) return -1;
            if (field != 1) {
                if (sc_pb_skip(&it->feats, wire) != 0) return -1;
                continue;
            }
            if (wire != SC_PB_LEN || sc_pb_read_sub(&it->feats, entry) != 0) return -1;
            sc_pb_reader e = *entry;
            *key = (const uint8_t *)"";
            *key_len = 0;
            while ((r = sc_pb_next(&e, &field, &wire)) != 0) {
                if (r < 0) return -1;
                if (field == 1) {
                    if (wire != SC_PB_LEN || sc_pb_read_len(&e, key, key_len) != 0) return -1;
                } else if (sc_pb_skip(&e, wire) != 0) {
                    return -1;
                }
            }
            return 1;
        }
        it->in_feats = 0;
        r = sc_pb_next(&it->ex, &field, &wire);
        if (r <= 0) return r;
        if (field == 1) {
            if (wire != SC_PB_LEN || sc_pb_read_sub(&it->ex, &it->feats) != 0) return -1;
            it->in_feats = 1;
        } else if (sc_pb_skip(&it->ex, wire) != 0) {
            return -1;
        }
    }
}

static uint32_t get32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store(sc_feature_kind k, void *dst, size_t i, uint64_t v, const uint8_t *b, size_t n) {
    if (k == SC_FEATURE_FLOAT) {
        uint32_t u = (uint32_t)v;
        memcpy((float *)dst + i, &u, sizeof u);
    } else if (k == SC_FEATURE_INT64) {
        ((int64_t *)dst)[i] = (int64_t)v;
    } else {
        ((sc_bytes *)dst)[i].data = b;
        ((sc_bytes *)dst)[i].size = n;
    }
}

/* Decodes one list message of kind k, appending to *n; values go to dst while *n < cap and k is
 * the kind wanted. */
static int decode_list(sc_pb_reader list, sc_feature_kind k, sc_feature_kind want, void *dst,
                       size_t cap, size_t *n) {
    uint32_t field;
    int wire, r;
    int keep = k == want && dst;
    while ((r = sc_pb_next(&list, &field, &wire)) != 0) {
        if (r < 0) return -1;
        if (field != 1) {
            if (sc_pb_skip(&list, wire) != 0) return -1;
            continue;
        }
        uint64_t v = 0;
        const uint8_t *b = NULL;
        size_t len = 0;
        if (k == SC_FEATURE_BYTES) {
            if (wire != SC_PB_LEN || sc_pb_read_len(&list, &b, &len) != 0) return -1;
        } else if (k == SC_FEATURE_FLOAT && wire == SC_PB_I32) {
            uint32_t u;
            if (sc_pb_read_fixed32(&list, &u) != 0) return -1;
            v = u;
        } else if (k == SC_FEATURE_INT64 && wire == SC_PB_VARINT) {
            if (sc_pb_read_varint64(&list, &v) != 0) return -1;
        } else if (wire == SC_PB_LEN) { /* a packed chunk */
            sc_pb_reader packed;
            if (sc_pb_read_sub(&list, &packed) != 0) return -1;
            if (k == SC_FEATURE_FLOAT) {
                size_t bytes = (size_t)(packed.end - packed.p);
                if (bytes % 4 != 0) return -1;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                /* The wire's little-endian floats are the host's: one copy for the packed run
                 * (an image's pixels), not a call per value. */
                if (keep && *n < cap) {
                    size_t m = bytes / 4 < cap - *n ? bytes / 4 : cap - *n;
                    memcpy((float *)dst + *n, packed.p, m * 4);
                }
                *n += bytes / 4;
                continue;
#endif
                for (size_t i = 0; i < bytes; i += 4, ++*n)
                    if (keep && *n < cap) store(k, dst, *n, get32le(packed.p + i), NULL, 0);
            } else {
                while (!sc_pb_done(&packed)) {
                    if (sc_pb_read_varint64(&packed, &v) != 0) return -1;
                    if (keep && *n < cap) store(k, dst, *n, v, NULL, 0);
                    ++*n;
                }
            }
            continue;
        } else {
            return -1;
        }
        if (keep && *n < cap) store(k, dst, *n, v, b, len);
        ++*n;
    }
    return 0;
}

/* Decodes a map entry's Feature value(s): final kind in *kind, value count in *n. */
static int decode_entry(sc_pb_reader entry, sc_feature_kind want, void *dst, size_t cap,
                        sc_feature_kind *kind, size_t *n) {
    uint32_t field;
    int wire, r;
    *kind = SC_FEATURE_NONE;
    *n = 0;
    while ((r = sc_pb_next(&entry, &field, &wire)) != 0) {
        if (r < 0) return -1;
        if (field != 2) {
            if (sc_pb_skip(&entry, wire) != 0) return -1;
            continue;
        }
        sc_pb_reader feature, list;
        if (wire != SC_PB_LEN || sc_pb_read_sub(&entry, &feature) != 0) return -1;
        while ((r = sc_pb_next(&feature, &field, &wire)) != 0) {
            if (r < 0) return -1;
            if (field < 1 || field > 3) {
                if (sc_pb_skip(&feature, wire) != 0) return -1;
                continue;
            }
            if (wire != SC_PB_LEN || sc_pb_read_sub(&feature, &list) != 0) return -1;
            if ((sc_feature_kind)field != *kind) { /* oneof: another kind replaces */
                *kind = (sc_feature_kind)field;
                *n = 0;
            }
            if (decode_list(list, *kind, want, dst, cap, n) != 0) return -1;
        }
    }
    return 0;
}

sc_status sc_example_find(const sc_example *ex, const char *name, sc_feature *out, int *found,
                          sc_error *err) {
    entry_iter it = {example_reader(ex), {NULL, NULL}, 0};
    sc_pb_reader entry, match = {NULL, NULL};
    const uint8_t *key;
    size_t key_len, name_len = strlen(name);
    int r, have = 0;
    *found = 0;
    while ((r = next_entry(&it, &entry, &key, &key_len)) == 1) {
        if (key_len == name_len && memcmp(key, name, name_len) == 0) {
            match = entry; /* map semantics: the last entry of a key wins */
            have = 1;
        }
    }
    if (r < 0) return malformed(ex, "bad features map", err);
    if (!have) return SC_OK;
    out->entry = match.p;
    out->entry_size = (size_t)(match.end - match.p);
    if (decode_entry(match, SC_FEATURE_NONE, NULL, 0, &out->kind, &out->count) != 0)
        return malformed(ex, "bad feature value", err);
    *found = 1;
    return SC_OK;
}

sc_status sc_example_foreach_key(const sc_example *ex,
                                 int (*fn)(const uint8_t *key, size_t len, void *user), void *user,
                                 sc_error *err) {
    entry_iter it = {example_reader(ex), {NULL, NULL}, 0};
    sc_pb_reader entry;
    const uint8_t *key;
    size_t key_len;
    int r;
    while ((r = next_entry(&it, &entry, &key, &key_len)) == 1)
        if (fn(key, key_len, user)) return SC_OK;
    return r < 0 ? malformed(ex, "bad features map", err) : SC_OK;
}

typedef struct key_list {
    char buf[320];
    size_t len;
} key_list;

static int append_key(const uint8_t *key, size_t len, void *user) {
    key_list *l = user;
    size_t sep = l->len ? 2 : 0;
    /* Invariant: l->len + 6 <= sizeof buf, so ", ..." always fits. */
    if (len > sizeof l->buf || l->len + sep + len + 1 + 5 > sizeof l->buf) {
        memcpy(l->buf + l->len, sep ? ", ..." : "...", sep ? 6 : 4);
        l->len += sep ? 5 : 3;
        return 1;
    }
    memcpy(l->buf + l->len, ", ", sep);
    l->len += sep;
    for (size_t i = 0; i < len; i++) /* keys are bytes: keep messages printable */
        l->buf[l->len++] = key[i] >= 0x20 && key[i] < 0x7f ? (char)key[i] : '?';
    l->buf[l->len] = '\0';
    return 0;
}

static sc_status get_values(const sc_example *ex, const char *name, sc_feature_kind want, void *dst,
                            size_t count, sc_error *err) {
    sc_feature f;
    int found;
    sc_status s = sc_example_find(ex, name, &f, &found, err);
    if (s != SC_OK) return s;
    if (!found) {
        key_list l = {"", 0};
        sc_example_foreach_key(ex, append_key, &l, NULL);
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: record %llu: no feature '%s' (features present: %s)", file_of(ex),
                            (unsigned long long)ex->record, name, l.len ? l.buf : "none");
    }
    if (f.kind != want && f.kind != SC_FEATURE_NONE)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: record %llu: feature '%s' is %s, expected %s", file_of(ex),
                            (unsigned long long)ex->record, name, sc_feature_kind_name(f.kind),
                            sc_feature_kind_name(want));
    if (f.count != count)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: record %llu: feature '%s' has %zu values, expected %zu",
                            file_of(ex), (unsigned long long)ex->record, name, f.count, count);
    sc_feature_kind kind;
    size_t n;
    if (decode_entry(sc_pb_reader_init(f.entry, f.entry_size), want, dst, count, &kind, &n) != 0)
        return malformed(ex, "bad feature value", err);
    return SC_OK;
}

sc_status sc_example_get_floats(const sc_example *ex, const char *name, float *dst, size_t count,
                                sc_error *err) {
    return get_values(ex, name, SC_FEATURE_FLOAT, dst, count, err);
}

sc_status sc_example_get_int64s(const sc_example *ex, const char *name, int64_t *dst, size_t count,
                                sc_error *err) {
    return get_values(ex, name, SC_FEATURE_INT64, dst, count, err);
}

sc_status sc_example_get_bytes(const sc_example *ex, const char *name, sc_bytes *dst, size_t count,
                               sc_error *err) {
    return get_values(ex, name, SC_FEATURE_BYTES, dst, count, err);
}

static sc_status feature_values(const sc_example *ex, const sc_feature *f, sc_feature_kind want,
                                void *dst, size_t cap, size_t *n, sc_error *err) {
    *n = 0;
    if (f->kind != want && f->kind != SC_FEATURE_NONE)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: record %llu: feature is %s, expected %s",
                            file_of(ex), (unsigned long long)ex->record,
                            sc_feature_kind_name(f->kind), sc_feature_kind_name(want));
    sc_feature_kind kind;
    size_t total;
    if (decode_entry(sc_pb_reader_init(f->entry, f->entry_size), want, dst, cap, &kind, &total)
        != 0)
        return malformed(ex, "bad feature value", err);
    *n = total < cap ? total : cap;
    return SC_OK;
}

sc_status sc_feature_floats(const sc_example *ex, const sc_feature *f, float *dst, size_t cap,
                            size_t *n, sc_error *err) {
    return feature_values(ex, f, SC_FEATURE_FLOAT, dst, cap, n, err);
}

sc_status sc_feature_int64s(const sc_example *ex, const sc_feature *f, int64_t *dst, size_t cap,
                            size_t *n, sc_error *err) {
    return feature_values(ex, f, SC_FEATURE_INT64, dst, cap, n, err);
}

sc_status sc_feature_bytes(const sc_example *ex, const sc_feature *f, sc_bytes *dst, size_t cap,
                           size_t *n, sc_error *err) {
    return feature_values(ex, f, SC_FEATURE_BYTES, dst, cap, n, err);
}
