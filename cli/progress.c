/* cli/progress.c — a live progress bar on a terminal (stderr), as an sc_callback: batches done,
 * examples per second and, when the number of batches is known, a bar and the time left. Redrawn
 * at most ten times a second; cleared before any log line so the two never mix. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static struct {
    double start, last_draw;
    int64_t examples;
    int drawn;
} g;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress_clear(void) {
    if (!g.drawn) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    g.drawn = 0;
}

static int on_begin(void *user, const sc_eval_logs *logs) {
    (void)user;
    (void)logs;
    g.start = now();
    g.last_draw = 0;
    g.examples = 0;
    return 0;
}

static int on_batch_end(void *user, const sc_eval_logs *logs) {
    (void)user;
    g.examples += (int64_t)logs->batch_size;
    double t = now();
    if (t - g.last_draw < 0.1) return 0;
    g.last_draw = t;
    double el = t - g.start, rate = el > 0 ? (double)g.examples / el : 0;
    int64_t done = logs->batch + 1, total = logs->num_batches;
    char bar[32] = "";
    char eta[32] = "";
    if (total > 0) {
        int w = 20, fill = (int)(w * (double)done / (double)total);
        if (fill > w) fill = w;
        bar[0] = '[';
        for (int i = 0; i < w; i++) bar[i + 1] = i < fill ? '=' : (i == fill ? '>' : ' ');
        bar[w + 1] = ']';
        bar[w + 2] = ' ';
        bar[w + 3] = '\0';
        double left = done > 0 ? el / (double)done * (double)(total - done) : 0;
        snprintf(eta, sizeof eta, "  ETA %.0fs", left);
    }
    fprintf(stderr, "\r\033[K%s%lld%s%lld batches  %.0f examples/s%s", bar, (long long)done,
            total > 0 ? "/" : "", total > 0 ? (long long)total : 0LL, rate, eta);
    if (total <= 0) fputs("", stderr);
    fflush(stderr);
    g.drawn = 1;
    return 0;
}

static int on_end(void *user, const sc_eval_logs *logs) {
    (void)user;
    (void)logs;
    cli_progress_clear();
    return 0;
}

sc_callback cli_progress_callback(void) {
    sc_callback c;
    memset(&c, 0, sizeof c);
    c.on_test_begin = on_begin;
    c.on_test_batch_end = on_batch_end;
    c.on_test_end = on_end;
    return c;
}
