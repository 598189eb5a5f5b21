/* ckpt/watch_internal.h — the directory scan behind sc_watcher_wait, and test hooks. Internal. */
#ifndef SC_CKPT_WATCH_INTERNAL_H
#define SC_CKPT_WATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sidecar/watch.h"

/* The newest checkpoint found by one scan, and the identity of the file that makes it complete
 * (the .index of a bundle, or the weight file itself). */
typedef struct sc_watch_cand {
    sc_watch_kind kind; /* SC_WATCH_NONE: nothing complete */
    char *path;
    int64_t number;
    sc_ckpt_kind ckind;    /* what path is */
    char **all;            /* oldest first, ends with path */
    sc_ckpt_ref *all_refs; /* all[i], classified (paths point into all) */
    size_t num_all;
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
} sc_watch_cand;

/* Scans dir once. Returns SC_OK or SC_NO_MEMORY. A problem that leaves no bundle candidate but
 * should be shown to the user (state file that does not parse or names "", dir not a directory,
 * an I/O error) goes to *problem (status != SC_OK); otherwise problem->status is SC_OK. A missing
 * dir or state file is no problem, only nothing. */
sc_status sc_watch_scan(const char *dir, int weight_files, sc_watch_cand *out, sc_error *problem);
void sc_watch_cand_clear(sc_watch_cand *c);
/* Same path, kind and file identity. */
int sc_watch_cand_same(const sc_watch_cand *a, const sc_watch_cand *b);
/* The checkpoint number of a weight-file name ("ckpt-3.weights.h5" -> 3), or -1 when the name is
 * not <stem>-<digits>.<ext>, ext one of sc_ckpt_file_kind's. */
int64_t sc_watch_weight_file_number(const char *name);

/* Test hooks. Feeds raw inotify event bytes (struct inotify_event records) to the watcher as if
 * read from its inotify descriptor; records are bounds-checked. */
void sc_watcher_feed_events(sc_watcher *w, const void *buf, size_t len);
/* Reads and discards every pending inotify event (simulates events lost to a queue overflow).
 * Returns the number of bytes discarded. */
size_t sc_watcher_drop_events(sc_watcher *w);

#endif
