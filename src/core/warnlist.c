/* core/warnlist.c — see warnlist.h. */
#include "core/warnlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sc_warnlist_vadd(sc_warnlist *w, const char *fmt, va_list ap) {
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (w->cb) w->cb(w->user, buf);
    char **v = realloc(w->v, (w->n + 1) * sizeof *v);
    if (!v) return;
    w->v = v;
    if ((v[w->n] = strdup(buf))) w->n++;
}

void sc_warnlist_free(sc_warnlist *w) {
    for (size_t i = 0; i < w->n; i++) free(w->v[i]);
    free(w->v);
    w->v = NULL;
    w->n = 0;
}
