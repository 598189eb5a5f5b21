// Keras model JSON (model.to_json()) from a case description, in the Keras 2
// (tf.keras 2.15) or Keras 3 (3.10-era) form of FORMATS.md §7.3. Field lists per
// layer follow each version's get_config(); args in the case use Keras' own
// snake_case names and are filled with Keras' defaults here.
import { F, pyDumps } from './io.mjs';

export const KERAS2_VERSION = '2.15.0';
export const KERAS3_VERSION = '3.10.0';

const init = (cls, config = {}) =>
  ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
const glorot = () => init('GlorotUniform', { seed: null });
const zeros = () => init('Zeros');
const ones = () => init('Ones');

function dtypeOf(v) {
  if (v === 2) return 'float32';
  return { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
}

const tuple = (x, n) => (Array.isArray(x) ? x : Array(n).fill(x));
const floatList = (a) => (a === null || a === undefined ? null : a.map((x) => F(x)));

// Activation as Keras serializes it: built-ins are plain strings. Approximate
// gelu has no built-in name in Keras; it is written as Keras 3's
// activations.serialize() writes a function registered with
// register_keras_serializable(package="sidecar") in a training script.
function activation(a, v) {
  if (a === undefined) return 'linear';
  if (a === 'gelu_approximate') {
    if (v !== 3) throw new Error('gelu_approximate is only expressed in the Keras 3 form');
    return { module: '__main__', class_name: 'function', config: 'sidecar>gelu_approximate',
      registered_name: 'sidecar>gelu_approximate' };
  }
  return a;
}

function convFields(a, v, rank, kind) {
  const c = {};
  if (kind !== 'depthwise') c.filters = a.filters;
  c.kernel_size = tuple(a.kernel_size, rank);
  c.strides = tuple(a.strides ?? 1, rank);
  c.padding = a.padding ?? 'valid';
  c.data_format = 'channels_last';
  c.dilation_rate = tuple(a.dilation_rate ?? 1, rank);
  if (kind === 'conv') c.groups = 1;
  if (kind !== 'conv') c.depth_multiplier = a.depth_multiplier ?? 1;
  c.activation = activation(a.activation, v);
  c.use_bias = a.use_bias ?? true;
  if (kind === 'conv') c.kernel_initializer = glorot();
  if (kind !== 'conv') c.depthwise_initializer = glorot();
  if (kind === 'separable') c.pointwise_initializer = glorot();
  c.bias_initializer = zeros();
  if (kind === 'conv') c.kernel_regularizer = null;
  if (kind !== 'conv') c.depthwise_regularizer = null;
  if (kind === 'separable') c.pointwise_regularizer = null;
  c.bias_regularizer = null;
  c.activity_regularizer = null;
  if (kind === 'conv') c.kernel_constraint = null;
  if (kind !== 'conv') c.depthwise_constraint = null;
  if (kind === 'separable') c.pointwise_constraint = null;
  c.bias_constraint = null;
  return c;
}

const pool = (a, rank) => ({
  pool_size: tuple(a.pool_size ?? 2, rank),
  padding: a.padding ?? 'valid',
  strides: tuple(a.strides ?? a.pool_size ?? 2, rank),
  data_format: 'channels_last',
});

// Keras 2 BN/LayerNormalization write the axis, after build, as a list of
// non-negative axes; Keras 3 keeps what was passed (an int).
function normAxis(a, v, rank) {
  const ax = a.axis ?? -1;
  if (v === 3) return ax;
  return [ax < 0 ? rank + ax : ax];
}

// Per-class config fields (without name/trainable/dtype).
function layerFields(l, v, inRank) {
  const a = l.args ?? {};
  switch (l.cls) {
    case 'Dense': {
      const c = { units: a.units, activation: activation(a.activation, v), use_bias: a.use_bias ?? true,
        kernel_initializer: glorot(), bias_initializer: zeros(), kernel_regularizer: null,
        bias_regularizer: null };
      if (v === 2) c.activity_regularizer = null;
      c.kernel_constraint = null; c.bias_constraint = null;
      if (v === 3) c.quantization_config = null;
      return c;
    }
    case 'Conv1D': return convFields(a, v, 1, 'conv');
    case 'Conv2D': return convFields(a, v, 2, 'conv');
    case 'DepthwiseConv2D': return convFields(a, v, 2, 'depthwise');
    case 'SeparableConv2D': return convFields(a, v, 2, 'separable');
    case 'MaxPooling1D': case 'AveragePooling1D': return pool(a, 1);
    case 'MaxPooling2D': case 'AveragePooling2D': return pool(a, 2);
    case 'GlobalAveragePooling1D': case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling1D': case 'GlobalMaxPooling2D':
      return { data_format: 'channels_last', keepdims: false };
    case 'Flatten': return { data_format: 'channels_last' };
    case 'Reshape': return { target_shape: a.target_shape };
    case 'Permute': return { dims: a.dims };
    case 'RepeatVector': return { n: a.n };
    case 'ZeroPadding2D': return { padding: a.padding, data_format: 'channels_last' };
    case 'Cropping2D': return { cropping: a.cropping, data_format: 'channels_last' };
    case 'UpSampling2D':
      return { size: tuple(a.size ?? 2, 2), data_format: 'channels_last', interpolation: a.interpolation ?? 'nearest' };
    case 'Dropout': case 'AlphaDropout':
      return v === 2 ? { rate: F(a.rate), noise_shape: null, seed: null }
        : { rate: F(a.rate), seed: null, noise_shape: null };
    case 'SpatialDropout2D':
      return v === 2 ? { rate: F(a.rate), noise_shape: null, seed: null }
        : { rate: F(a.rate), seed: null, noise_shape: null, data_format: 'channels_last' };
    case 'GaussianNoise': return { stddev: F(a.stddev), seed: null };
    case 'GaussianDropout': return { rate: F(a.rate), seed: null };
    case 'BatchNormalization': {
      const c = { axis: normAxis(a, v, inRank), momentum: F(0.99), epsilon: F(a.epsilon ?? 0.001),
        center: true, scale: true, beta_initializer: zeros(), gamma_initializer: ones(),
        moving_mean_initializer: zeros(), moving_variance_initializer: ones(),
        beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null };
      if (v === 3) c.synchronized = false;
      return c;
    }
    case 'LayerNormalization': {
      const c = { axis: normAxis(a, v, inRank), epsilon: F(a.epsilon ?? 0.001), center: true, scale: true };
      if (v === 3) c.rms_scaling = false;
      Object.assign(c, { beta_initializer: zeros(), gamma_initializer: ones(), beta_regularizer: null,
        gamma_regularizer: null, beta_constraint: null, gamma_constraint: null });
      return c;
    }
    case 'Activation': return { activation: activation(a.activation, v) };
    case 'ReLU':
      return { max_value: a.max_value === undefined ? null : F(a.max_value),
        negative_slope: F(a.negative_slope ?? 0), threshold: F(a.threshold ?? 0) };
    case 'LeakyReLU': return v === 2 ? { alpha: F(a.alpha ?? 0.3) } : { negative_slope: F(a.alpha ?? 0.3) };
    case 'PReLU': return { alpha_initializer: zeros(), alpha_regularizer: null, alpha_constraint: null,
      shared_axes: null };
    case 'ELU': return { alpha: F(a.alpha ?? 1.0) };
    case 'Softmax': return { axis: a.axis ?? -1 };
    case 'Embedding': {
      const c = { input_dim: a.input_dim, output_dim: a.output_dim,
        embeddings_initializer: init('RandomUniform', { minval: F(-0.05), maxval: F(0.05), seed: null }),
        embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null,
        mask_zero: a.mask_zero ?? false };
      if (v === 2) c.input_length = a.input_length ?? null;
      if (v === 3) c.quantization_config = null;
      return c;
    }
    case 'Add': case 'Subtract': case 'Multiply': case 'Average': case 'Maximum': case 'Minimum':
      return {};
    case 'Concatenate': return { axis: a.axis ?? -1 };
    case 'Rescaling': return { scale: F(a.scale), offset: F(a.offset ?? 0) };
    case 'Normalization':
      // Both versions store axis as a tuple (-> JSON list) in __init__.
      return { axis: [a.axis ?? -1], invert: false, mean: floatList(a.mean), variance: floatList(a.variance) };
    case 'SimpleRNN': case 'LSTM': case 'GRU': return rnnFields(l, v);
    case 'Masking': return { mask_value: F(a.mask_value ?? 0) };
    case 'Conv1DTranspose': case 'Conv2DTranspose': {
      const r = l.cls === 'Conv1DTranspose' ? 1 : 2;
      return { ...convFields(a, v, r, 'conv'), output_padding: a.output_padding === undefined ? null : tuple(a.output_padding, r) };
    }
    case 'SeparableConv1D': return convFields(a, v, 1, 'separable');
    case 'Attention': return { use_scale: a.use_scale ?? false, score_mode: a.score_mode ?? 'dot', dropout: F(0.0) };
    case 'AdditiveAttention': return { use_scale: a.use_scale ?? true, dropout: F(0.0) };
    case 'ZeroPadding1D': return { padding: tuple(a.padding ?? 1, 2) };
    case 'Cropping1D': return { cropping: tuple(a.cropping ?? 1, 2) };
    case 'Bidirectional': {
      const c = { layer: innerEnvelope(a.layer, v, inRank), merge_mode: a.merge_mode === undefined ? 'concat' : a.merge_mode };
      return c;
    }
    case 'TimeDistributed': return { layer: innerEnvelope(a.layer, v, inRank - 1) };
    default: throw new Error(`keras_json: no config writer for ${l.cls}`);
  }
}

// Recurrent layers: tf_keras 2.15 {simple_rnn,lstm,gru}.py get_config() (cell fields, then the
// base RNN's); Keras 3 rnn/*.py. Only the fields that change evaluation are taken from the case.
function rnnFields(l, v) {
  const a = l.args ?? {};
  const c = { units: a.units, activation: activation(a.activation ?? 'tanh', v) };
  if (l.cls !== 'SimpleRNN') c.recurrent_activation = activation(a.recurrent_activation ?? 'sigmoid', v);
  Object.assign(c, { use_bias: a.use_bias ?? true, kernel_initializer: glorot(),
    recurrent_initializer: init('Orthogonal', { gain: F(1.0), seed: null }), bias_initializer: zeros() });
  if (l.cls === 'LSTM') c.unit_forget_bias = true;
  Object.assign(c, { kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null });
  if (v === 2) c.activity_regularizer = null;
  Object.assign(c, { kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
    dropout: F(0.0), recurrent_dropout: F(0.0) });
  if (v === 2 && l.cls !== 'SimpleRNN') c.implementation = 2;
  if (v === 3) c.seed = null;
  if (l.cls === 'GRU') c.reset_after = a.reset_after ?? true;
  Object.assign(c, { return_sequences: a.return_sequences ?? false, return_state: false,
    go_backwards: a.go_backwards ?? false, stateful: false, unroll: a.unroll ?? false });
  if (v === 2) c.time_major = false;
  if (v === 3) c.zero_output_for_mask = false;
  if (v === 3 && l.cls !== 'SimpleRNN') c.use_cudnn = 'auto';
  return c;
}

// A wrapped layer ({cls, name, args}) as Wrapper.get_config() serializes it.
function innerEnvelope(inner, v, inRank) {
  const config = { name: inner.name, trainable: true, dtype: dtypeOf(v),
    ...layerFields(inner, v, inRank) };
  return { module: 'keras.layers', class_name: inner.cls, config, registered_name: null };
}

function layerConfig(l, v, shapes, batchInputShape) {
  const inShapes = shapes[l.name].inShapes;
  const c = { name: l.name, trainable: true, dtype: dtypeOf(v) };
  if (v === 2 && batchInputShape) c.batch_input_shape = batchInputShape;
  return Object.assign(c, layerFields(l, v, inShapes[0].length));
}

function envelope(l, v, shapes, batchInputShape) {
  const inShapes = shapes[l.name].inShapes;
  return { module: 'keras.layers', class_name: l.cls, config: layerConfig(l, v, shapes, batchInputShape),
    registered_name: null, build_config: { input_shape: inShapes.length === 1 ? inShapes[0] : inShapes } };
}

function inputEnvelope(inp, v) {
  const shape = [null, ...inp.shape];
  const config = v === 2
    ? { batch_input_shape: shape, dtype: inp.dtype ?? 'float32', sparse: false, ragged: false, name: inp.name }
    : { batch_shape: shape, dtype: inp.dtype ?? 'float32', sparse: false, ragged: false, name: inp.name,
      optional: false };
  return { module: 'keras.layers', class_name: 'InputLayer', config, registered_name: null };
}

function sequential(c, v, shapes) {
  const inp = c.inputs[0];
  const layers = [];
  const first = [null, ...inp.shape];
  if (v === 2) {
    layers.push(inputEnvelope(inp, 2));
    c.layers.forEach((l, i) => layers.push(envelope(l, 2, shapes, i === 0 ? first : null)));
    return { class_name: 'Sequential', config: { name: c.modelName ?? 'sequential', layers },
      keras_version: KERAS2_VERSION, backend: 'tensorflow' };
  }
  layers.push(inputEnvelope(inp, 3));
  c.layers.forEach((l) => layers.push(envelope(l, 3, shapes, null)));
  return { module: 'keras', class_name: 'Sequential',
    config: { name: c.modelName ?? 'sequential', trainable: true, dtype: dtypeOf(3), layers,
      build_input_shape: first },
    registered_name: null, build_config: { input_shape: first } };
}

function k3Tensor(name, shapes, dtypes) {
  return { class_name: '__keras_tensor__',
    config: { shape: shapes[name].outShape, dtype: dtypes[name] ?? 'float32', keras_history: [name, 0, 0] } };
}

function functional(c, v, shapes) {
  const dtypes = {};
  for (const inp of c.inputs) dtypes[inp.name] = inp.dtype ?? 'float32';
  const layers = [];
  for (const inp of c.inputs) layers.push({ ...inputEnvelope(inp, v), name: inp.name, inbound_nodes: [] });
  for (const l of c.layers) {
    const e = envelope(l, v, shapes, null);
    e.name = l.name;
    if (v === 2) {
      e.inbound_nodes = [l.inputs.map((n) => [n, 0, 0, {}])];
    } else {
      const ts = l.inputs.map((n) => k3Tensor(n, shapes, dtypes));
      e.inbound_nodes = [{ args: ts.length === 1 ? ts : [ts], kwargs: {} }];
    }
    layers.push(e);
  }
  const io = (names) => (v === 3 && names.length === 1 ? [names[0], 0, 0] : names.map((n) => [n, 0, 0]));
  const config = { name: c.modelName ?? (v === 2 ? 'model' : 'functional'), trainable: true, layers,
    input_layers: io(c.inputs.map((i) => i.name)), output_layers: io(c.outputs) };
  if (v === 2) return { class_name: 'Functional', config, keras_version: KERAS2_VERSION, backend: 'tensorflow' };
  return { module: 'keras.src.models.functional', class_name: 'Functional', config,
    registered_name: 'Functional' };
}

// shapes: layer name -> {inShapes: [[null,...],...], outShape: [null,...]}
export function kerasModelJson(c, shapes) {
  const obj = c.model === 'Sequential' ? sequential(c, c.keras, shapes) : functional(c, c.keras, shapes);
  return pyDumps(obj);
}
