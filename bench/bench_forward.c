/* bench_forward — the model engine's forward pass against PyTorch and a GEMM roof.
 *
 *   bench_forward [--native-core] [--no-torch] [--keep]
 *
 * Four cases (issue 10), one seeded set of float32 weights and inputs:
 *   mlp32, mlp256   Dense(512, relu) - Dense(10) on 784 features, batch 32 and 256
 *   cnn256          Conv2D(32,3,relu) - MaxPool(2) - Conv2D(64,3,relu) - MaxPool(2) - Flatten -
 *                   Dense(128,relu) - Dense(10) on 28x28x1, batch 256
 *   deep128         six 3x3 'same' Conv2D(relu) of 32-128 filters with two MaxPool(2), global
 *                   average pooling, Dense(10) on 32x32x3, batch 128
 * For each it times (best single call after warm-up; calls repeat until >= MIN_TIME s elapsed):
 *   sidecar   sc_runner_run (oneDNN primitives, see README "Compute engine")
 *   roof      the model's GEMMs alone (the conv GEMMs im2col-shaped, chunked as conv.c does)
 *             through sc_gemm_f32, i.e. dnnl_sgemm on the same OpenMP pool (an OpenBLAS roof
 *             would mix two thread pools in one process, which distorts both), calls
 *             alternating with sidecar's so both see the same machine load
 *   torch     bench/torch_forward.py on the same weights and inputs (best of 1 and 2 threads,
 *             mkldnn on and off), which also checks sidecar's outputs against PyTorch's
 * and prints examples/s, sidecar/roof and sidecar/torch against the targets, at the
 * engine's default thread count and at one thread (sc_engine_set_threads(1)), where it also
 * prints the best process CPU time per call of all three: on a shared machine the wall clock
 * mostly measures the other processes, CPU time does not. It prints the engine (oneDNN version,
 * ISA, threads), per case the cold path (first batch: primitive creation + weight reorders;
 * after a rebind: reorders only), the scratchpad and reordered-weight sizes, and at the end the
 * CPU time of 10 s of idling. A missed target is reported, not an error; a wrong output
 * (max|sidecar - torch| / max|torch| > 1e-4) or a failed run exits 1.
 *
 * PyTorch calls OpenBLAS, which reads OPENBLAS_CORETYPE when it loads. The bench never changes
 * the caller's environment; --native-core re-executes the bench once without that variable
 * (the torch reference prints the core OpenBLAS chose).
 * The weights, inputs and sidecar's outputs go to a temporary directory as .npy files (kept
 * with --keep). SC_TORCH_FORWARD overrides the script path, SC_PYTHON the interpreter
 * (default /usr/bin/python3: Debian's python3-torch, not a python3 earlier on PATH).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "sidecar/engine.h"
#include "tensor/gemm.h"
#include "sidecar/model.h"

#ifndef SC_TORCH_SCRIPT
#define SC_TORCH_SCRIPT "bench/torch_forward.py"
#endif

#define MIN_TIME           0.5 /* seconds of calls behind each figure */
#define MIN_REPS           10
#define MAX_TIME           4.0 /* seconds: stop at fewer than MIN_REPS beyond this */
#define WARMUP             5
#define MAX_GEMMS          1024 /* >= 2 convs x one GEMM per image at batch 256 + 2 Dense */
#define REL_TOL            1e-4
#define CNN_SCRATCH_TARGET (1u << 17) /* SCRATCH_TARGET_FLOATS of src/model/layers/conv.c */
#define NUM_CASES          4

/* Keras 2 Sequential JSON, trimmed to what a Keras 2.15 model.to_json() needs for inference. */
#define DENSE(name, units, act)                                                                    \
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"" name "\",\"units\":" #units                \
    ",\"activation\":\"" act "\",\"use_bias\":true}}"
#define CONV(name, filters, act)                                                                   \
    "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"" name "\",\"filters\":" #filters           \
    ",\"kernel_size\":[3,3],\"strides\":[1,1],\"padding\":\"valid\",\"data_format\":"              \
    "\"channels_last\",\"dilation_rate\":[1,1],\"groups\":1,\"activation\":\"" act "\","           \
    "\"use_bias\":true}}"
#define CONVS(name, filters)                                                                       \
    "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"" name "\",\"filters\":" #filters           \
    ",\"kernel_size\":[3,3],\"strides\":[1,1],\"padding\":\"same\",\"data_format\":"               \
    "\"channels_last\",\"dilation_rate\":[1,1],\"groups\":1,\"activation\":\"relu\","              \
    "\"use_bias\":true}}"
#define POOL(name)                                                                                 \
    "{\"class_name\":\"MaxPooling2D\",\"config\":{\"name\":\"" name "\",\"pool_size\":[2,2],"      \
    "\"padding\":\"valid\",\"strides\":[2,2],\"data_format\":\"channels_last\"}}"
#define INPUT(shape)                                                                               \
    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null," shape "],"           \
    "\"dtype\":\"float32\",\"name\":\"input\"}}"
#define SEQUENTIAL(name, layers)                                                                   \
    "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"" name "\",\"layers\":[" layers         \
    "]},\"keras_version\":\"2.15.0\",\"backend\":\"tensorflow\"}"

static const char k_mlp_json[] = SEQUENTIAL(
    "mlp", INPUT("784") "," DENSE("dense", 512, "relu") "," DENSE("dense_1", 10, "linear"));
static const char k_cnn_json[] = SEQUENTIAL(
    "cnn",
    INPUT("28,28,1") "," CONV("conv2d", 32, "relu") "," POOL("max_pooling2d") "," CONV(
        "conv2d_1", 64,
        "relu") "," POOL("max_pooling2d_1") ","
                                            "{\"class_name\":\"Flatten\",\"config\":{\"name\":"
                                            "\"flatten\"}}," DENSE("dense", 128, "relu") "," DENSE(
                                                "dense_1", 10, "linear"));

/* The deeper CNN of issue 10: 3x3 'same' convolutions of 32-128 filters, global average
 * pooling. Its conv-to-conv edges stay in oneDNN's blocked layout (Winograd where 3x3/1). */
static const char k_deep_json[] = SEQUENTIAL(
    "deep",
    INPUT("32,32,3") "," CONVS("c1", 32) "," CONVS("c2", 32) "," POOL("p1") "," CONVS(
        "c3",
        64) "," CONVS("c4",
                      64) "," POOL("p2") "," CONVS("c5",
                                                   128) "," CONVS("c6",
                                                                  128) ","
                                                                       "{\"class_name\":"
                                                                       "\"GlobalAveragePooling2D\","
                                                                       "\"config\":{\"name\":"
                                                                       "\"gap\","
                                                                       "\"data_format\":\"channels_"
                                                                       "last\"}}," DENSE(
                                                                           "dense", 10, "linear"));

typedef struct {
    int m, n, k;
    const float *a, *b;
    float *c;
} gemm;

typedef struct {
    const char *name; /* also the .npy stem of sidecar's output */
    sc_model *model;
    const float *x;
    int batch;
    sc_runner *runner;
    gemm gemms[MAX_GEMMS];
    int num_gemms;
    /* best seconds per call: [0] OpenBLAS' default thread count, [1] one thread */
    double t_sidecar[2], t_roof[2];
    double cpu_sidecar, cpu_roof; /* best process CPU seconds per call at one thread */
    int reps[2];
    double t_torch;   /* 0 = not measured */
    double cpu_torch; /* best process CPU seconds per call at one thread; 0 = not measured */
    int torch_threads, torch_mkldnn;
    sc_runner_stats cold, rebind; /* engine stats after the first pass and after a rebind */
    double rel_err;               /* max|sidecar - torch| / max|torch|; < 0 = not checked */
} bench_case;

static char g_dir[4096];
static int g_keep;

/* ---- seeded data and .npy files ---- */

/* Uniform floats in [lo, hi) from the shared xorshift filler: each random 32-bit word becomes
 * the float stored in its place. */
static void fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi) {
    bench_fill(x, n * sizeof *x, seed);
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, &x[i], sizeof w);
        x[i] = lo + (hi - lo) * (float)(w >> 8) * (1.0f / 16777216.0f);
    }
}

static int write_npy(const char *stem, const sc_shape *s, int64_t batch, const float *data) {
    char path[4200], dict[512]; /* rank <= SC_MAX_DIMS: at most ~250 bytes */
    snprintf(path, sizeof path, "%s/%s.npy", g_dir, stem);
    size_t len = (size_t)snprintf(dict, sizeof dict,
                                  "{'descr': '<f4', 'fortran_order': False, "
                                  "'shape': (");
    size_t elems = 1;
    if (batch > 0) {
        len += (size_t)snprintf(dict + len, sizeof dict - len, "%lld, ", (long long)batch);
        elems = (size_t)batch;
    }
    for (int i = 0; i < s->rank; i++) {
        len += (size_t)snprintf(dict + len, sizeof dict - len, "%lld, ", (long long)s->dims[i]);
        elems *= (size_t)s->dims[i];
    }
    len += (size_t)snprintf(dict + len, sizeof dict - len, "), }");
    /* header = magic(6) + version(2) + length(2) + dict padded with spaces, ending in '\n',
     * so that the data starts on a 64-byte boundary */
    size_t hlen = (10 + len + 1 + 63) / 64 * 64 - 10;
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "bench_forward: %s: %s\n", path, strerror(errno));
        return -1;
    }
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(dict, 1, len, f) == len;
    for (size_t i = len; ok && i + 1 < hlen; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, sizeof(float), elems, f) == elems;
    if (fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "bench_forward: %s: write failed\n", path);
    return ok ? 0 : -1;
}

static void remove_dir(void) {
    if (!g_dir[0] || g_keep) return;
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char path[4400];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    if (rmdir(g_dir) != 0)
        fprintf(stderr, "bench_forward: %s left behind: %s\n", g_dir, strerror(errno));
}

/* Loads a model, gives every variable Glorot-uniform-like values (biases small), writes them
 * as <prefix>_<layer>_<name>.npy. */
static sc_model *make_model(const char *json, const char *prefix, uint64_t seed) {
    sc_model *m = NULL;
    sc_error err;
    if (sc_model_load_keras_json(json, strlen(json), prefix, &m, &err) != SC_OK) {
        fprintf(stderr, "bench_forward: %s\n", err.message);
        return NULL;
    }
    for (size_t i = 0; i < sc_model_num_variables(m); i++) {
        sc_variable *v = sc_model_variable(m, i);
        float lim = 0.1f;
        if (v->shape.rank >= 2) { /* fan_in = all dims but the last, fan_out = the last */
            int64_t out = v->shape.dims[v->shape.rank - 1], in = v->num_elements / out;
            lim = sqrtf(6.0f / (float)(in + out));
        }
        fill_uniform(v->data, (size_t)v->num_elements, seed + i, -lim, lim);
        char stem[256];
        snprintf(stem, sizeof stem, "%s_%s_%s", prefix, v->layer, v->name);
        if (write_npy(stem, &v->shape, 0, v->data) != 0) {
            sc_model_free(m);
            return NULL;
        }
    }
    return m;
}

/* ---- timing ---- */

/* CPU seconds of the whole process: at one thread, unlike the wall clock, it does not count the
 * time other processes of a busy machine take from us. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int call_sidecar(bench_case *c) {
    sc_error err;
    if (sc_runner_run(c->runner, c->batch, &c->x, &err) == SC_OK) return 0;
    fprintf(stderr, "bench_forward: %s: %s\n", c->name, err.message);
    return -1;
}

static int call_roof(bench_case *c) {
    for (int i = 0; i < c->num_gemms; i++) {
        const gemm *g = &c->gemms[i];
        sc_gemm_f32(0, 0, g->m, g->n, g->k, 1.0f, g->a, g->k, g->b, g->n, 0.0f, g->c, g->n);
    }
    return 0;
}

/* Best single call of sidecar and of the roof, calls alternating between the two (so both see
 * the same machine load) until each has run >= MIN_TIME in total and >= MIN_REPS times (or
 * MAX_TIME has passed: slow calls stop after fewer). slot: where to store (see bench_case). */
static int time_case(bench_case *c, int slot) {
    for (int i = 0; i < WARMUP; i++)
        if (call_sidecar(c) || call_roof(c)) return -1;
    double sum[2] = {0, 0}, best[2] = {INFINITY, INFINITY}, cpu[2] = {INFINITY, INFINITY};
    int n = 0;
    for (; sum[0] < MIN_TIME || sum[1] < MIN_TIME || (n < MIN_REPS && sum[0] + sum[1] < MAX_TIME);
         n++) {
        for (int k = 0; k < 2; k++) {
            double c0 = cpu_now(), t0 = bench_now();
            if (k == 0 ? call_sidecar(c) : call_roof(c)) return -1;
            double dt = bench_now() - t0, dc = cpu_now() - c0;
            sum[k] += dt;
            if (dt < best[k]) best[k] = dt;
            if (dc < cpu[k]) cpu[k] = dc;
        }
    }
    c->cpu_sidecar = cpu[0]; /* the last slot timed runs one thread */
    c->cpu_roof = cpu[1];
    c->t_sidecar[slot] = best[0];
    c->t_roof[slot] = best[1];
    c->reps[slot] = n;
    return 0;
}

/* ---- roof GEMM lists ---- */

static float *g_roof_buf; /* operands of the roof GEMMs (contents do not matter, NaN-free) */

static void add_gemm(bench_case *c, int m, int n, int k, const float *a, const float *b,
                     float *out) {
    if (c->num_gemms < MAX_GEMMS) c->gemms[c->num_gemms] = (gemm){m, n, k, a, b, out};
    c->num_gemms++; /* counts past MAX_GEMMS so that gemms_ok can tell */
}

/* Every roof GEMM has its kernel (a renamed variable would leave NULL). */
static int gemms_ok(const bench_case *c) {
    if (c->num_gemms < 1 || c->num_gemms > MAX_GEMMS) {
        fprintf(stderr, "bench_forward: %s: %d roof GEMMs (room for %d)\n", c->name, c->num_gemms,
                MAX_GEMMS);
        return 0;
    }
    for (int i = 0; i < c->num_gemms; i++)
        if (!c->gemms[i].b) {
            fprintf(stderr, "bench_forward: %s: roof GEMM %d has no kernel variable\n", c->name, i);
            return 0;
        }
    return 1;
}

static const float *var(sc_model *m, const char *layer, const char *name) {
    sc_variable *v = sc_model_find_variable(m, layer, name);
    return v ? v->data : NULL;
}

static void mlp_gemms(bench_case *c) {
    float *h = g_roof_buf, *y = g_roof_buf + (size_t)c->batch * 512;
    add_gemm(c, c->batch, 512, 784, c->x, var(c->model, "dense", "kernel"), h);
    add_gemm(c, c->batch, 10, 512, h, var(c->model, "dense_1", "kernel"), y);
}

/* The conv GEMMs exactly as conv.c issues them: [images*oh*ow, kh*kw*c] x [kh*kw*c, filters]
 * per chunk of images_per_chunk() images. */
static void conv_gemms(bench_case *c, int oh, int ow, int cin, int filters, const float *kernel,
                       float *col, float *out) {
    int64_t per = (int64_t)oh * ow * 9 * cin, chunk = CNN_SCRATCH_TARGET / per;
    if (chunk < 1) chunk = 1;
    if (chunk > c->batch) chunk = c->batch;
    for (int64_t b0 = 0; b0 < c->batch; b0 += chunk) {
        int64_t nb = c->batch - b0 < chunk ? c->batch - b0 : chunk;
        add_gemm(c, (int)(nb * oh * ow), filters, 9 * cin, col, kernel,
                 out + b0 * oh * ow * filters);
    }
}

static void deep_gemms(bench_case *c) {
    float *col = g_roof_buf, *act = g_roof_buf + CNN_SCRATCH_TARGET;
    static const int hw[] = {32, 32, 16, 16, 8, 8}, cin[] = {3, 32, 32, 64, 64, 128},
                     cout[] = {32, 32, 64, 64, 128, 128};
    static const char *const names[] = {"c1", "c2", "c3", "c4", "c5", "c6"};
    for (int i = 0; i < 6; i++)
        conv_gemms(c, hw[i], hw[i], cin[i], cout[i], var(c->model, names[i], "kernel"), col, act);
    add_gemm(c, c->batch, 10, 128, act, var(c->model, "dense", "kernel"),
             act + (size_t)c->batch * 128);
}

static void cnn_gemms(bench_case *c) {
    size_t big = (size_t)c->batch * 26 * 26 * 32; /* largest activation */
    float *col = g_roof_buf, *act = g_roof_buf + CNN_SCRATCH_TARGET, *h = act + big;
    float *y = h + (size_t)c->batch * 128;
    conv_gemms(c, 26, 26, 1, 32, var(c->model, "conv2d", "kernel"), col, act);
    conv_gemms(c, 11, 11, 32, 64, var(c->model, "conv2d_1", "kernel"), col, act);
    add_gemm(c, c->batch, 128, 1600, act, var(c->model, "dense", "kernel"), h);
    add_gemm(c, c->batch, 10, 128, h, var(c->model, "dense_1", "kernel"), y);
}

/* ---- PyTorch ---- */

/* Runs the script on g_dir and reads its
 *   RESULT case=<name> threads=<n> mkldnn=<0|1> best_s=<s> cpu1_s=<s> rel_err=<x>
 * lines; every other line is echoed. Returns -1 when it could not run. */
static int run_torch(bench_case *cases, int n) {
    const char *script = getenv("SC_TORCH_FORWARD") ? getenv("SC_TORCH_FORWARD") : SC_TORCH_SCRIPT;
    const char *py = getenv("SC_PYTHON") ? getenv("SC_PYTHON") : "/usr/bin/python3";
    if (strchr(script, '\'') || strchr(g_dir, '\'') || strchr(py, '\'')) {
        fprintf(stderr, "bench_forward: a quote in the script, python or temp path\n");
        return -1;
    }
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' %g", py, script, g_dir, MIN_TIME);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "bench_forward: cannot run %s: %s\n", cmd, strerror(errno));
        return -1;
    }
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        char name[32];
        int threads, mkldnn;
        double best, cpu, rel;
        if (sscanf(line, "RESULT case=%31s threads=%d mkldnn=%d best_s=%lf cpu1_s=%lf rel_err=%lf",
                   name, &threads, &mkldnn, &best, &cpu, &rel)
            != 6) {
            fputs(line, stdout);
            continue;
        }
        for (int i = 0; i < n; i++)
            if (strcmp(cases[i].name, name) == 0) {
                cases[i].t_torch = best;
                cases[i].cpu_torch = cpu;
                cases[i].torch_threads = threads;
                cases[i].torch_mkldnn = mkldnn;
                cases[i].rel_err = rel;
            }
    }
    int rc = pclose(p);
    if (rc != 0)
        fprintf(stderr, "bench_forward: the PyTorch reference failed (%s %d): %s\n",
                rc > 0 && WIFEXITED(rc) ? "exit status" : "wait status",
                rc > 0 && WIFEXITED(rc) ? WEXITSTATUS(rc) : rc, cmd);
    return rc == 0 ? 0 : -1;
}

/* ---- report ---- */

/* Other processes on the machine make every figure noisy: say so next to them. */
static void print_load(const char *when) {
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1) load = -1;
        fclose(f);
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (load < 0) return;
    printf("load average %s: %.2f on %ld CPUs%s\n", when, load, cpus,
           load > 0.5 * (double)cpus ? " (busy machine: the figures are noisy)" : "");
}

/* Idle means idle: the process CPU time over 10 s of sleeping after the last forward pass
 * (OpenMP workers must not spin while sidecar waits for the next checkpoint). */
static void print_idle(void) {
    double c0 = cpu_now(), t0 = bench_now();
    struct timespec ts = {10, 0};
    while (nanosleep(&ts, &ts) != 0) {}
    printf("idle: %.4f CPU seconds in %.1f s of waiting after the last forward pass\n",
           cpu_now() - c0, bench_now() - t0);
}

static const char *verdict(double ratio, double target) {
    return ratio >= target ? "met" : "MISSED";
}

static void report(const bench_case *c, int threads, double roof_target, double torch_target) {
    const double *ts = c->t_sidecar, *tr = c->t_roof;
    printf(
        "%-7s sidecar %9.0f ex/s (%8.3f ms)   roof %9.0f ex/s (%8.3f ms)   %d threads, %d calls\n",
        c->name, c->batch / ts[0], ts[0] * 1e3, c->batch / tr[0], tr[0] * 1e3, threads, c->reps[0]);
    if (threads > 1)
        printf("        sidecar %9.0f ex/s (%8.3f ms)   roof %9.0f ex/s (%8.3f ms)   1 thread, %d "
               "calls\n",
               c->batch / ts[1], ts[1] * 1e3, c->batch / tr[1], tr[1] * 1e3, c->reps[1]);
    if (c->t_torch > 0)
        printf("        torch   %9.0f ex/s (%8.3f ms)   (best: %d thread%s, mkldnn %s)\n",
               c->batch / c->t_torch, c->t_torch * 1e3, c->torch_threads,
               c->torch_threads == 1 ? "" : "s", c->torch_mkldnn ? "on" : "off");
    else
        printf("        torch   not measured\n");
    double r = tr[0] / ts[0];
    printf("        sidecar/roof  %.3f", r);
    if (roof_target > 0) printf(" (target >= %.2f: %s)", roof_target, verdict(r, roof_target));
    if (threads > 1) printf("   at 1 thread %.3f", tr[1] / ts[1]);
    printf("\n");
    printf("        1-thread CPU time per call: sidecar %.3f ms, roof %.3f ms",
           c->cpu_sidecar * 1e3, c->cpu_roof * 1e3);
    if (c->cpu_torch > 0)
        printf(", torch %.3f ms: sidecar/roof %.3f, sidecar/torch %.2fx", c->cpu_torch * 1e3,
               c->cpu_roof / c->cpu_sidecar, c->cpu_torch / c->cpu_sidecar);
    printf("\n");
    printf("        engine: %d layers on oneDNN (%d blocked edges, %d Winograd), scratchpad %zu "
           "bytes, reordered weights %zu bytes\n",
           c->cold.engine_nodes, c->cold.blocked_edges, c->cold.winograd_nodes,
           c->cold.scratchpad_bytes, c->cold.weights_bytes);
    printf("        cold path: first batch %.2f ms wall, %.2f ms CPU (%d primitives, %d "
           "reorders); after a rebind %.2f ms wall, %.2f ms CPU (%d reorders)\n",
           c->cold.cold_seconds * 1e3, c->cold.cold_cpu_seconds * 1e3, c->cold.cold_primitives,
           c->cold.cold_reorders, c->rebind.cold_seconds * 1e3, c->rebind.cold_cpu_seconds * 1e3,
           c->rebind.cold_reorders);
    if (c->t_torch <= 0) return;
    double t = c->t_torch / ts[0];
    printf("        sidecar/torch %.2fx", t);
    if (torch_target > 0) printf(" (target >= %.1fx: %s)", torch_target, verdict(t, torch_target));
    if (threads > 1) printf("   at 1 thread %.2fx", c->t_torch / ts[1]);
    printf("\n        outputs vs torch: max rel error %.2e (tolerance %.0e: %s)\n", c->rel_err,
           REL_TOL, c->rel_err >= 0 && c->rel_err <= REL_TOL ? "ok" : "WRONG");
}

/* OpenBLAS reads OPENBLAS_CORETYPE when the library loads: too late to unset it here. */
static void reexec_native(char **argv) {
    const char *ct = getenv("OPENBLAS_CORETYPE");
    if (!ct) return;
    setenv("SC_BENCH_FORWARD_CORETYPE_WAS", ct, 1);
    unsetenv("OPENBLAS_CORETYPE");
    fflush(stdout);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "bench_forward: re-exec without OPENBLAS_CORETYPE failed: %s\n",
            strerror(errno));
}

int main(int argc, char **argv) {
    int no_torch = 0, native = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--native-core") == 0)
            native = 1;
        else if (strcmp(argv[i], "--no-torch") == 0)
            no_torch = 1;
        else if (strcmp(argv[i], "--keep") == 0)
            g_keep = 1;
        else {
            fprintf(stderr, "usage: %s [--native-core] [--no-torch] [--keep]\n", argv[0]);
            return 2;
        }
    }
    if (native) reexec_native(argv);
    print_load("before");

    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/bench_forward.XXXXXX", tmp);
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "bench_forward: mkdtemp %s: %s\n", g_dir, strerror(errno));
        return 1;
    }
    int rc = 1, threads = sc_engine_threads();
    char eng[160];
    printf("engine: %s\n", sc_engine_describe(eng, sizeof eng));
    static bench_case cases[NUM_CASES] = {{.name = "mlp32", .batch = 32},
                                          {.name = "mlp256", .batch = 256},
                                          {.name = "cnn256", .batch = 256},
                                          {.name = "deep128", .batch = 128}};
    sc_model *mlp = make_model(k_mlp_json, "mlp", 1000), *cnn = make_model(k_cnn_json, "cnn", 2000);
    sc_model *deep = make_model(k_deep_json, "deep", 3000);
    float *mlp_x = malloc(256 * 784 * sizeof(float)), *cnn_x = malloc(256 * 784 * sizeof(float));
    float *deep_x = malloc(128 * 32 * 32 * 3 * sizeof(float));
    g_roof_buf = calloc(CNN_SCRATCH_TARGET + (size_t)256 * 26 * 26 * 32 + 256 * 512 + 256 * 128,
                        sizeof(float));
    if (!mlp || !cnn || !deep || !mlp_x || !cnn_x || !deep_x || !g_roof_buf) goto done;
    fill_uniform(mlp_x, 256 * 784, 3, 0.0f, 1.0f);
    fill_uniform(cnn_x, 256 * 784, 4, 0.0f, 1.0f);
    fill_uniform(deep_x, 128 * 32 * 32 * 3, 6, 0.0f, 1.0f);
    fill_uniform(g_roof_buf, CNN_SCRATCH_TARGET, 5, 0.0f, 1.0f); /* im2col stand-in */
    if (write_npy("mlp_x", &(sc_shape){1, {784}}, 256, mlp_x)
        || write_npy("cnn_x", &(sc_shape){3, {28, 28, 1}}, 256, cnn_x)
        || write_npy("deep_x", &(sc_shape){3, {32, 32, 3}}, 128, deep_x))
        goto done;
    cases[0].model = cases[1].model = mlp;
    cases[0].x = cases[1].x = mlp_x; /* mlp32 runs the first 32 rows */
    cases[2].model = cnn;
    cases[2].x = cnn_x;
    cases[3].model = deep;
    cases[3].x = deep_x;

    for (int i = 0; i < NUM_CASES; i++) {
        bench_case *c = &cases[i];
        sc_error err;
        c->rel_err = -1;
        if (sc_runner_create(c->model, c->batch, &c->runner, &err) != SC_OK) {
            fprintf(stderr, "bench_forward: %s: %s\n", c->name, err.message);
            goto done;
        }
        if (c->model == mlp)
            mlp_gemms(c);
        else if (c->model == cnn)
            cnn_gemms(c);
        else
            deep_gemms(c);
        if (!gemms_ok(c)) goto done;
        sc_shape out = sc_model_output_shape(c->model, 0);
        /* The cold path: the first pass creates the primitives and reorders the weights;
         * then a rebind (here: the variables handed out again) redoes only the reorders. */
        if (call_sidecar(c)) goto done;
        sc_runner_stats_get(c->runner, &c->cold);
        (void)sc_model_variable(c->model, 0);
        if (call_sidecar(c)) goto done;
        sc_runner_stats_get(c->runner, &c->rebind);
        if (time_case(c, 0) || write_npy(c->name, &out, c->batch, sc_runner_output(c->runner, 0)))
            goto done;
        if (threads > 1) { /* one engine thread */
            sc_engine_set_threads(1);
            int bad = time_case(c, 1);
            sc_engine_set_threads(0);
            if (bad) goto done;
        }
    }
    int torch_ok = no_torch ? 0 : run_torch(cases, NUM_CASES) == 0;
    print_load("after");
    printf("\n");
    report(&cases[0], threads, 0, 2.5);
    report(&cases[1], threads, 0, 2.0);
    report(&cases[2], threads, 0, 2.5);
    report(&cases[3], threads, 0, 2.0);
    print_idle();
    rc = 0;
    for (int i = 0; i < NUM_CASES && torch_ok; i++)
        if (!(cases[i].rel_err >= 0 && cases[i].rel_err <= REL_TOL)) rc = 1;
    if (!no_torch && !torch_ok) rc = 1;
done:
    for (int i = 0; i < NUM_CASES; i++) sc_runner_free(cases[i].runner);
    sc_model_free(mlp);
    sc_model_free(cnn);
    sc_model_free(deep);
    free(deep_x);
    free(mlp_x);
    free(cnn_x);
    free(g_roof_buf);
    remove_dir();
    return rc;
}
