/* core/nanmath.h — max/min/clamp that propagate NaN, as TensorFlow's CPU kernels do (Eigen's
 * PropagateNaN: tf.maximum, tf.nn.relu/relu6, tf.clip_by_value, max pooling). fmaxf/fminf and
 * `x > 0 ? x : 0` return the other operand for a NaN and so would turn NaN into a finite
 * number. Internal. */
#ifndef SC_CORE_NANMATH_H
#define SC_CORE_NANMATH_H

static inline float sc_maxf(float a, float b) { return (a != a || a > b) ? a : b; }
static inline float sc_minf(float a, float b) { return (a != a || a < b) ? a : b; }
static inline float sc_clampf(float x, float lo, float hi) { return sc_minf(sc_maxf(x, lo), hi); }

#endif
