/* The checkpoint-directory watcher (sidecar/watch.h): TensorFlow bundles announced by the state
 * file, Keras 3 weight files, directories that appear late or are recreated, lost events,
 * interrupts and signals.
 *
 * No timing assertions: writers run in a thread after a short sleep only so that the watcher is
 * usually asleep in ppoll() when they write; either order must give the same result. Waits use a
 * generous timeout (GUARD_MS) purely as a failure guard, and the INOTIFY mode (no periodic
 * rescan) is used where a rescan would hide a missed event. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sidecar/checkpoint.h"
#include "sidecar/watch.h"
#include "ckpt/watch_internal.h"
#include "support/ckpt_fixture.h"

#define GUARD_MS 30000

/* ---- writers (thread-safe: no cmocka calls; they return a status) ------------------------- */

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void remove_bundle(const char *dir, int n) {
    char p[4096];
    snprintf(p, sizeof p, "%s/ckpt-%d.index", dir, n);
    unlink(p);
    snprintf(p, sizeof p, "%s/ckpt-%d.data-00000-of-00001", dir, n);
    unlink(p);
}

static sc_status write_bundle(const char *dir, int n) {
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/ckpt-%d", dir, n);
    sc_bundle_writer *bw = NULL;
    sc_status rc = sc_bundle_writer_create(prefix, NULL, &bw, NULL);
    const int64_t step = n;
    if (rc == SC_OK)
        rc = sc_bundle_writer_add(bw, "step/.ATTRIBUTES/VARIABLE_VALUE", SC_DT_INT64, 0, NULL,
                                  &step, sizeof step, 0, NULL);
    if (rc == SC_OK) rc = sc_bundle_writer_finish(bw, NULL);
    sc_bundle_writer_free(bw);
    return rc;
}

/* State file naming ckpt-first .. ckpt-last (relative paths, as CheckpointManager writes). */
static sc_status write_state(const char *dir, int first, int last) {
    char *paths[64], names[64][32];
    int k = 0;
    for (int i = first; i <= last && k < 64; i++, k++) {
        snprintf(names[k], sizeof names[k], "ckpt-%d", i);
        paths[k] = names[k];
    }
    sc_ckpt_state st = {.model_checkpoint_path = names[k - 1],
                        .all_model_checkpoint_paths = paths,
                        .num_paths = (size_t)k};
    return sc_ckpt_state_write(dir, &st, NULL);
}

/* CheckpointManager.save with max_to_keep = keep: bundle, drop the oldest, state file. */
static sc_status save(const char *dir, int n, int keep) {
    sc_status rc = write_bundle(dir, n);
    if (rc != SC_OK) return rc;
    if (n - keep >= 1) remove_bundle(dir, n - keep);
    return write_state(dir, n - keep + 1 >= 1 ? n - keep + 1 : 1, n);
}

static int write_file(const char *dir, const char *name, const char *text) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb"); /* in place, as Keras 3 writes .weights.h5 */
    if (!f) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

typedef enum { JOB_SAVE, JOB_MKDIRS_SAVE, JOB_INTERRUPT, JOB_SIGNAL, JOB_SIGNAL_SAVE } job_kind;

typedef struct job {
    job_kind kind;
    const char *dir;
    int n;
    int sig;
    sc_watcher *w;
    pthread_t target;
    sc_status rc;
    pthread_t thread;
} job;

static void *job_main(void *arg) {
    job *j = arg;
    sleep_ms(20);
    j->rc = SC_OK;
    switch (j->kind) {
    case JOB_MKDIRS_SAVE: { /* training starts: the directory and its parent appear */
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", j->dir);
        *strrchr(parent, '/') = '\0';
        if (mkdir(parent, 0755) != 0 || mkdir(j->dir, 0755) != 0) {
            j->rc = SC_IO;
            break;
        }
        j->rc = save(j->dir, j->n, 5);
        break;
    }
    case JOB_SAVE: j->rc = save(j->dir, j->n, 5); break;
    case JOB_INTERRUPT: sc_watcher_interrupt(j->w); break;
    case JOB_SIGNAL: pthread_kill(j->target, j->sig); break;
    case JOB_SIGNAL_SAVE: /* the signal lands in ppoll (EINTR) first */
        pthread_kill(j->target, j->sig);
        sleep_ms(20);
        j->rc = save(j->dir, j->n, 5);
        break;
    }
    return NULL;
}

static void job_start(job *j) {
    j->target = pthread_self();
    assert_int_equal(pthread_create(&j->thread, NULL, job_main, j), 0);
}

static void job_join(job *j) {
    assert_int_equal(pthread_join(j->thread, NULL), 0);
    assert_int_equal(j->rc, SC_OK);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static sc_watcher *watcher(const char *dir, sc_watch_mode mode) {
    sc_watcher_params p = sc_watcher_default_params();
    p.mode = mode;
    p.poll_interval_ms = 20;
    sc_watcher *w = NULL;
    sc_error err;
    assert_int_equal(sc_watcher_create(dir, &p, &w, &err), SC_OK);
    return w;
}

static void expect_timeout(sc_watcher *w) {
    sc_watch_event ev;
    sc_error err;
    assert_int_equal(sc_watcher_wait(w, 0, &ev, &err), SC_OK);
    assert_int_equal(ev.result, SC_WATCH_TIMEOUT);
    assert_int_equal(ev.kind, SC_WATCH_NONE);
}

static void expect_ckpt(sc_watcher *w, int timeout_ms, const char *dir, const char *name,
                        int64_t number, sc_watch_kind kind) {
    sc_watch_event ev;
    sc_error err;
    assert_int_equal(sc_watcher_wait(w, timeout_ms, &ev, &err), SC_OK);
    assert_int_equal(ev.result, SC_WATCH_CHECKPOINT);
    assert_int_equal(ev.kind, kind);
    char *want = ckf_join(dir, name);
    assert_string_equal(ev.path, want);
    free(want);
    assert_int_equal(ev.number, number);
    assert_true(ev.num_all >= 1);
    assert_string_equal(ev.all[ev.num_all - 1], ev.path);
    /* The typed reference agrees with the event and is what the list holds too. */
    assert_string_equal(ev.ref.path, ev.path);
    assert_int_equal(ev.ref.number, number);
    assert_int_equal(ev.ref.kind, kind == SC_WATCH_BUNDLE        ? SC_CKPT_BUNDLE
                                  : kind == SC_WATCH_SAVED_MODEL ? SC_CKPT_SAVED_MODEL
                                                                 : sc_ckpt_file_kind(name));
    for (size_t i = 0; i < ev.num_all; i++) assert_string_equal(ev.all_refs[i].path, ev.all[i]);
    assert_int_equal(ev.all_refs[ev.num_all - 1].kind, ev.ref.kind);
}

/* Every test gets a fresh directory; teardown (run even when a test fails) frees the watchers
 * the test registered with keep() and removes the directory. */
typedef struct fx {
    char *dir;
    sc_watcher *w[4];
} fx;

static int fx_setup(void **s) {
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->dir = ckf_mkdtemp();
    *s = f;
    return 0;
}

static int fx_teardown(void **s) {
    fx *f = *s;
    for (size_t i = 0; i < sizeof f->w / sizeof *f->w; i++) sc_watcher_free(f->w[i]);
    ckf_rmtree(f->dir);
    free(f);
    return 0;
}

static const char *fx_dir(void **s) { return ((fx *)*s)->dir; }

static sc_watcher *keep(void **s, sc_watcher *w) {
    fx *f = *s;
    size_t i = 0, n = sizeof f->w / sizeof *f->w;
    while (i < n && f->w[i]) i++;
    assert_true(i < n);
    return f->w[i] = w;
}

/* ---- bundles announced by the state file --------------------------------------------------- */

static void run_saved_while_waiting(void **s, sc_watch_mode mode) {
    const char *dir = fx_dir(s);
    sc_watcher *w = keep(s, watcher(dir, mode));
    expect_timeout(w); /* empty directory: nothing, at once */
    job j = {.kind = JOB_SAVE, .dir = dir, .n = 1};
    job_start(&j);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
    job_join(&j);
    expect_timeout(w); /* reported once */
    j.n = 2;
    job_start(&j);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-2", 2, SC_WATCH_BUNDLE);
    job_join(&j);
}

static void test_saved_while_waiting_auto(void **s) { run_saved_while_waiting(s, SC_WATCH_AUTO); }
static void test_saved_while_waiting_inotify(void **s) {
    run_saved_while_waiting(s, SC_WATCH_INOTIFY);
}
static void test_saved_while_waiting_poll(void **s) { run_saved_while_waiting(s, SC_WATCH_POLL); }

static void test_existing_checkpoint_reported_first(void **s) {
    const char *dir = fx_dir(s);
    assert_int_equal(save(dir, 4, 5), SC_OK);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    expect_ckpt(w, 0, dir, "ckpt-4", 4, SC_WATCH_BUNDLE);
    expect_timeout(w);
}

static void run_dir_created_later(void **s, sc_watch_mode mode) {
    const char *base = fx_dir(s);
    char *parent = ckf_join(base, "run"), *dir = ckf_join(parent, "ckpts");
    sc_watcher *w = keep(s, watcher(dir, mode));
    expect_timeout(w); /* neither run/ nor run/ckpts exists */
    job j = {.kind = JOB_MKDIRS_SAVE, .dir = dir, .n = 1};
    job_start(&j);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
    job_join(&j);
    free(parent);
    free(dir);
}

static void test_dir_created_later_inotify(void **s) { run_dir_created_later(s, SC_WATCH_INOTIFY); }
static void test_dir_created_later_poll(void **s) { run_dir_created_later(s, SC_WATCH_POLL); }

static void test_dir_deleted_and_recreated(void **s) {
    const char *base = fx_dir(s);
    char *dir = ckf_join(base, "ckpts");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(save(dir, 3, 5), SC_OK);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    expect_ckpt(w, 0, dir, "ckpt-3", 3, SC_WATCH_BUNDLE);
    ckf_rmtree(strdup(dir)); /* a new training run wipes the directory */
    expect_timeout(w);
    assert_int_equal(mkdir(dir, 0755), 0);
    expect_timeout(w);
    assert_int_equal(save(dir, 1, 5), SC_OK);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
    /* Same name again in a third run: another file, so reported again. */
    ckf_rmtree(strdup(dir));
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(save(dir, 1, 5), SC_OK);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
    free(dir);
}

static void test_prefix_without_index_not_reported(void **s) {
    const char *dir = fx_dir(s);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    assert_int_equal(write_state(dir, 1, 1), SC_OK); /* names ckpt-1, which has no .index yet */
    expect_timeout(w);
    assert_int_equal(write_bundle(dir, 1), SC_OK); /* the .index arrives: now complete */
    expect_ckpt(w, GUARD_MS, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
}

static void test_max_to_keep_burst(void **s) {
    const char *dir = fx_dir(s);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_AUTO));
    expect_timeout(w);
    for (int n = 1; n <= 7; n++) assert_int_equal(save(dir, n, 3), SC_OK);
    sc_watch_event ev;
    sc_error err;
    assert_int_equal(sc_watcher_wait(w, GUARD_MS, &ev, &err), SC_OK);
    assert_int_equal(ev.result, SC_WATCH_CHECKPOINT);
    assert_int_equal(ev.number, 7);
    assert_int_equal(ev.num_all, 3);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "ckpt-%d", 5 + i);
        char *want = ckf_join(dir, name);
        assert_string_equal(ev.all[i], want);
        free(want);
    }
    expect_timeout(w);
    /* A listed checkpoint deleted since (the trainer's max_to_keep racing us) is left out. */
    assert_int_equal(write_bundle(dir, 8), SC_OK);
    assert_int_equal(write_state(dir, 5, 8), SC_OK);
    remove_bundle(dir, 6);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-8", 8, SC_WATCH_BUNDLE);
    assert_int_equal(sc_watcher_wait(w, 0, &ev, &err), SC_OK); /* nothing new since */
    assert_int_equal(ev.result, SC_WATCH_TIMEOUT);
}

static void test_bad_state_file_reported_once(void **s) {
    const char *dir = fx_dir(s);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    assert_int_equal(write_file(dir, "checkpoint", "model_checkpoint_path: \"ckpt-1\n"), 0);
    sc_watch_event ev;
    sc_error err;
    assert_int_equal(sc_watcher_wait(w, GUARD_MS, &ev, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "checkpoint"));
    expect_timeout(w); /* once, until it changes */
    assert_int_equal(save(dir, 2, 5), SC_OK);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-2", 2, SC_WATCH_BUNDLE);
}

static void test_dir_is_a_file(void **s) {
    const char *base = fx_dir(s);
    char *dir = ckf_join(base, "ckpts");
    assert_int_equal(write_file(base, "ckpts", "x"), 0);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    sc_watch_event ev;
    sc_error err;
    assert_int_equal(sc_watcher_wait(w, 0, &ev, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "not a directory"));
    expect_timeout(w);
    assert_int_equal(unlink(dir), 0); /* replaced by the real directory */
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(save(dir, 1, 5), SC_OK);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
    free(dir);
}

/* ---- Keras 3 weight files ------------------------------------------------------------------ */

static void test_weight_file_number(void **s) {
    (void)s;
    assert_int_equal(sc_watch_weight_file_number("ckpt-3.weights.h5"), 3);
    assert_int_equal(sc_watch_weight_file_number("model-0012.keras"), 12);
    assert_int_equal(sc_watch_weight_file_number("a-b-7.safetensors"), 7);
    assert_int_equal(sc_watch_weight_file_number("ckpt3.weights.h5"), -1);
    assert_int_equal(sc_watch_weight_file_number("ckpt-.weights.h5"), -1);
    assert_int_equal(sc_watch_weight_file_number("-3.weights.h5"), 3);
    assert_int_equal(sc_watch_weight_file_number("ckpt-3.h5"), 3); /* Keras 2 ModelCheckpoint */
    assert_int_equal(sc_watch_weight_file_number("ckpt-3.txt"), -1);
    assert_int_equal(sc_watch_weight_file_number("ckpt-3.weights.h5.tmp"), -1);
    assert_int_equal(sc_watch_weight_file_number(".weights.h5"), -1);
    assert_int_equal(sc_watch_weight_file_number("x-99999999999999999999.keras"), -1);
}

static void test_weight_files_by_number(void **s) {
    const char *dir = fx_dir(s);
    const char *names[] = {"ckpt-3.weights.h5", "ckpt-10.weights.h5", "ckpt-2.weights.h5",
                           "ckpt-x.weights.h5", "notes.txt",          "ckpt-11.weights.h5.tmp"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        assert_int_equal(write_file(dir, names[i], "HDF"), 0);
    assert_int_equal(write_file(dir, "ckpt-12.weights.h5", ""), 0); /* just created: empty */
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    sc_watch_event ev;
    sc_error err;
    assert_int_equal(sc_watcher_wait(w, 0, &ev, &err), SC_OK);
    assert_int_equal(ev.result, SC_WATCH_CHECKPOINT);
    assert_int_equal(ev.kind, SC_WATCH_FILE);
    assert_int_equal(ev.number, 10);
    assert_int_equal(ev.num_all, 3);
    const char *order[] = {"ckpt-2.weights.h5", "ckpt-3.weights.h5", "ckpt-10.weights.h5"};
    for (int i = 0; i < 3; i++) {
        char *want = ckf_join(dir, order[i]);
        assert_string_equal(ev.all[i], want);
        free(want);
    }
    expect_timeout(w);
    /* Written in place: reported when the writer closes it, and again when rewritten. */
    assert_int_equal(write_file(dir, "ckpt-12.weights.h5", "HDF5 weights"), 0);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-12.weights.h5", 12, SC_WATCH_FILE);
    expect_timeout(w);
    assert_int_equal(write_file(dir, "ckpt-12.weights.h5", "HDF5 weights, complete"), 0);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-12.weights.h5", 12, SC_WATCH_FILE);

    /* weight_files = 0: TensorFlow checkpoints only. */
    sc_watcher_params p = sc_watcher_default_params();
    p.weight_files = 0;
    assert_int_equal(sc_watcher_create(dir, &p, &w, &err), SC_OK);
    keep(s, w);
    expect_timeout(w);
}

static void test_bundle_and_weight_file(void **s) {
    const char *dir = fx_dir(s);
    assert_int_equal(save(dir, 2, 5), SC_OK);
    assert_int_equal(write_file(dir, "ckpt-2.weights.h5", "HDF"), 0);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    expect_ckpt(w, 0, dir, "ckpt-2", 2, SC_WATCH_BUNDLE); /* a tie goes to the bundle */
    assert_int_equal(write_file(dir, "ckpt-3.weights.h5", "HDF"), 0);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-3.weights.h5", 3, SC_WATCH_FILE);
}

/* Keras 2 ModelCheckpoint("ckpt-{epoch}.h5") files, and TF2 ModelCheckpoint(save_weights_only=
 * False) SavedModel directories, noticed only once saved_model.pb is written. */
static void test_legacy_h5_and_saved_model_dirs(void **s) {
    const char *dir = fx_dir(s);
    assert_int_equal(write_file(dir, "ckpt-1.h5", "HDF"), 0);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_AUTO));
    expect_ckpt(w, 0, dir, "ckpt-1.h5", 1, SC_WATCH_FILE);
    /* ckpt-02/ with its variables but no saved_model.pb yet: not a checkpoint. */
    char *sm = ckf_join(dir, "ckpt-02");
    assert_int_equal(mkdir(sm, 0755), 0);
    char *vars = ckf_join(sm, "variables");
    assert_int_equal(mkdir(vars, 0755), 0);
    assert_int_equal(write_file(vars, "variables.index", "idx"), 0);
    expect_timeout(w);
    char *notes = ckf_join(dir, "eval-3"); /* a directory that is no SavedModel never counts */
    assert_int_equal(mkdir(notes, 0755), 0);
    expect_timeout(w);
    assert_int_equal(write_file(sm, "saved_model.pb", "pb"), 0);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-02", 2, SC_WATCH_SAVED_MODEL);
    free(notes);
    free(vars);
    free(sm);
}

/* ---- lost events, interrupts, signals ------------------------------------------------------ */

static void test_queue_overflow_rescans(void **s) {
    const char *dir = fx_dir(s);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    expect_timeout(w);
    assert_int_equal(save(dir, 1, 5), SC_OK);
    assert_true(sc_watcher_drop_events(w) > 0); /* the events are lost */
    expect_timeout(w);                          /* so nothing is seen (INOTIFY: no rescan) */
    /* A truncated record is ignored, not read past. */
    struct inotify_event ie = {.wd = -1, .mask = IN_Q_OVERFLOW, .len = 64};
    sc_watcher_feed_events(w, &ie, sizeof ie);
    expect_timeout(w);
    ie.len = 0; /* what the kernel queues when its queue overflows */
    sc_watcher_feed_events(w, &ie, sizeof ie);
    expect_ckpt(w, 0, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
}

/* AUTO's periodic rescan finds what inotify never reported (a remote writer on NFS, lost
 * events); INOTIFY mode does not (see test_queue_overflow_rescans). */
static void test_auto_rescan_finds_missed_checkpoint(void **s) {
    const char *dir = fx_dir(s);
    sc_watcher_params p = sc_watcher_default_params();
    p.recheck_interval_ms = 20;
    sc_watcher *w = NULL;
    sc_error err;
    assert_int_equal(sc_watcher_create(dir, &p, &w, &err), SC_OK);
    keep(s, w);
    /* "inotify + rescan every 20 ms" (or "+ poll every ..." when TMPDIR is on NFS) */
    assert_true(strncmp(sc_watcher_method(w), "inotify + ", 10) == 0);
    expect_timeout(w);
    assert_int_equal(save(dir, 1, 5), SC_OK);
    assert_true(sc_watcher_drop_events(w) > 0);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
}

static void test_interrupt(void **s) {
    const char *dir = fx_dir(s);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_AUTO));
    sc_watch_event ev;
    sc_error err;
    job j = {.kind = JOB_INTERRUPT, .w = w};
    job_start(&j);
    assert_int_equal(sc_watcher_wait(w, GUARD_MS, &ev, &err), SC_OK);
    assert_int_equal(ev.result, SC_WATCH_INTERRUPTED);
    job_join(&j);
    /* Sent while nobody waits: kept; several count once. It wins over a new checkpoint. */
    sc_watcher_interrupt(w);
    sc_watcher_interrupt(w);
    assert_int_equal(save(dir, 1, 5), SC_OK);
    assert_int_equal(sc_watcher_wait(w, GUARD_MS, &ev, &err), SC_OK);
    assert_int_equal(ev.result, SC_WATCH_INTERRUPTED);
    expect_ckpt(w, 0, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
    expect_timeout(w);
}

static sc_watcher *g_sig_watcher;
static void on_sigusr1(int sig) {
    (void)sig;
    sc_watcher_interrupt(g_sig_watcher);
}
static void on_sigusr2(int sig) { (void)sig; }

static void test_signals(void **s) {
    const char *dir = fx_dir(s);
    sc_watcher *w = keep(s, watcher(dir, SC_WATCH_INOTIFY));
    struct sigaction sa = {0}, old1, old2;
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: ppoll sees EINTR */
    sa.sa_handler = on_sigusr2;
    assert_int_equal(sigaction(SIGUSR2, &sa, &old2), 0);
    sa.sa_handler = on_sigusr1;
    assert_int_equal(sigaction(SIGUSR1, &sa, &old1), 0);
    /* EINTR does not end the wait: the checkpoint written after the signal is reported. */
    job j = {.kind = JOB_SIGNAL_SAVE, .dir = dir, .n = 1, .sig = SIGUSR2};
    job_start(&j);
    expect_ckpt(w, GUARD_MS, dir, "ckpt-1", 1, SC_WATCH_BUNDLE);
    job_join(&j);
    /* A signal handler stops the wait (SIGINT/SIGTERM in the CLI), during it or before it. */
    g_sig_watcher = w;
    sc_watch_event ev;
    sc_error err;
    j = (job){.kind = JOB_SIGNAL, .sig = SIGUSR1};
    job_start(&j);
    assert_int_equal(sc_watcher_wait(w, GUARD_MS, &ev, &err), SC_OK);
    assert_int_equal(ev.result, SC_WATCH_INTERRUPTED);
    job_join(&j);
    assert_int_equal(raise(SIGUSR1), 0);
    assert_int_equal(sc_watcher_wait(w, GUARD_MS, &ev, &err), SC_OK);
    assert_int_equal(ev.result, SC_WATCH_INTERRUPTED);
    expect_timeout(w);
    assert_int_equal(sigaction(SIGUSR1, &old1, NULL), 0);
    assert_int_equal(sigaction(SIGUSR2, &old2, NULL), 0);
}

/* ---- parameters ---------------------------------------------------------------------------- */

static void test_params(void **s) {
    (void)s;
    sc_watcher_params p = sc_watcher_default_params();
    assert_int_equal(p.mode, SC_WATCH_AUTO);
    assert_int_equal(p.poll_interval_ms, 1000);
    assert_int_equal(p.recheck_interval_ms, 2000);
    sc_watcher *w = NULL;
    sc_error err;
    p.poll_interval_ms = 0;
    assert_int_equal(sc_watcher_create("/tmp", &p, &w, &err), SC_INVALID_ARGUMENT);
    assert_null(w);
    assert_non_null(strstr(err.message, "poll_interval_ms 0"));
    p = sc_watcher_default_params();
    p.mode = (sc_watch_mode)7;
    assert_int_equal(sc_watcher_create("/tmp", &p, &w, &err), SC_INVALID_ARGUMENT);
    assert_int_equal(sc_watcher_create("", NULL, &w, &err), SC_INVALID_ARGUMENT);
    w = watcher("/tmp", SC_WATCH_POLL);
    assert_string_equal(sc_watcher_method(w), "poll every 20 ms");
    sc_watcher_free(w);
    w = watcher("/tmp", SC_WATCH_INOTIFY);
    assert_string_equal(sc_watcher_method(w), "inotify");
    sc_watcher_free(w);
    sc_watcher_free(NULL);
}

#define FX_TEST(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        FX_TEST(test_saved_while_waiting_auto),
        FX_TEST(test_saved_while_waiting_inotify),
        FX_TEST(test_saved_while_waiting_poll),
        FX_TEST(test_existing_checkpoint_reported_first),
        FX_TEST(test_dir_created_later_inotify),
        FX_TEST(test_dir_created_later_poll),
        FX_TEST(test_dir_deleted_and_recreated),
        FX_TEST(test_prefix_without_index_not_reported),
        FX_TEST(test_max_to_keep_burst),
        FX_TEST(test_bad_state_file_reported_once),
        FX_TEST(test_dir_is_a_file),
        cmocka_unit_test(test_weight_file_number),
        FX_TEST(test_legacy_h5_and_saved_model_dirs),
        FX_TEST(test_weight_files_by_number),
        FX_TEST(test_bundle_and_weight_file),
        FX_TEST(test_queue_overflow_rescans),
        FX_TEST(test_auto_rescan_finds_missed_checkpoint),
        FX_TEST(test_interrupt),
        FX_TEST(test_signals),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
