/* tests/unit/test_summary.c — the TensorBoard event writer, checked byte for byte against
 * FORMATS Appendix A.2 / §6.5 and read back through the independent decoder in tests/support. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "core/pb.h"
#include "sidecar/summary.h"
#include "summary/event.h"
#include "support/event_decoder.h"

/* FORMATS Appendix A.2: the file_version record for wall_time 1700000000.0. */
static const uint8_t kFileVersionRecord[40] = {
    0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa3, 0x7f, 0x4b, 0x22, 0x09, 0x00,
    0x00, 0x00, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x1a, 0x0d, 'b',  'r',  'a',  'i',  'n',
    '.',  'E',  'v',  'e',  'n',  't',  ':',  '2',  0xec, 0xed, 0x8f, 0x9d};

/* FORMATS §6.5: tag epoch_loss, value 0.5, step 3, wall_time 1700000001.5. */
static const uint8_t kScalarPayload[52] = {
    0x09, 0x00, 0x00, 0x60, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x10, 0x03, 0x2a, 0x27,
    0x0a, 0x25, 0x0a, 0x0a, 'e',  'p',  'o',  'c',  'h',  '_',  'l',  'o',  's',
    's',  0x42, 0x0a, 0x08, 0x01, 0x12, 0x00, 0x22, 0x04, 0x00, 0x00, 0x00, 0x3f,
    0x4a, 0x0b, 0x0a, 0x09, 0x0a, 0x07, 's',  'c',  'a',  'l',  'a',  'r',  's'};

typedef struct fixture {
    char dir[64];
} fixture;

static double fixed_clock(void *ctx) { return *(const double *)ctx; }

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/sc_summary_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static char *path_in(const fixture *f, const char *name) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", f->dir, name);
    return buf;
}

static sc_summary_writer_params test_params(double *clock_value) {
    sc_summary_writer_params p = sc_summary_writer_default_params();
    p.hostname = "testhost";
    p.clock = fixed_clock;
    p.clock_ctx = clock_value;
    return p;
}

static void read_all(const char *path, uint8_t **data, size_t *len) {
    char msg[256];
    int r = evd_read_file(path, data, len, msg, sizeof msg);
    if (r) fail_msg("%s", msg);
}

static void decode_path(const char *path, evd_events *ev) {
    char msg[512];
    if (evd_decode_file(path, ev, msg, sizeof msg)) fail_msg("%s", msg);
}

static void test_default_params(void **state) {
    (void)state;
    sc_summary_writer_params p = sc_summary_writer_default_params();
    assert_string_equal(p.filename_suffix, ".v2");
    assert_null(p.hostname);
    assert_null(p.clock);
    assert_null(p.file_path);
    assert_int_equal(p.fsync_on_flush, 0);
    sc_summary_writer_free(NULL);
}

static void test_file_version_record_matches_a2(void **state) {
    fixture *f = *state;
    double now = 1700000000.0;
    sc_summary_writer_params p = test_params(&now);
    sc_summary_writer *w = NULL;
    sc_error err;
    const char *logdir = path_in(f, "logs/validation"); /* parents are created */
    assert_int_equal(sc_summary_writer_create(logdir, &p, &w, &err), SC_OK);

    char prefix[512];
    assert_true(snprintf(prefix, sizeof prefix, "%s/events.out.tfevents.1700000000.testhost.%ld.",
                         logdir, (long)getpid())
                < (int)sizeof prefix);
    const char *path = sc_summary_writer_path(w);
    assert_int_equal(strncmp(path, prefix, strlen(prefix)), 0);
    const char *tail = path + strlen(prefix);
    char *end;
    strtoul(tail, &end, 10);
    assert_true(end > tail);
    assert_string_equal(end, ".v2");

    /* The first record is on disk before any flush. */
    uint8_t *data;
    size_t len;
    read_all(path, &data, &len);
    assert_int_equal(len, sizeof kFileVersionRecord);
    assert_memory_equal(data, kFileVersionRecord, sizeof kFileVersionRecord);
    free(data);
    sc_summary_writer_free(w);
}

static void test_file_version_uses_whole_seconds(void **state) {
    fixture *f = *state;
    double now = 1700000000.75;
    sc_summary_writer_params p = test_params(&now);
    p.filename_suffix = ".sidecar";
    sc_summary_writer *w = NULL;
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, NULL), SC_OK);
    assert_non_null(strstr(sc_summary_writer_path(w), "/events.out.tfevents.1700000000.testhost."));
    const char *suffix = strrchr(sc_summary_writer_path(w), '.');
    assert_string_equal(suffix, ".sidecar");
    evd_events ev;
    decode_path(sc_summary_writer_path(w), &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].what, EVD_WHAT_FILE_VERSION);
    assert_string_equal(ev.ev[0].file_version, "brain.Event:2");
    assert_true(ev.ev[0].wall_time == 1700000000.0);
    assert_int_equal(ev.ev[0].step, 0);
    evd_events_free(&ev);
    sc_summary_writer_free(w);
}

static void test_scalar_payload_matches_6_5(void **state) {
    fixture *f = *state;
    /* The encoder alone. */
    sc_pb_buf buf = {0};
    sc_event_encode_scalar(&buf, 1700000001.5, 3, "epoch_loss", 0.5f);
    assert_false(buf.failed);
    assert_int_equal(buf.len, sizeof kScalarPayload);
    assert_memory_equal(buf.data, kScalarPayload, sizeof kScalarPayload);
    sc_pb_buf_free(&buf);

    /* Through the writer: the second record of the file, framed per §4.1. */
    double now = 1700000000.0;
    sc_summary_writer_params p = test_params(&now);
    sc_summary_writer *w = NULL;
    sc_error err;
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, &err), SC_OK);
    assert_int_equal(sc_summary_write_scalar(w, "epoch_loss", 3, 0.5f, 1700000001.5, &err), SC_OK);
    assert_int_equal(sc_summary_writer_flush(w, &err), SC_OK);

    uint8_t *data;
    size_t len;
    read_all(sc_summary_writer_path(w), &data, &len);
    assert_int_equal(len, 40 + 12 + 52 + 4);
    const uint8_t *rec = data + 40;
    static const uint8_t len52[8] = {0x34, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(rec, len52, 8);
    uint32_t hcrc = evd_mask(evd_crc32c(len52, 8));
    uint32_t dcrc = evd_mask(evd_crc32c(kScalarPayload, 52));
    const uint8_t want_h[4] = {(uint8_t)hcrc, (uint8_t)(hcrc >> 8), (uint8_t)(hcrc >> 16),
                               (uint8_t)(hcrc >> 24)};
    const uint8_t want_d[4] = {(uint8_t)dcrc, (uint8_t)(dcrc >> 8), (uint8_t)(dcrc >> 16),
                               (uint8_t)(dcrc >> 24)};
    assert_memory_equal(rec + 8, want_h, 4);
    assert_memory_equal(rec + 12, kScalarPayload, 52);
    assert_memory_equal(rec + 64, want_d, 4);
    free(data);
    sc_summary_writer_free(w);
}

static void test_run_of_scalars_reads_back(void **state) {
    fixture *f = *state;
    static const struct {
        const char *tag;
        int64_t step;
        float value;
        double wall_time;
    } in[] = {
        {"evaluation_loss_vs_iterations", 186, 1.1485269f, 1700677137.043632},
        {"evaluation_accuracy_vs_iterations", 186, 0.75f, 1700677137.5},
        {"epoch_loss", 0, -2.5e-30f, 1700677138.0}, /* step 0: field omitted */
        {"evaluation_loss_vs_iterations", -7, INFINITY, 1700677139.25},
        {"a/scoped/tag", INT64_C(1) << 40, NAN, 1700677140.125},
        {"evaluation_loss_vs_iterations", 372, 1.0345614f, 0.0}, /* 0.0: field omitted */
    };
    const size_t n = sizeof in / sizeof in[0];
    double now = 1700677134.0;
    sc_summary_writer_params p = test_params(&now);
    p.fsync_on_flush = 1;
    sc_summary_writer *w = NULL;
    sc_error err;
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, &err), SC_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            sc_summary_write_scalar(w, in[i].tag, in[i].step, in[i].value, in[i].wall_time, &err),
            SC_OK);
    now = 1700677200.5; /* a negative wall_time takes the writer's clock */
    assert_int_equal(sc_summary_write_scalar(w, "clocked", 9, 1.0f, -1.0, &err), SC_OK);
    assert_int_equal(sc_summary_writer_flush(w, &err), SC_OK);

    evd_events ev;
    decode_path(sc_summary_writer_path(w), &ev);
    assert_int_equal(ev.n, n + 2);
    assert_int_equal(ev.ev[0].what, EVD_WHAT_FILE_VERSION);
    for (size_t i = 0; i < n; i++) {
        const evd_event *e = &ev.ev[i + 1];
        assert_int_equal(e->what, EVD_WHAT_SUMMARY);
        assert_true(e->wall_time == in[i].wall_time);
        assert_int_equal(e->step, in[i].step);
        assert_int_equal(e->n_values, 1);
        const evd_value *v = &e->values[0];
        assert_string_equal(v->tag, in[i].tag);
        assert_int_equal(v->kind, EVD_VALUE_TENSOR);
        assert_int_equal(v->dtype, 1);
        assert_true(v->has_shape);
        assert_int_equal(v->rank, 0);
        assert_true(v->has_content);
        assert_int_equal(v->content_len, 4);
        assert_int_equal(v->float_val_count, 0);
        assert_memory_equal(v->content, &in[i].value, 4); /* little-endian host */
        assert_true(v->has_metadata);
        assert_string_equal(v->plugin_name, "scalars");
        float got;
        assert_int_equal(evd_scalar(v, &got), 0);
        assert_memory_equal(&got, &in[i].value, 4);
    }
    assert_true(ev.ev[n + 1].wall_time == 1700677200.5);
    assert_string_equal(ev.ev[n + 1].values[0].tag, "clocked");
    evd_events_free(&ev);
    sc_summary_writer_free(w);
}

static void test_each_writer_gets_a_new_file(void **state) {
    fixture *f = *state;
    double now = 1700000000.0;
    sc_summary_writer_params p = test_params(&now);
    sc_summary_writer *a = NULL, *b = NULL;
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &a, NULL), SC_OK);

    /* Occupy the name the next writer would take (the counter goes up by one per writer): it
     * must be skipped, never opened or appended to. */
    char taken[512];
    const char *pa = sc_summary_writer_path(a);
    const char *dot = strrchr(pa, '.'); /* ".v2" */
    const char *cdot = dot - 1;
    while (cdot > pa && *cdot != '.') cdot--;
    unsigned long counter = strtoul(cdot + 1, NULL, 10);
    snprintf(taken, sizeof taken, "%.*s.%lu.v2", (int)(cdot - pa), pa, counter + 1);
    FILE *t = fopen(taken, "wb");
    assert_non_null(t);
    fputs("not an event file", t);
    fclose(t);

    assert_int_equal(sc_summary_writer_create(f->dir, &p, &b, NULL), SC_OK);
    assert_string_not_equal(sc_summary_writer_path(a), sc_summary_writer_path(b));
    assert_string_not_equal(sc_summary_writer_path(b), taken);
    assert_int_equal(sc_summary_write_scalar(b, "x", 1, 2.0f, 1700000001.0, NULL), SC_OK);
    assert_int_equal(sc_summary_writer_flush(b, NULL), SC_OK);

    uint8_t *data;
    size_t len;
    read_all(taken, &data, &len);
    assert_int_equal(len, strlen("not an event file"));
    free(data);
    read_all(sc_summary_writer_path(a), &data, &len);
    assert_int_equal(len, 40);
    free(data);
    evd_events ev;
    decode_path(sc_summary_writer_path(b), &ev);
    assert_int_equal(ev.n, 2);
    evd_events_free(&ev);
    sc_summary_writer_free(a);
    sc_summary_writer_free(b);
}

static void test_invalid_arguments(void **state) {
    fixture *f = *state;
    double now = 1700000000.0;
    sc_summary_writer_params p = test_params(&now);
    sc_summary_writer *w = NULL;
    sc_error err;

    p.filename_suffix = "/x";
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "suffix"));
    assert_null(w);
    p = test_params(&now);
    p.hostname = "a/b";
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "host name"));
    p = test_params(&now);
    now = NAN;
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "clock"));
    now = 1700000000.0;
    assert_int_equal(sc_summary_writer_create("", &p, &w, &err), SC_INVALID_ARGUMENT);

    /* A log directory that is a file, or below one. */
    const char *file = path_in(f, "plainfile");
    FILE *t = fopen(file, "wb");
    assert_non_null(t);
    fclose(t);
    assert_int_equal(sc_summary_writer_create(file, &p, &w, &err), SC_IO);
    assert_non_null(strstr(err.message, file));
    char below[300];
    snprintf(below, sizeof below, "%s/sub", file);
    assert_int_equal(sc_summary_writer_create(below, &p, &w, &err), SC_IO);
    assert_non_null(strstr(err.message, file));
    assert_null(w);

    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, &err), SC_OK);
    assert_int_equal(sc_summary_write_scalar(w, "", 1, 1.0f, 1.0, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, sc_summary_writer_path(w)));
    assert_int_equal(sc_summary_write_scalar(w, "t", 1, 1.0f, NAN, &err), SC_INVALID_ARGUMENT);
    assert_int_equal(sc_summary_write_scalar(w, "t", 1, 1.0f, INFINITY, &err), SC_INVALID_ARGUMENT);
    /* Rejected writes leave nothing behind and do not poison the writer. */
    assert_int_equal(sc_summary_writer_flush(w, &err), SC_OK);
    evd_events ev;
    decode_path(sc_summary_writer_path(w), &ev);
    assert_int_equal(ev.n, 1);
    evd_events_free(&ev);
    sc_summary_writer_free(w);
}

static void test_disk_full_at_create(void **state) {
    (void)state;
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0) {
        print_message("SKIPPED: /dev/full not available\n");
        skip();
    }
    close(fd);
    double now = 1700000000.0;
    sc_summary_writer_params p = test_params(&now);
    p.file_path = "/dev/full";
    sc_summary_writer *w = NULL;
    sc_error err;
    /* The first record is pushed to the OS by create, so a full disk shows up right here. */
    assert_int_equal(sc_summary_writer_create(NULL, &p, &w, &err), SC_IO);
    assert_null(w);
    assert_non_null(strstr(err.message, "/dev/full"));
    assert_non_null(strstr(err.message, "no space left"));
}

/* A write that fails after create (here: the file-size limit, EFBIG; on a real disk ENOSPC/EIO)
 * is buffered until the flush, which must report it naming the file, and keep reporting it. */
static void test_failed_write_reported_at_flush(void **state) {
    fixture *f = *state;
    double now = 1700000000.0;
    sc_summary_writer_params p = test_params(&now);
    sc_summary_writer *w = NULL;
    sc_error err;
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, &err), SC_OK);

    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit small = old;
    small.rlim_cur = 100; /* the file version record (40) fits, two scalars do not */
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

    sc_status s1 = sc_summary_write_scalar(w, "evaluation_loss_vs_iterations", 1, 0.5f, 2.0, &err);
    sc_status s2 = sc_summary_write_scalar(w, "evaluation_loss_vs_iterations", 2, 0.25f, 3.0, &err);
    sc_error ferr;
    sc_status sf = sc_summary_writer_flush(w, &ferr);
    sc_error again;
    sc_status sa = sc_summary_writer_flush(w, &again);
    sc_error werr;
    sc_status sw = sc_summary_write_scalar(w, "x", 3, 1.0f, 4.0, &werr);

    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(s1, SC_OK); /* buffered: nothing reached the OS yet */
    assert_int_equal(s2, SC_OK);
    assert_int_equal(sf, SC_IO);
    assert_int_equal(ferr.status, SC_IO);
    assert_non_null(strstr(ferr.message, sc_summary_writer_path(w)));
    assert_int_equal(sa, SC_IO);
    assert_string_equal(again.message, ferr.message);
    assert_int_equal(sw, SC_IO);
    assert_string_equal(werr.message, ferr.message);
    sc_summary_writer_free(w);
}

static void test_default_host_and_clock(void **state) {
    fixture *f = *state;
    char host[256];
    if (gethostname(host, sizeof host) != 0 || host[0] == '\0' || strchr(host, '/'))
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    /* The writer's default clock is CLOCK_REALTIME; time(NULL) is a coarser clock that can lag
     * it by a tick (the test failed 2 of 200 runs with it), so sample the same clock. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double before = floor((double)ts.tv_sec + ts.tv_nsec * 1e-9);
    sc_summary_writer *w = NULL;
    sc_error err;
    assert_int_equal(sc_summary_writer_create(f->dir, NULL, &w, &err), SC_OK);
    clock_gettime(CLOCK_REALTIME, &ts);
    double after = (double)ts.tv_sec + ts.tv_nsec * 1e-9;

    const char *base = strrchr(sc_summary_writer_path(w), '/') + 1;
    char secs[11] = {0};
    char rest[512];
    assert_int_equal(sscanf(base, "events.out.tfevents.%10[0-9].%511s", secs, rest), 2);
    assert_int_equal(strlen(secs), 10);
    char want[300];
    snprintf(want, sizeof want, "%s.%ld.", host, (long)getpid());
    assert_int_equal(strncmp(rest, want, strlen(want)), 0);
    assert_string_equal(strrchr(rest, '.'), ".v2");

    evd_events ev;
    decode_path(sc_summary_writer_path(w), &ev);
    assert_int_equal(ev.n, 1);
    double t = ev.ev[0].wall_time;
    assert_true(t == floor(t));
    assert_true(t >= before && t <= after);
    assert_true(t == strtod(secs, NULL));
    evd_events_free(&ev);
    sc_summary_writer_free(w);
}

/* More than the writer's buffer: it writes on its own before the flush, losing nothing. */
static void test_many_scalars_cross_the_buffer(void **state) {
    fixture *f = *state;
    double now = 1700000000.0;
    sc_summary_writer_params p = test_params(&now);
    sc_summary_writer *w = NULL;
    sc_error err;
    assert_int_equal(sc_summary_writer_create(f->dir, &p, &w, &err), SC_OK);
    enum { N = 3000 };
    for (int i = 0; i < N; i++)
        assert_int_equal(
            sc_summary_write_scalar(w, "batch_loss", i, (float)i * 0.25f, 1700000000.0 + i, &err),
            SC_OK);
    struct stat st;
    assert_int_equal(stat(sc_summary_writer_path(w), &st), 0);
    assert_true(st.st_size > 40); /* some records already left the buffer */
    assert_int_equal(sc_summary_writer_flush(w, &err), SC_OK);
    evd_events ev;
    decode_path(sc_summary_writer_path(w), &ev);
    assert_int_equal(ev.n, N + 1);
    for (int i = 0; i < N; i++) {
        float v;
        assert_int_equal(ev.ev[i + 1].step, i);
        assert_int_equal(evd_scalar(&ev.ev[i + 1].values[0], &v), 0);
        assert_true(v == (float)i * 0.25f);
    }
    evd_events_free(&ev);
    sc_summary_writer_free(w);
}

/* The decoder is the judge of the tests above, so it is checked against FORMATS vectors too. */
static void test_decoder_checks_framing(void **state) {
    (void)state;
    assert_int_equal(evd_crc32c("123456789", 9), 0xe3069283u);
    assert_int_equal(evd_mask(0xe3069283u), 0xc78ab0e5u);
    static const uint8_t zeros[32] = {0};
    assert_int_equal(evd_crc32c(zeros, 32), 0x8a9136aau);

    evd_events ev;
    char msg[256];
    assert_int_equal(evd_decode(kFileVersionRecord, 40, &ev, msg, sizeof msg), 0);
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.ev[0].file_version, "brain.Event:2");
    assert_true(ev.ev[0].wall_time == 1700000000.0);
    evd_events_free(&ev);

    uint8_t bad[40];
    memcpy(bad, kFileVersionRecord, 40);
    bad[20] ^= 0x01;
    assert_int_equal(evd_decode(bad, 40, &ev, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "record 0 at offset 0: data CRC"));
    assert_int_equal(ev.n, 0);
    memcpy(bad, kFileVersionRecord, 40);
    bad[0] = 0x19;
    assert_int_equal(evd_decode(bad, 40, &ev, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "length CRC"));
    assert_int_equal(evd_decode(kFileVersionRecord, 39, &ev, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "exceeds"));
    assert_int_equal(evd_decode(kFileVersionRecord, 11, &ev, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "cut short"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_params),
        cmocka_unit_test(test_decoder_checks_framing),
        cmocka_unit_test_setup_teardown(test_file_version_record_matches_a2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_version_uses_whole_seconds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scalar_payload_matches_6_5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_of_scalars_reads_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_writer_gets_a_new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_host_and_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_scalars_cross_the_buffer, setup, teardown),
        cmocka_unit_test(test_disk_full_at_create),
        cmocka_unit_test_setup_teardown(test_failed_write_reported_at_flush, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
