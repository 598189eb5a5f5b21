/* core/strutil.h — string predicates used across the library (one copy, not one per file).
 * Internal. */
#ifndef SC_CORE_STRUTIL_H
#define SC_CORE_STRUTIL_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* 1 if the first n bytes of s end with suffix (ignoring ASCII case when nocase). */
static inline int sc_ends_with_n(const char *s, size_t n, const char *suffix, int nocase) {
    size_t k = strlen(suffix);
    if (n < k) return 0;
    return nocase ? strncasecmp(s + n - k, suffix, k) == 0 : memcmp(s + n - k, suffix, k) == 0;
}

/* 1 if s ends with suffix (exact bytes). */
static inline int sc_ends_with(const char *s, const char *suffix) {
    return sc_ends_with_n(s, strlen(s), suffix, 0);
}

#endif
