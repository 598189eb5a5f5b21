/* The `checkpoint` state file: CheckpointState in protobuf text format (FORMATS §2.1).
 *
 * The parser accepts what protobuf's text parsers accept for this message: whitespace and `#`
 * comments between any tokens, fields in any order, `name:value` with or without spaces, an
 * optional `,` or `;` after a field, `[a, b]` lists for repeated fields, adjacent string literals
 * (concatenated), single or double quotes with C escapes (\n \t \' \" \\ \ooo \xHH \uXXXX ...),
 * and doubles in any notation strtod knows (1.7e+09, inf, -Infinity, nan, 5, 1.5f). Scalars: the
 * last occurrence wins; repeated fields append. Unknown field names are errors.
 *
 * The writer produces Python's text_format.MessageToString output byte for byte: fields in
 * number order, proto3 defaults omitted, strings double-quoted with octal escapes for
 * non-printable and non-ASCII bytes, doubles as Python's repr().
 *
 * Numbers are converted in the "C" locale whatever the process locale is (a state file written
 * by TensorFlow always uses '.').
 */
#include <assert.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/checkpoint.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/pb.h"
#include "ckpt/state.h"

/* ---- "C" numeric locale for the calling thread only ---------------------------------------- */

typedef struct numloc {
    locale_t c, old;
} numloc;

static void numloc_enter(numloc *l) {
    l->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    l->old = l->c ? uselocale(l->c) : (locale_t)0;
}

static void numloc_leave(numloc *l) {
    if (!l->c) return;
    uselocale(l->old);
    freelocale(l->c);
}

/* ---- lexer --------------------------------------------------------------------------------- */

typedef struct lexer {
    const char *p, *end;
    const char *name;
    int line;
    sc_error *err;
} lexer;

static void skip_space(lexer *lx) {
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
            lx->p++;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n') lx->p++;
        } else {
            break;
        }
    }
}

static int is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_word_char(char c) {
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-';
}

/* Describes the token at the cursor for "found ..." in messages. */
static const char *found(const lexer *lx, char *buf, size_t cap) {
    if (lx->p >= lx->end) return "end of file";
    size_t n = 0;
    const char *q = lx->p;
    if (is_word_char(*q)) {
        while (q + n < lx->end && is_word_char(q[n]) && n < 40) n++;
    } else {
        n = 1;
    }
    size_t o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)q[i];
        if (c >= 0x20 && c < 0x7f)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

static sc_status expected(lexer *lx, const char *what) {
    char tok[128];
    return sc_error_set(lx->err, SC_INVALID_ARGUMENT, "%s:%d: expected %s, found %s", lx->name,
                        lx->line, what, found(lx, tok, sizeof tok));
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Appends the UTF-8 encoding of code point cp; 0 on success. */
static int put_utf8(char *dst, size_t *o, uint32_t cp) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    if (cp < 0x80) {
        dst[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        dst[(*o)++] = (char)(0xC0 | (cp >> 6));
        dst[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        dst[(*o)++] = (char)(0xE0 | (cp >> 12));
        dst[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        dst[(*o)++] = (char)(0xF0 | (cp >> 18));
        dst[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        dst[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
    return 0;
}

/* The byte a one-letter escape stands for, or -1. */
static int simple_escape(char e) {
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'a': return '\a';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'v': return '\v';
    case '\\': return '\\';
    case '\'': return '\'';
    case '"': return '"';
    case '?': return '?';
    default: return -1;
    }
}

/* Decodes one quoted literal at the cursor, appending to *s (length *len). An escape never
 * decodes to more bytes than it occupies, so the literal's span bounds the growth. A string
 * cannot span lines (as in protobuf's tokenizer). */
static sc_status lex_string(lexer *lx, char **s, size_t *len) {
    char quote = *lx->p;
    const char *q = lx->p + 1;
    while (q < lx->end && *q != quote && *q != '\n')
        q += (*q == '\\' && q + 1 < lx->end && q[1] != '\n') ? 2 : 1;
    if (q >= lx->end || *q != quote)
        return sc_error_set(lx->err, SC_INVALID_ARGUMENT, "%s:%d: expected a closing %c, found %s",
                            lx->name, lx->line, quote,
                            q >= lx->end ? "end of file" : "end of line");
    size_t span = (size_t)(q - lx->p);
    char *grown = realloc(*s, *len + span + 1);
    if (!grown) return sc_error_set(lx->err, SC_NO_MEMORY, "%s: out of memory", lx->name);
    *s = grown;
    size_t o = *len;
    const char *p = lx->p + 1;
    while (p < q) {
        if (*p != '\\') {
            grown[o++] = *p++;
            continue;
        }
        const char *esc = p; /* the scan above guarantees a character after the backslash */
        char e = p[1];
        p += 2;
        int c = simple_escape(e);
        if (c >= 0) {
            grown[o++] = (char)c;
        } else if (e >= '0' && e <= '7') {
            unsigned v = (unsigned)(e - '0');
            for (int k = 0; k < 2 && p < q && *p >= '0' && *p <= '7'; k++)
                v = v * 8 + (unsigned)(*p++ - '0');
            if (v > 0xFF) {
                lx->p = esc;
                return expected(lx, "an octal escape of at most \\377");
            }
            grown[o++] = (char)v;
        } else if (e == 'x' || e == 'X' || e == 'u' || e == 'U') {
            int is_hex = e == 'x' || e == 'X';
            int want = e == 'u' ? 4 : e == 'U' ? 8 : 2, k = 0;
            uint32_t v = 0;
            for (; k < want && p < q && hexval(*p) >= 0; k++) v = v * 16 + (uint32_t)hexval(*p++);
            if (is_hex && k > 0) {
                grown[o++] = (char)v;
            } else if (is_hex || k != want || put_utf8(grown, &o, v) != 0) {
                lx->p = esc;
                return expected(lx, is_hex ? "hex digits after \\x" : "a valid Unicode escape");
            }
        } else {
            lx->p = esc;
            return expected(lx, "a known escape (\\n \\t \\r \\\\ \\' \\\" \\ooo \\xHH \\uXXXX)");
        }
    }
    *len = o;
    grown[o] = '\0';
    lx->p = q + 1;
    return SC_OK;
}

/* ---- parser -------------------------------------------------------------------------------- */

enum { F_PATH = 1, F_ALL_PATHS = 2, F_TIMESTAMPS = 3, F_LAST_PRESERVED = 4 };

static const char *const FIELD_NAMES[] = {
    NULL, "model_checkpoint_path", "all_model_checkpoint_paths", "all_model_checkpoint_timestamps",
    "last_preserved_timestamp"};

/* arr grown to hold n + 1 elements of elem bytes (possibly moved), or NULL, in which case arr
 * is unchanged and still the caller's. */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem) {
    if (n < *cap) return arr;
    size_t nc, bytes;
    if (__builtin_mul_overflow(*cap ? *cap : 2, (size_t)2, &nc)
        || __builtin_mul_overflow(nc, elem, &bytes))
        return NULL;
    void *p = realloc(arr, bytes);
    if (p) *cap = nc;
    return p;
}

typedef struct parse_ctx {
    lexer lx;
    sc_ckpt_state *st;
    size_t cap_paths, cap_ts;
} parse_ctx;

static sc_status parse_value(parse_ctx *c, int field) {
    lexer *lx = &c->lx;
    sc_ckpt_state *st = c->st;
    if (field == F_PATH || field == F_ALL_PATHS) {
        if (lx->p >= lx->end || (*lx->p != '"' && *lx->p != '\''))
            return expected(lx, "a quoted string");
        char *s = NULL, **paths = NULL;
        size_t len = 0;
        int line = lx->line;
        sc_status rc;
        do { /* adjacent literals concatenate */
            rc = lex_string(lx, &s, &len);
            skip_space(lx);
        } while (rc == SC_OK && lx->p < lx->end && (*lx->p == '"' || *lx->p == '\''));
        if (rc == SC_OK && memchr(s, '\0', len))
            rc = sc_error_set(lx->err, SC_INVALID_ARGUMENT, "%s:%d: %s contains a NUL byte",
                              lx->name, line, FIELD_NAMES[field]);
        if (rc == SC_OK && field == F_ALL_PATHS
            && !(paths = grow(st->all_model_checkpoint_paths, st->num_paths, &c->cap_paths,
                              sizeof *paths)))
            rc = sc_error_set(lx->err, SC_NO_MEMORY, "%s: out of memory", lx->name);
        if (rc != SC_OK) {
            free(s);
            return rc;
        }
        if (field == F_PATH) {
            free(st->model_checkpoint_path);
            st->model_checkpoint_path = s;
        } else {
            st->all_model_checkpoint_paths = paths;
            paths[st->num_paths++] = s;
        }
        return SC_OK;
    }
    /* A double. */
    if (lx->p >= lx->end || !is_word_char(*lx->p)) return expected(lx, "a number");
    const char *q = lx->p;
    while (q < lx->end && is_word_char(*q)) q++;
    char tok[128];
    size_t n = (size_t)(q - lx->p);
    if (n >= sizeof tok) return expected(lx, "a number");
    memcpy(tok, lx->p, n);
    tok[n] = '\0';
    char *e;
    double v = strtod(tok, &e);
    if (e == tok || (*e != '\0' && !((*e == 'f' || *e == 'F') && e[1] == '\0' && e > tok)))
        return expected(lx, "a number");
    lx->p = q;
    skip_space(lx);
    if (field == F_LAST_PRESERVED) {
        st->last_preserved_timestamp = v;
        return SC_OK;
    }
    double *ts =
        grow(st->all_model_checkpoint_timestamps, st->num_timestamps, &c->cap_ts, sizeof *ts);
    if (!ts) return sc_error_set(lx->err, SC_NO_MEMORY, "%s: out of memory", lx->name);
    st->all_model_checkpoint_timestamps = ts;
    ts[st->num_timestamps++] = v;
    return SC_OK;
}

static sc_status parse_field(parse_ctx *c) {
    lexer *lx = &c->lx;
    if (!is_ident_start(*lx->p)) return expected(lx, "a field name");
    const char *q = lx->p;
    while (q < lx->end && (is_ident_start(*q) || (*q >= '0' && *q <= '9'))) q++;
    size_t n = (size_t)(q - lx->p);
    int field = 0;
    for (int f = F_PATH; f <= F_LAST_PRESERVED; f++)
        if (strlen(FIELD_NAMES[f]) == n && memcmp(FIELD_NAMES[f], lx->p, n) == 0) field = f;
    if (!field)
        return sc_error_set(lx->err, SC_INVALID_ARGUMENT,
                            "%s:%d: unknown field '%.*s' (CheckpointState has "
                            "model_checkpoint_path, all_model_checkpoint_paths, "
                            "all_model_checkpoint_timestamps, last_preserved_timestamp)",
                            lx->name, lx->line, (int)(n > 64 ? 64 : n), lx->p);
    lx->p = q;
    skip_space(lx);
    if (lx->p >= lx->end || *lx->p != ':') return expected(lx, "':' after the field name");
    lx->p++;
    skip_space(lx);
    sc_status rc;
    if (lx->p < lx->end && *lx->p == '[' && (field == F_ALL_PATHS || field == F_TIMESTAMPS)) {
        lx->p++;
        skip_space(lx);
        if (lx->p < lx->end && *lx->p == ']') {
            lx->p++;
        } else {
            for (;;) {
                if ((rc = parse_value(c, field)) != SC_OK) return rc;
                if (lx->p < lx->end && *lx->p == ']') break;
                if (lx->p >= lx->end || *lx->p != ',') return expected(lx, "',' or ']'");
                lx->p++;
                skip_space(lx);
            }
            lx->p++;
        }
    } else if ((rc = parse_value(c, field)) != SC_OK) {
        return rc;
    }
    skip_space(lx);
    if (lx->p < lx->end && (*lx->p == ',' || *lx->p == ';')) lx->p++;
    return SC_OK;
}

sc_status sc_ckpt_state_parse(const char *text, size_t len, const char *name, sc_ckpt_state *out,
                              sc_error *err) {
    assert(out && (text || len == 0));
    memset(out, 0, sizeof *out);
    parse_ctx c = {{text, text + len, name ? name : "checkpoint", 1, err}, out, 0, 0};
    sc_status rc = SC_OK;
    numloc loc;
    numloc_enter(&loc);
    for (;;) {
        skip_space(&c.lx);
        if (c.lx.p >= c.lx.end) break;
        if ((rc = parse_field(&c)) != SC_OK) break;
    }
    numloc_leave(&loc);
    if (rc != SC_OK) sc_ckpt_state_clear(out);
    return rc;
}

sc_status sc_ckpt_state_read(const char *dir, sc_ckpt_state *out, sc_error *err) {
    assert(dir && out);
    memset(out, 0, sizeof *out);
    char *path = sc_path_join(dir, "checkpoint");
    if (!path) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", dir);
    uint8_t *data = NULL;
    size_t len = 0;
    sc_status rc = sc_read_file(path, &data, &len, err);
    if (rc == SC_NOT_FOUND)
        rc = sc_error_set(err, SC_NOT_FOUND, "no checkpoint state file %s", path);
    if (rc == SC_OK) rc = sc_ckpt_state_parse((const char *)data, len, path, out, err);
    free(data);
    free(path);
    return rc;
}

void sc_ckpt_state_clear(sc_ckpt_state *st) {
    if (!st) return;
    free(st->model_checkpoint_path);
    for (size_t i = 0; i < st->num_paths; i++) free(st->all_model_checkpoint_paths[i]);
    free(st->all_model_checkpoint_paths);
    free(st->all_model_checkpoint_timestamps);
    memset(st, 0, sizeof *st);
}

/* ---- writer -------------------------------------------------------------------------------- */

/* Python's repr(float): the shortest digits that round-trip, laid out in fixed notation when
 * the decimal exponent is in [-4, 16), else as d.ddde+XX; integral values get ".0". */
static void format_double(double v, char out[48]) {
    if (isnan(v)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v < 0 ? "-inf" : "inf");
        return;
    }
    char e[40];
    for (int prec = 1; prec <= 17; prec++) { /* 17 significant digits always round-trip */
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    char digits[24];
    int nd = 0;
    const char *p = e + (e[0] == '-');
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;

    size_t o = 0;
    if (signbit(v)) out[o++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -exp10 - 1; i++) out[o++] = '0';
            for (int i = 0; i < nd; i++) out[o++] = digits[i];
        } else {
            int whole = exp10 + 1;
            for (int i = 0; i < whole; i++) out[o++] = i < nd ? digits[i] : '0';
            out[o++] = '.';
            if (nd <= whole) out[o++] = '0';
            for (int i = whole; i < nd; i++) out[o++] = digits[i];
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        if (nd > 1) out[o++] = '.';
        for (int i = 1; i < nd; i++) out[o++] = digits[i];
        snprintf(out + o, 48 - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
}

static void put_text(sc_pb_buf *b, const char *s) { sc_pb_put_bytes(b, s, strlen(s)); }

/* text_format's CEscape with as_utf8=False: \n \r \t \" \' \\ by name, other bytes outside
 * printable ASCII as three-digit octal. */
static void put_quoted(sc_pb_buf *b, const char *field, const char *s) {
    put_text(b, field);
    put_text(b, ": \"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '\n': put_text(b, "\\n"); break;
        case '\r': put_text(b, "\\r"); break;
        case '\t': put_text(b, "\\t"); break;
        case '"': put_text(b, "\\\""); break;
        case '\'': put_text(b, "\\'"); break;
        case '\\': put_text(b, "\\\\"); break;
        default:
            if (*p < 0x20 || *p >= 0x7f) {
                snprintf(esc, sizeof esc, "\\%03o", *p);
                put_text(b, esc);
            } else {
                sc_pb_put_bytes(b, p, 1);
            }
        }
    }
    put_text(b, "\"\n");
}

static void put_double(sc_pb_buf *b, const char *field, double v) {
    char num[48];
    format_double(v, num);
    put_text(b, field);
    put_text(b, ": ");
    put_text(b, num);
    put_text(b, "\n");
}

sc_status sc_ckpt_state_format(const sc_ckpt_state *st, char **text, size_t *len, sc_error *err) {
    assert(st && text && len);
    *text = NULL;
    *len = 0;
    sc_pb_buf b = {0};
    numloc loc;
    numloc_enter(&loc);
    if (st->model_checkpoint_path && st->model_checkpoint_path[0])
        put_quoted(&b, FIELD_NAMES[F_PATH], st->model_checkpoint_path);
    for (size_t i = 0; i < st->num_paths; i++) {
        assert(st->all_model_checkpoint_paths[i]);
        put_quoted(&b, FIELD_NAMES[F_ALL_PATHS], st->all_model_checkpoint_paths[i]);
    }
    for (size_t i = 0; i < st->num_timestamps; i++)
        put_double(&b, FIELD_NAMES[F_TIMESTAMPS], st->all_model_checkpoint_timestamps[i]);
    /* proto3 omits a default double; -0.0 is not the default bit pattern, so it is written. */
    if (st->last_preserved_timestamp != 0.0 || signbit(st->last_preserved_timestamp))
        put_double(&b, FIELD_NAMES[F_LAST_PRESERVED], st->last_preserved_timestamp);
    numloc_leave(&loc);
    sc_pb_put_bytes(&b, "", 1); /* the NUL */
    if (b.failed) {
        sc_pb_buf_free(&b);
        return sc_error_set(err, SC_NO_MEMORY, "out of memory formatting a checkpoint state");
    }
    *text = (char *)b.data;
    *len = b.len - 1;
    return SC_OK;
}

sc_status sc_ckpt_state_write(const char *dir, const sc_ckpt_state *st, sc_error *err) {
    assert(dir && st);
    char *text = NULL, *path = NULL;
    size_t len = 0;
    sc_status rc = sc_ckpt_state_format(st, &text, &len, err);
    if (rc != SC_OK) return rc;
    path = sc_path_join(dir, "checkpoint");
    if (path)
        rc = sc_write_file_atomic(path, text, len, err);
    else
        rc = sc_error_set(err, SC_NO_MEMORY, "%s/checkpoint: out of memory", dir);
    free(path);
    free(text);
    return rc;
}
