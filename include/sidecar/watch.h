/* sidecar/watch.h — waiting for new checkpoints in a directory (DESIGN §1, FORMATS §2.3,
 * §10.1).
 *
 * A watcher is created on a checkpoint directory and answers one question, repeatedly: "what is
 * now the newest complete checkpoint, if it is not the one you last told me about?".
 *
 * What counts as a checkpoint
 *   - TensorFlow bundles: the `checkpoint` state file names the latest prefix. As in
 *     tf.train.latest_checkpoint, a relative path joins the directory and the prefix counts only
 *     once "<prefix>.index" exists. The state file is the completion signal: TensorFlow writes it
 *     (atomically, by rename) after the bundle is complete.
 *   - Weight files (params.weight_files, on by default): "<stem>-<N>.weights.h5",
 *     "<stem>-<N>.keras", "<stem>-<N>.safetensors" and Keras 2's "<stem>-<N>.h5"/".hdf5", N all
 *     digits (sc_ckpt_file_kind decides). Keras ModelCheckpoint("dir/ckpt-{epoch}.weights.h5")
 *     or ("dir/ckpt-{epoch}.h5") writes these in place with no state file; the newest is the
 *     largest N, and an empty file (just created) does not count yet.
 *   - SavedModel directories "<stem>-<N>/" (TF2 ModelCheckpoint(save_weights_only=False)
 *     without an .h5 suffix), counted once complete (sc_saved_model_complete: saved_model.pb,
 *     which TF writes after the variables). Reported again when saved_model.pb changes.
 *   When both kinds exist the larger checkpoint number wins; a tie goes to the bundle.
 *
 * When it reports
 *   sc_watcher_wait reports a candidate when it differs from the last one reported: another
 *   path, or the same path whose file (the .index, or the weight file) was replaced or rewritten
 *   (device, inode, size or mtime differ). A weight file caught while still being written is
 *   therefore reported again once it changes, so a reader that failed with SC_UNAVAILABLE just
 *   waits again. The first call reports the newest checkpoint already present, if any. A
 *   candidate that disappears is not an event; the directory may not exist yet, or be deleted and
 *   recreated (a new training run): the watcher waits for it and picks it up again.
 *
 * How it notices (params.mode)
 *   SC_WATCH_INOTIFY  inotify only: IN_CREATE, IN_CLOSE_WRITE, IN_MOVED_TO, IN_MOVED_FROM and
 *                     IN_DELETE on the directory (the state file arrives by IN_MOVED_TO, a
 *                     weight file written in place by IN_CLOSE_WRITE), its deletion or renaming,
 *                     and, while it does not exist, new entries in its nearest existing
 *                     ancestor.
 *                     Latency is one wake-up and one scan (bench_watch: a fraction of a
 *                     millisecond, most of it the filesystem's own rename). IN_Q_OVERFLOW rescans.
 *                     inotify sees only changes made through this kernel: on NFS, SMB and other
 *                     network or FUSE filesystems a remote trainer's writes produce no event.
 *   SC_WATCH_POLL     rescans every poll_interval_ms (1000 by default, as Keras' 1 s
 *                     checkpoints_iterator). For filesystems where inotify is unreliable.
 *   SC_WATCH_AUTO     the default: inotify for speed plus a periodic rescan for correctness. The
 *                     rescan runs every recheck_interval_ms (2000) on a local filesystem, and every
 *                     poll_interval_ms when statfs() says the directory is on a network, cluster or
 *                     FUSE filesystem (NFS, SMB/CIFS, 9p, Ceph, Lustre, GPFS, AFS, GFS2, OCFS2,
 *                     FUSE) where remote writers produce no events. When inotify cannot be used at
 *                     all (no instances or watches left: fs.inotify.max_user_instances /
 *                     max_user_watches), AUTO polls every poll_interval_ms.
 *   sc_watcher_method() says which method is in use, for a log line.
 *
 * Stopping
 *   sc_watcher_interrupt() wakes a waiting sc_watcher_wait (which then reports
 *   SC_WATCH_INTERRUPTED). It only write()s to an eventfd, so it is async-signal-safe and may be
 *   called from a signal handler or another thread at any time while the watcher exists (it
 *   preserves errno). An interrupt sent while no one waits is kept: the next wait reports it at
 *   once. Several interrupts before a wait are reported once.
 *
 * Threads: one thread waits; sc_watcher_interrupt may come from anywhere. The watcher uses no
 * threads and never busy-waits: it sleeps in ppoll() on the inotify and interrupt descriptors,
 * with a timeout that is the earlier of the caller's deadline and the next rescan.
 */
#ifndef SIDECAR_WATCH_H
#define SIDECAR_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/ckpt_ref.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sc_watch_mode {
    SC_WATCH_AUTO = 0,    /* inotify + periodic rescan; polling where inotify cannot work */
    SC_WATCH_INOTIFY = 1, /* inotify only; SC_IO when inotify cannot be used */
    SC_WATCH_POLL = 2     /* rescan every poll_interval_ms */
} sc_watch_mode;

typedef struct sc_watcher_params {
    sc_watch_mode mode;      /* default SC_WATCH_AUTO */
    int poll_interval_ms;    /* POLL, and AUTO on network filesystems; default 1000, >= 1 */
    int recheck_interval_ms; /* AUTO's safety rescan on local filesystems; default 2000; 0 = off */
    int weight_files;        /* also report weight files (.weights.h5/.keras/.safetensors/.h5)
                                and SavedModel directories <stem>-<N>/; default 1 */
} sc_watcher_params;

sc_watcher_params sc_watcher_default_params(void);

typedef enum sc_watch_result {
    SC_WATCH_CHECKPOINT = 0, /* a new candidate: the event's path and list are set */
    SC_WATCH_TIMEOUT = 1,    /* timeout_ms passed with nothing new */
    SC_WATCH_INTERRUPTED = 2 /* sc_watcher_interrupt() was called */
} sc_watch_result;

typedef enum sc_watch_kind {
    SC_WATCH_NONE = 0,       /* no candidate (TIMEOUT, INTERRUPTED) */
    SC_WATCH_BUNDLE = 1,     /* a TensorFlow checkpoint prefix (open with sc_bundle_open) */
    SC_WATCH_FILE = 2,       /* a .weights.h5 / .keras / .safetensors / .h5 file */
    SC_WATCH_SAVED_MODEL = 3 /* a SavedModel directory "<stem>-<N>" */
} sc_watch_kind;

/* What sc_watcher_wait found. Strings are owned by the watcher and stay valid until the next
 * sc_watcher_wait or sc_watcher_free. */
typedef struct sc_watch_event {
    sc_watch_result result;
    sc_watch_kind kind;
    const char *path; /* the newest candidate: a prefix or a file path (dir joined) */
    int64_t number;   /* sc_ckpt_number(path without extension), -1 when it has none */
    sc_ckpt_ref ref;  /* path, classified: what restore, the journal and export use */
    /* Every checkpoint still present, oldest first, ending with path, so that an "--every"
     * evaluator can catch up in order. Bundles: the state file's all_model_checkpoint_paths
     * (joined like path) whose .index exists; weight files: the non-empty ones (any of the three
     * extensions) by number, then name. */
    const char *const *all;
    const sc_ckpt_ref *all_refs; /* all[i], classified */
    size_t num_all;
} sc_watch_event;

typedef struct sc_watcher sc_watcher;

/* Creates a watcher on dir (need not exist yet; it is not created). dir is copied. params may be
 * NULL for the defaults. Bad params: SC_INVALID_ARGUMENT; SC_WATCH_INOTIFY when inotify cannot be
 * initialised, or no eventfd: SC_IO; SC_NO_MEMORY. */
sc_status sc_watcher_create(const char *dir, const sc_watcher_params *params, sc_watcher **out,
                            sc_error *err);
void sc_watcher_free(sc_watcher *w); /* NULL is fine; must not race sc_watcher_interrupt */

/* Waits up to timeout_ms (< 0: forever; 0: only look) for a new candidate (see "When it
 * reports") and fills *ev (on an error, *ev holds no candidate: kind SC_WATCH_NONE, path NULL).
 * Returns SC_OK with ev->result saying CHECKPOINT, TIMEOUT or
 * INTERRUPTED (an interrupt wins over a checkpoint found at the same time; that checkpoint is
 * reported by the next call). Errors leave the watcher usable: SC_INVALID_ARGUMENT for a state
 * file that does not parse or names an empty path, or dir existing but not being a directory
 * (each reported once until it changes; meanwhile the wait goes on as if there were no state
 * file), SC_IO when the OS fails (ppoll, read, or inotify in SC_WATCH_INOTIFY mode),
 * SC_NO_MEMORY. Signals (EINTR) do not end the wait. */
sc_status sc_watcher_wait(sc_watcher *w, int timeout_ms, sc_watch_event *ev, sc_error *err);

/* Wakes sc_watcher_wait (see "Stopping"). Async-signal-safe. */
void sc_watcher_interrupt(sc_watcher *w);

/* "inotify", "inotify + rescan every 2000 ms", "poll every 1000 ms (nfs)", ... : how the watcher
 * currently notices changes (it can change when the directory appears). Owned by the watcher,
 * valid until the next sc_watcher_wait or sc_watcher_free. */
const char *sc_watcher_method(const sc_watcher *w);

#ifdef __cplusplus
}
#endif
#endif
