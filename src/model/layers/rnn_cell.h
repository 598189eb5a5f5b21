/* model/layers/rnn_cell.h — the recurrence shared by SimpleRNN, LSTM, GRU and Bidirectional.
 * Internal.
 *
 * Keras 2 definitions (tf_keras/layers/rnn/{simple_rnn,lstm,gru}.py, the non-cuDNN path):
 *   SimpleRNN  h = act(x W + b + h U)
 *   LSTM       z = x W + b + h U, gates i f c o:  c = ra(f) c + ra(i) act(c~);  h = ra(o) act(c)
 *   GRU        gates z r h.  reset_after: bias [2, 3u] (input row, recurrent row),
 *                hh = act(x Wh + bi_h + ra(r) (h Uh + br_h));
 *              otherwise bias [3u], hh = act(x Wh + b_h + (ra(r) h) Uh);  h = z h + (1 - z) hh
 * Initial states are zero (stateful=True is refused). All timesteps' input projections are one
 * GEMM; each step is one GEMM of the state with the recurrent kernel.
 */
#ifndef SC_MODEL_LAYERS_RNN_CELL_H
#define SC_MODEL_LAYERS_RNN_CELL_H

#include "model/layers/layers.h"

typedef enum { SC_RNN_SIMPLE, SC_RNN_LSTM, SC_RNN_GRU } sc_rnn_kind;

typedef struct sc_rnn_cfg {
    sc_rnn_kind kind;
    int64_t units;
    int gates; /* 1, 4, 3 */
    int use_bias, return_sequences, go_backwards, reset_after;
    int return_state; /* the call also returns the final states: h (and c for LSTM) */
    sc_activation act, rec_act;
} sc_rnn_cfg;

/* Reads an RNN layer config (class SimpleRNN / LSTM / GRU) of layer L (names in messages).
 * Refuses stateful=True and time_major=True by name. */
sc_status sc_rnn_parse(const sc_layer *L, const char *class_name, const json_t *cfg, sc_rnn_cfg *r,
                       sc_error *err);
/* Declares the cell's kernel, recurrent_kernel, bias as `<prefix>cell/<name>` (TF checkpoint
 * key form), Keras 3 .weights.h5 object `h5_sub`. */
sc_status sc_rnn_declare(sc_layer *L, const sc_rnn_cfg *r, const char *prefix, const char *h5_sub,
                         int64_t in_dim, sc_error *err);
/* x[0..n) = a(x): sigmoid and tanh vectorised where the CPU allows (rnn_simd.c), the other
 * activations as sc_activation_apply. */
void sc_rnn_act(sc_activation a, float *x, size_t n);
/* Number of state tensors: 2 for LSTM (h, c), else 1 (h). */
static inline int sc_rnn_num_states(const sc_rnn_cfg *r) { return r->kind == SC_RNN_LSTM ? 2 : 1; }
/* Scratch floats for one run over [B, T, F]. */
size_t sc_rnn_scratch(const sc_rnn_cfg *r, int B, int T);
/* Runs the layer over x [B, T, F] with the variables starting at vars[0]. Writes the output
 * sequence (return_sequences: row (b, p) at out + (b*T + p)*ld) or the last state (row b at
 * out + b*ld). Position p is the step index s in processing order (Keras: a go_backwards
 * layer's sequence comes out reversed), or T-1-s when `flip` (Bidirectional reverses its
 * backward layer's sequence). */
/* mask [B, T] (NULL = none): a masked step leaves the state as it was and outputs the previous
 * output, or zeros when zero_output (Bidirectional forces that when returning sequences).
 * states[k] (NULL, or an array of sc_rnn_num_states pointers, each NULL or [B, units]) receive
 * the final states h (and c). */
void sc_rnn_run(const sc_rnn_cfg *r, const sc_variable *vars, int B, int T, int F, const float *x,
                const float *mask, int zero_output, float *out, int ld, int flip, float *scratch,
                float *const *states);

#endif
