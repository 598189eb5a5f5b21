/* Dense: y = act(x @ kernel + bias) over the last axis. kernel [in, units], bias [units]. */
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"
#include "tensor/gemm.h"

typedef struct {
    int64_t units;
    int use_bias;
} dense;

static sc_status init(sc_layer *L, const json_t *cfg, sc_error *err) {
    dense *d = calloc(1, sizeof *d);
    if (!d) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = d;
    sc_status s;
    if ((s = sc_cfg_int(L, cfg, "units", 0, &d->units, err))) return s;
    if ((s = sc_cfg_bool(L, cfg, "use_bias", 1, &d->use_bias, err))) return s;
    if (d->units <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Dense): units must be > 0",
                            L->name);
    return sc_cfg_activation(L, cfg, err);
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    dense *d = L->impl;
    if (n->num_inputs != 1 || n->in_shape[0].rank < 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Dense): expects one input of "
                            "rank >= 1",
                            L->name);
    const sc_shape *in = &n->in_shape[0];
    int64_t in_dim = in->dims[in->rank - 1];
    if (L->num_vars == 0) {
        sc_shape k = {2, {in_dim, d->units}}, b = {1, {d->units}};
        sc_status s = sc_layer_add_variable(L, "kernel", &k, err);
        if (!s && d->use_bias) s = sc_layer_add_variable(L, "bias", &b, err);
        if (s) return s;
    } else if (sc_layer_var(L, 0)->shape.dims[0] != in_dim) {
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Dense): called on width %lld, "
                            "built for %lld",
                            L->name, (long long)in_dim,
                            (long long)sc_layer_var(L, 0)->shape.dims[0]);
    }
    n->out_shape = *in;
    n->out_shape.dims[in->rank - 1] = d->units;
    return SC_OK;
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const dense *d = L->impl;
    const sc_shape *s = &n->in_shape[0];
    int K = (int)s->dims[s->rank - 1], N = (int)d->units;
    int M = (int)(batch * sc_shape_elems(s) / K);
    const float *kernel = sc_layer_var(L, 0)->data; /* [K, N] */
    float beta = 0.0f;
    if (d->use_bias) {
        const float *bias = sc_layer_var(L, 1)->data; /* [N] */
        for (int i = 0; i < M; i++) memcpy(out + (size_t)i * N, bias, (size_t)N * sizeof(float));
        beta = 1.0f;
    }
    sc_gemm_f32(0, 0, M, N, K, 1.0f, in[0], K, kernel, N, beta, out, N);
    return SC_OK;
}

const sc_layer_ops sc_layer_dense = {"Dense", init, infer, NULL, forward, NULL};
