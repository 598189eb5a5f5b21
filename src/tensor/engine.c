/* The process-wide oneDNN engine, its thread setting and the float32 GEMM on it. */
#include "tensor/engine.h"

#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_status_t g_status = dnnl_success;
static atomic_int g_threads; /* 0: OpenMP's default */
static atomic_int g_no_winograd;
static atomic_int g_no_fold;
static atomic_int g_no_layers;

static void create(void) {
    g_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    if (g_status == dnnl_success)
        g_status = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
}

const char *sc_dnnl_status_str(dnnl_status_t s) {
    switch (s) {
    case dnnl_success: return "dnnl_success";
    case dnnl_out_of_memory: return "dnnl_out_of_memory";
    case dnnl_invalid_arguments: return "dnnl_invalid_arguments";
    case dnnl_unimplemented: return "dnnl_unimplemented";
    case dnnl_iterator_ends: return "dnnl_iterator_ends";
    case dnnl_runtime_error: return "dnnl_runtime_error";
    case dnnl_not_required: return "dnnl_not_required";
    default: return "dnnl error";
    }
}

sc_status sc_engine_get(dnnl_engine_t *engine, dnnl_stream_t *stream, sc_error *err) {
    pthread_once(&once, create);
    if (g_status != dnnl_success)
        return sc_error_set(err, SC_UNIMPLEMENTED, "oneDNN: cannot create the CPU engine (%s)",
                            sc_dnnl_status_str(g_status));
    if (engine) *engine = g_engine;
    if (stream) *stream = g_stream;
    return SC_OK;
}

/* OpenMP's default, read once before any omp_set_num_threads of ours changes it. */
static int default_threads(void) {
    static atomic_int def;
    int d = atomic_load(&def);
    if (!d) {
        d = omp_get_max_threads();
        atomic_store(&def, d);
    }
    return d;
}

void sc_engine_set_threads(int n) {
    (void)default_threads();
    atomic_store(&g_threads, n > 0 ? n : 0);
    sc_engine_apply_threads();
}

int sc_engine_threads(void) {
    int n = atomic_load(&g_threads);
    return n ? n : default_threads();
}

void sc_engine_apply_threads(void) {
    int want = sc_engine_threads();
    if (omp_get_max_threads() != want) omp_set_num_threads(want);
}

const char *sc_engine_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "no jit (reference kernels)";
    }
}

const char *sc_engine_describe(char *buf, size_t cap) {
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, cap, "oneDNN %d.%d.%d (cpu %s), ISA %s, %d threads", v->major, v->minor, v->patch,
             v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : "other runtime", sc_engine_isa(),
             sc_engine_threads());
    return buf;
}

void sc_engine_set_winograd(int on) { atomic_store(&g_no_winograd, !on); }
int sc_engine_winograd(void) { return !atomic_load(&g_no_winograd); }
void sc_engine_set_fold(int on) { atomic_store(&g_no_fold, !on); }
int sc_engine_fold(void) { return !atomic_load(&g_no_fold); }
void sc_engine_set_layers(int on) { atomic_store(&g_no_layers, !on); }
int sc_engine_layers(void) { return !atomic_load(&g_no_layers); }
