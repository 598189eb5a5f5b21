/* bench_watch — how soon sc_watcher_wait reports a checkpoint after its state file is renamed
 * into place, with inotify (SC_WATCH_AUTO) against a 1 s poll (SC_WATCH_POLL, 1000 ms: the
 * reference, what Keras' SidecarEvaluator does through tf.train.checkpoints_iterator, which sleeps
 * 1 s between calls to latest_checkpoint).
 *
 *   bench_watch [inotify_trials [poll_trials]]     defaults 200 and 20
 *
 * A writer process (fork) does what CheckpointManager.save does for ckpt-N: writes the bundle,
 * deletes ckpt-(N-5), writes the new state file under a temporary name. It then sleeps a random
 * time, reads CLOCK_MONOTONIC (system-wide, so comparable across the two processes), renames the
 * state file into place and sends that time to the parent. The parent is blocked in
 * sc_watcher_wait; when it returns ckpt-N it reads the clock: latency = return - rename. The next
 * trial starts only then, so trials never overlap.
 *
 * The random sleep puts the rename at a random point: 1-5 ms for inotify (the watcher is asleep
 * by then, having handled the bundle's own events), and uniform in [0, 1000) ms for the poller,
 * i.e. at a random phase of its 1 s cycle, so its mean latency is ~0.5 s as in real use. Each
 * poll trial costs ~1 s, hence fewer of them (20 by default: the p99 of 20 samples is their
 * maximum). The figures are the ratios poll/inotify of the medians and of the p99s; the target
 * is >= 400.
 *
 * A watcher that reports anything but ckpt-N, or nothing within 10 s, is a correctness failure:
 * exit 1.
 */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "sidecar/checkpoint.h"
#include "sidecar/watch.h"
#include "ckpt/state.h"

#define KEEP     5
#define GUARD_MS 10000

typedef struct go_msg {
    int32_t n;            /* checkpoint number; 0 = exit */
    int32_t max_delay_us; /* the rename happens after a uniform delay in [min, max) */
    int32_t min_delay_us;
} go_msg;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int read_full(int fd, void *buf, size_t n) {
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n) {
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* CheckpointManager.save(ckpt-n), up to the rename of the state file. */
static int prepare(const char *dir, int n, char *tmp, char *state, size_t cap) {
    char prefix[4096], names[KEEP][32], *paths[KEEP];
    if (snprintf(prefix, sizeof prefix, "%s/ckpt-%d", dir, n) < 0)
        return -1; /* paths are far below PATH_MAX here */
    sc_bundle_writer *bw = NULL;
    float w[256];
    bench_fill(w, sizeof w, (uint64_t)n);
    int64_t shape[1] = {256}, step = n;
    sc_error err;
    sc_status rc = sc_bundle_writer_create(prefix, NULL, &bw, &err);
    if (rc == SC_OK)
        rc = sc_bundle_writer_add(bw, "model/kernel/.ATTRIBUTES/VARIABLE_VALUE", SC_DT_FLOAT, 1,
                                  shape, w, sizeof w, 0, &err);
    if (rc == SC_OK)
        rc = sc_bundle_writer_add(bw, "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", SC_DT_INT64, 0,
                                  NULL, &step, sizeof step, 0, &err);
    if (rc == SC_OK) rc = sc_bundle_writer_finish(bw, &err);
    sc_bundle_writer_free(bw);
    if (rc != SC_OK) {
        fprintf(stderr, "bench_watch: writer: %s\n", err.message);
        return -1;
    }
    if (n > KEEP) {
        if (snprintf(prefix, sizeof prefix, "%s/ckpt-%d.index", dir, n - KEEP) < 0)
            return -1; /* paths are far below PATH_MAX here */
        unlink(prefix);
        if (snprintf(prefix, sizeof prefix, "%s/ckpt-%d.data-00000-of-00001", dir, n - KEEP) < 0)
            return -1; /* paths are far below PATH_MAX here */
        unlink(prefix);
    }
    int first = n > KEEP ? n - KEEP + 1 : 1, k = 0;
    for (int i = first; i <= n; i++, k++) {
        snprintf(names[k], sizeof names[k], "ckpt-%d", i);
        paths[k] = names[k];
    }
    sc_ckpt_state st = {.model_checkpoint_path = names[k - 1],
                        .all_model_checkpoint_paths = paths,
                        .num_paths = (size_t)k};
    char *text = NULL;
    size_t len = 0;
    if (sc_ckpt_state_format(&st, &text, &len, &err) != SC_OK) return -1;
    if (snprintf(tmp, cap, "%s/checkpoint.tmp%ld", dir, (long)getpid()) < 0)
        return -1; /* paths are far below PATH_MAX here */
    if (snprintf(state, cap, "%s/checkpoint", dir) < 0)
        return -1; /* paths are far below PATH_MAX here */
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = 0;
    free(text);
    return ok ? 0 : -1;
}

static void writer(const char *dir, int go_fd, int ts_fd) {
    uint64_t x = 0x2545F4914F6CDD1Du;
    char tmp[4096], state[4096];
    go_msg m;
    while (read_full(go_fd, &m, sizeof m) == 0 && m.n > 0) {
        if (prepare(dir, m.n, tmp, state, sizeof tmp) != 0) _exit(1);
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        int64_t span = m.max_delay_us - m.min_delay_us;
        int64_t us = m.min_delay_us + (int64_t)((x * 2685821657736338717u) >> 11) % span;
        struct timespec d = {us / 1000000, (long)(us % 1000000) * 1000};
        while (nanosleep(&d, &d) != 0 && errno == EINTR) {}
        int64_t t[2];
        t[0] = now_ns();
        if (rename(tmp, state) != 0) _exit(1);
        t[1] = now_ns(); /* for the record: the rename's own cost */
        if (write_full(ts_fd, t, sizeof t) != 0) _exit(1);
    }
    _exit(0);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double median_us, p99_us, mean_us, max_us;
} stats;

static stats summarize(int64_t *lat, int n) {
    qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (double)lat[i];
    int i99 = (99 * n + 99) / 100 - 1; /* nearest rank */
    stats s = {.median_us =
                   (n % 2 ? (double)lat[n / 2] : ((double)lat[n / 2 - 1] + (double)lat[n / 2]) / 2)
                   / 1e3,
               .p99_us = (double)lat[i99 < 0 ? 0 : i99] / 1e3,
               .mean_us = sum / n / 1e3,
               .max_us = (double)lat[n - 1] / 1e3};
    return s;
}

/* Runs `trials` saves numbered first.. against a watcher in the given mode. */
static int run(const char *dir, sc_watch_mode mode, int trials, int first, int min_us, int max_us,
               int go_fd, int ts_fd, int64_t *lat, int64_t *ren, char *method, size_t mcap) {
    sc_watcher_params p = sc_watcher_default_params();
    p.mode = mode;
    p.poll_interval_ms = 1000;
    sc_watcher *w = NULL;
    sc_watch_event ev;
    sc_error err;
    if (sc_watcher_create(dir, &p, &w, &err) != SC_OK
        || sc_watcher_wait(w, 0, &ev, &err) != SC_OK) { /* takes what is already there */
        fprintf(stderr, "bench_watch: %s\n", err.message);
        sc_watcher_free(w);
        return -1;
    }
    snprintf(method, mcap, "%s", sc_watcher_method(w));
    for (int i = 0; i < trials; i++) {
        go_msg m = {.n = first + i, .max_delay_us = max_us, .min_delay_us = min_us};
        if (write_full(go_fd, &m, sizeof m) != 0) goto fail;
        sc_status rc = sc_watcher_wait(w, GUARD_MS, &ev, &err);
        int64_t t1 = now_ns(), t0[2];
        if (rc != SC_OK || ev.result != SC_WATCH_CHECKPOINT || ev.number != m.n) {
            fprintf(stderr, "bench_watch: trial %d: expected ckpt-%d, got %s\n", i, m.n,
                    rc != SC_OK                     ? err.message
                    : ev.result == SC_WATCH_TIMEOUT ? "nothing within 10 s"
                                                    : ev.path);
            goto fail;
        }
        if (read_full(ts_fd, t0, sizeof t0) != 0) goto fail;
        lat[i] = t1 - t0[0];
        ren[i] = t0[1] - t0[0];
    }
    sc_watcher_free(w);
    return 0;
fail:
    sc_watcher_free(w);
    return -1;
}

int main(int argc, char **argv) {
    int n_fast = argc > 1 ? atoi(argv[1]) : 200, n_poll = argc > 2 ? atoi(argv[2]) : 20;
    if (n_fast < 1 || n_poll < 1 || n_fast > 100000 || n_poll > 100000) {
        fprintf(stderr, "usage: bench_watch [inotify_trials [poll_trials]] (1..100000)\n");
        return 2;
    }
    const char *base = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sc_bench_watch_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("bench_watch: mkdtemp");
        return 1;
    }
    int go[2], ts[2];
    if (pipe(go) != 0 || pipe(ts) != 0) {
        perror("bench_watch: pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_watch: fork");
        return 1;
    }
    if (pid == 0) {
        close(go[1]);
        close(ts[0]);
        writer(dir, go[0], ts[1]);
    }
    close(go[0]);
    close(ts[1]);
    int64_t *lf = calloc((size_t)n_fast, sizeof *lf), *lp = calloc((size_t)n_poll, sizeof *lp);
    int64_t *rf = calloc((size_t)n_fast, sizeof *rf), *rp = calloc((size_t)n_poll, sizeof *rp);
    char m_fast[320] = "", m_poll[320] = "";
    int bad = !lf || !lp || !rf || !rp;
    if (!bad)
        bad = run(dir, SC_WATCH_AUTO, n_fast, 1, 1000, 5000, go[1], ts[0], lf, rf, m_fast,
                  sizeof m_fast)
              != 0;
    if (!bad)
        bad = run(dir, SC_WATCH_POLL, n_poll, n_fast + 1, 0, 1000000, go[1], ts[0], lp, rp, m_poll,
                  sizeof m_poll)
              != 0;
    go_msg stop = {0, 0, 0};
    if (write_full(go[1], &stop, sizeof stop) != 0) bad = 1;
    close(go[1]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) bad = 1;
    if (!bad) {
        stats f = summarize(lf, n_fast), p = summarize(lp, n_poll);
        for (int i = 0; i < n_fast; i++) rf[i] = lf[i] - rf[i]; /* from rename() returning */
        stats r = summarize(rf, n_fast);
        double load[1] = {-1};
        getloadavg(load, 1);
        printf("bench_watch: latency from the state file's rename to sc_watcher_wait returning\n");
        printf("  %-34s %5s %12s %12s %12s %12s\n", "watcher", "runs", "median us", "p99 us",
               "mean us", "max us");
        printf("  %-34s %5d %12.1f %12.1f %12.1f %12.1f\n", "AUTO (ours)", n_fast, f.median_us,
               f.p99_us, f.mean_us, f.max_us);
        printf("  %-34s %5d %12.1f %12.1f %12.1f %12.1f\n", "POLL 1000 ms (Keras' 1 s iterator)",
               n_poll, p.median_us, p.p99_us, p.mean_us, p.max_us);
        printf("  AUTO method: %s\n  POLL method: %s\n", m_fast, m_poll);
        printf("  AUTO measured from rename() returning instead of its start: median %.1f us, "
               "p99 %.1f us\n  (the difference is the filesystem's rename, paid by the poller "
               "too); load average %.2f\n",
               r.median_us, r.p99_us, load[0]);
        printf("  ratio poll/inotify, median %8.0fx (target >= 400x)\n", p.median_us / f.median_us);
        printf("  ratio poll/inotify, p99    %8.0fx%s\n", p.p99_us / f.p99_us,
               n_poll < 100 ? "  (p99 of fewer than 100 poll runs = their maximum)" : "");
    }
    free(lf);
    free(lp);
    free(rf);
    free(rp);
    close(ts[0]);
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench_watch: could not remove %s\n", dir);
    return bad ? 1 : 0;
}
