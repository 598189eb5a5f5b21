/* bench_forward — the model engine's forward pass against PyTorch and against the same
 * network written directly with oneDNN primitives (the library's ceiling).
 *
 *   bench_forward [--native-core] [--no-torch] [--keep]
 *
 * Five cases (issue 10), one seeded set of float32 weights and inputs:
 *   mlp32, mlp256   Dense(512, relu) - Dense(10) on 784 features, batch 32 and 256
 *   cnn256          Conv2D(32,3,relu) - MaxPool(2) - Conv2D(64,3,relu) - MaxPool(2) - Flatten -
 *                   Dense(128,relu) - Dense(10) on 28x28x1, batch 256
 *   deep128         six 3x3 'same' Conv2D(relu) of 32-128 filters with two MaxPool(2), global
 *                   average pooling, Dense(10) on 32x32x3, batch 128
 *   mobile128       MobileNet-like on 32x32x3, batch 128: Conv2D(32, 3, stride 2) and
 *                   depthwise 3x3 + pointwise 1x1 blocks (64-128 filters, one stride 2), one
 *                   SeparableConv2D(256, stride 2), each without bias and followed by
 *                   BatchNormalization and ReLU(6); global average pooling, Dense(10)
 * For each it times (best single call after warm-up; calls repeat until >= MIN_TIME s elapsed):
 *   sidecar   sc_runner_run (oneDNN primitives, see README "Compute engine")
 *   ceiling   the same network as a chain of oneDNN primitives built here (dnnl_chain.h:
 *             layouts chosen by oneDNN, relu/relu6 post-ops, BatchNormalization folded here,
 *             weights reordered once), on the same engine and OpenMP pool; calls alternate
 *             with sidecar's so both see the same machine load
 *   torch     bench/torch_forward.py on the same weights and inputs (best of 1 and 2 threads,
 *             mkldnn on and off), which also checks sidecar's outputs against PyTorch's
 * and prints examples/s, sidecar/ceiling (target >= 0.9) and sidecar/torch against the issue's
 * targets, at the engine's default thread count and at one thread (sc_engine_set_threads(1)),
 * where it also prints the best process CPU time per call of all three: on a shared machine
 * the wall clock mostly measures the other processes, CPU time does not. It prints the engine
 * (oneDNN version, ISA, threads), per case the cold path (first batch: primitive creation +
 * weight reorders; after a rebind: reorders only), the scratchpad and reordered-weight sizes,
 * and at the end the CPU time of 10 s of idling. A missed target is reported, not an error; a
 * wrong output (max|sidecar - torch| / max|torch| > 1e-4, or the same against the ceiling) or
 * a failed run exits 1.
 *
 * PyTorch calls OpenBLAS, which reads OPENBLAS_CORETYPE when it loads. The bench never changes
 * the caller's environment; --native-core re-executes the bench once without that variable
 * (the torch reference prints the core OpenBLAS chose).
 * The weights, inputs and sidecar's outputs go to a temporary directory as .npy files (kept
 * with --keep). SC_TORCH_FORWARD overrides the script path, SC_PYTHON the interpreter
 * (default /usr/bin/python3: Debian's python3-torch, not a python3 earlier on PATH).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "dnnl_chain.h"
#include "sidecar/engine.h"
#include "sidecar/model.h"
#include "tensor/engine.h"

#ifndef SC_TORCH_SCRIPT
#define SC_TORCH_SCRIPT "bench/torch_forward.py"
#endif

#define MIN_TIME  0.5 /* seconds of calls behind each figure */
#define MIN_REPS  10
#define MAX_TIME  4.0 /* seconds: stop at fewer than MIN_REPS beyond this */
#define WARMUP    5
#define REL_TOL   1e-4
#define NUM_CASES 5

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

/* The MobileNet-like case: every convolution without bias, then BatchNormalization, ReLU(6). */
#define CONVNB(name, filters, k, s)                                                                \
    "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"" name "\",\"filters\":" #filters           \
    ",\"kernel_size\":[" #k "," #k "],\"strides\":[" #s "," #s "],\"padding\":\"same\","           \
    "\"activation\":\"linear\",\"use_bias\":false}}"
#define DWNB(name, s)                                                                              \
    "{\"class_name\":\"DepthwiseConv2D\",\"config\":{\"name\":\"" name "\",\"kernel_size\":[3,3]," \
    "\"strides\":[" #s "," #s "],\"padding\":\"same\",\"depth_multiplier\":1,"                     \
    "\"activation\":\"linear\",\"use_bias\":false}}"
#define SEPNB(name, filters, s)                                                                    \
    "{\"class_name\":\"SeparableConv2D\",\"config\":{\"name\":\"" name "\",\"filters\":" #filters  \
    ",\"kernel_size\":[3,3],\"strides\":[" #s "," #s "],\"padding\":\"same\","                     \
    "\"activation\":\"linear\",\"use_bias\":false}}"
#define BNR6(name)                                                                                 \
    "{\"class_name\":\"BatchNormalization\",\"config\":{\"name\":\"" name "_bn\",\"axis\":[3],"    \
    "\"epsilon\":0.001}},{\"class_name\":\"ReLU\",\"config\":{\"name\":\"" name "_relu\","         \
    "\"max_value\":6.0,\"negative_slope\":0.0,\"threshold\":0.0}}"
#define MB_BLOCK(dw, pw, filters, s)                                                               \
    DWNB(dw, s) "," BNR6(dw) "," CONVNB(pw, filters, 1, 1) "," BNR6(pw)

static const char k_mobile_json[] = SEQUENTIAL(
    "mobile",
    INPUT("32,32,3") "," CONVNB("c1", 32, 3, 2) "," BNR6("c1") "," MB_BLOCK(
        "dw1", "pw1", 64,
        1) "," MB_BLOCK("dw2", "pw2", 128,
                        2) "," MB_BLOCK("dw3", "pw3", 128,
                                        1) "," SEPNB("sep", 256,
                                                     2) "," BNR6("sep") ","
                                                                        "{\"class_name\":"
                                                                        "\"GlobalAveragePooling2D\""
                                                                        ",\"config\":{\"name\":"
                                                                        "\"gap\"}}," DENSE(
                                                                            "dense", 10, "linear"));

typedef struct {
    const char *name; /* also the .npy stem of sidecar's output */
    sc_model *model;
    const float *x;
    int batch;
    sc_runner *runner;
    bchain ceil;      /* the direct oneDNN chain, built for the thread count being timed */
    float *ceil_out;  /* its output */
    int ceil_blocked; /* the blocked chain was the faster (see build_ceiling) */
    /* best seconds per call: [0] the engine's default thread count, [1] one thread */
    double t_sidecar[2], t_ceil[2];
    double cpu_sidecar, cpu_ceil; /* best process CPU seconds per call at one thread */
    int reps[2];
    double t_torch;   /* 0 = not measured */
    double cpu_torch; /* best process CPU seconds per call at one thread; 0 = not measured */
    int torch_threads, torch_mkldnn;
    sc_runner_stats cold, rebind; /* engine stats after the first pass and after a rebind */
    double rel_err;               /* max|sidecar - torch| / max|torch|; < 0 = not checked */
    double ceil_err;              /* max|sidecar - ceiling| / max|ceiling| */
} bench_case;

static char g_dir[4096];
static int g_keep;

/* ---- seeded data and .npy files ---- */

/* g_dir/stem.npy of a batch (batch > 0: a leading dimension) of shape s (bench_util.h). */
static int write_npy(const char *stem, const sc_shape *s, int64_t batch, const float *data) {
    int64_t dims[SC_MAX_DIMS + 1];
    int rank = 0;
    if (batch > 0) dims[rank++] = batch;
    for (int i = 0; i < s->rank; i++) dims[rank++] = s->dims[i];
    return bench_write_npy(g_dir, stem, rank, dims, data);
}

static void remove_dir(void) {
    if (g_dir[0] && !g_keep) bench_remove_dir(g_dir);
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
        float lo = -lim;
        if (strcmp(v->name, "gamma") == 0 || strcmp(v->name, "moving_variance") == 0)
            lo = 0.5f, lim = 1.5f; /* BatchNormalization scales of a trained model's sort */
        bench_fill_uniform(v->data, (size_t)v->num_elements, seed + i, lo, lim);
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

static int call_ceil(bench_case *c) {
    if (bc_run(&c->ceil) == 0) return 0;
    fprintf(stderr, "bench_forward: %s: the direct oneDNN chain failed\n", c->name);
    return -1;
}

static int build_ceiling(bench_case *c);

/* Best single call of sidecar and of the ceiling, calls alternating between the two (so both
 * see the same machine load) until each has run >= MIN_TIME in total and >= MIN_REPS times (or
 * MAX_TIME has passed: slow calls stop after fewer). The ceiling is built for the current
 * thread count (oneDNN splits a primitive's work when it is created). slot: see bench_case. */
static int time_case(bench_case *c, int slot) {
    bc_free(&c->ceil);
    if (build_ceiling(c)) return -1;
    for (int i = 0; i < WARMUP; i++)
        if (call_sidecar(c) || call_ceil(c)) return -1;
    double sum[2] = {0, 0}, best[2] = {INFINITY, INFINITY}, cpu[2] = {INFINITY, INFINITY};
    int n = 0;
    for (; sum[0] < MIN_TIME || sum[1] < MIN_TIME || (n < MIN_REPS && sum[0] + sum[1] < MAX_TIME);
         n++) {
        for (int k = 0; k < 2; k++) {
            double c0 = cpu_now(), t0 = bench_now();
            if (k == 0 ? call_sidecar(c) : call_ceil(c)) return -1;
            double dt = bench_now() - t0, dc = cpu_now() - c0;
            sum[k] += dt;
            if (dt < best[k]) best[k] = dt;
            if (dc < cpu[k]) cpu[k] = dc;
        }
    }
    c->cpu_sidecar = cpu[0]; /* the last slot timed runs one thread */
    c->cpu_ceil = cpu[1];
    c->t_sidecar[slot] = best[0];
    c->t_ceil[slot] = best[1];
    c->reps[slot] = n;
    /* both outputs of the same inputs */
    sc_shape out = sc_model_output_shape(c->model, 0);
    size_t n_out = (size_t)c->batch * (size_t)out.dims[0];
    const float *y = sc_runner_output(c->runner, 0);
    double maxw = 0, maxd = 0;
    for (size_t i = 0; i < n_out; i++) {
        maxw = fmax(maxw, fabs(c->ceil_out[i]));
        maxd = fmax(maxd, fabs((double)y[i] - c->ceil_out[i]));
    }
    double e = maxd / fmax(maxw, 1e-30);
    if (!(e <= c->ceil_err)) c->ceil_err = e; /* the worst of the slots (NaN stays) */
    return 0;
}

/* ---- the direct oneDNN chains ---- */

static const float *var(sc_model *m, const char *layer, const char *name) {
    sc_variable *v = sc_model_find_variable(m, layer, name);
    if (!v) fprintf(stderr, "bench_forward: no variable %s/%s\n", layer, name);
    return v ? v->data : NULL;
}

/* Folded copies of the MobileNet case's kernels (the ceiling folds BatchNormalization itself,
 * as TensorFlow's fused inference kernel computes the scale). */
static float *g_fold[64];
static int g_nfold;

static const float *fold(sc_model *m, const char *layer, const char *kname, const char *bn,
                         const float **bias) {
    char bname[64];
    snprintf(bname, sizeof bname, "%s_bn", bn);
    sc_variable *k = sc_model_find_variable(m, layer, kname);
    const float *g = var(m, bname, "gamma"), *b = var(m, bname, "beta");
    const float *mu = var(m, bname, "moving_mean"), *v = var(m, bname, "moving_variance");
    if (!k || !g || !b || !mu || !v || g_nfold + 2 > 64) return NULL;
    size_t F = (size_t)k->shape.dims[k->shape.rank - 1], n = (size_t)k->num_elements;
    if (strcmp(kname, "depthwise_kernel") == 0) F *= (size_t)k->shape.dims[k->shape.rank - 2];
    float *w = malloc(n * sizeof *w), *fb = malloc(F * sizeof *fb);
    if (!w || !fb) {
        free(w);
        free(fb);
        return NULL;
    }
    g_fold[g_nfold++] = w;
    g_fold[g_nfold++] = fb;
    for (size_t c = 0; c < F; c++) fb[c] = g[c] * (1.0f / sqrtf(v[c] + 1e-3f));
    for (size_t i = 0; i < n; i++) w[i] = k->data[i] * fb[i % F];
    for (size_t c = 0; c < F; c++) fb[c] = b[c] - mu[c] * fb[c];
    *bias = fb;
    return w;
}

static void mobile_chain(bchain *ch, sc_model *m) {
    const float *b, *w = fold(m, "c1", "kernel", "c1", &b);
    bc_conv(ch, w, b, 32, 3, 2, 1, 0, BC_RELU6);
    static const char *const dw[] = {"dw1", "dw2", "dw3"}, *const pw[] = {"pw1", "pw2", "pw3"};
    static const int filters[] = {64, 128, 128}, strides[] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        w = fold(m, dw[i], "depthwise_kernel", dw[i], &b);
        bc_conv(ch, w, b, 0, 3, strides[i], 1, 1, BC_RELU6);
        w = fold(m, pw[i], "kernel", pw[i], &b);
        bc_conv(ch, w, b, filters[i], 1, 1, 1, 0, BC_RELU6);
    }
    bc_conv(ch, var(m, "sep", "depthwise_kernel"), NULL, 0, 3, 2, 1, 1, BC_LINEAR);
    w = fold(m, "sep", "pointwise_kernel", "sep", &b);
    bc_conv(ch, w, b, 256, 1, 1, 1, 0, BC_RELU6);
    bc_pool(ch, 0, 0, 0, 0);
    bc_dense(ch, var(m, "dense", "kernel"), var(m, "dense", "bias"), 10, BC_LINEAR);
}

static int build_chain(bench_case *c, bchain *ch, int blocked) {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    sc_error err;
    if (sc_engine_get(&eng, &strm, &err) != SC_OK) {
        fprintf(stderr, "bench_forward: %s\n", err.message);
        return -1;
    }
    sc_engine_apply_threads(); /* oneDNN reads the OpenMP thread count at creation */
    sc_model *m = c->model;
    bc_init(ch, eng, strm, blocked);
    if (strcmp(c->name, "mlp32") == 0 || strcmp(c->name, "mlp256") == 0) {
        bc_input(ch, c->batch, 0, 0, 784, c->x);
        bc_dense(ch, var(m, "dense", "kernel"), var(m, "dense", "bias"), 512, BC_RELU);
        bc_dense(ch, var(m, "dense_1", "kernel"), var(m, "dense_1", "bias"), 10, BC_LINEAR);
    } else if (strcmp(c->name, "cnn256") == 0) {
        bc_input(ch, c->batch, 28, 28, 1, c->x);
        bc_conv(ch, var(m, "conv2d", "kernel"), var(m, "conv2d", "bias"), 32, 3, 1, 0, 0, BC_RELU);
        bc_pool(ch, 1, 2, 2, 0);
        bc_conv(ch, var(m, "conv2d_1", "kernel"), var(m, "conv2d_1", "bias"), 64, 3, 1, 0, 0,
                BC_RELU);
        bc_pool(ch, 1, 2, 2, 0);
        bc_dense(ch, var(m, "dense", "kernel"), var(m, "dense", "bias"), 128, BC_RELU);
        bc_dense(ch, var(m, "dense_1", "kernel"), var(m, "dense_1", "bias"), 10, BC_LINEAR);
    } else if (strcmp(c->name, "deep128") == 0) {
        static const char *const names[] = {"c1", "c2", "c3", "c4", "c5", "c6"};
        static const int filters[] = {32, 32, 64, 64, 128, 128};
        bc_input(ch, c->batch, 32, 32, 3, c->x);
        for (int i = 0; i < 6; i++) {
            bc_conv(ch, var(m, names[i], "kernel"), var(m, names[i], "bias"), filters[i], 3, 1, 1,
                    0, BC_RELU);
            if (i == 1 || i == 3) bc_pool(ch, 1, 2, 2, 0);
        }
        bc_pool(ch, 0, 0, 0, 0);
        bc_dense(ch, var(m, "dense", "kernel"), var(m, "dense", "bias"), 10, BC_LINEAR);
    } else {
        bc_input(ch, c->batch, 32, 32, 3, c->x);
        mobile_chain(ch, m);
    }
    bc_finish(ch, c->ceil_out);
    if (!ch->failed) return 0;
    fprintf(stderr, "bench_forward: %s: cannot build the direct oneDNN chain\n", c->name);
    return -1;
}

/* Best process CPU seconds of a few calls of a chain. */
static double chain_cpu(bchain *ch) {
    double best = INFINITY;
    for (int i = 0; i < 8; i++) {
        double c0 = cpu_now();
        if (bc_run(ch)) return INFINITY;
        if (i >= 2 && cpu_now() - c0 < best) best = cpu_now() - c0;
    }
    return best;
}

/* The ceiling: the faster of the chain with oneDNN's layout choices and the blocked one. */
static int build_ceiling(bench_case *c) {
    bchain other = {0};
    if (build_chain(c, &c->ceil, 0) || build_chain(c, &other, 1)) {
        bc_free(&other);
        return -1;
    }
    double t_any = chain_cpu(&c->ceil), t_blocked = chain_cpu(&other);
    if (t_blocked < t_any) {
        bc_free(&c->ceil);
        c->ceil = other;
    } else {
        bc_free(&other);
    }
    c->ceil_blocked = t_blocked < t_any;
    return 0;
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

#define CEIL_TARGET 0.9 /* sidecar >= 0.9 of the direct oneDNN chain */

static void report(const bench_case *c, int threads, double torch_target) {
    const double *ts = c->t_sidecar, *tc = c->t_ceil;
    printf("%-9s sidecar %9.0f ex/s (%8.3f ms)   ceiling %9.0f ex/s (%8.3f ms)   %d threads, %d "
           "calls\n",
           c->name, c->batch / ts[0], ts[0] * 1e3, c->batch / tc[0], tc[0] * 1e3, threads,
           c->reps[0]);
    if (threads > 1)
        printf(
            "          sidecar %9.0f ex/s (%8.3f ms)   ceiling %9.0f ex/s (%8.3f ms)   1 thread, "
            "%d calls\n",
            c->batch / ts[1], ts[1] * 1e3, c->batch / tc[1], tc[1] * 1e3, c->reps[1]);
    if (c->t_torch > 0)
        printf("          torch   %9.0f ex/s (%8.3f ms)   (best: %d thread%s, mkldnn %s)\n",
               c->batch / c->t_torch, c->t_torch * 1e3, c->torch_threads,
               c->torch_threads == 1 ? "" : "s", c->torch_mkldnn ? "on" : "off");
    else
        printf("          torch   not measured\n");
    printf("          1-thread CPU time per call: sidecar %.3f ms, ceiling %.3f ms",
           c->cpu_sidecar * 1e3, c->cpu_ceil * 1e3);
    if (c->cpu_torch > 0) printf(", torch %.3f ms", c->cpu_torch * 1e3);
    printf("\n");
    /* The ratios of record: CPU time at one thread (the wall clock of a loaded machine mostly
     * measures the other processes), then the wall-clock ones. */
    double rc = c->cpu_ceil / c->cpu_sidecar;
    printf("          sidecar/ceiling %.3f (target >= %.2f: %s)", rc, CEIL_TARGET,
           verdict(rc, CEIL_TARGET));
    if (c->cpu_torch > 0) {
        double rt = c->cpu_torch / c->cpu_sidecar;
        printf("   sidecar/torch %.2fx (target >= %.1fx: %s)", rt, torch_target,
               verdict(rt, torch_target));
    }
    printf("   [1-thread CPU time]\n");
    printf("          wall clock: sidecar/ceiling %.3f", tc[0] / ts[0]);
    if (threads > 1) printf(" (1 thread %.3f)", tc[1] / ts[1]);
    if (c->t_torch > 0) {
        printf(", sidecar/torch %.2fx", c->t_torch / ts[0]);
        if (threads > 1) printf(" (sidecar at 1 thread %.2fx)", c->t_torch / ts[1]);
    }
    printf("\n");
    printf("          engine: %d layers on oneDNN (%d blocked edges, %d Winograd, %d "
           "BatchNormalizations folded), scratchpad %zu bytes, reordered weights %zu bytes\n",
           c->cold.engine_nodes, c->cold.blocked_edges, c->cold.winograd_nodes,
           c->cold.folded_norms, c->cold.scratchpad_bytes, c->cold.weights_bytes);
    printf("          cold path: first batch %.2f ms wall, %.2f ms CPU (%d primitives, %d "
           "reorders); after a rebind %.2f ms wall, %.2f ms CPU (%d reorders)\n",
           c->cold.cold_seconds * 1e3, c->cold.cold_cpu_seconds * 1e3, c->cold.cold_primitives,
           c->cold.cold_reorders, c->rebind.cold_seconds * 1e3, c->rebind.cold_cpu_seconds * 1e3,
           c->rebind.cold_reorders);
    printf("          outputs vs ceiling: max rel error %.2e (tolerance %.0e: %s); ceiling: %s "
           "layouts\n",
           c->ceil_err, REL_TOL, c->ceil_err >= 0 && c->ceil_err <= REL_TOL ? "ok" : "WRONG",
           c->ceil_blocked ? "nChw16c" : "oneDNN's choice of");
    if (c->t_torch > 0)
        printf("          outputs vs torch:   max rel error %.2e (tolerance %.0e: %s)\n",
               c->rel_err, REL_TOL, c->rel_err >= 0 && c->rel_err <= REL_TOL ? "ok" : "WRONG");
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
                                          {.name = "deep128", .batch = 128},
                                          {.name = "mobile128", .batch = 128}};
    static const double torch_targets[NUM_CASES] = {2.5, 2.0, 2.5, 2.0, 2.0};
    sc_model *mlp = make_model(k_mlp_json, "mlp", 1000), *cnn = make_model(k_cnn_json, "cnn", 2000);
    sc_model *deep = make_model(k_deep_json, "deep", 3000);
    sc_model *mobile = make_model(k_mobile_json, "mobile", 4000);
    float *mlp_x = malloc(256 * 784 * sizeof(float)), *cnn_x = malloc(256 * 784 * sizeof(float));
    float *deep_x = malloc(128 * 32 * 32 * 3 * sizeof(float));
    float *mobile_x = malloc(128 * 32 * 32 * 3 * sizeof(float));
    if (!mlp || !cnn || !deep || !mobile || !mlp_x || !cnn_x || !deep_x || !mobile_x) goto done;
    bench_fill_uniform(mlp_x, 256 * 784, 3, 0.0f, 1.0f);
    bench_fill_uniform(cnn_x, 256 * 784, 4, 0.0f, 1.0f);
    bench_fill_uniform(deep_x, 128 * 32 * 32 * 3, 6, 0.0f, 1.0f);
    bench_fill_uniform(mobile_x, 128 * 32 * 32 * 3, 7, -1.0f, 1.0f);
    if (write_npy("mlp_x", &(sc_shape){1, {784}}, 256, mlp_x)
        || write_npy("cnn_x", &(sc_shape){3, {28, 28, 1}}, 256, cnn_x)
        || write_npy("deep_x", &(sc_shape){3, {32, 32, 3}}, 128, deep_x)
        || write_npy("mobile_x", &(sc_shape){3, {32, 32, 3}}, 128, mobile_x))
        goto done;
    cases[0].model = cases[1].model = mlp;
    cases[0].x = cases[1].x = mlp_x; /* mlp32 runs the first 32 rows */
    cases[2].model = cnn;
    cases[2].x = cnn_x;
    cases[3].model = deep;
    cases[3].x = deep_x;
    cases[4].model = mobile;
    cases[4].x = mobile_x;

    for (int i = 0; i < NUM_CASES; i++) {
        bench_case *c = &cases[i];
        sc_error err;
        c->rel_err = -1;
        c->ceil_err = -1;
        if (sc_runner_create(c->model, c->batch, &c->runner, &err) != SC_OK) {
            fprintf(stderr, "bench_forward: %s: %s\n", c->name, err.message);
            goto done;
        }
        sc_shape out = sc_model_output_shape(c->model, 0);
        c->ceil_out = malloc((size_t)c->batch * (size_t)out.dims[0] * sizeof(float));
        if (!c->ceil_out) goto done;
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
        bc_free(&c->ceil);
    }
    int torch_ok = no_torch ? 0 : run_torch(cases, NUM_CASES) == 0;
    print_load("after");
    printf("\n");
    for (int i = 0; i < NUM_CASES; i++) report(&cases[i], threads, torch_targets[i]);
    print_idle();
    rc = 0;
    for (int i = 0; i < NUM_CASES; i++)
        if (!(cases[i].ceil_err >= 0 && cases[i].ceil_err <= REL_TOL)
            || (torch_ok && !(cases[i].rel_err >= 0 && cases[i].rel_err <= REL_TOL)))
            rc = 1;
    if (!no_torch && !torch_ok) rc = 1;
done:
    for (int i = 0; i < NUM_CASES; i++) {
        sc_runner_free(cases[i].runner);
        bc_free(&cases[i].ceil);
        free(cases[i].ceil_out);
    }
    for (int i = 0; i < g_nfold; i++) free(g_fold[i]);
    sc_model_free(mlp);
    sc_model_free(cnn);
    sc_model_free(deep);
    sc_model_free(mobile);
    free(deep_x);
    free(mlp_x);
    free(cnn_x);
    free(mobile_x);
    remove_dir();
    return rc;
}
