// Golden-output generator: Keras model JSON + seeded weights + inputs + the
// outputs of TensorFlow.js (pure-JS CPU backend) for each case in cases.mjs.
// Writes tests/golden/data/<case>/ and tests/golden/data/MANIFEST.json.
// Deterministic: a second run gives byte-identical files.
//   cd scripts/golden && npm ci && node generate.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { CASES } from './cases.mjs';
import { uniformF32, randintI32, npyBytes, safetensorsBytes, prettyJson } from './lib/io.mjs';
import { kerasModelJson, KERAS2_VERSION, KERAS3_VERSION } from './lib/keras_json.mjs';
import { buildTfjs, setKerasWeights } from './lib/tfjs_build.mjs';
import { mlpFloat64Check } from './lib/checks.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(HERE, '../../tests/golden/data');
const RTOL = 1e-5;
const RTOL_DEEP_CONV = 1e-4;
const CONV_CLASSES = new Set(['Conv1D', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

// Seeded weight values, scaled so activations stay O(1): kernels ~U(±1.2*sqrt(3/fan_in)).
function weightValues(key, name, shape, cls) {
  const n = shape.reduce((a, b) => a * b, 1);
  let fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  switch (name) {
    case 'depthwise_kernel': fanIn = shape[0] * (shape.length === 4 ? shape[1] : 1); // fall through
    case 'kernel': case 'pointwise_kernel': {
      const a = 1.2 * Math.sqrt(3 / Math.max(fanIn, 1));
      return uniformF32(key, n, -a, a);
    }
    case 'recurrent_kernel': { // kept below 1 in gain so long recurrences stay O(1)
      const a = 0.9 * Math.sqrt(3 / Math.max(fanIn, 1));
      return uniformF32(key, n, -a, a);
    }
    case 'bias': case 'beta': return uniformF32(key, n, -0.1, 0.1);
    case 'gamma': return uniformF32(key, n, 0.8, 1.2);
    case 'moving_mean': return uniformF32(key, n, -0.3, 0.3);
    case 'moving_variance': return uniformF32(key, n, 0.5, 1.5);
    case 'embeddings': return uniformF32(key, n, -0.8, 0.8);
    case 'alpha': return uniformF32(key, n, 0.05, 0.3);
    case 'scale': case 'concat_score_weight': return uniformF32(key, n, 0.5, 1.5);
    case 'mean': return uniformF32(key, n, 0.5, 1.0);
    case 'variance': return uniformF32(key, n, 0.5, 1.2);
    case 'count': return new BigInt64Array(n); // Keras never updates it in adapt(); 0
    default: throw new Error(`${key}: no value rule for ${cls} variable '${name}'`);
  }
}

// Keras 3 to_snake_case (class name -> .weights.h5 path component).
const snake = (s) => s.replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();

function weightsIndex(c, built) {
  const layers = [];
  const used = new Map();
  const h5Name = (cls) => {
    const base = snake(cls);
    const k = used.get(base) ?? 0;
    used.set(base, k + 1);
    return k === 0 ? base : `${base}_${k}`;
  };
  // Keras 2 model.layers: Functional includes the InputLayers, Sequential does not.
  let layerIndex = 0;
  if (c.model === 'Functional') for (const _ of c.inputs) { h5Name('InputLayer'); layerIndex++; }
  let withWeights = 0;
  for (const b of built) {
    const e = { name: b.spec.name, class_name: b.spec.cls, keras2_layer_index: layerIndex++ };
    if (b.kerasVars.length) e.keras2_layer_with_weights = withWeights++;
    e.keras3_h5_group = `layers/${h5Name(b.spec.cls)}`;
    e.vars = [];
    // Recurrent layers keep their variables in `cell`, wrappers in `layer` / `forward_layer/cell`
    // (FORMATS §3.6); the .weights.h5 index counts within that object.
    const subIndex = new Map();
    b.kerasVars.forEach((v, i) => {
      const sub = v.sub ? `${v.sub}/` : '';
      const k = subIndex.get(sub) ?? 0;
      subIndex.set(sub, k + 1);
      e.vars.push({ index: i, name: v.name, shape: v.shape, dtype: v.dtype,
        safetensors_key: `${b.spec.name}/vars/${i}`,
        keras3_h5_path: `${e.keras3_h5_group}/${sub}vars/${k}`,
        keras2_checkpoint_key: `layer_with_weights-${e.keras2_layer_with_weights}/${sub}${v.name}/.ATTRIBUTES/VARIABLE_VALUE` });
    });
    layers.push(e);
  }
  return { format: 'sidecar-golden-weights', case: c.name, layers };
}

function makeInput(c, inp) {
  const n = c.batch * inp.shape.reduce((a, b) => a * b, 1);
  const key = `${c.name}/input/${inp.name}`;
  const data = (inp.dtype ?? 'float32') === 'int32' ? randintI32(key, n, 0, inp.vocab)
    : uniformF32(key, n, inp.range[0], inp.range[1]);
  // pad_tail[b]: the last k timesteps of example b are padding (0, the mask value), as in
  // padded sequences; masked_steps: [b, t] pairs padded in the middle.
  const T = inp.shape[0], per = n / c.batch / T;
  const pad = (b, t) => data.fill(0, (b * T + t) * per, (b * T + t + 1) * per);
  (inp.pad_tail ?? []).forEach((k, b) => { for (let t = T - k; t < T; t++) pad(b, t); });
  (inp.masked_steps ?? []).forEach(([b, t]) => pad(b, t));
  return data;
}

function activationsOf(c) {
  const acts = new Set();
  for (const l of c.layers) if (l.args?.activation) acts.add(l.args.activation);
  return [...acts].sort();
}

function runCase(c) {
  const dir = path.join(OUT, c.name);
  fs.mkdirSync(dir, { recursive: true });
  const { model, shapes, layers: built, notes } = buildTfjs(c);

  const tensors = [];
  for (const b of built) {
    const arrays = b.kerasVars.map((v, i) =>
      weightValues(`${c.name}/${b.spec.name}/${i}`, v.name, v.shape, b.spec.cls));
    setKerasWeights(b, arrays);
    arrays.forEach((a, i) => tensors.push({ key: `${b.spec.name}/vars/${i}`,
      dtype: a instanceof BigInt64Array ? 'I64' : 'F32',
      shape: b.kerasVars[i].shape, data: a }));
  }
  fs.writeFileSync(path.join(dir, 'weights.safetensors'),
    safetensorsBytes(tensors, { format: 'sidecar-golden' }));
  fs.writeFileSync(path.join(dir, 'weights.json'), prettyJson(weightsIndex(c, built)));
  fs.writeFileSync(path.join(dir, 'model.json'), kerasModelJson(c, shapes));

  const multiIn = c.inputs.length > 1;
  const inputFiles = [];
  const xs = c.inputs.map((inp) => {
    const data = makeInput(c, inp);
    const shape = [c.batch, ...inp.shape];
    const file = multiIn ? `x_${inp.name}.npy` : 'x.npy';
    fs.writeFileSync(path.join(dir, file), npyBytes(data, shape));
    inputFiles.push({ file, input: inp.name, dtype: inp.dtype ?? 'float32', shape });
    return { data, tensor: tf.tensor(data, shape, inp.dtype ?? 'float32') };
  });
  let ys = model.predict(multiIn ? xs.map((x) => x.tensor) : xs[0].tensor);
  if (!Array.isArray(ys)) ys = [ys];
  const multiOut = c.outputs.length > 1;
  const convCount = c.layers.filter((l) => CONV_CLASSES.has(l.cls)).length;
  const rtol = c.rtol ?? (convCount >= 4 ? RTOL_DEEP_CONV : RTOL);
  const outputFiles = ys.map((y, i) => {
    const data = Float32Array.from(y.dataSync());
    if (!data.every(Number.isFinite)) throw new Error(`${c.name}: non-finite output`);
    const file = multiOut ? `y_${c.outputs[i]}.npy` : 'y.npy';
    fs.writeFileSync(path.join(dir, file), npyBytes(data, y.shape));
    const maxAbs = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return { file, output: c.outputs[i], dtype: 'float32', shape: y.shape,
      max_abs: maxAbs, atol: rtol * maxAbs };
  });

  const checks = c.name === 'mlp_784_512_10'
    ? { float64_recompute: mlpFloat64Check(tensors, xs[0].data, c.batch, outputFiles[0], ys[0]) } : undefined;
  const kerasDef = notes.filter((n) => n.oracle === 'keras-definition');
  tf.dispose([...xs.map((x) => x.tensor), ...ys]);
  model.dispose();
  return {
    name: c.name, dir: c.name, keras_json: c.keras,
    keras_version: c.keras === 2 ? KERAS2_VERSION : KERAS3_VERSION,
    model_class: c.model, batch: c.batch,
    files: { model: 'model.json', weights: 'weights.safetensors', weights_index: 'weights.json',
      inputs: inputFiles, outputs: outputFiles },
    layers: ['InputLayer', ...new Set(c.layers.map((l) => l.cls))],
    activations: activationsOf(c),
    tolerance: { rtol, atol_rule: 'per output: atol = rtol * max|y| (recorded as outputs[i].atol)',
      compare: '|got - want| <= atol + rtol * |want|', why: c.rtol ? 'long recurrence (50+ steps)' : convCount >= 4 ? `${convCount} conv layers` : 'default' },
    oracle: kerasDef.length ? 'tfjs+keras-definition' : 'tfjs',
    oracle_notes: notes,
    checks,
  };
}

function coverage(entries) {
  const need = {
    layers: ['InputLayer', 'Dense', 'Conv1D', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'MaxPooling1D',
      'MaxPooling2D', 'AveragePooling1D', 'AveragePooling2D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D',
      'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'Flatten', 'Reshape', 'Permute', 'RepeatVector',
      'ZeroPadding2D', 'Cropping2D', 'UpSampling2D', 'Dropout', 'SpatialDropout2D', 'GaussianNoise',
      'GaussianDropout', 'AlphaDropout', 'BatchNormalization', 'LayerNormalization', 'Activation', 'ReLU',
      'LeakyReLU', 'PReLU', 'ELU', 'Softmax', 'Embedding', 'Add', 'Subtract', 'Multiply', 'Average', 'Maximum',
      'Minimum', 'Concatenate', 'Rescaling', 'Normalization'],
    activations: ['relu', 'relu6', 'sigmoid', 'hard_sigmoid', 'tanh', 'softmax', 'softplus', 'softsign', 'elu',
      'selu', 'gelu', 'gelu_approximate', 'swish', 'silu', 'exponential', 'linear', 'leaky_relu', 'mish'],
  };
  const out = {};
  for (const kind of ['layers', 'activations']) {
    out[kind] = {};
    for (const x of need[kind]) out[kind][x] = entries.filter((e) => e[kind].includes(x)).map((e) => e.name);
    // 'linear' appears as the default activation of Dense layers without one.
    if (kind === 'activations') out[kind].linear = [...new Set([...out[kind].linear,
      ...entries.filter((e) => e.layers.includes('Dense')).map((e) => e.name)])];
  }
  const missing = [...need.layers.filter((x) => !out.layers[x].length),
    ...need.activations.filter((x) => !out.activations[x].length)];
  return { ...out, not_covered: missing };
}

async function main() {
  await tf.setBackend('cpu');
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const entries = CASES.map((c) => {
    const e = runCase(c);
    const extra = e.checks ? ` float64 check: max_rel=${e.checks.float64_recompute.max_rel_diff.toExponential(3)}` : '';
    console.log(`${c.name}: keras${c.keras} ${c.model} oracle=${e.oracle}${extra}`);
    return e;
  });
  const manifest = {
    format: 'sidecar-golden-manifest',
    generator: 'scripts/golden/generate.mjs',
    oracle: { package: '@tensorflow/tfjs', version: tf.version.tfjs, backend: tf.getBackend() },
    conventions: {
      weights: "safetensors, every float variable F32 (the one integer variable, Normalization's int64 `count` scalar, is I64), key '<layer_name>/vars/<i>' (i = index in the layer's Keras weights list); __metadata__ {format: sidecar-golden}. weights.json maps each to its Keras variable name, shape, Keras 3 .weights.h5 path and Keras 2 checkpoint key.",
      inputs: 'x.npy (one input) or x_<input_name>.npy; float32, or int32 for Embedding inputs',
      outputs: 'y.npy (one output) or y_<output_layer_name>.npy; float32 model.predict results',
      keras_json: '2 = tf.keras 2.15 model.to_json() form; 3 = Keras 3 serialize_keras_object envelope (to_json form)',
      oracle: "'tfjs' = tfjs layers; 'tfjs+keras-definition' = some layers/activations computed by custom tfjs layers implementing the Keras definition (see oracle_notes)",
    },
    coverage: coverage(CASES.map((c, i) => entries[i])),
    cases: entries,
  };
  fs.writeFileSync(path.join(OUT, 'MANIFEST.json'), prettyJson(manifest));
  if (manifest.coverage.not_covered.length) console.log('NOT COVERED:', manifest.coverage.not_covered.join(', '));
}

main().catch((e) => { console.error(e); process.exit(1); });
