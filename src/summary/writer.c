/* summary/writer.c — the TensorBoard event-file writer (FORMATS §4.1, §6). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/pb.h"
#include "core/record.h"
#include "sidecar/summary.h"
#include "summary/event.h"

/* Buffered bytes that trigger a write before the next flush. An evaluation writes a handful of
 * ~100-byte events, so in practice only flush writes; the limit bounds memory for long runs. */
#define WRITER_BUFFER_LIMIT (64 * 1024)
/* Name collisions need the same second, host and pid (a pid reused after a restart) and the same
 * counter; a few retries always find a free name, the bound only stops a runaway loop. */
#define WRITER_NAME_ATTEMPTS 1000

struct sc_summary_writer {
    int fd;
    char *path;
    int fsync_on_flush;
    double (*clock)(void *);
    void *clock_ctx;
    sc_pb_buf event;   /* scratch: the Event being encoded, reused for every write */
    sc_pb_buf pending; /* framed records not yet handed to the OS */
    sc_error failure;  /* status SC_OK until a write fails; then sticky */
};

static atomic_uint writer_counter;

static double realtime_clock(void *ctx) {
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

sc_summary_writer_params sc_summary_writer_default_params(void) {
    sc_summary_writer_params p = {0};
    p.filename_suffix = ".v2";
    return p;
}

const char *sc_summary_writer_path(const sc_summary_writer *w) { return w->path; }

static sc_status sticky(const sc_summary_writer *w, sc_error *err) {
    if (err) *err = w->failure;
    return w->failure.status;
}

/* Hands the pending bytes to the OS. After a failure the file may end in a partial record, so
 * the failure is kept and returned by every later call (see the header). */
static sc_status drain(sc_summary_writer *w, sc_error *err) {
    if (w->failure.status != SC_OK) return sticky(w, err);
    if (w->pending.len == 0) return SC_OK;
    sc_status s = sc_write_full(w->fd, w->path, w->pending.data, w->pending.len, &w->failure);
    w->pending.len = 0;
    if (s != SC_OK) return sticky(w, err);
    return SC_OK;
}

/* Frames the encoded event and appends it to the pending bytes, all or nothing. */
static sc_status append_record(sc_summary_writer *w, sc_error *err) {
    if (w->event.failed)
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory encoding an event", w->path);
    uint8_t header[SC_RECORD_HEADER_SIZE], footer[SC_RECORD_FOOTER_SIZE];
    sc_record_frame(header, footer, w->event.data, w->event.len);
    size_t mark = w->pending.len;
    sc_pb_put_bytes(&w->pending, header, sizeof header);
    sc_pb_put_bytes(&w->pending, w->event.data, w->event.len);
    sc_pb_put_bytes(&w->pending, footer, sizeof footer);
    if (w->pending.failed) {
        /* realloc failure leaves the old block intact: drop the partial record, keep the rest. */
        w->pending.len = mark;
        w->pending.failed = 0;
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory buffering a %zu-byte event",
                            w->path, w->event.len);
    }
    return SC_OK;
}

static int valid_name_part(const char *s) { return strchr(s, '/') == NULL; }

/* Opens a new file named after TensorBoard's Python writer: time first so that names sort
 * chronologically, then host, pid and a per-process counter; O_EXCL makes reuse impossible. */
static sc_status open_unique(sc_summary_writer *w, const char *logdir, long long secs,
                             const char *host, const char *suffix, sc_error *err) {
    for (int attempt = 0; attempt < WRITER_NAME_ATTEMPTS; attempt++) {
        unsigned counter = atomic_fetch_add(&writer_counter, 1u);
        int n = snprintf(NULL, 0, "events.out.tfevents.%010lld.%s.%ld.%u%s", secs, host,
                         (long)getpid(), counter, suffix);
        char *name = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (!name) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", logdir);
        snprintf(name, (size_t)n + 1, "events.out.tfevents.%010lld.%s.%ld.%u%s", secs, host,
                 (long)getpid(), counter, suffix);
        w->path = sc_path_join(logdir, name);
        free(name);
        if (!w->path) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", logdir);
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd >= 0) return SC_OK;
        if (errno != EEXIST)
            return sc_error_set(err, SC_IO, "%s: cannot create event file: %s", w->path,
                                strerror(errno));
        free(w->path);
        w->path = NULL;
    }
    return sc_error_set(err, SC_IO, "%s: no free event file name after %d attempts", logdir,
                        WRITER_NAME_ATTEMPTS);
}

sc_status sc_summary_writer_create(const char *logdir, const sc_summary_writer_params *params,
                                   sc_summary_writer **out, sc_error *err) {
    assert(out);
    *out = NULL;
    sc_summary_writer_params p = params ? *params : sc_summary_writer_default_params();
    const char *suffix = p.filename_suffix ? p.filename_suffix : "";
    char hostbuf[256];
    const char *host = p.hostname;
    if (!host) {
        if (gethostname(hostbuf, sizeof hostbuf) != 0) hostbuf[0] = '\0';
        hostbuf[sizeof hostbuf - 1] = '\0'; /* a truncated name may lack its NUL */
        if (hostbuf[0] == '\0' || !valid_name_part(hostbuf))
            snprintf(hostbuf, sizeof hostbuf, "localhost");
        host = hostbuf;
    }
    if (!p.file_path && (!logdir || logdir[0] == '\0'))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "event writer: empty log directory");
    const char *where = p.file_path ? p.file_path : logdir;
    if (!valid_name_part(suffix))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: event file suffix '%s' contains '/'",
                            where, suffix);
    if (host[0] == '\0' || !valid_name_part(host))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: event file host name '%s' is empty or contains '/'", where, host);

    sc_status s = SC_OK;
    int created = 0;
    sc_summary_writer *w = calloc(1, sizeof *w);
    if (!w) return sc_error_set(err, SC_NO_MEMORY, "event writer: out of memory");
    w->fd = -1;
    w->fsync_on_flush = p.fsync_on_flush;
    w->clock = p.clock ? p.clock : realtime_clock;
    w->clock_ctx = p.clock_ctx;
    sc_error_clear(&w->failure);

    /* The upper bound keeps floor(now) within a long long, far beyond any real date. */
    double now = w->clock(w->clock_ctx);
    if (!isfinite(now) || now < 0 || now >= 1e17) {
        s = sc_error_set(err, SC_INVALID_ARGUMENT,
                         "%s: event writer clock returned %g, expected seconds since the epoch",
                         where, now);
        goto fail;
    }
    /* TF's C++ writer stamps the first event with whole seconds, the same number as the name. */
    long long secs = (long long)floor(now);

    if (p.file_path) {
        w->path = strdup(p.file_path);
        if (!w->path) {
            s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", p.file_path);
            goto fail;
        }
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (w->fd < 0) {
            s = sc_error_set(err, SC_IO, "%s: cannot open event file: %s", w->path,
                             strerror(errno));
            goto fail;
        }
    } else {
        s = sc_mkdir_p(logdir, err);
        if (s != SC_OK) goto fail;
        s = open_unique(w, logdir, secs, host, suffix, err);
        if (s != SC_OK) goto fail;
        created = 1;
    }

    sc_event_encode_file_version(&w->event, (double)secs);
    s = append_record(w, err);
    if (s == SC_OK) s = drain(w, err);
    if (s != SC_OK) goto fail;
    *out = w;
    return SC_OK;

fail:
    /* A file we created but could not start holds no usable record: do not leave it behind. */
    if (created) unlink(w->path);
    if (w->fd >= 0) close(w->fd);
    sc_pb_buf_free(&w->event);
    sc_pb_buf_free(&w->pending);
    free(w->path);
    free(w);
    return s;
}

sc_status sc_summary_write_scalar(sc_summary_writer *w, const char *tag, int64_t step, float value,
                                  double wall_time, sc_error *err) {
    assert(w && tag);
    if (w->failure.status != SC_OK) return sticky(w, err);
    if (tag[0] == '\0')
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: scalar at step %lld has an empty tag",
                            w->path, (long long)step);
    if (wall_time < 0) wall_time = w->clock(w->clock_ctx);
    if (!isfinite(wall_time))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: scalar '%s' at step %lld: wall_time %g is not finite", w->path,
                            tag, (long long)step, wall_time);

    w->event.len = 0;
    sc_event_encode_scalar(&w->event, wall_time, step, tag, value);
    sc_status s = append_record(w, err);
    if (s != SC_OK) {
        sc_pb_buf_free(&w->event); /* clears its sticky allocation failure for the next try */
        return s;
    }
    if (w->pending.len >= WRITER_BUFFER_LIMIT) return drain(w, err);
    return SC_OK;
}

sc_status sc_summary_writer_flush(sc_summary_writer *w, sc_error *err) {
    assert(w);
    sc_status s = drain(w, err);
    if (s != SC_OK || !w->fsync_on_flush) return s;
    /* EINVAL: the file cannot be synced at all (a pipe, a device): nothing to wait for. */
    if (fsync(w->fd) != 0 && errno != EINVAL) {
        sc_error_set(&w->failure, SC_IO, "%s: fsync failed: %s", w->path, strerror(errno));
        return sticky(w, err);
    }
    return SC_OK;
}

void sc_summary_writer_free(sc_summary_writer *w) {
    if (!w) return;
    if (w->fd >= 0) {
        (void)sc_summary_writer_flush(w, NULL);
        close(w->fd);
    }
    sc_pb_buf_free(&w->event);
    sc_pb_buf_free(&w->pending);
    free(w->path);
    free(w);
}
