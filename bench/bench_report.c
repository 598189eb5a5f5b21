/* bench_report — `sidecar report` on a large log directory, against read() of the same bytes.
 *
 *   bench_report [RUNS TAGS STEPS]     default 100 10 10000 (10 million scalar events)
 *   BENCH_TMPDIR=/tmp                  where the event files go (about 0.9 GB by default)
 *
 * Writes RUNS runs (run_000/ ... each one event file), each with TAGS tags of STEPS points in
 * TF2 tensor form (what Keras and sidecar write), then times, best of 3:
 *   reference: open + read() of every event file into one reused buffer (page cache warm);
 *   report:    sc_report_render() of the directory (find runs, read and CRC-check every record,
 *              decode, downsample, draw), then the page written to disk.
 * Timed in CPU seconds (read()'s copy included; for the report, of all its threads: it reads
 * runs in parallel, one thread per core), so other work on the machine does not count; the
 * report's wall seconds are printed too. The figure is report CPU / read CPU. Before timing, the page must list every run and tag and hold every point read:
 * a wrong count exits 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/pb.h"
#include "core/record.h"
#include "sidecar/events.h"
#include "sidecar/report.h"
#include "summary/event.h"

#define REPEAT 3

static double process_cpu_now(void) { /* all threads: the report reads runs in parallel */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int write_run(const char *dir, int run, int tags, int steps) {
    char path[4096];
    snprintf(path, sizeof path, "%s/run_%03d", dir, run);
    if (mkdir(path, 0755) && errno != EEXIST) return -1;
    snprintf(path, sizeof path, "%s/run_%03d/events.out.tfevents.1700000000.bench.1.0.v2", dir,
             run);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    sc_pb_buf ev = {0};
    uint8_t header[SC_RECORD_HEADER_SIZE], footer[SC_RECORD_FOOTER_SIZE];
    char tag[64];
    int rc = 0;
    sc_event_encode_file_version(&ev, 1700000000.0);
    for (int s = -1; s < steps && !rc; s++) {
        for (int t = 0; t < tags && !rc; t++) {
            if (s >= 0) {
                ev.len = 0;
                snprintf(tag, sizeof tag, "evaluation_metric_%d_vs_iterations", t);
                double x = (double)s / steps;
                float v =
                    (float)((1.0 + t) * exp(-3 * x) * (1 + 0.01 * run) + 0.05 * sin(s * 0.37 + t));
                sc_event_encode_scalar(&ev, 1700000000.0 + s, (int64_t)s * 100, tag, v);
            }
            if (ev.failed) rc = -1;
            sc_record_frame(header, footer, ev.data, ev.len);
            if (fwrite(header, 1, sizeof header, f) != sizeof header
                || fwrite(ev.data, 1, ev.len, f) != ev.len
                || fwrite(footer, 1, sizeof footer, f) != sizeof footer)
                rc = -1;
            if (s < 0) break;
        }
    }
    sc_pb_buf_free(&ev);
    if (fclose(f)) rc = -1;
    return rc;
}

/* Only the reading: every run's events decoded into TensorBoard's 1000-point reservoirs. */
static double decode_all(const char *dir, int runs, uint64_t *points) {
    double t0 = bench_cpu_now();
    char path[4096];
    *points = 0;
    for (int r = 0; r < runs; r++) {
        snprintf(path, sizeof path, "%s/run_%03d", dir, r);
        sc_events_params p = sc_events_default_params();
        p.max_points = 1000;
        sc_scalars *s;
        if (sc_scalars_create(&p, &s, NULL) || sc_scalars_add_dir(s, path, NULL, NULL)) return -1;
        for (size_t i = 0; i < sc_scalars_num_series(s); i++)
            *points += sc_scalars_series(s, i).num_read;
        sc_scalars_free(s);
    }
    return bench_cpu_now() - t0;
}

/* The reference: read() every event file, as the report must at least do. */
static double read_all(const char *dir, int runs, uint8_t *buf, size_t cap, uint64_t *bytes) {
    double t0 = bench_cpu_now();
    *bytes = 0;
    char path[4096];
    for (int r = 0; r < runs; r++) {
        snprintf(path, sizeof path, "%s/run_%03d/events.out.tfevents.1700000000.bench.1.0.v2", dir,
                 r);
        int fd = open(path, O_RDONLY);
        if (fd < 0) return -1;
        ssize_t n;
        while ((n = read(fd, buf, cap)) > 0) {
            *bytes += (uint64_t)n;
            bench_keep(buf[0]);
        }
        close(fd);
    }
    return bench_cpu_now() - t0;
}

static void rm_tree(const char *dir, int runs) {
    char path[4096];
    for (int r = 0; r < runs; r++) {
        snprintf(path, sizeof path, "%s/run_%03d/events.out.tfevents.1700000000.bench.1.0.v2", dir,
                 r);
        unlink(path);
        snprintf(path, sizeof path, "%s/run_%03d", dir, r);
        rmdir(path);
    }
    snprintf(path, sizeof path, "%s/report.html", dir);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv) {
    int runs = argc > 3 ? atoi(argv[1]) : 100, tags = argc > 3 ? atoi(argv[2]) : 10,
        steps = argc > 3 ? atoi(argv[3]) : 10000;
    if (runs < 1 || tags < 1 || steps < 1 || runs > 999) {
        fprintf(stderr, "usage: bench_report [RUNS TAGS STEPS]\n");
        return 2;
    }
    const char *tmp = getenv("BENCH_TMPDIR") ? getenv("BENCH_TMPDIR") : "/tmp";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/sc_bench_report_XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("bench_report: %d runs x %d tags x %d steps = %.1f M scalar events in %s\n", runs, tags,
           steps, (double)runs * tags * steps / 1e6, dir);
    for (int r = 0; r < runs; r++)
        if (write_run(dir, r, tags, steps)) {
            fprintf(stderr, "bench_report: cannot write run %d in %s\n", r, dir);
            rm_tree(dir, runs);
            return 1;
        }

    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    uint64_t bytes = 0;
    double ref = 1e30, rep = 1e30, rep_wall = 1e30, dec = 1e30;
    read_all(dir, runs, buf, cap, &bytes); /* warm the page cache */
    sc_report_stats st;
    char out[1100];
    snprintf(out, sizeof out, "%s/report.html", dir);
    int bad = 0;
    for (int i = 0; i < REPEAT && !bad; i++) {
        double t = read_all(dir, runs, buf, cap, &bytes);
        if (t < ref) ref = t;
        uint64_t pts = 0;
        t = decode_all(dir, runs, &pts);
        if (t < dec) dec = t;
        sc_report_params p = sc_report_default_params();
        sc_error err;
        double w0 = bench_now(), c0 = process_cpu_now();
        sc_status s = sc_report_write(dir, out, &p, &st, &err);
        double c = process_cpu_now() - c0, w = bench_now() - w0;
        if (s) {
            fprintf(stderr, "bench_report: %s\n", err.message);
            bad = 1;
            break;
        }
        if (c < rep) rep = c;
        if (w < rep_wall) rep_wall = w;
        if (st.runs != (size_t)runs || st.charts != (size_t)tags
            || st.points_read != (uint64_t)runs * tags * steps) {
            fprintf(stderr,
                    "bench_report: page lists %zu runs, %zu charts, %llu points; expected %d, %d, "
                    "%llu\n",
                    st.runs, st.charts, (unsigned long long)st.points_read, runs, tags,
                    (unsigned long long)runs * tags * steps);
            bad = 1;
        }
    }
    if (!bad) {
        printf("  event files:  %.1f MB\n", bytes / 1e6);
        printf("  read():       %.3f s CPU (%.2f GB/s)\n", ref, bench_gbps((double)bytes, ref));
        printf("  decode only:  %.3f s CPU (%.0f ns per event)\n", dec,
               dec * 1e9 / ((double)runs * tags * steps));
        printf("  report:       %.3f s CPU (all threads), %.3f s wall; page %.2f MB, %llu of %llu "
               "points drawn\n",
               rep, rep_wall, st.bytes / 1e6, (unsigned long long)st.points_drawn,
               (unsigned long long)st.points_read);
        printf("  ratio report/read: %.2f\n", rep / ref);
    }
    free(buf);
    if (getenv("BENCH_KEEP"))
        printf("  kept %s (BENCH_KEEP)\n", dir);
    else
        rm_tree(dir, runs);
    return bad;
}
