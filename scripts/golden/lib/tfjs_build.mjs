// Builds the TensorFlow.js oracle model from the same case description that
// keras_json.mjs turns into Keras JSON. Where tfjs lacks a Keras layer or
// activation, or computes it differently (DESIGN.md §6), a small custom layer
// implements the Keras definition with tfjs ops; every such use is recorded in
// `notes` and ends up in the manifest with oracle "keras-definition".
import * as tf from '@tensorflow/tfjs';

// A layer whose forward pass is a given function of tfjs tensors.
class KerasDefLayer extends tf.layers.Layer {
  static className = 'SidecarKerasDef';
  constructor({ name, fn, shapeFn, varShapes }) {
    super({ name });
    this.fn = fn;
    this.shapeFn = shapeFn;
    this.varShapes = varShapes ?? [];
    this.values = null; // set by setKerasWeights
  }
  computeOutputShape(s) {
    if (this.shapeFn) return this.shapeFn(s);
    return Array.isArray(s[0]) || s[0] === undefined ? s[0] : s;
  }
  call(inputs) {
    return tf.tidy(() => {
      const xs = Array.isArray(inputs) && inputs.length === 1 ? inputs[0] : inputs;
      return this.fn(xs, this.values);
    });
  }
  getClassName() { return KerasDefLayer.className; }
}
tf.serialization.registerClass(KerasDefLayer);

// Keras activation name -> tfjs identifier, or a Keras-definition function.
function activationImpl(name, v) {
  switch (name ?? 'linear') {
    case 'linear': case 'relu': case 'relu6': case 'sigmoid': case 'tanh': case 'softmax':
    case 'softplus': case 'softsign': case 'elu': case 'selu': case 'mish':
      return { tfjs: name ?? 'linear' };
    case 'gelu':
      return { tfjs: 'gelu', note: 'tfjs gelu = 0.5x(1+erf(x/sqrt2)) with an erf approximation good to ~1.5e-7 (Keras: exact erf)' };
    case 'gelu_approximate':
      return { tfjs: 'gelu_new', note: "tfjs 'gelu_new' = 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))), Keras gelu(approximate=True)" };
    case 'swish': case 'silu':
      return { tfjs: 'swish', note: `Keras '${name}' mapped to tfjs 'swish' (x*sigmoid(x))` };
    case 'hard_sigmoid':
      if (v === 2) return { tfjs: 'hardSigmoid', note: 'Keras 2 hard_sigmoid = clip(0.2x+0.5, 0, 1) = tfjs hardSigmoid' };
      return { fn: (x) => tf.div(tf.relu6(tf.add(x, 3)), 6), def: 'Keras 3 hard_sigmoid = relu6(x+3)/6 (tfjs has only the Keras 2 form)' };
    case 'exponential':
      return { fn: (x) => tf.exp(x), def: 'exponential = exp(x) (unknown to tfjs)' };
    case 'leaky_relu':
      return { fn: (x) => tf.leakyRelu(x, 0.2), def: 'Keras 3 leaky_relu activation, negative_slope 0.2 (unknown to tfjs)' };
    default: throw new Error(`no activation implementation for ${name}`);
  }
}

const camel = (a) => ({ kernelSize: a.kernel_size, strides: a.strides ?? 1, padding: a.padding ?? 'valid',
  dilationRate: a.dilation_rate ?? 1, useBias: a.use_bias ?? true });

const identityDef = (what) => ({ fn: (x) => x, def: `${what}: identity at evaluation` });

// Returns {layer, def?} where def is the Keras-definition note if custom.
function makeLayer(l, v, inShape) {
  const a = l.args ?? {};
  const name = l.name;
  const T = tf.layers;
  switch (l.cls) {
    case 'Dense': return { layer: T.dense({ name, units: a.units, useBias: a.use_bias ?? true }) };
    case 'Conv1D': return { layer: T.conv1d({ name, filters: a.filters, ...camel(a) }) };
    case 'Conv2D': return { layer: T.conv2d({ name, filters: a.filters, ...camel(a) }) };
    case 'DepthwiseConv2D':
      return { layer: T.depthwiseConv2d({ name, depthMultiplier: a.depth_multiplier ?? 1, ...camel(a) }) };
    case 'SeparableConv2D':
      return { layer: T.separableConv2d({ name, filters: a.filters, depthMultiplier: a.depth_multiplier ?? 1,
        ...camel(a) }) };
    case 'MaxPooling1D': case 'AveragePooling1D': case 'MaxPooling2D': case 'AveragePooling2D': {
      const f = { MaxPooling1D: 'maxPooling1d', AveragePooling1D: 'averagePooling1d',
        MaxPooling2D: 'maxPooling2d', AveragePooling2D: 'averagePooling2d' }[l.cls];
      return { layer: T[f]({ name, poolSize: a.pool_size ?? 2, strides: a.strides ?? a.pool_size ?? 2,
        padding: a.padding ?? 'valid' }) };
    }
    case 'GlobalAveragePooling1D': return { layer: T.globalAveragePooling1d({ name }) };
    case 'GlobalAveragePooling2D': return { layer: T.globalAveragePooling2d({ name }) };
    case 'GlobalMaxPooling1D': return { layer: T.globalMaxPooling1d({ name }) };
    case 'GlobalMaxPooling2D': return { layer: T.globalMaxPooling2d({ name }) };
    case 'Flatten': return { layer: T.flatten({ name }) };
    case 'Reshape': return { layer: T.reshape({ name, targetShape: a.target_shape }) };
    case 'Permute': return { layer: T.permute({ name, dims: a.dims }) };
    case 'RepeatVector': return { layer: T.repeatVector({ name, n: a.n }) };
    case 'ZeroPadding2D': return { layer: T.zeroPadding2d({ name, padding: a.padding }) };
    case 'Cropping2D': return { layer: T.cropping2D({ name, cropping: a.cropping }) };
    case 'UpSampling2D': {
      const size = Array.isArray(a.size) ? a.size : [a.size ?? 2, a.size ?? 2];
      if ((a.interpolation ?? 'nearest') === 'nearest') return { layer: T.upSampling2d({ name, size }) };
      return { fn: (x) => tf.image.resizeBilinear(x, [x.shape[1] * size[0], x.shape[2] * size[1]], false, true),
        shapeFn: (s) => [s[0], s[1] * size[0], s[2] * size[1], s[3]],
        def: 'UpSampling2D bilinear: Keras 2 calls tf.image.resize = resize_bilinear(half_pixel_centers=True); the tfjs layer uses half_pixel_centers=False' };
    }
    case 'Conv2DTranspose': case 'Conv1DTranspose':
      if (l.cls === 'Conv2DTranspose' && a.output_padding === undefined && (a.dilation_rate ?? 1) === 1)
        return { layer: T.conv2dTranspose({ name, filters: a.filters, ...camel(a) }) };
      return convTransposeDef(l.cls === 'Conv1DTranspose' ? 1 : 2, a, inShape);
    case 'Attention': case 'AdditiveAttention': {
      // tf_keras 2.15 attention.py / additive_attention.py with tfjs ops (no tfjs layer).
      const additive = l.cls === 'AdditiveAttention', useScale = a.use_scale ?? additive;
      const concat = (a.score_mode ?? 'dot') === 'concat';
      const dv = inShape[inShape.length - 1];
      const vars = [];
      if (useScale) vars.push({ name: 'scale', shape: additive ? [dv] : [] });
      if (concat) vars.push({ name: 'concat_score_weight', shape: [] });
      return {
        fn: (xs, w) => {
          const [q, v] = xs, k = xs[2] ?? v;
          const scale = useScale ? w[0] : null;
          let scores;
          if (!additive && !concat) {
            scores = tf.matMul(q, k, false, true);
            if (scale) scores = tf.mul(scores, scale);
          } else {
            const sum = tf.add(tf.expandDims(q, -2), tf.expandDims(k, -3));
            if (additive) scores = tf.sum(scale ? tf.mul(scale, tf.tanh(sum)) : tf.tanh(sum), -1);
            else scores = tf.mul(w[useScale ? 1 : 0], tf.sum(tf.tanh(scale ? tf.mul(scale, sum) : sum), -1));
          }
          return tf.matMul(tf.softmax(scores), v);
        },
        shapeFn: (s) => [s[0][0], s[0][1], s[1][2]],
        varShapes: vars,
        def: `${l.cls} (no tfjs layer): tf_keras 2.15 score, softmax over the keys, weights @ value`,
      };
    }
    case 'SeparableConv1D': {
      // tf_keras SeparableConv1D: TF's separable_conv2d on [B, 1, steps, C]; causal = left zeros.
      const C = inShape[inShape.length - 1], M = a.depth_multiplier ?? 1, k = a.kernel_size, s = a.strides ?? 1;
      const d = a.dilation_rate ?? 1, pad = a.padding ?? 'valid', bias = a.use_bias ?? true;
      const eff = (k - 1) * d + 1;
      const len = (n) => (pad === 'same' ? Math.ceil(n / s) : Math.floor((n + (pad === 'causal' ? eff - 1 : 0) - eff) / s) + 1);
      return {
        fn: (x, w) => {
          let x4 = tf.expandDims(pad === 'causal' ? tf.pad(x, [[0, 0], [eff - 1, 0], [0, 0]]) : x, 1);
          let y = tf.separableConv2d(x4, tf.expandDims(w[0], 0), tf.expandDims(w[1], 0), [1, s],
            pad === 'same' ? 'same' : 'valid', [1, d]);
          if (bias) y = tf.add(y, w[2]);
          return tf.squeeze(y, [1]);
        },
        shapeFn: (sh) => [sh[0], len(sh[1]), a.filters],
        varShapes: [{ name: 'depthwise_kernel', shape: [k, C, M] }, { name: 'pointwise_kernel', shape: [1, C * M, a.filters] },
          ...(bias ? [{ name: 'bias', shape: [a.filters] }] : [])],
        def: 'SeparableConv1D (no tfjs layer): tf.separableConv2d on [B, 1, steps, C], causal = left zero padding',
      };
    }
    case 'ZeroPadding1D': {
      const p = Array.isArray(a.padding) ? a.padding : [a.padding ?? 1, a.padding ?? 1];
      return { fn: (x) => tf.pad(x, [[0, 0], p, [0, 0]]), shapeFn: (s) => [s[0], s[1] + p[0] + p[1], s[2]],
        def: 'ZeroPadding1D: zeros before/after the steps (no tfjs layer)' };
    }
    case 'Cropping1D': {
      const c = Array.isArray(a.cropping) ? a.cropping : [a.cropping ?? 1, a.cropping ?? 1];
      return { fn: (x) => tf.slice(x, [0, c[0], 0], [-1, x.shape[1] - c[0] - c[1], -1]),
        shapeFn: (s) => [s[0], s[1] - c[0] - c[1], s[2]], def: 'Cropping1D: drops steps at both ends (no tfjs layer)' };
    }
    case 'Dropout': return { layer: T.dropout({ name, rate: a.rate }) };
    case 'AlphaDropout': return { layer: T.alphaDropout({ name, rate: a.rate }) };
    case 'GaussianNoise': return { layer: T.gaussianNoise({ name, stddev: a.stddev }) };
    case 'GaussianDropout': return { layer: T.gaussianDropout({ name, rate: a.rate }) };
    case 'SpatialDropout2D': return identityDef('SpatialDropout2D (tfjs has only SpatialDropout1D)');
    case 'BatchNormalization':
      return { layer: T.batchNormalization({ name, axis: a.axis ?? -1, epsilon: a.epsilon ?? 0.001 }) };
    case 'LayerNormalization':
      return { layer: T.layerNormalization({ name, axis: a.axis ?? -1, epsilon: a.epsilon ?? 0.001 }) };
    case 'Activation': return { act: a.activation, layer: null };
    case 'ReLU':
      if (!a.negative_slope && !a.threshold) return { layer: T.reLU({ name, maxValue: a.max_value }) };
      return { fn: (x) => kerasRelu(x, a), def: 'ReLU with negative_slope/threshold (tfjs ReLU has only maxValue): x if threshold<=x<max_value, max_value above, negative_slope*(x-threshold) below' };
    case 'LeakyReLU': return { layer: T.leakyReLU({ name, alpha: a.alpha ?? 0.3 }) };
    case 'PReLU': return { layer: T.prelu({ name }) };
    case 'ELU':
      if ((a.alpha ?? 1.0) === 1.0) return { layer: T.elu({ name }) };
      return { fn: (x) => tf.where(tf.greater(x, 0), x, tf.mul(tf.expm1(x), a.alpha)),
        def: 'ELU with alpha != 1 (tfjs ELU layer rejects it): x if x>0 else alpha*(exp(x)-1)' };
    case 'Softmax': return { layer: T.softmax({ name, axis: a.axis ?? -1 }) };
    case 'Embedding': return { layer: T.embedding({ name, inputDim: a.input_dim, outputDim: a.output_dim,
      maskZero: a.mask_zero ?? false }) };
    case 'Masking': return { layer: T.masking({ name, maskValue: a.mask_value ?? 0 }) };
    case 'Add': return { layer: T.add({ name }) };
    case 'Multiply': return { layer: T.multiply({ name }) };
    case 'Average': return { layer: T.average({ name }) };
    case 'Maximum': return { layer: T.maximum({ name }) };
    case 'Minimum': return { layer: T.minimum({ name }) };
    case 'Concatenate': return { layer: T.concatenate({ name, axis: a.axis ?? -1 }) };
    case 'Subtract':
      return { fn: (xs) => tf.sub(xs[0], xs[1]), def: 'Subtract = x0 - x1 (no tfjs layer)' };
    case 'Rescaling': return { layer: T.rescaling({ name, scale: a.scale, offset: a.offset ?? 0 }) };
    case 'Normalization': {
      const d = inShape[inShape.length - 1];
      const fromConfig = a.mean !== undefined && a.mean !== null;
      return {
        fn: (x, w) => {
          const mean = fromConfig ? tf.tensor1d(a.mean) : w[0];
          const variance = fromConfig ? tf.tensor1d(a.variance) : w[1];
          return tf.div(tf.sub(x, mean), tf.maximum(tf.sqrt(variance), 1e-7));
        },
        // Adapted layers hold mean, variance and an int64 scalar `count` (unused in call).
        varShapes: fromConfig ? [] : [{ name: 'mean', shape: [d] }, { name: 'variance', shape: [d] },
          { name: 'count', shape: [], dtype: 'int64' }],
        def: 'Normalization = (x-mean)/max(sqrt(variance), 1e-7) (no tfjs layer)',
      };
    }
    case 'SimpleRNN': case 'LSTM': case 'GRU':
      if (l.cls === 'GRU' && (a.reset_after ?? true)) return gruResetAfterDef(a, v, inShape, false);
      return { layer: tfjsRnn(l.cls, { name, ...a }, v), subs: () => 'cell' };
    case 'Bidirectional': {
      const inner = a.layer;
      const mode = a.merge_mode === undefined ? 'concat' : a.merge_mode;
      if (inner.cls === 'GRU' && (inner.args.reset_after ?? true)) return gruResetAfterDef(inner.args, v, inShape, mode);
      return { layer: T.bidirectional({ name, layer: tfjsRnn(inner.cls, { name: inner.name, ...inner.args }, v),
        mergeMode: mode }), subs: (i, n) => (i < n / 2 ? 'forward_layer/cell' : 'backward_layer/cell') };
    }
    case 'TimeDistributed': {
      const inner = a.layer;
      if (inner.cls !== 'Dense') throw new Error('tfjs_build: TimeDistributed cases wrap Dense');
      const act = activationImpl(inner.args.activation, v);
      if (!act.tfjs) throw new Error('tfjs_build: TimeDistributed(Dense) needs a tfjs activation');
      return { layer: T.timeDistributed({ name, layer: T.dense({ name: inner.name, units: inner.args.units,
        useBias: inner.args.use_bias ?? true, activation: act.tfjs }) }), subs: () => 'layer' };
    }
    default: throw new Error(`tfjs_build: no builder for ${l.cls}`);
  }
}

// Conv{1,2}DTranspose as Keras computes it: the output length of conv_utils.deconv_output_length,
// then TF's conv2d_transpose to that shape (tfjs' op pads as TF does); 1D runs as H = 1.
function convTransposeDef(rank, a, inShape) {
  const t = (x) => (Array.isArray(x) ? x : Array(rank).fill(x));
  const k = t(a.kernel_size), s = t(a.strides ?? 1), op = a.output_padding === undefined ? null : t(a.output_padding);
  const same = (a.padding ?? 'valid') === 'same';
  const len = (i, n) => (op === null ? (same ? n * s[i] : n * s[i] + Math.max(k[i] - s[i], 0))
    : (n - 1) * s[i] + k[i] - 2 * (same ? Math.floor(k[i] / 2) : 0) + op[i]);
  const C = inShape[inShape.length - 1];
  const kshape = rank === 2 ? [k[0], k[1], a.filters, C] : [k[0], a.filters, C];
  return {
    fn: (x, w) => {
      const x4 = rank === 2 ? x : tf.expandDims(x, 1);
      const w4 = rank === 2 ? w[0] : tf.expandDims(w[0], 0);
      const oh = rank === 2 ? len(0, x.shape[1]) : 1, ow = len(rank - 1, x.shape[rank]);
      let y = tf.conv2dTranspose(x4, w4, [x.shape[0], oh, ow, a.filters], rank === 2 ? s : [1, s[0]], same ? 'same' : 'valid');
      if (a.use_bias ?? true) y = tf.add(y, w[1]);
      return rank === 2 ? y : tf.squeeze(y, [1]);
    },
    shapeFn: (sh) => (rank === 2 ? [sh[0], len(0, sh[1]), len(1, sh[2]), a.filters] : [sh[0], len(0, sh[1]), a.filters]),
    varShapes: [{ name: 'kernel', shape: kshape }, ...(a.use_bias ?? true ? [{ name: 'bias', shape: [a.filters] }] : [])],
    def: `${rank === 2 ? 'Conv2DTranspose with output_padding' : 'Conv1DTranspose (no tfjs layer)'}: Keras deconv_output_length, then tf.conv2dTranspose to that shape`,
  };
}

const tfjsAct = (name, v) => {
  const impl = activationImpl(name, v);
  if (!impl.tfjs) throw new Error(`tfjs_build: recurrent activation ${name} needs a tfjs implementation`);
  return impl.tfjs;
};

// A tfjs SimpleRNN / LSTM / GRU(reset_after=False) layer from Keras args.
function tfjsRnn(cls, a, v) {
  const f = { SimpleRNN: 'simpleRNN', LSTM: 'lstm', GRU: 'gru' }[cls];
  const args = { name: a.name, units: a.units, activation: tfjsAct(a.activation ?? 'tanh', v),
    useBias: a.use_bias ?? true, returnSequences: a.return_sequences ?? false,
    goBackwards: a.go_backwards ?? false };
  // tfjs' default recurrent activation is hard_sigmoid; Keras 2.x's is sigmoid.
  if (cls !== 'SimpleRNN') args.recurrentActivation = tfjsAct(a.recurrent_activation ?? 'sigmoid', v);
  if (cls === 'GRU') args.resetAfter = false;
  return tf.layers[f](args);
}

const ACT_FN = { tanh: tf.tanh, sigmoid: tf.sigmoid, relu: tf.relu, linear: (x) => x,
  hard_sigmoid_2: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
  hard_sigmoid_3: (x) => tf.div(tf.relu6(tf.add(x, 3)), 6) };
const actFn = (name, v) => ACT_FN[name === 'hard_sigmoid' ? `hard_sigmoid_${v}` : name];

// Keras GRU with reset_after=True (the TF2 default; tfjs' GRUCell refuses it), written from
// tf_keras gru.py GRUCell.call with tfjs float32 ops. bias [2, 3u]: input row, recurrent row.
function gruSteps(x, w, a, v, backwards) {
  const [W, U, b] = w;
  const useBias = a.use_bias ?? true;
  const [B, T] = x.shape;
  const act = actFn(a.activation ?? 'tanh', v), ract = actFn(a.recurrent_activation ?? 'sigmoid', v);
  const [bi, br] = useBias ? tf.unstack(b) : [null, null];
  let h = tf.zeros([B, a.units]);
  const outs = [];
  for (let s = 0; s < T; s++) {
    const t = backwards ? T - 1 - s : s;
    const xt = tf.reshape(tf.slice(x, [0, t, 0], [-1, 1, -1]), [B, x.shape[2]]);
    let mx = tf.matMul(xt, W), mi = tf.matMul(h, U);
    if (useBias) { mx = tf.add(mx, bi); mi = tf.add(mi, br); }
    const [xz, xr, xh] = tf.split(mx, 3, 1), [rz, rr, rh] = tf.split(mi, 3, 1);
    const z = ract(tf.add(xz, rz)), r = ract(tf.add(xr, rr));
    const hh = act(tf.add(xh, tf.mul(r, rh)));
    h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
    outs.push(h);
  }
  return a.return_sequences ? tf.stack(outs, 1) : h;
}

// GRU(reset_after=True), alone (mode false) or in Bidirectional with merge `mode`.
function gruResetAfterDef(a, v, inShape, mode) {
  const u = a.units, F = inShape[inShape.length - 1];
  const cell = (sub) => [{ name: 'kernel', shape: [F, 3 * u], sub }, { name: 'recurrent_kernel', shape: [u, 3 * u], sub },
    ...(a.use_bias ?? true ? [{ name: 'bias', shape: [2, 3 * u], sub }] : [])];
  const seq = a.return_sequences ?? false;
  if (mode === false) {
    return { fn: (x, w) => gruSteps(x, w, a, v, a.go_backwards ?? false), varShapes: cell('cell'),
      shapeFn: (s) => (seq ? [s[0], s[1], u] : [s[0], u]),
      rnn: true, def: 'GRU reset_after=True (tfjs GRUCell refuses it): tf_keras GRUCell.call with tfjs ops' };
  }
  const n = cell('forward_layer/cell').length;
  const width = mode === 'concat' ? 2 * u : u;
  return {
    fn: (x, w) => {
      const y = gruSteps(x, w.slice(0, n), a, v, a.go_backwards ?? false);
      let yr = gruSteps(x, w.slice(n), a, v, !(a.go_backwards ?? false));
      if (seq) yr = tf.reverse(yr, 1);
      switch (mode) {
        case 'concat': return tf.concat([y, yr], -1);
        case 'sum': return tf.add(y, yr);
        case 'mul': return tf.mul(y, yr);
        case 'ave': return tf.div(tf.add(y, yr), 2);
        default: throw new Error(`merge_mode ${mode}`);
      }
    },
    varShapes: [...cell('forward_layer/cell'), ...cell('backward_layer/cell')], rnn: true,
    shapeFn: (s) => (seq ? [s[0], s[1], width] : [s[0], width]),
    def: 'Bidirectional(GRU reset_after=True) (tfjs GRUCell refuses reset_after): tf_keras GRUCell.call with tfjs ops, backward sequence reversed back, merged',
  };
}

function kerasRelu(x, a) {
  const th = a.threshold ?? 0;
  const slope = a.negative_slope ?? 0;
  let y = tf.where(tf.greaterEqual(x, th), x, tf.mul(tf.sub(x, th), slope));
  if (a.max_value !== undefined && a.max_value !== null) y = tf.minimum(y, a.max_value);
  return y;
}

// Builds the model. Returns {model, shapes, layers: [{spec, tfLayer, kerasVars}], notes}.
export function buildTfjs(c) {
  const v = c.keras;
  const sym = {};
  const shapes = {};
  const notes = [];
  const inputs = c.inputs.map((inp) => {
    const t = tf.input({ name: inp.name, shape: inp.shape, dtype: inp.dtype ?? 'float32' });
    sym[inp.name] = t;
    shapes[inp.name] = { inShapes: [[null, ...inp.shape]], outShape: [null, ...inp.shape] };
    return t;
  });
  const built = [];
  let prev = c.inputs[0].name;
  for (const l of c.layers) {
    if (c.model === 'Sequential') l.inputs = [prev];
    const ins = l.inputs.map((n) => sym[n]);
    const inShapes = ins.map((t) => t.shape);
    const m = makeLayer(l, v, inShapes[0]);
    // Recurrent layers and wrappers apply their activations inside.
    let act = l.cls === 'Activation' ? l.args.activation : m.subs || m.rnn ? undefined : l.args?.activation;
    let out;
    let tfLayer = m.layer ?? null;
    if (m.fn) {
      tfLayer = new KerasDefLayer({ name: l.name, fn: m.fn, shapeFn: m.shapeFn, varShapes: m.varShapes });
      notes.push({ layer: l.name, what: l.cls, oracle: 'keras-definition', how: m.def });
    }
    if (tfLayer) out = tfLayer.apply(ins.length === 1 ? ins[0] : ins);
    else out = ins[0]; // Activation layer: the activation below is the whole layer
    if (act !== undefined && act !== 'linear') {
      const impl = activationImpl(act, v);
      if (impl.note) notes.push({ layer: l.name, what: `activation ${act}`, oracle: 'tfjs', how: impl.note });
      if (impl.tfjs) {
        out = tf.layers.activation({ name: `${l.name}__act`, activation: impl.tfjs }).apply(out);
      } else {
        notes.push({ layer: l.name, what: `activation ${act}`, oracle: 'keras-definition', how: impl.def });
        out = new KerasDefLayer({ name: `${l.name}__act`, fn: impl.fn }).apply(out);
      }
    }
    sym[l.name] = out;
    shapes[l.name] = { inShapes, outShape: out.shape };
    built.push({ spec: l, tfLayer, subs: m.subs });
    prev = l.name;
  }
  const outNames = c.model === 'Sequential' ? [prev] : c.outputs;
  if (c.model === 'Sequential') c.outputs = outNames;
  const model = tf.model({ inputs, outputs: outNames.map((n) => sym[n]) });
  // Keras variable lists, in Keras order (tfjs uses the same order and names).
  for (const b of built) {
    if (b.tfLayer instanceof KerasDefLayer) {
      b.kerasVars = b.tfLayer.varShapes.map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype ?? 'float32',
        sub: s.sub }));
    } else if (b.tfLayer) {
      const n = b.tfLayer.weights.length;
      b.kerasVars = b.tfLayer.weights.map((w, i) => ({ name: w.originalName.split('/').pop(), shape: w.shape,
        dtype: 'float32', sub: b.subs ? b.subs(i, n) : undefined }));
    } else {
      b.kerasVars = [];
    }
  }
  return { model, shapes, layers: built, notes };
}

export function setKerasWeights(b, arrays) {
  if (b.kerasVars.length === 0) return;
  const ts = arrays.filter((a) => a instanceof Float32Array)
    .map((a, i) => tf.tensor(a, b.kerasVars[i].shape, 'float32'));
  if (b.tfLayer instanceof KerasDefLayer) b.tfLayer.values = ts;
  else b.tfLayer.setWeights(ts);
}
