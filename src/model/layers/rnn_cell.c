/* The recurrence of SimpleRNN, LSTM and GRU (definitions in rnn_cell.h). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/rnn_cell.h"
#include "tensor/gemm.h"

sc_status sc_rnn_parse(const sc_layer *L, const char *cls, const json_t *cfg, sc_rnn_cfg *r,
                       sc_error *err) {
    memset(r, 0, sizeof *r);
    if (!strcmp(cls, "SimpleRNN"))
        r->kind = SC_RNN_SIMPLE, r->gates = 1;
    else if (!strcmp(cls, "LSTM"))
        r->kind = SC_RNN_LSTM, r->gates = 4;
    else if (!strcmp(cls, "GRU"))
        r->kind = SC_RNN_GRU, r->gates = 3;
    else
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (%s): wrapped layer class '%s' is not "
                            "supported (SimpleRNN, LSTM, GRU are)",
                            L->name, L->class_name, cls);
    sc_status s;
    int stateful, time_major;
    if ((s = sc_cfg_int(L, cfg, "units", 0, &r->units, err))
        || (s = sc_cfg_bool(L, cfg, "use_bias", 1, &r->use_bias, err))
        || (s = sc_cfg_bool(L, cfg, "return_sequences", 0, &r->return_sequences, err))
        || (s = sc_cfg_bool(L, cfg, "go_backwards", 0, &r->go_backwards, err))
        || (s = sc_cfg_bool(L, cfg, "reset_after", 1, &r->reset_after, err))
        || (s = sc_cfg_bool(L, cfg, "stateful", 0, &stateful, err))
        || (s = sc_cfg_bool(L, cfg, "return_state", 0, &r->return_state, err))
        || (s = sc_cfg_bool(L, cfg, "time_major", 0, &time_major, err))
        || (s = sc_cfg_activation_key(L, cfg, "activation", "tanh", &r->act, err))
        || (s = sc_cfg_activation_key(L, cfg, "recurrent_activation", "sigmoid", &r->rec_act, err)))
        return s;
    if (r->kind != SC_RNN_GRU) r->reset_after = 0;
    if (r->units <= 0 || r->units > (1 << 20))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): units must be in 1..%d",
                            L->name, cls, 1 << 20);
    /* The state carried between batches has no meaning for a held-out evaluation. */
    if (stateful)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (%s): stateful=True is not supported "
                            "(evaluation starts every sequence from a zero state)",
                            L->name, cls);
    if (time_major)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (%s): time_major=True is not "
                            "supported",
                            L->name, cls);
    return SC_OK;
}

sc_status sc_rnn_declare(sc_layer *L, const sc_rnn_cfg *r, const char *prefix, const char *h5_sub,
                         int64_t in_dim, sc_error *err) {
    int64_t gu = r->gates * r->units;
    sc_shape k = {2, {in_dim, gu}}, rk = {2, {r->units, gu}};
    sc_shape b = r->reset_after ? (sc_shape){2, {2, gu}} : (sc_shape){1, {gu}};
    const char *names[3] = {"kernel", "recurrent_kernel", "bias"};
    const sc_shape *shapes[3] = {&k, &rk, &b};
    for (int i = 0; i < (r->use_bias ? 3 : 2); i++) {
        char name[128];
        snprintf(name, sizeof name, "%scell/%s", prefix, names[i]);
        sc_status s = sc_layer_add_variable(L, name, shapes[i], err);
        if (s) return s;
        sc_variable *v = sc_layer_var(L, L->num_vars - 1);
        v->h5_sub = h5_sub;
        v->h5_index = i;
    }
    return SC_OK;
}

size_t sc_rnn_scratch(const sc_rnn_cfg *r, int B, int T) {
    size_t gu = (size_t)r->gates * (size_t)r->units, u = (size_t)r->units;
    return (size_t)B * (size_t)T * gu + (size_t)B * gu + 3 * (size_t)B * u;
}

static void act(sc_activation a, float *x, size_t n) { sc_rnn_act(a, x, n); }

void sc_rnn_run(const sc_rnn_cfg *r, const sc_variable *vars, int B, int T, int F, const float *x,
                const float *mask, int zero_output, float *out, int ld, int flip, float *scratch,
                float *const *states) {
    const int u = (int)r->units, gu = r->gates * u;
    const float *W = vars[0].data, *U = vars[1].data;
    const float *bias = r->use_bias ? vars[2].data : NULL;
    float *xp = scratch;                 /* [B*T, gu]: x W + input bias */
    float *rp = xp + (size_t)B * T * gu; /* [B, gu]: h U (+ recurrent bias) */
    float *h = rp + (size_t)B * gu, *c = h + (size_t)B * u, *tmp = c + (size_t)B * u;

    float beta = 0.0f;
    if (bias) {
        for (size_t i = 0; i < (size_t)B * T; i++)
            memcpy(xp + i * gu, bias, (size_t)gu * sizeof(float));
        beta = 1.0f;
    }
    sc_gemm_f32(0, 0, B * T, gu, F, 1.0f, x, F, W, gu, beta, xp, gu);
    memset(h, 0, (size_t)B * u * sizeof(float));
    memset(c, 0, (size_t)B * u * sizeof(float));
    memset(tmp, 0, (size_t)B * u * sizeof(float));
    const float *rbias = bias && r->reset_after ? bias + gu : NULL;
    /* GRU without reset_after multiplies the reset gate in before the candidate's product. */
    const int rec_cols = r->kind == SC_RNN_GRU && !r->reset_after ? 2 * u : gu;

    for (int s = 0; s < T; s++) {
        int t = r->go_backwards ? T - 1 - s : s;
        if (rbias) {
            for (int b = 0; b < B; b++)
                memcpy(rp + (size_t)b * gu, rbias, (size_t)gu * sizeof(float));
        }
        sc_gemm_f32(0, 0, B, rec_cols, u, 1.0f, h, u, U, gu, rbias ? 1.0f : 0.0f, rp, gu);
        for (int b = 0; b < B; b++) {
            if (mask && mask[(size_t)b * T + t] == 0.0f) continue; /* state carried through */
            const float *xr = xp + ((size_t)b * T + t) * gu;
            float *g = rp + (size_t)b * gu, *hb = h + (size_t)b * u, *cb = c + (size_t)b * u;
            float *tb = tmp + (size_t)b * u;
            if (r->kind == SC_RNN_SIMPLE) {
                for (int j = 0; j < u; j++) hb[j] = xr[j] + g[j];
                act(r->act, hb, (size_t)u);
            } else if (r->kind == SC_RNN_LSTM) {
                for (int j = 0; j < gu; j++) g[j] += xr[j];
                act(r->rec_act, g, (size_t)u);         /* i */
                act(r->rec_act, g + u, (size_t)u);     /* f */
                act(r->act, g + 2 * u, (size_t)u);     /* c~ */
                act(r->rec_act, g + 3 * u, (size_t)u); /* o */
                for (int j = 0; j < u; j++) tb[j] = cb[j] = g[u + j] * cb[j] + g[j] * g[2 * u + j];
                act(r->act, tb, (size_t)u);
                for (int j = 0; j < u; j++) hb[j] = g[3 * u + j] * tb[j];
            } else {
                for (int j = 0; j < 2 * u; j++) g[j] += xr[j];
                act(r->rec_act, g, (size_t)u);     /* z */
                act(r->rec_act, g + u, (size_t)u); /* r */
                if (!r->reset_after) { /* the candidate needs (r h) Uh: one GEMM below */
                    for (int j = 0; j < u; j++) tb[j] = g[u + j] * hb[j];
                    continue;
                }
                for (int j = 0; j < u; j++) tb[j] = xr[2 * u + j] + g[u + j] * g[2 * u + j];
                act(r->act, tb, (size_t)u);
                for (int j = 0; j < u; j++) hb[j] = g[j] * hb[j] + (1.0f - g[j]) * tb[j];
            }
        }
        if (r->kind == SC_RNN_GRU && !r->reset_after) {
            /* hh = act(x Wh + b_h + (r h) Uh), into the (unused) candidate columns of rp. */
            for (int b = 0; b < B; b++)
                memcpy(rp + (size_t)b * gu + 2 * u, xp + ((size_t)b * T + t) * gu + 2 * u,
                       (size_t)u * sizeof(float));
            sc_gemm_f32(0, 0, B, u, u, 1.0f, tmp, u, U + 2 * u, gu, 1.0f, rp + 2 * u, gu);
            for (int b = 0; b < B; b++) {
                if (mask && mask[(size_t)b * T + t] == 0.0f) continue;
                float *g = rp + (size_t)b * gu, *hb = h + (size_t)b * u;
                act(r->act, g + 2 * u, (size_t)u);
                for (int j = 0; j < u; j++) hb[j] = g[j] * hb[j] + (1.0f - g[j]) * g[2 * u + j];
            }
        }
        if (r->return_sequences) {
            int p = flip ? T - 1 - s : s;
            for (int b = 0; b < B; b++) {
                float *o = out + ((size_t)b * T + p) * ld;
                if (zero_output && mask && mask[(size_t)b * T + t] == 0.0f)
                    memset(o, 0, (size_t)u * sizeof(float));
                else
                    memcpy(o, h + (size_t)b * u, (size_t)u * sizeof(float));
            }
        }
    }
    if (!r->return_sequences)
        for (int b = 0; b < B; b++)
            memcpy(out + (size_t)b * ld, h + (size_t)b * u, (size_t)u * sizeof(float));
    for (int k = 0; states && k < sc_rnn_num_states(r); k++)
        if (states[k]) memcpy(states[k], k ? c : h, (size_t)B * u * sizeof(float));
}
