/* report/text.c — the page's text buffer and HTML escaping. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

static int grow(rp_buf *b, size_t extra) {
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void rp_put(rp_buf *b, const char *s, size_t n) {
    if (grow(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void rp_puts(rp_buf *b, const char *s) { rp_put(b, s, strlen(s)); }

void rp_printf(rp_buf *b, const char *fmt, ...) {
    if (grow(b, 256)) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (grow(b, (size_t)n)) return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void rp_escape(rp_buf *b, const char *s) {
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            /* Control characters would make the XML of inline SVG invalid. */
            if ((unsigned char)*s < 0x20) rep = "&#xFFFD;";
        }
        if (rep) {
            rp_put(b, run, (size_t)(s - run));
            rp_puts(b, rep);
            run = s + 1;
        }
    }
    rp_put(b, run, (size_t)(s - run));
}
