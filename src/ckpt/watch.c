/* The checkpoint-directory watcher (behaviour: sidecar/watch.h).
 *
 * One loop, no threads: take a pending interrupt, read pending inotify events, fire the periodic
 * rescan when due, (re)establish the watches, scan when something may have changed, and sleep in
 * ppoll() on the interrupt eventfd and the inotify descriptor until the earlier of the caller's
 * deadline and the next periodic rescan. Every wake-up is caused by an event, an interrupt or a
 * deadline, so the loop never spins.
 *
 * While the directory does not exist, its nearest existing ancestor is watched for new entries;
 * each one re-arms (cheap: inotify_add_watch on the same inode returns the same descriptor). The
 * directory's own deletion, renaming or unmounting drops its watch and re-arms the same way, so a
 * directory deleted and recreated by a new training run is followed.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "sidecar/watch.h"
#include "core/error.h"
#include "core/fileio.h"
#include "ckpt/watch_internal.h"

/* The state file and renamed shards arrive by IN_MOVED_TO, in-place writes end with
 * IN_CLOSE_WRITE; deletions matter because the newest weight file may go. No IN_MODIFY: a file
 * is reported when its writer closes it, not at every write. */
#define DIR_MASK                                                                                   \
    (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF         \
     | IN_MOVE_SELF | IN_ONLYDIR)
#define ANCHOR_MASK        (IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define GONE_MASK          (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED)
#define MAX_READS_PER_TURN 64 /* bounds the drain under an event storm; the rest waits a turn */

struct sc_watcher {
    char *dir;
    sc_watcher_params p;
    int efd;               /* eventfd written by sc_watcher_interrupt */
    int ifd;               /* inotify; -1 in POLL mode or after AUTO fell back to polling */
    int dir_wd, anchor_wd; /* -1 when not watched */
    char anchor_next[256]; /* the anchor's entry on the way to dir; "" = any entry counts */
    int need_arm;          /* (re)establish the watches before sleeping */
    int dirty;             /* something may have changed: scan before sleeping */
    int interval_ms;       /* periodic rescan; 0 = none */
    int64_t next_scan_ns;  /* CLOCK_MONOTONIC */
    sc_watch_cand cur;     /* the candidate last reported */
    char problem[SC_ERROR_MESSAGE_MAX]; /* the problem last reported, "" = none */
    char fallback[192];                 /* why AUTO polls without inotify, "" = it does not */
    char method[320];
};

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Filesystems where a write made by another machine raises no inotify event here (statfs
 * f_type values from linux/magic.h and the filesystems' sources). */
static const struct {
    uint32_t magic;
    const char *name;
} REMOTE_FS[] = {
    {0x00006969u, "nfs"},   {0x0000517Bu, "smb"},  {0xFF534D42u, "cifs"}, {0xFE534D42u, "smb2"},
    {0x65735546u, "fuse"},  {0x01021997u, "9p"},   {0x00C36400u, "ceph"}, {0x0BD00BD0u, "lustre"},
    {0x47504653u, "gpfs"},  {0x5346414Fu, "afs"},  {0x6B414653u, "kafs"}, {0x01161970u, "gfs2"},
    {0x7461636Fu, "ocfs2"}, {0x73757245u, "coda"},
};

static const char *remote_fs(const char *path) {
    struct statfs s;
    if (statfs(path, &s) != 0) return NULL;
    for (size_t i = 0; i < sizeof REMOTE_FS / sizeof *REMOTE_FS; i++)
        if ((uint32_t)s.f_type == REMOTE_FS[i].magic) return REMOTE_FS[i].name;
    return NULL;
}

/* Chooses the periodic rescan for what is watched now (watched: dir or its ancestor). */
static void plan(sc_watcher *w, const char *watched) {
    int iv = 0;
    const char *remote;
    if (w->p.mode == SC_WATCH_POLL) {
        iv = w->p.poll_interval_ms;
        snprintf(w->method, sizeof w->method, "poll every %d ms", iv);
    } else if (w->p.mode == SC_WATCH_INOTIFY) {
        snprintf(w->method, sizeof w->method, "inotify");
    } else if (w->ifd < 0) {
        iv = w->p.poll_interval_ms;
        snprintf(w->method, sizeof w->method, "poll every %d ms (%s)", iv, w->fallback);
    } else if ((remote = remote_fs(watched)) != NULL) {
        iv = w->p.poll_interval_ms;
        snprintf(w->method, sizeof w->method,
                 "inotify + poll every %d ms (%s is on %s: remote writers raise no events)", iv,
                 watched, remote);
    } else if ((iv = w->p.recheck_interval_ms) > 0) {
        snprintf(w->method, sizeof w->method, "inotify + rescan every %d ms", iv);
    } else {
        snprintf(w->method, sizeof w->method, "inotify");
    }
    if (iv != w->interval_ms) {
        w->interval_ms = iv;
        w->next_scan_ns = mono_ns() + (int64_t)iv * 1000000;
    }
}

/* AUTO without inotify from now on: poll. */
static void fall_back(sc_watcher *w, const char *what, const char *path, int errnum) {
    snprintf(w->fallback, sizeof w->fallback, "inotify unavailable: %s %s: %s", what, path,
             strerror(errnum));
    if (w->ifd >= 0) close(w->ifd);
    w->ifd = w->dir_wd = w->anchor_wd = -1;
    w->need_arm = 0;
    w->dirty = 1;
    plan(w, w->dir);
}

static sc_status watch_failed(sc_watcher *w, const char *path, int errnum, sc_error *err) {
    if (w->p.mode == SC_WATCH_AUTO) {
        fall_back(w, "inotify_add_watch", path, errnum);
        return SC_OK;
    }
    w->need_arm = 1; /* try again on the next call */
    return sc_error_set(err, SC_IO, "%s: cannot watch with inotify: %s%s", path, strerror(errnum),
                        errnum == ENOSPC ? " (fs.inotify.max_user_watches reached: raise it, or "
                                           "use polling)"
                                         : "");
}

static void unwatch(sc_watcher *w, int *wd) {
    if (*wd >= 0 && w->ifd >= 0) inotify_rm_watch(w->ifd, *wd);
    *wd = -1;
}

/* "a/b" -> "a", "/a" -> "/", "a" -> "."; 0 when path has no parent ("/", "."). */
static int to_parent(char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') path[--n] = '\0';
    if (strcmp(path, "/") == 0 || strcmp(path, ".") == 0) return 0;
    char *s = strrchr(path, '/');
    if (!s) {
        strcpy(path, "."); /* fits: path held at least one character */
        return 1;
    }
    while (s > path && s[-1] == '/') s--; /* "a//b" */
    if (s == path)
        path[1] = '\0'; /* the parent is the root */
    else
        *s = '\0';
    return 1;
}

/* Watches the nearest existing ancestor of dir. *again: the next component toward dir became a
 * directory before the watch was in place (its IN_CREATE was missed): arm once more. */
static sc_status watch_ancestor(sc_watcher *w, int *again, sc_error *err) {
    *again = 0;
    size_t n = strlen(w->dir) + 2;
    char *path = malloc(n), *child = malloc(n);
    sc_status rc = SC_OK;
    if (!path || !child) {
        rc = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", w->dir);
        goto done;
    }
    snprintf(path, n, "%s", w->dir);
    for (;;) {
        memcpy(child, path, strlen(path) + 1);
        if (!to_parent(path)) {
            rc = watch_failed(w, path, ENOENT, err);
            goto done;
        }
        int wd = inotify_add_watch(w->ifd, path, ANCHOR_MASK);
        if (wd >= 0) {
            if (w->anchor_wd != wd) unwatch(w, &w->anchor_wd);
            w->anchor_wd = wd;
            plan(w, path);
            *again = sc_path_is_dir(child);
            /* Only that entry's creation matters: a busy parent such as /tmp then costs a
             * wake-up, not a re-arm. */
            size_t cl = strlen(child);
            while (cl > 1 && child[cl - 1] == '/') child[--cl] = '\0';
            const char *name = strrchr(child, '/');
            name = name ? name + 1 : child;
            if (strlen(name) >= sizeof w->anchor_next || strcmp(name, "..") == 0
                || strcmp(name, ".") == 0)
                name = "";
            memcpy(w->anchor_next, name, strlen(name) + 1);
            goto done;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            rc = watch_failed(w, path, errno, err);
            goto done;
        }
    }
done:
    free(path);
    free(child);
    return rc;
}

static sc_status arm(sc_watcher *w, sc_error *err) {
    if (w->ifd < 0 || !w->need_arm) return SC_OK;
    w->need_arm = 0;
    for (int attempt = 0; attempt < 16 && w->ifd >= 0; attempt++) {
        int wd = inotify_add_watch(w->ifd, w->dir, DIR_MASK);
        if (wd >= 0) {
            if (w->dir_wd != wd) { /* a directory not watched so far: scan it */
                unwatch(w, &w->dir_wd);
                w->dirty = 1;
            }
            w->dir_wd = wd;
            unwatch(w, &w->anchor_wd);
            plan(w, w->dir);
            return SC_OK;
        }
        if (errno != ENOENT && errno != ENOTDIR) return watch_failed(w, w->dir, errno, err);
        unwatch(w, &w->dir_wd); /* a stale watch on a directory renamed away */
        int again;
        sc_status rc = watch_ancestor(w, &again, err);
        if (rc != SC_OK || !again) return rc;
    }
    return SC_OK; /* a path flapping in and out of existence: the anchor's events bring us back */
}

void sc_watcher_feed_events(sc_watcher *w, const void *buf, size_t len) {
    assert(w && (buf || len == 0));
    const char *p = buf;
    size_t off = 0;
    while (len - off >= sizeof(struct inotify_event)) {
        struct inotify_event ie;
        memcpy(&ie, p + off, sizeof ie);
        if (ie.len > len - off - sizeof ie) break; /* truncated record */
        off += sizeof ie + ie.len;
        if (ie.mask & IN_Q_OVERFLOW) { /* events were lost, maybe our directory's own: redo all */
            w->dirty = 1;
            w->need_arm = w->ifd >= 0;
        } else if (ie.wd >= 0 && ie.wd == w->dir_wd) {
            w->dirty = 1;
            if (ie.mask & GONE_MASK) {
                if (ie.mask & IN_IGNORED) w->dir_wd = -1; /* the kernel removed it already */
                unwatch(w, &w->dir_wd);
                w->need_arm = w->ifd >= 0;
            }
        } else if (ie.wd >= 0 && ie.wd == w->anchor_wd) {
            /* The name is NUL-padded to ie.len bytes. */
            const char *name = p + off - ie.len;
            if (!(ie.mask & GONE_MASK) && ie.len > 0 && w->anchor_next[0]
                && strncmp(name, w->anchor_next, ie.len) != 0)
                continue; /* another entry of the ancestor */
            w->need_arm = w->ifd >= 0;
            if (ie.mask & GONE_MASK) {
                if (ie.mask & IN_IGNORED) w->anchor_wd = -1;
                unwatch(w, &w->anchor_wd);
            }
        } /* else: a watch we removed; its IN_IGNORED trails behind */
    }
}

static sc_status drain(sc_watcher *w, sc_error *err) {
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (int i = 0; i < MAX_READS_PER_TURN && w->ifd >= 0; i++) {
        ssize_t n = read(w->ifd, buf, sizeof buf);
        if (n > 0) {
            sc_watcher_feed_events(w, buf, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return SC_OK;
        } else {
            return sc_error_set(err, SC_IO, "%s: reading inotify events: %s", w->dir,
                                n == 0 ? "unexpected end of file" : strerror(errno));
        }
    }
    return SC_OK;
}

size_t sc_watcher_drop_events(sc_watcher *w) {
    assert(w);
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    size_t total = 0;
    while (w->ifd >= 0) {
        ssize_t n = read(w->ifd, buf, sizeof buf);
        if (n > 0)
            total += (size_t)n;
        else if (!(n < 0 && errno == EINTR))
            break;
    }
    return total;
}

static int take_interrupt(sc_watcher *w) {
    uint64_t v;
    ssize_t n;
    do n = read(w->efd, &v, sizeof v);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof v;
}

void sc_watcher_interrupt(sc_watcher *w) {
    assert(w);
    int saved = errno;
    uint64_t one = 1;
    ssize_t n;
    /* EAGAIN means the counter is saturated: an interrupt is pending anyway. */
    do n = write(w->efd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    errno = saved;
}

/* Scans; *found = 1 when a new candidate is now in w->cur. A problem is returned once, with the
 * scan repeated on the next call so that a candidate found alongside it is not lost. */
static sc_status rescan(sc_watcher *w, int *found, sc_error *err) {
    *found = 0;
    w->dirty = 0;
    sc_watch_cand next;
    sc_error problem;
    sc_status rc = sc_watch_scan(w->dir, w->p.weight_files, &next, &problem);
    if (rc != SC_OK) {
        w->dirty = 1;
        if (err) *err = problem;
        return rc;
    }
    if (problem.status != SC_OK && strcmp(problem.message, w->problem) != 0) {
        snprintf(w->problem, sizeof w->problem, "%s", problem.message);
        sc_watch_cand_clear(&next);
        w->dirty = 1;
        if (err) *err = problem;
        return problem.status;
    }
    if (problem.status == SC_OK) w->problem[0] = '\0';
    if (next.kind != SC_WATCH_NONE && !sc_watch_cand_same(&next, &w->cur)) {
        sc_watch_cand_clear(&w->cur);
        w->cur = next;
        *found = 1;
    } else {
        sc_watch_cand_clear(&next);
    }
    return SC_OK;
}

sc_status sc_watcher_wait(sc_watcher *w, int timeout_ms, sc_watch_event *ev, sc_error *err) {
    assert(w && ev);
    memset(ev, 0, sizeof *ev);
    ev->result = SC_WATCH_TIMEOUT;
    ev->number = -1;
    sc_error_clear(err);
    const int64_t forever = INT64_MAX;
    int64_t deadline = timeout_ms < 0 ? forever : mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        if (take_interrupt(w)) {
            ev->result = SC_WATCH_INTERRUPTED;
            return SC_OK;
        }
        sc_status rc = drain(w, err);
        if (rc != SC_OK) return rc;
        int64_t now = mono_ns();
        if (w->interval_ms > 0 && now >= w->next_scan_ns) {
            /* Events may have been missed (remote writers, a directory replaced under the
             * watch): look again, and watch the path again too. */
            w->dirty = 1;
            w->need_arm = w->ifd >= 0;
            w->next_scan_ns = now + (int64_t)w->interval_ms * 1000000;
        }
        if ((rc = arm(w, err)) != SC_OK) return rc;
        if (w->dirty) {
            int found;
            if ((rc = rescan(w, &found, err)) != SC_OK) return rc;
            if (found) {
                ev->result = SC_WATCH_CHECKPOINT;
                ev->kind = w->cur.kind;
                ev->path = w->cur.path;
                ev->number = w->cur.number;
                ev->ref = (sc_ckpt_ref){w->cur.ckind, w->cur.path, w->cur.number};
                ev->all = (const char *const *)w->cur.all;
                ev->all_refs = w->cur.all_refs;
                ev->num_all = w->cur.num_all;
                return SC_OK;
            }
        }
        now = mono_ns();
        if (now >= deadline) return SC_OK;                       /* SC_WATCH_TIMEOUT */
        int64_t nap = deadline == forever ? -1 : deadline - now; /* ns; -1 = until an event */
        if (w->interval_ms > 0 && (nap < 0 || w->next_scan_ns - now < nap))
            nap = w->next_scan_ns > now ? w->next_scan_ns - now : 0;
        struct timespec ts = {.tv_sec = nap / 1000000000, .tv_nsec = nap % 1000000000};
        struct pollfd fds[2] = {{.fd = w->efd, .events = POLLIN}, {.fd = w->ifd, .events = POLLIN}};
        int pr = ppoll(fds, w->ifd >= 0 ? 2 : 1, nap < 0 ? NULL : &ts, NULL);
        if (pr < 0 && errno != EINTR)
            return sc_error_set(err, SC_IO, "%s: waiting for checkpoints: ppoll: %s", w->dir,
                                strerror(errno));
        if (pr > 0
            && ((fds[0].revents | (w->ifd >= 0 ? fds[1].revents : 0)) & (POLLERR | POLLNVAL)))
            return sc_error_set(err, SC_IO, "%s: waiting for checkpoints: descriptor error",
                                w->dir);
    }
}

sc_watcher_params sc_watcher_default_params(void) {
    sc_watcher_params p = {.mode = SC_WATCH_AUTO,
                           .poll_interval_ms = 1000,
                           .recheck_interval_ms = 2000,
                           .weight_files = 1};
    return p;
}

sc_status sc_watcher_create(const char *dir, const sc_watcher_params *params, sc_watcher **out,
                            sc_error *err) {
    assert(dir && out);
    *out = NULL;
    sc_watcher_params p = params ? *params : sc_watcher_default_params();
    if (!dir[0])
        return sc_error_set(err, SC_INVALID_ARGUMENT, "watcher: empty checkpoint directory path");
    if (p.mode != SC_WATCH_AUTO && p.mode != SC_WATCH_INOTIFY && p.mode != SC_WATCH_POLL)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: watcher: mode %d (expected 0-2)", dir,
                            (int)p.mode);
    if (p.poll_interval_ms < 1 || p.recheck_interval_ms < 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: watcher: poll_interval_ms %d, recheck_interval_ms %d (expected "
                            ">= 1 and >= 0)",
                            dir, p.poll_interval_ms, p.recheck_interval_ms);
    sc_status rc = SC_OK;
    sc_watcher *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        rc = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", dir);
        goto fail;
    }
    w->p = p;
    w->efd = w->ifd = w->dir_wd = w->anchor_wd = -1;
    w->cur.number = -1;
    w->dirty = 1; /* the first wait reports what is already there */
    if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        rc = sc_error_set(err, SC_IO, "%s: watcher: eventfd: %s", dir, strerror(errno));
        goto fail;
    }
    if (p.mode != SC_WATCH_POLL) {
        w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->ifd < 0 && p.mode == SC_WATCH_INOTIFY) {
            rc = sc_error_set(err, SC_IO, "%s: watcher: inotify_init1: %s%s", dir, strerror(errno),
                              errno == EMFILE ? " (fs.inotify.max_user_instances reached)" : "");
            goto fail;
        }
        if (w->ifd < 0) fall_back(w, "inotify_init1 for", dir, errno);
        w->need_arm = w->ifd >= 0;
    }
    plan(w, dir);
    *out = w;
    return SC_OK;
fail:
    sc_watcher_free(w);
    return rc;
}

void sc_watcher_free(sc_watcher *w) {
    if (!w) return;
    if (w->ifd >= 0) close(w->ifd);
    if (w->efd >= 0) close(w->efd);
    sc_watch_cand_clear(&w->cur);
    free(w->dir);
    free(w);
}

const char *sc_watcher_method(const sc_watcher *w) {
    assert(w);
    return w->method;
}
