/* summary/reader.c — the scalars of TensorBoard event files, with TensorBoard's semantics
 * (sidecar/events.h has the rules; FORMATS §6 the bytes). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/pb.h"
#include "core/record.h"
#include "core/warnlist.h"
#include "sidecar/dtype.h"
#include "sidecar/events.h"
#include "summary/reader_internal.h"
#include "summary/reservoir.h"

/* Field numbers (tensorboard/compat/proto/{event,summary,tensor,tensor_shape}.proto). */
enum { EV_WALL_TIME = 1, EV_STEP = 2, EV_FILE_VERSION = 3, EV_SUMMARY = 5, EV_SESSION_LOG = 7 };
enum { SUMMARY_VALUE = 1 };
enum { VAL_TAG = 1, VAL_SIMPLE = 2, VAL_TENSOR = 8, VAL_METADATA = 9, VAL_NODE_NAME = 7 };
enum { TP_DTYPE = 1, TP_SHAPE = 2, TP_CONTENT = 4, TP_FLOAT_VAL = 5, TP_DOUBLE_VAL = 6 };
enum { SHAPE_DIM = 2 };
enum { META_PLUGIN_DATA = 1, PLUGIN_NAME = 1 };
enum { SESSION_LOG_STATUS = 1, SESSION_LOG_START = 1 };

typedef struct series {
    char *tag;
    size_t tag_len;
    sc_reservoir res;
    int excluded; /* the tag's first value named another plugin */
} series;

struct sc_scalars {
    sc_events_params p;
    series *s;
    size_t n, cap;
    uint32_t *hash; /* open addressing: series index + 1, 0 = empty */
    size_t hash_cap;
    size_t last;         /* the series hit last: events cycle through their tags */
    sc_warnlist warns;   /* cb is params.warn */
    double file_version; /* of the newest file_version event; 0 = none yet */
    int64_t most_recent_step;
    uint64_t records, purged;
    uint64_t file_records; /* records of the file being read */
};

sc_events_params sc_events_default_params(void) {
    sc_events_params p;
    memset(&p, 0, sizeof p);
    p.purge_orphaned = 1;
    return p;
}

sc_status sc_scalars_create(const sc_events_params *params, sc_scalars **out, sc_error *err) {
    *out = NULL;
    sc_scalars *s = calloc(1, sizeof *s);
    if (!s) return sc_error_set(err, SC_NO_MEMORY, "event reader: out of memory");
    s->p = params ? *params : sc_events_default_params();
    s->warns.cb = s->p.warn;
    s->warns.user = s->p.warn_user;
    *out = s;
    return SC_OK;
}

void sc_scalars_free(sc_scalars *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->s[i].tag);
        sc_reservoir_free(&s->s[i].res);
    }
    sc_warnlist_free(&s->warns);
    free(s->s);
    free(s->hash);
    free(s);
}

size_t sc_scalars_num_series(const sc_scalars *s) {
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) k += !s->s[i].excluded;
    return k;
}

sc_scalar_series sc_scalars_series(const sc_scalars *s, size_t i) {
    sc_scalar_series r;
    memset(&r, 0, sizeof r);
    for (size_t j = 0; j < s->n; j++) {
        if (s->s[j].excluded) continue;
        if (i-- == 0) {
            const sc_reservoir *res = &s->s[j].res;
            r.tag = s->s[j].tag;
            r.num_points = res->n;
            r.points = res->pts;
            r.num_read = res->seen;
            r.last = res->last;
            r.has_finite = res->has_finite;
            r.min = res->min;
            r.max = res->max_pt;
            break;
        }
    }
    return r;
}

size_t sc_scalars_num_warnings(const sc_scalars *s) { return s->warns.n; }
const char *sc_scalars_warning(const sc_scalars *s, size_t i) {
    return i < s->warns.n ? s->warns.v[i] : NULL;
}
uint64_t sc_scalars_num_records(const sc_scalars *s) { return s->records; }
uint64_t sc_scalars_num_purged(const sc_scalars *s) { return s->purged; }

void sc_scalars_begin_file(sc_scalars *s) { s->file_records = 0; }

void sc_scalars_end_file(sc_scalars *s) {
    for (size_t i = 0; i < s->n; i++) sc_reservoir_sort(&s->s[i].res);
}

void sc_scalars_warn(sc_scalars *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sc_warnlist_vadd(&s->warns, fmt, ap);
    va_end(ap);
}

/* ---- tag -> series ---- */

static uint32_t hash_tag(const uint8_t *t, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ t[i]) * 16777619u;
    return h;
}

static int rehash(sc_scalars *s) {
    size_t cap = s->hash_cap ? s->hash_cap * 2 : 64;
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h) return -1;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = hash_tag((const uint8_t *)s->s[i].tag, s->s[i].tag_len) & (cap - 1);
        while (h[k]) k = (k + 1) & (cap - 1);
        h[k] = (uint32_t)(i + 1);
    }
    free(s->hash);
    s->hash = h;
    s->hash_cap = cap;
    return 0;
}

/* The series of a tag, created when new; NULL when out of memory. */
static series *lookup(sc_scalars *s, const uint8_t *tag, size_t n) {
    if (s->n) { /* the next tag of the cycle, then the same tag again */
        size_t cand[2] = {s->last % s->n, (s->last + s->n - 1) % s->n};
        for (int i = 0; i < 2; i++) {
            series *c = &s->s[cand[i]];
            if (c->tag_len == n && memcmp(c->tag, tag, n) == 0) {
                s->last = cand[i] + 1;
                return c;
            }
        }
    }
    if (s->n * 2 >= s->hash_cap && rehash(s)) return NULL;
    size_t k = hash_tag(tag, n) & (s->hash_cap - 1);
    for (; s->hash[k]; k = (k + 1) & (s->hash_cap - 1)) {
        series *c = &s->s[s->hash[k] - 1];
        if (c->tag_len == n && memcmp(c->tag, tag, n) == 0) {
            s->last = s->hash[k];
            return c;
        }
    }
    if (s->n == UINT32_MAX - 1) return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        series *ns = realloc(s->s, cap * sizeof *ns);
        if (!ns) return NULL;
        s->s = ns;
        s->cap = cap;
    }
    series *c = &s->s[s->n];
    memset(c, 0, sizeof *c);
    if (!(c->tag = malloc(n + 1))) return NULL;
    sc_reservoir_init(&c->res, s->p.max_points, s->p.seed + s->n * 0x9e3779b97f4a7c15ull);
    memcpy(c->tag, tag, n);
    c->tag[n] = '\0';
    c->tag_len = n;
    s->hash[k] = (uint32_t)++s->n;
    s->last = s->n;
    return c;
}

static void purge_series(sc_scalars *s, series *c, int64_t step) {
    s->purged += sc_reservoir_purge(&c->res, step);
}

/* ---- protobuf fast paths ----
 * An event is ~15 fields, nearly all with one-byte keys and lengths; reading those inline
 * (falling back to core/pb.c for everything else) makes decoding several times faster, which
 * matters for logs of millions of events. */

static inline int pb_next(sc_pb_reader *r, uint32_t *field, int *wire) {
    if (r->p < r->end && *r->p < 0x80) {
        unsigned k = *r->p, w = k & 7;
        if ((k >> 3) && (w == SC_PB_VARINT || w == SC_PB_I64 || w == SC_PB_LEN || w == SC_PB_I32)) {
            r->p++;
            *field = k >> 3;
            *wire = (int)w;
            return 1;
        }
    }
    return sc_pb_next(r, field, wire);
}

static inline int pb_len(sc_pb_reader *r, const uint8_t **d, size_t *n) {
    if (r->p < r->end && *r->p < 0x80 && (size_t)*r->p < (size_t)(r->end - r->p)) {
        *n = *r->p++;
        *d = r->p;
        r->p += *n;
        return 0;
    }
    return sc_pb_read_len(r, d, n);
}

static inline int pb_sub(sc_pb_reader *r, sc_pb_reader *sub) {
    const uint8_t *d;
    size_t n;
    if (pb_len(r, &d, &n)) return -1;
    *sub = sc_pb_reader_init(d, n);
    return 0;
}

static inline int pb_varint(sc_pb_reader *r, uint64_t *v) {
    if (r->p < r->end && *r->p < 0x80) {
        *v = *r->p++;
        return 0;
    }
    return sc_pb_read_varint64(r, v);
}

static inline int pb_skip(sc_pb_reader *r, int wire) {
    const uint8_t *d;
    size_t n;
    return wire == SC_PB_LEN ? pb_len(r, &d, &n) : sc_pb_skip(r, wire);
}

/* ---- decoding ---- */

static double f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
static double f64(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* A TensorProto holding one scalar. Returns 1 with *v set, 0 when it is no scalar, -1 on bad
 * bytes. */
static int tensor_scalar(sc_pb_reader r, double *v) {
    uint64_t dtype = 0;
    int rank = 0, have = 0;
    const uint8_t *content = NULL;
    size_t content_len = 0, nvals = 0;
    uint32_t field;
    int wire, rc;
    while ((rc = pb_next(&r, &field, &wire)) == 1) {
        if (field == TP_DTYPE && wire == SC_PB_VARINT) {
            if (pb_varint(&r, &dtype)) return -1;
        } else if (field == TP_SHAPE && wire == SC_PB_LEN) {
            sc_pb_reader sh;
            if (pb_sub(&r, &sh)) return -1;
            uint32_t f2;
            int w2, rc2;
            rank = 0;
            while ((rc2 = pb_next(&sh, &f2, &w2)) == 1) {
                if (f2 == SHAPE_DIM) rank++;
                if (pb_skip(&sh, w2)) return -1;
            }
            if (rc2 < 0) return -1;
        } else if (field == TP_CONTENT && wire == SC_PB_LEN) {
            if (pb_len(&r, &content, &content_len)) return -1;
        } else if (field == TP_FLOAT_VAL && wire == SC_PB_LEN) {
            const uint8_t *d;
            size_t n;
            if (pb_len(&r, &d, &n)) return -1;
            if (n >= 4) {
                *v = f32(le32(d));
                have = 1;
            }
            nvals += n / 4;
        } else if (field == TP_FLOAT_VAL && wire == SC_PB_I32) {
            uint32_t b;
            if (sc_pb_read_fixed32(&r, &b)) return -1;
            *v = f32(b);
            have = 1;
            nvals++;
        } else if (field == TP_DOUBLE_VAL && wire == SC_PB_LEN) {
            const uint8_t *d;
            size_t n;
            if (pb_len(&r, &d, &n)) return -1;
            if (n >= 8) {
                *v = f64(le64(d));
                have = 1;
            }
            nvals += n / 8;
        } else if (field == TP_DOUBLE_VAL && wire == SC_PB_I64) {
            uint64_t b;
            if (sc_pb_read_fixed64(&r, &b)) return -1;
            *v = f64(b);
            have = 1;
            nvals++;
        } else if (pb_skip(&r, wire)) {
            return -1;
        }
    }
    if (rc < 0) return -1;
    if (rank != 0 || (dtype != SC_DT_FLOAT && dtype != SC_DT_DOUBLE)) return 0;
    size_t want = dtype == SC_DT_FLOAT ? 4 : 8;
    if (content_len) {
        if (content_len != want) return 0;
        *v = dtype == SC_DT_FLOAT ? f32(le32(content)) : f64(le64(content));
        return 1;
    }
    return have && nvals == 1 ? 1 : 0;
}

/* The plugin named by a SummaryMetadata; sets name and n (NULL when none). */
static int plugin_name(sc_pb_reader r, const uint8_t **name, size_t *n) {
    uint32_t field;
    int wire, rc;
    *name = NULL;
    *n = 0;
    while ((rc = pb_next(&r, &field, &wire)) == 1) {
        if (field == META_PLUGIN_DATA && wire == SC_PB_LEN) {
            sc_pb_reader pd;
            if (pb_sub(&r, &pd)) return -1;
            uint32_t f2;
            int w2, rc2;
            while ((rc2 = pb_next(&pd, &f2, &w2)) == 1) {
                if (f2 == PLUGIN_NAME && w2 == SC_PB_LEN) {
                    if (pb_len(&pd, name, n)) return -1;
                } else if (pb_skip(&pd, w2)) {
                    return -1;
                }
            }
            if (rc2 < 0) return -1;
        } else if (pb_skip(&r, wire)) {
            return -1;
        }
    }
    return rc < 0 ? -1 : 0;
}

static int take_value(sc_scalars *s, const uint8_t *tag, size_t tag_len, int kind, int has_meta,
                      const uint8_t *plugin, size_t plugin_len, double v, int64_t step,
                      double wall_time, int out_of_order);

/* One Summary.Value. Returns 0, -1 on bad bytes, -2 out of memory. */
static int summary_value(sc_scalars *s, sc_pb_reader r, int64_t step, double wall_time,
                         int out_of_order) {
    const uint8_t *tag = NULL, *plugin = NULL;
    size_t tag_len = 0, plugin_len = 0;
    int kind = 0, has_meta = 0; /* kind: 0 none, 1 scalar, 2 other */
    double v = 0;
    uint32_t field;
    int wire, rc;
    while ((rc = pb_next(&r, &field, &wire)) == 1) {
        if (field == VAL_TAG && wire == SC_PB_LEN) {
            if (pb_len(&r, &tag, &tag_len)) return -1;
        } else if (field == VAL_SIMPLE && wire == SC_PB_I32) {
            uint32_t b;
            if (sc_pb_read_fixed32(&r, &b)) return -1;
            v = f32(b);
            kind = 1;
        } else if (field == VAL_TENSOR && wire == SC_PB_LEN) {
            sc_pb_reader t;
            if (pb_sub(&r, &t)) return -1;
            int k = tensor_scalar(t, &v);
            if (k < 0) return -1;
            kind = k ? 1 : 2;
        } else if (field == VAL_METADATA && wire == SC_PB_LEN) {
            sc_pb_reader m;
            if (pb_sub(&r, &m) || plugin_name(m, &plugin, &plugin_len)) return -1;
            has_meta = 1;
        } else if (field >= 3 && field <= 6) { /* image, histo, audio, old histogram */
            kind = 2;
            if (pb_skip(&r, wire)) return -1;
        } else if (pb_skip(&r, wire)) {
            return -1;
        }
    }
    if (rc < 0) return -1;
    return take_value(s, tag, tag_len, kind, has_meta, plugin, plugin_len, v, step, wall_time,
                      out_of_order);
}

/* Files hold nearly only the exact layouts TensorFlow's writers produce (FORMATS §6.5); a
 * Summary in one of them is read by comparing bytes, anything else goes the general way.
 *   tensor form:  0a L [0a T tag] 42 0a 08 01 12 00 22 04 <f32> [4a 0b 0a 09 0a 07 "scalars"]
 *   simple_value: 0a L [0a T tag] 15 <f32>
 * Returns 1 when taken (*rc the result of take_value), 0 to fall back. */
static const uint8_t k_tensor_tail[] = {0x42, 0x0a, 0x08, 0x01, 0x12, 0x00, 0x22, 0x04};
static const uint8_t k_meta_tail[] = {0x4a, 0x0b, 0x0a, 0x09, 0x0a, 0x07, 's',
                                      'c',  'a',  'l',  'a',  'r',  's'};

static int fast_summary(sc_scalars *s, const uint8_t *p, size_t len, int64_t step, double wall_time,
                        int out_of_order, int *rc) {
    if (len < 4 || p[0] != 0x0a || p[1] >= 0x80 || (size_t)p[1] + 2 != len || p[2] != 0x0a
        || p[3] >= 0x80)
        return 0;
    size_t tag_len = p[3], rest = len - 4;
    if (tag_len == 0 || tag_len > rest) return 0;
    const uint8_t *tag = p + 4, *q = tag + tag_len;
    rest -= tag_len;
    if (rest == 5 && q[0] == 0x15) {
        *rc = take_value(s, tag, tag_len, 1, 0, NULL, 0, f32(le32(q + 1)), step, wall_time,
                         out_of_order);
        return 1;
    }
    int meta = rest == sizeof k_tensor_tail + 4 + sizeof k_meta_tail;
    if ((rest != sizeof k_tensor_tail + 4 && !meta)
        || memcmp(q, k_tensor_tail, sizeof k_tensor_tail))
        return 0;
    if (meta && memcmp(q + sizeof k_tensor_tail + 4, k_meta_tail, sizeof k_meta_tail)) return 0;
    *rc =
        take_value(s, tag, tag_len, 1, meta, meta ? (const uint8_t *)"scalars" : NULL, meta ? 7 : 0,
                   f32(le32(q + sizeof k_tensor_tail)), step, wall_time, out_of_order);
    return 1;
}

static int take_value(sc_scalars *s, const uint8_t *tag, size_t tag_len, int kind, int has_meta,
                      const uint8_t *plugin, size_t plugin_len, double v, int64_t step,
                      double wall_time, int out_of_order) {
    if (!tag || tag_len == 0) return 0;
    int new_tag = 0;
    series *c = NULL;
    if (kind == 1 || (has_meta && plugin)) {
        size_t before = s->n;
        if (!(c = lookup(s, tag, tag_len))) return -2;
        new_tag = s->n != before;
    }
    if (!c) return 0;
    if (new_tag && has_meta && plugin && !(plugin_len == 7 && memcmp(plugin, "scalars", 7) == 0))
        c->excluded = 1;
    if (kind != 1 || c->excluded) return 0;
    if (out_of_order) purge_series(s, c, step);
    sc_scalar_point pt = {step, wall_time, v};
    return sc_reservoir_add(&c->res, &pt) ? -2 : 0;
}

/* One Event. Returns 0, -1 on bad bytes, -2 out of memory. */
static int event(sc_scalars *s, const uint8_t *data, size_t len) {
    sc_pb_reader r = sc_pb_reader_init(data, len);
    double wall_time = 0;
    int64_t step = 0;
    const uint8_t *summary = NULL, *version = NULL;
    size_t summary_len = 0, version_len = 0;
    int start = 0;
    uint32_t field;
    int wire, rc;
    while ((rc = pb_next(&r, &field, &wire)) == 1) {
        if (field == EV_WALL_TIME && wire == SC_PB_I64) {
            uint64_t b;
            if (sc_pb_read_fixed64(&r, &b)) return -1;
            wall_time = f64(b);
        } else if (field == EV_STEP && wire == SC_PB_VARINT) {
            uint64_t u;
            if (pb_varint(&r, &u)) return -1;
            step = (int64_t)u;
        } else if (field == EV_FILE_VERSION && wire == SC_PB_LEN) {
            if (pb_len(&r, &version, &version_len)) return -1;
        } else if (field == EV_SUMMARY && wire == SC_PB_LEN) {
            if (pb_len(&r, &summary, &summary_len)) return -1;
        } else if (field == EV_SESSION_LOG && wire == SC_PB_LEN) {
            sc_pb_reader sl;
            if (pb_sub(&r, &sl)) return -1;
            uint32_t f2;
            int w2, rc2;
            while ((rc2 = pb_next(&sl, &f2, &w2)) == 1) {
                uint64_t st;
                if (f2 == SESSION_LOG_STATUS && w2 == SC_PB_VARINT) {
                    if (pb_varint(&sl, &st)) return -1;
                    start = st == SESSION_LOG_START;
                } else if (pb_skip(&sl, w2)) {
                    return -1;
                }
            }
            if (rc2 < 0) return -1;
        } else if (pb_skip(&r, wire)) {
            return -1;
        }
    }
    if (rc < 0) return -1;
    if (version) {
        /* TensorBoard: float(the text after "brain.Event:"); unparsable counts as none. */
        char buf[32];
        size_t n = version_len < sizeof buf - 1 ? version_len : sizeof buf - 1;
        memcpy(buf, version, n);
        buf[n] = '\0';
        const char *colon = strrchr(buf, ':');
        char *end;
        double fv = colon ? strtod(colon + 1, &end) : 0;
        s->file_version = colon && end != colon + 1 && !*end ? fv : 0;
    }
    int v2 = s->file_version >= 2;
    if (start && v2 && s->p.purge_orphaned)
        for (size_t i = 0; i < s->n; i++) purge_series(s, &s->s[i], step);
    if (summary) {
        int out_of_order = s->p.purge_orphaned && !v2 && step < s->most_recent_step;
        int frc = 0;
        if (fast_summary(s, summary, summary_len, step, wall_time, out_of_order, &frc)) {
            s->most_recent_step = step;
            return frc;
        }
        sc_pb_reader sr = sc_pb_reader_init(summary, summary_len);
        while ((rc = pb_next(&sr, &field, &wire)) == 1) {
            if (field == SUMMARY_VALUE && wire == SC_PB_LEN) {
                sc_pb_reader vr;
                if (pb_sub(&sr, &vr)) return -1;
                int e = summary_value(s, vr, step, wall_time, out_of_order);
                if (e) return e;
            } else if (pb_skip(&sr, wire)) {
                return -1;
            }
        }
        if (rc < 0) return -1;
        s->most_recent_step = step;
    }
    return 0;
}

size_t sc_scalars_decode_records(sc_scalars *s, const char *name, const uint8_t *data, size_t len,
                                 uint64_t base, int at_eof, int *stop, size_t *need, sc_error *err,
                                 sc_status *st) {
    size_t off = 0;
    *need = 0;
    while (off < len || at_eof) {
        const char *why = NULL;
        uint64_t n = 0;
        size_t avail = len - off;
        if (avail == 0) break;
        if (avail < SC_RECORD_HEADER_SIZE) {
            if (!at_eof) {
                *need = SC_RECORD_HEADER_SIZE;
                break;
            }
            why = "truncated record header";
        } else if (sc_record_parse_header(data + off, &n)) {
            why = "length CRC mismatch";
        } else if (n > avail - SC_RECORD_HEADER_SIZE
                   || avail - SC_RECORD_HEADER_SIZE - n < SC_RECORD_FOOTER_SIZE) {
            if (!at_eof && n <= SIZE_MAX - SC_RECORD_HEADER_SIZE - SC_RECORD_FOOTER_SIZE) {
                *need = SC_RECORD_HEADER_SIZE + (size_t)n + SC_RECORD_FOOTER_SIZE;
                break;
            }
            why = "record cut short (file truncated or still being written)";
        } else if (sc_record_check_footer(data + off + SC_RECORD_HEADER_SIZE + n,
                                          data + off + SC_RECORD_HEADER_SIZE, (size_t)n)) {
            why = "payload CRC mismatch";
        } else {
            int e = event(s, data + off + SC_RECORD_HEADER_SIZE, (size_t)n);
            if (e == -2) {
                *st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", name);
                *stop = 1;
                return off;
            }
            if (e) why = "Event does not parse";
        }
        if (why) {
            sc_scalars_warn(
                s,
                "%s: record %llu at byte %llu: %s; reading of this file stops here, keeping "
                "the %llu records before it",
                name, (unsigned long long)s->file_records, (unsigned long long)(base + off), why,
                (unsigned long long)s->file_records);
            *stop = 1;
            return off;
        }
        s->records++;
        s->file_records++;
        off += SC_RECORD_HEADER_SIZE + (size_t)n + SC_RECORD_FOOTER_SIZE;
    }
    return off;
}

sc_status sc_scalars_decode(sc_scalars *s, const char *name, const uint8_t *data, size_t len,
                            sc_error *err) {
    int stop = 0;
    size_t need;
    sc_status st = SC_OK;
    sc_scalars_begin_file(s);
    sc_scalars_decode_records(s, name, data, len, 0, 1, &stop, &need, err, &st);
    sc_scalars_end_file(s);
    return st;
}
