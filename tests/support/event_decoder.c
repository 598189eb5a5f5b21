/* tests/support/event_decoder.c — independent TFRecord + Event decoder (see the header). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/event_decoder.h"

uint32_t evd_crc32c(const void *data, size_t n) {
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return ~c;
}

uint32_t evd_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* ---- protobuf: one call reads a key and its value ---- */

typedef struct span {
    const uint8_t *p, *end;
} span;

typedef struct field {
    uint32_t num;
    int wire;
    uint64_t u; /* varint, or the raw bits of a fixed32/fixed64 */
    span bytes; /* wire type 2 */
} field;

static int get_varint(span *s, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (s->p >= s->end) return -1;
        uint8_t b = *s->p++;
        if (i == 9 && b > 1) return -1; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* 1: a field was read; 0: end of the message; -1: malformed. */
static int next_field(span *s, field *f) {
    if (s->p >= s->end) return 0;
    uint64_t key;
    if (get_varint(s, &key) || key >> 32 || (key >> 3) == 0) return -1;
    f->num = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    size_t avail = (size_t)(s->end - s->p);
    switch (f->wire) {
    case 0: return get_varint(s, &f->u) ? -1 : 1;
    case 1:
        if (avail < 8) return -1;
        f->u = le(s->p, 8);
        s->p += 8;
        return 1;
    case 5:
        if (avail < 4) return -1;
        f->u = le(s->p, 4);
        s->p += 4;
        return 1;
    case 2: {
        uint64_t n;
        if (get_varint(s, &n) || n > (uint64_t)(s->end - s->p)) return -1;
        f->bytes.p = s->p;
        f->bytes.end = s->p + n;
        s->p += n;
        return 1;
    }
    default: return -1; /* groups and wire types 6/7 never occur in these protos */
    }
}

static char *dup_bytes(span b) {
    size_t n = (size_t)(b.end - b.p);
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (n) memcpy(s, b.p, n);
    s[n] = '\0';
    return s;
}

static float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Each parser returns 0 or a static description of what was wrong. */

static const char *parse_shape(span s, evd_value *v) {
    field f;
    int r;
    v->has_shape = 1;
    while ((r = next_field(&s, &f)) == 1) {
        if (f.num == 2 && f.wire == 2) { /* Dim { int64 size = 1; string name = 2; } */
            if (v->rank == EVD_MAX_RANK) return "tensor_shape: too many dims";
            span d = f.bytes;
            field g;
            int64_t size = 0;
            int rd;
            while ((rd = next_field(&d, &g)) == 1)
                if (g.num == 1 && g.wire == 0) size = (int64_t)g.u;
            if (rd < 0) return "tensor_shape.dim: malformed";
            v->dims[v->rank++] = size;
        }
    }
    return r < 0 ? "tensor_shape: malformed" : NULL;
}

static const char *parse_tensor(span s, evd_value *v) {
    field f;
    int r;
    v->kind = EVD_VALUE_TENSOR;
    while ((r = next_field(&s, &f)) == 1) {
        if (f.num == 1 && f.wire == 0) {
            v->dtype = (int)f.u;
        } else if (f.num == 2 && f.wire == 2) {
            const char *e = parse_shape(f.bytes, v);
            if (e) return e;
        } else if (f.num == 4 && f.wire == 2) {
            free(v->content);
            v->content = NULL;
            v->has_content = 1;
            v->content_len = (size_t)(f.bytes.end - f.bytes.p);
            if (v->content_len) {
                v->content = malloc(v->content_len);
                if (!v->content) return "out of memory";
                memcpy(v->content, f.bytes.p, v->content_len);
            }
        } else if (f.num == 5 && f.wire == 5) { /* unpacked float_val */
            if (v->float_val_count++ == 0) v->float_val0 = bits_to_float((uint32_t)f.u);
        } else if (f.num == 5 && f.wire == 2) { /* packed float_val */
            size_t n = (size_t)(f.bytes.end - f.bytes.p);
            if (n % 4) return "tensor.float_val: packed length not a multiple of 4";
            if (n && v->float_val_count == 0)
                v->float_val0 = bits_to_float((uint32_t)le(f.bytes.p, 4));
            v->float_val_count += n / 4;
        }
    }
    return r < 0 ? "tensor: malformed" : NULL;
}

static const char *parse_metadata(span s, evd_value *v) {
    field f;
    int r;
    v->has_metadata = 1;
    while ((r = next_field(&s, &f)) == 1) {
        if (f.num != 1 || f.wire != 2) continue; /* plugin_data */
        span pd = f.bytes;
        field g;
        int rp;
        while ((rp = next_field(&pd, &g)) == 1) {
            if (g.num == 1 && g.wire == 2) {
                free(v->plugin_name);
                v->plugin_name = dup_bytes(g.bytes);
                if (!v->plugin_name) return "out of memory";
            }
        }
        if (rp < 0) return "metadata.plugin_data: malformed";
        if (!v->plugin_name) {
            v->plugin_name = dup_bytes((span){pd.p, pd.p}); /* plugin_data present, no name */
            if (!v->plugin_name) return "out of memory";
        }
    }
    return r < 0 ? "metadata: malformed" : NULL;
}

static const char *parse_value(span s, evd_value *v) {
    field f;
    int r;
    while ((r = next_field(&s, &f)) == 1) {
        const char *e = NULL;
        if (f.num == 1 && f.wire == 2) {
            free(v->tag);
            if (!(v->tag = dup_bytes(f.bytes))) return "out of memory";
        } else if (f.num == 2 && f.wire == 5) {
            v->kind = EVD_VALUE_SIMPLE;
            v->simple_value = bits_to_float((uint32_t)f.u);
        } else if (f.num == 8 && f.wire == 2) {
            e = parse_tensor(f.bytes, v);
        } else if (f.num == 9 && f.wire == 2) {
            e = parse_metadata(f.bytes, v);
        } else if (f.num >= 3 && f.num <= 6) {
            v->kind = EVD_VALUE_OTHER;
        }
        if (e) return e;
    }
    if (r < 0) return "summary.value: malformed";
    if (!v->tag && !(v->tag = dup_bytes((span){s.p, s.p}))) return "out of memory";
    return NULL;
}

static const char *parse_summary(span s, evd_event *ev) {
    field f;
    int r;
    while ((r = next_field(&s, &f)) == 1) {
        if (f.num != 1 || f.wire != 2) continue;
        evd_value *nv = realloc(ev->values, (ev->n_values + 1) * sizeof *nv);
        if (!nv) return "out of memory";
        ev->values = nv;
        memset(&nv[ev->n_values], 0, sizeof *nv);
        ev->n_values++;
        const char *e = parse_value(f.bytes, &nv[ev->n_values - 1]);
        if (e) return e;
    }
    return r < 0 ? "summary: malformed" : NULL;
}

static const char *parse_event(span s, evd_event *ev) {
    field f;
    int r;
    while ((r = next_field(&s, &f)) == 1) {
        const char *e = NULL;
        if (f.num == 1 && f.wire == 1) {
            double d;
            memcpy(&d, &f.u, 8);
            ev->wall_time = d;
        } else if (f.num == 2 && f.wire == 0) {
            ev->step = (int64_t)f.u;
        } else if (f.num >= 3 && f.num <= 9 && f.wire == 2) {
            ev->what = (int)f.num;
            ev->what_len = (size_t)(f.bytes.end - f.bytes.p);
            if (f.num == 3) {
                free(ev->file_version);
                if (!(ev->file_version = dup_bytes(f.bytes))) return "out of memory";
            } else if (f.num == 5) {
                e = parse_summary(f.bytes, ev);
            }
        }
        if (e) return e;
    }
    return r < 0 ? "event: malformed protobuf" : NULL;
}

static void set_msg(char *msg, size_t msglen, const char *fmt, ...) {
    if (!msg || !msglen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

int evd_decode(const uint8_t *data, size_t len, evd_events *out, char *msg, size_t msglen) {
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    for (size_t i = 0; pos < len; i++) {
        if (len - pos < 12) {
            set_msg(msg, msglen, "record %zu at offset %zu: header cut short (%zu bytes left)", i,
                    pos, len - pos);
            goto fail;
        }
        const uint8_t *h = data + pos;
        uint32_t want = (uint32_t)le(h + 8, 4), got = evd_mask(evd_crc32c(h, 8));
        if (want != got) {
            set_msg(msg, msglen, "record %zu at offset %zu: length CRC %08x, computed %08x", i, pos,
                    want, got);
            goto fail;
        }
        uint64_t n = le(h, 8);
        if (n > len - pos - 12 || len - pos - 12 - n < 4) {
            set_msg(msg, msglen, "record %zu at offset %zu: length %llu exceeds the %zu bytes left",
                    i, pos, (unsigned long long)n, len - pos - 12);
            goto fail;
        }
        const uint8_t *payload = h + 12;
        want = (uint32_t)le(payload + n, 4);
        got = evd_mask(evd_crc32c(payload, (size_t)n));
        if (want != got) {
            set_msg(msg, msglen, "record %zu at offset %zu: data CRC %08x, computed %08x", i, pos,
                    want, got);
            goto fail;
        }
        evd_event *ne = realloc(out->ev, (out->n + 1) * sizeof *ne);
        if (!ne) {
            set_msg(msg, msglen, "record %zu: out of memory", i);
            goto fail;
        }
        out->ev = ne;
        evd_event *ev = &ne[out->n++];
        memset(ev, 0, sizeof *ev);
        ev->offset = pos;
        ev->payload_len = (size_t)n;
        const char *e = parse_event((span){payload, payload + n}, ev);
        if (e) {
            set_msg(msg, msglen, "record %zu at offset %zu: %s", i, pos, e);
            goto fail;
        }
        pos += 12 + (size_t)n + 4;
    }
    return 0;
fail:
    evd_events_free(out);
    return -1;
}

int evd_read_file(const char *path, uint8_t **data, size_t *len, char *msg, size_t msglen) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_msg(msg, msglen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;
    int oom = 0;
    for (;;) {
        if (n == cap) {
            uint8_t *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap ? cap * 2 : 65536) : NULL;
            if (!nb) {
                oom = 1;
                break;
            }
            buf = nb;
            cap = cap ? cap * 2 : 65536;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int failed = oom || ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        set_msg(msg, msglen, "%s: %s", path, oom ? "out of memory" : "read failed");
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

int evd_decode_file(const char *path, evd_events *out, char *msg, size_t msglen) {
    uint8_t *data;
    size_t len;
    memset(out, 0, sizeof *out);
    if (evd_read_file(path, &data, &len, msg, msglen)) return -1;
    char inner[256] = "";
    int r = evd_decode(data, len, out, inner, sizeof inner);
    free(data);
    if (r) set_msg(msg, msglen, "%s: %s", path, inner);
    return r;
}

void evd_events_free(evd_events *e) {
    if (!e) return;
    for (size_t i = 0; i < e->n; i++) {
        evd_event *ev = &e->ev[i];
        for (size_t j = 0; j < ev->n_values; j++) {
            free(ev->values[j].tag);
            free(ev->values[j].content);
            free(ev->values[j].plugin_name);
        }
        free(ev->values);
        free(ev->file_version);
    }
    free(e->ev);
    memset(e, 0, sizeof *e);
}

int evd_scalar(const evd_value *v, float *out) {
    if (v->kind == EVD_VALUE_SIMPLE) {
        *out = v->simple_value;
        return 0;
    }
    if (v->kind != EVD_VALUE_TENSOR || v->dtype != 1 || v->rank != 0) return -1;
    if (v->content_len == 4 && v->float_val_count == 0) {
        *out = bits_to_float((uint32_t)le(v->content, 4));
        return 0;
    }
    if (v->content_len == 0 && v->float_val_count == 1) {
        *out = v->float_val0;
        return 0;
    }
    return -1;
}
