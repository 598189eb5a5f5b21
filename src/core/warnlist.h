/* core/warnlist.h — warnings a reader collects for its caller and also passes on as they come
 * (the event reader and the report both keep going past a bad file and say so). Internal. */
#ifndef SC_CORE_WARNLIST_H
#define SC_CORE_WARNLIST_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sc_warnlist {
    char **v; /* malloc'd messages, in order */
    size_t n;
    void (*cb)(void *user, const char *message); /* optional: called with each one */
    void *user;
} sc_warnlist;

/* Formats one warning (cut at 1 KiB), calls cb, keeps a copy. Out of memory drops the copy
 * only: a warning is never a reason to fail. */
__attribute__((format(printf, 2, 0))) void sc_warnlist_vadd(sc_warnlist *w, const char *fmt,
                                                            va_list ap);
void sc_warnlist_free(sc_warnlist *w);

#endif
