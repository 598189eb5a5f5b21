/* cli/escape.c — writing arbitrary bytes (tensor keys, string tensors) as JSON or terminal text.
 * Keys are arbitrary bytes in a bundle, so neither output may assume UTF-8. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Length (1-4) of the well-formed UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are not well-formed). */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return len;
}

void cli_json_bytes(FILE *f, const void *data, size_t n) {
    const unsigned char *s = data;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len = utf8_seq_len(s + i, n - i);
        if (len > 1) {
            fwrite(s + i, 1, len, f);
            i += len;
            continue;
        }
        i++;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            /* A byte that is not part of well-formed UTF-8 is written as the lone surrogate
             * U+DC80..U+DCFF (Python's surrogateescape: os.fsencode() of the decoded string
             * gives the bytes back). A real character never decodes to a surrogate, so the
             * output is unambiguous. */
            if (c >= 0x80)
                fprintf(f, "\\udc%02x", (unsigned)c);
            else if (c < 0x20)
                fprintf(f, "\\u%04x", (unsigned)c);
            else
                fputc(c, f);
        }
    }
}

void cli_json_string(FILE *f, const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    fputc('"', f);
    cli_json_bytes(f, s, n);
    fputc('"', f);
}

size_t cli_text_bytes(FILE *f, const void *data, size_t n, int quoted) {
    const unsigned char *s = data;
    size_t cols = 0, i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len = utf8_seq_len(s + i, n - i);
        if (len > 1) {
            if (f) fwrite(s + i, 1, len, f);
            i += len;
            cols += 1;
            continue;
        }
        i++;
        const char *esc = !quoted     ? NULL
                          : c == '"'  ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\t' ? "\\t"
                          : c == '\r' ? "\\r"
                                      : NULL;
        if (esc) {
            if (f) fputs(esc, f);
            cols += 2;
        } else if (c < 0x20 || c >= 0x7f) {
            if (f) fprintf(f, "\\x%02x", (unsigned)c);
            cols += 4;
        } else {
            if (f) fputc(c, f);
            cols += 1;
        }
    }
    return cols;
}

sc_status cli_read_text(const char *path, char **out, size_t *len, sc_error *err) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->message, sizeof err->message, "%s: cannot open: %s", path, strerror(errno));
        return err->status = errno == ENOENT ? SC_NOT_FOUND : SC_IO;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err->message, sizeof err->message, "%s: cannot read", path);
        return err->status = SC_IO;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return SC_OK;
}
