// Golden values for sidecar's Keras metrics and losses -> tests/golden/data_metrics/*.json.
//
// Oracle: TensorFlow.js 4.22.0 (tfjs-layers' Keras loss/metric functions on the pure-JS cpu
// backend) gives the per-row values; they are aggregated in float64 exactly as Keras does
// (metrics: sum(v*w)/sum(w) over the evaluation; losses: sum_over_batch_size per batch, then
// the evaluate Mean weighted by batch size). tfjs has no top-k accuracy, no streaming
// Precision/Recall, no AUC, no RMSE and no streaming R2: those are implemented here in float64
// from the Keras 2.15 definitions (FORMATS §9), and the AUC bucket shortcut is cross-checked
// against the plain "p > threshold" definition. Known tfjs differences avoided by the cases:
// its binary crossentropy is the Keras 3 formula (no +1e-7 inside the logs: cases say
// keras_version 3); its hinge does not convert {0,1} labels (cases use -1/1 labels); its KLD
// multiplies by the unclipped labels (cases use strictly positive soft labels); its sparse CE
// with from_logits clips the logits (from_logits cases use tf.losses.softmaxCrossEntropy).
//
// Run: cd scripts/metrics-golden && npm ci && node generate.mjs   (deterministic output)
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

await tf.setBackend('cpu');
const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../tests/golden/data_metrics');
const N = 37, BATCH = 8; // batches of 8, 8, 8, 8, 5

// mulberry32
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const f32 = Math.fround;
const fill = (n, f) => Array.from({ length: n }, (_, i) => f32(f(i)));
const prod = (s) => s.reduce((a, b) => a * b, 1);

// Keras' own loss functions as tfjs-layers registers them (not exported by name).
function tfjsLoss(name) {
  const inp = tfl.input({ shape: [2] });
  const m = tfl.model({ inputs: inp, outputs: tfl.layers.activation({ activation: 'linear' }).apply(inp) });
  m.compile({ optimizer: 'sgd', loss: name });
  return m.lossFunctions[0];
}
const rows = (fn, y, ys, p, ps) => tf.tidy(() => Array.from(fn(tf.tensor(y, ys), tf.tensor(p, ps)).dataSync()));

// ---- data -----------------------------------------------------------------------------------
function data(kind, r, c, t = 1) {
  const n = N * t;
  const hot = fill(n, () => Math.floor(r() * c));
  switch (kind) {
    case 'bin': return { y: fill(n * c, () => (r() < 0.5 ? 0 : 1)), p: fill(n * c, () => r()) };
    case 'pm1': return { y: fill(n * c, () => (r() < 0.5 ? -1 : 1)), p: fill(n * c, () => 3 * r() - 1.5) };
    case 'onehot': return { y: fill(n * c, (i) => (hot[Math.floor(i / c)] === i % c ? 1 : 0)), p: fill(n * c, () => 0.02 + 0.96 * r()), ids: hot };
    case 'soft': {
      const y = fill(n * c, () => 0.05 + r()), p = fill(n * c, () => 0.05 + r());
      for (const a of [y, p]) for (let i = 0; i < n; i++) {
        let s = 0; for (let j = 0; j < c; j++) s += a[i * c + j];
        for (let j = 0; j < c; j++) a[i * c + j] = f32(a[i * c + j] / s);
      }
      return { y, p };
    }
    case 'reg': return { y: fill(n * c, () => 0.5 + 2 * r()), p: fill(n * c, () => 0.5 + 2 * r()) };
    case 'sym': return { y: fill(n * c, () => 2 * r() - 1), p: fill(n * c, () => 2 * r() - 1) };
    case 'wide': return { y: fill(n * c, () => 2 * r() - 1), p: fill(n * c, () => 4 * r() - 2) };
    case 'logits': return { y: fill(n * c, (i) => (hot[Math.floor(i / c)] === i % c ? 1 : 0)), p: fill(n * c, () => 8 * r() - 4), ids: hot };
  }
  throw new Error(kind);
}
const weights = (r) => fill(N, () => 2 * r());

// ---- aggregation as Keras does it ------------------------------------------------------------
function meanMetric(v, w) { // v: one value per row, rows grouped by sample
  const per = v.length / N;
  let num = 0, den = 0;
  v.forEach((x, i) => { const wi = w ? w[Math.floor(i / per)] : 1; num += x * wi; den += wi; });
  return den === 0 ? 0 : num / den;
}
function evaluateLoss(v, w) { // sum_over_batch_size per batch, then Mean weighted by batch size
  const per = v.length / N;
  let num = 0, den = 0;
  for (let b = 0; b < N; b += BATCH) {
    const n = Math.min(BATCH, N - b);
    let s = 0;
    for (let i = b * per; i < (b + n) * per; i++) s += v[i] * (w ? w[Math.floor(i / per)] : 1);
    num += (s / (n * per)) * n;
    den += n;
  }
  return num / den;
}

// ---- float64 re-implementations (Keras 2.15 definitions) -------------------------------------
function inTopK(row, t, k) {
  if (!(t >= 0 && t < row.length) || !Number.isFinite(row[t])) return 0;
  if (row.some((x) => !Number.isFinite(x))) return 0;
  return row.filter((x) => x > row[t]).length < k ? 1 : 0;
}
const argmax = (a) => a.reduce((bi, x, i) => (x > a[bi] ? i : bi), 0);
const rowOf = (a, i, c) => a.slice(i * c, i * c + c);

// Precision/Recall/TP..FN: per threshold [tp, fp, tn, fn] with Keras' top_k / class_id rules.
function confusion(y, p, w, c, { thresholds, top_k, class_id }) {
  const thr = (thresholds ?? [top_k ? -1e10 : 0.5]).map(f32);
  const acc = thr.map(() => [0, 0, 0, 0]);
  for (let i = 0; i < N; i++) {
    let pr = rowOf(p, i, c);
    if (top_k) {
      const keep = new Set([...pr.keys()].sort((a, b) => pr[b] - pr[a] || a - b).slice(0, top_k));
      pr = pr.map((x, j) => (keep.has(j) ? x : -1e10));
    }
    const js = class_id != null ? [class_id] : [...pr.keys()];
    for (const j of js) {
      const pos = y[i * c + j] !== 0, wi = w ? w[i] : 1;
      thr.forEach((t, k) => { acc[k][pos ? (pr[j] > t ? 0 : 3) : (pr[j] > t ? 1 : 2)] += wi; });
    }
  }
  return acc;
}

// AUC: Keras' bucket shortcut (float32 bucket index), cross-checked against p > t_i.
function aucCounts(y, p, w, c, T, label) {
  const tp = new Float64Array(T), fp = new Float64Array(T);
  let pos = 0, neg = 0;
  const thr = fill(T, (i) => (i === 0 ? -1e-7 : i === T - 1 ? 1 + 1e-7 : i / (T - 1)));
  const direct = thr.map(() => [0, 0]);
  for (let i = 0; i < N; i++) for (let j = 0; j < c; j++) {
    if (label != null && j !== label) continue;
    const yy = y[i * c + j] !== 0, pp = p[i * c + j], wi = w ? w[i] : 1;
    yy ? (pos += wi) : (neg += wi);
    const b = Math.max(Math.ceil(f32(f32(Math.min(Math.max(pp, 0), 1)) * (T - 1))) - 1, 0);
    (yy ? tp : fp)[b] += wi;
    thr.forEach((t, k) => { if (pp > t) direct[k][yy ? 0 : 1] += wi; });
  }
  for (let k = T - 2; k >= 0; k--) { tp[k] += tp[k + 1]; fp[k] += fp[k + 1]; }
  for (let k = 0; k < T; k++)
    if (Math.abs(tp[k] - direct[k][0]) > 1e-9 || Math.abs(fp[k] - direct[k][1]) > 1e-9)
      throw new Error(`AUC bucket shortcut disagrees with p > t at threshold ${k}`);
  return { tp, fp, fn: [...tp].map((x) => pos - x), tn: [...fp].map((x) => neg - x) };
}
const dnn = (a, b) => (b === 0 ? 0 : a / b);
function aucResult({ tp, fp, fn, tn }, curve) {
  const T = tp.length;
  let s = 0;
  for (let i = 0; i + 1 < T; i++) {
    if (curve === 'PR') {
      const dtp = tp[i] - tp[i + 1], p0 = tp[i] + fp[i], p1 = tp[i + 1] + fp[i + 1];
      const slope = dnn(dtp, Math.max(p0 - p1, 0)), icpt = tp[i + 1] - slope * p1;
      const ratio = p0 > 0 && p1 > 0 ? p0 / p1 : 1;
      s += dnn(slope * (dtp + icpt * Math.log(ratio)), Math.max(tp[i + 1] + fn[i + 1], 0));
    } else {
      const x0 = dnn(fp[i], fp[i] + tn[i]), x1 = dnn(fp[i + 1], fp[i + 1] + tn[i + 1]);
      const y0 = dnn(tp[i], tp[i] + fn[i]), y1 = dnn(tp[i + 1], tp[i + 1] + fn[i + 1]);
      s += (x0 - x1) * (y0 + y1) / 2;
    }
  }
  return s;
}

// ---- cases -----------------------------------------------------------------------------------
const cases = [];
function add(id, what, class_name, o) { cases.push({ id, what, class_name, ...o }); }
let seed = 1;
const mk = (kind, c, t = 1) => { const r = rng(seed++); return { ...data(kind, r, c, t), w: weights(r) }; };

function tfjsMetric(id, cls, kind, c, fn, opts = {}) {
  const d = mk(kind, c, opts.t ?? 1);
  const sparse = opts.sparse;
  const yv = sparse ? d.ids.map(f32) : d.y;
  const ys = sparse ? (opts.t ? [N, opts.t] : [N]) : [N, c];
  const ps = opts.t ? [N, opts.t, c] : [N, c];
  const v = rows(fn, yv, sparse && !opts.t ? [N, 1] : ys, d.p, ps); // tfjs wants [N, 1] ids
  const sign = opts.negate ? -1 : 1;
  add(id, 'metric', cls, { keras_version: opts.kv ?? 2, options: opts.options ?? {}, y_shape: ys, y: yv, p_shape: ps, p: d.p, w: d.w,
    expected: [sign * meanMetric(v, d.w)], tolerance: 2e-6, oracle: `tfjs-layers 4.22.0 ${fn.name} per row; Keras Mean in float64` });
}
const M = tfl.metrics;
tfjsMetric('binary_accuracy', 'BinaryAccuracy', 'bin', 1, M.binaryAccuracy);
tfjsMetric('binary_accuracy_3col', 'BinaryAccuracy', 'bin', 3, M.binaryAccuracy);
tfjsMetric('categorical_accuracy', 'CategoricalAccuracy', 'onehot', 5, M.categoricalAccuracy);
tfjsMetric('sparse_categorical_accuracy', 'SparseCategoricalAccuracy', 'onehot', 5, M.sparseCategoricalAccuracy, { sparse: true });
tfjsMetric('sparse_categorical_accuracy_seq', 'SparseCategoricalAccuracy', 'onehot', 4, M.sparseCategoricalAccuracy, { sparse: true, t: 3 });
tfjsMetric('binary_crossentropy_k3', 'BinaryCrossentropy', 'bin', 3, M.binaryCrossentropy, { kv: 3 });
tfjsMetric('categorical_crossentropy', 'CategoricalCrossentropy', 'onehot', 5, M.categoricalCrossentropy);
tfjsMetric('sparse_categorical_crossentropy', 'SparseCategoricalCrossentropy', 'onehot', 5, tfjsLoss('sparseCategoricalCrossentropy'), { sparse: true });
tfjsMetric('mean_squared_error', 'MeanSquaredError', 'reg', 3, M.meanSquaredError);
tfjsMetric('mean_absolute_error', 'MeanAbsoluteError', 'reg', 3, M.meanAbsoluteError);
tfjsMetric('mean_absolute_percentage_error', 'MeanAbsolutePercentageError', 'reg', 3, M.meanAbsolutePercentageError);
tfjsMetric('mean_squared_logarithmic_error', 'MeanSquaredLogarithmicError', 'reg', 3, tfjsLoss('meanSquaredLogarithmicError'));
tfjsMetric('logcosh', 'LogCoshError', 'reg', 3, tfjsLoss('logcosh'));
tfjsMetric('poisson', 'Poisson', 'reg', 3, tfjsLoss('poisson'));
tfjsMetric('hinge', 'Hinge', 'pm1', 3, tfjsLoss('hinge'));
tfjsMetric('squared_hinge', 'SquaredHinge', 'pm1', 3, tfjsLoss('squaredHinge'));
tfjsMetric('categorical_hinge', 'CategoricalHinge', 'onehot', 5, tfjsLoss('categoricalHinge'));
tfjsMetric('kl_divergence', 'KLDivergence', 'soft', 4, tfjsLoss('kullbackLeiblerDivergence'));
tfjsMetric('cosine_similarity', 'CosineSimilarity', 'sym', 4, M.cosineProximity, { negate: true });

function tfjsLossCase(id, cls, kind, c, fn, opts = {}) {
  const d = mk(kind, c);
  const sparse = opts.sparse;
  let yIn = d.y;
  if (opts.smooth) yIn = d.y.map((v) => f32(v * (1 - opts.smooth) + opts.smooth / c));
  const v = rows(fn, sparse ? d.ids.map(f32) : yIn, sparse ? [N, 1] : [N, c], d.p, [N, c]);
  add(id, 'loss', cls, { keras_version: opts.kv ?? 2, options: opts.options ?? {}, y_shape: sparse ? [N] : [N, c], y: sparse ? d.ids.map(f32) : d.y,
    p_shape: [N, c], p: d.p, w: d.w, expected: [(opts.negate ? -1 : 1) * evaluateLoss(v, d.w)], tolerance: 2e-6,
    oracle: `tfjs 4.22.0 ${fn.name} per row; sum_over_batch_size per batch of ${BATCH}; evaluate Mean by batch size (float64)` });
}
const L = tf.losses, NONE = tf.Reduction.NONE;
const lastMean = (f) => Object.defineProperty((y, p) => tf.mean(f(y, p), -1), 'name', { value: f.name });
tfjsLossCase('loss_binary_crossentropy_k3', 'BinaryCrossentropy', 'bin', 3, M.binaryCrossentropy, { kv: 3 });
tfjsLossCase('loss_categorical_crossentropy_smoothing', 'CategoricalCrossentropy', 'onehot', 5, M.categoricalCrossentropy, { smooth: 0.1, options: { label_smoothing: 0.1 } });
tfjsLossCase('loss_sparse_categorical_crossentropy', 'SparseCategoricalCrossentropy', 'onehot', 5, tfjsLoss('sparseCategoricalCrossentropy'), { sparse: true });
tfjsLossCase('loss_categorical_crossentropy_logits', 'CategoricalCrossentropy', 'logits', 5,
  Object.defineProperty((y, z) => L.softmaxCrossEntropy(y, z, undefined, 0, NONE), 'name', { value: 'losses.softmaxCrossEntropy' }), { options: { from_logits: 1 } });
tfjsLossCase('loss_binary_crossentropy_logits', 'BinaryCrossentropy', 'logits', 3,
  lastMean((y, z) => L.sigmoidCrossEntropy(y, z, undefined, 0, NONE)), { options: { from_logits: 1 } });
tfjsLossCase('loss_huber', 'Huber', 'wide', 3, lastMean((y, p) => L.huberLoss(y, p, undefined, 1.0, NONE)));
tfjsLossCase('loss_mean_squared_error', 'MeanSquaredError', 'reg', 3, M.meanSquaredError);
tfjsLossCase('loss_hinge', 'Hinge', 'pm1', 3, tfjsLoss('hinge'));
tfjsLossCase('loss_kl_divergence', 'KLDivergence', 'soft', 4, tfjsLoss('kullbackLeiblerDivergence'));
tfjsLossCase('loss_cosine_similarity', 'CosineSimilarity', 'sym', 4, M.cosineProximity);
{ // sparse CE from logits: tf.losses.softmaxCrossEntropy on one-hot labels (tfjs' own sparse CE clips logits).
  const d = mk('logits', 5);
  const v = rows(Object.defineProperty((y, z) => L.softmaxCrossEntropy(y, z, undefined, 0, NONE), 'name', { value: 's' }), d.y, [N, 5], d.p, [N, 5]);
  add('loss_sparse_categorical_crossentropy_logits', 'loss', 'SparseCategoricalCrossentropy', { keras_version: 2, options: { from_logits: 1 },
    y_shape: [N], y: d.ids.map(f32), p_shape: [N, 5], p: d.p, w: d.w, expected: [evaluateLoss(v, d.w)], tolerance: 2e-6,
    oracle: 'tfjs 4.22.0 losses.softmaxCrossEntropy on one-hot labels; evaluate aggregation in float64' });
}

// float64 oracles for what tfjs lacks
function f64Metric(id, cls, kind, c, options, compute, sparse = false, tol = 1e-6) {
  const d = mk(kind, c);
  const y = sparse ? d.ids.map(f32) : d.y;
  add(id, 'metric', cls, { keras_version: 2, options, y_shape: sparse ? [N] : [N, c], y, p_shape: [N, c], p: d.p, w: d.w,
    expected: compute(y, d.p, d.w), tolerance: tol, oracle: 'float64 re-implementation of the Keras 2.15 definition (scripts/metrics-golden)' });
}
f64Metric('top_k_categorical_accuracy_k2', 'TopKCategoricalAccuracy', 'onehot', 5, { k: 2 },
  (y, p, w) => [meanMetric([...Array(N).keys()].map((i) => inTopK(rowOf(p, i, 5), argmax(rowOf(y, i, 5)), 2)), w)]);
f64Metric('sparse_top_k_categorical_accuracy_k3', 'SparseTopKCategoricalAccuracy', 'onehot', 5, { k: 3 },
  (y, p, w) => [meanMetric([...Array(N).keys()].map((i) => inTopK(rowOf(p, i, 5), y[i], 3)), w)], true);
const ratio = (sel) => (y, p, w, o) => confusion(y, p, w, o.c, o).map(sel);
const cm = (id, cls, c, o, sel) => f64Metric(id, cls, 'bin', c, o, (y, p, w) => ratio(sel)(y, p, w, { ...o, c }));
const PREC = ([tp, fp]) => dnn(tp, tp + fp), REC = ([tp, , , fn]) => dnn(tp, tp + fn);
cm('precision', 'Precision', 1, {}, PREC);
cm('recall', 'Recall', 1, {}, REC);
cm('precision_thresholds', 'Precision', 3, { thresholds: [0.3, 0.6, 0.9] }, PREC);
cm('precision_class_id', 'Precision', 4, { class_id: 2 }, PREC);
cm('recall_top_k', 'Recall', 4, { top_k: 2 }, REC);
cm('true_positives', 'TruePositives', 3, {}, (a) => a[0]);
cm('false_positives', 'FalsePositives', 3, { thresholds: [0.25, 0.75] }, (a) => a[1]);
cm('true_negatives', 'TrueNegatives', 3, {}, (a) => a[2]);
cm('false_negatives', 'FalseNegatives', 3, {}, (a) => a[3]);
f64Metric('auc_roc', 'AUC', 'bin', 1, {}, (y, p, w) => [aucResult(aucCounts(y, p, w, 1, 200), 'ROC')]);
f64Metric('auc_pr', 'AUC', 'bin', 2, { curve: 'PR' }, (y, p, w) => [aucResult(aucCounts(y, p, w, 2, 200), 'PR')]);
f64Metric('auc_roc_50', 'AUC', 'bin', 3, { num_thresholds: 50 }, (y, p, w) => [aucResult(aucCounts(y, p, w, 3, 50), 'ROC')]);
f64Metric('auc_multi_label', 'AUC', 'bin', 3, { multi_label: 1, num_labels: 3 },
  (y, p, w) => [[0, 1, 2].reduce((s, l) => s + aucResult(aucCounts(y, p, w, 3, 200, l), 'ROC'), 0) / 3]);
f64Metric('root_mean_squared_error', 'RootMeanSquaredError', 'reg', 3, {}, (y, p, w) =>
  [Math.sqrt(meanMetric([...Array(N).keys()].map((i) => rowOf(y, i, 3).reduce((s, v, j) => s + (v - p[i * 3 + j]) ** 2, 0) / 3), w))]);
f64Metric('r2_score', 'R2Score', 'reg', 2, { num_classes: 2 }, (y, p, w) => {
  const r = [0, 1].map((j) => {
    let sw = 0, sy = 0, syy = 0, se = 0;
    for (let i = 0; i < N; i++) { const v = y[i * 2 + j]; sw += w[i]; sy += w[i] * v; syy += w[i] * v * v; se += w[i] * (v - p[i * 2 + j]) ** 2; }
    return 1 - se / (syy - sy * (sy / sw));
  });
  return [(r[0] + r[1]) / 2];
}, false, 1e-5); // Keras forms squared_sum - sum * mean in float32: cancellation costs digits

// ---- write -----------------------------------------------------------------------------------
fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });
for (const c of cases) {
  if (c.expected.some((x) => !Number.isFinite(x))) throw new Error(`${c.id}: non-finite expected value`);
  if (c.y.length !== prod(c.y_shape) || c.p.length !== prod(c.p_shape)) throw new Error(`${c.id}: shape`);
  c.batch_size = BATCH;
  fs.writeFileSync(path.join(OUT, `${c.id}.json`), JSON.stringify(c) + '\n');
}
fs.writeFileSync(path.join(OUT, 'MANIFEST'), cases.map((c) => `${c.id}.json`).join('\n') + '\n');
console.log(`wrote ${cases.length} cases to ${OUT}`);
