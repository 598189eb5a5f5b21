// Independent float64 re-computations in plain JS, to check the tfjs oracle.

// MLP 784-512(relu)-10: y = relu(x W0 + b0) W1 + b1, in float64 from the stored
// float32 weights and inputs; compared with tfjs' float32 prediction.
export function mlpFloat64Check(tensors, x, batch, outFile, yTensor) {
  const get = (k) => {
    const t = tensors.find((e) => e.key === k);
    if (!t) throw new Error(`mlp check: missing ${k}`);
    return t;
  };
  const w0 = get('dense/vars/0'); const b0 = get('dense/vars/1');
  const w1 = get('dense_1/vars/0'); const b1 = get('dense_1/vars/1');
  const [nIn, nHid] = w0.shape; const nOut = w1.shape[1];
  const y = yTensor.dataSync();
  let maxAbs = 0; let maxRel = 0; let maxTolRatio = 0;
  const h = new Float64Array(nHid);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < nHid; j++) {
      let s = b0.data[j];
      for (let i = 0; i < nIn; i++) s += x[b * nIn + i] * w0.data[i * nHid + j];
      h[j] = s > 0 ? s : 0;
    }
    for (let k = 0; k < nOut; k++) {
      let s = b1.data[k];
      for (let j = 0; j < nHid; j++) s += h[j] * w1.data[j * nOut + k];
      const d = Math.abs(s - y[b * nOut + k]);
      maxAbs = Math.max(maxAbs, d);
      maxRel = Math.max(maxRel, d / Math.max(Math.abs(s), 1e-30));
      maxTolRatio = Math.max(maxTolRatio, d / (outFile.atol + 1e-5 * Math.abs(s)));
    }
  }
  if (maxTolRatio > 1) throw new Error(`mlp check: tfjs differs from float64 beyond tolerance (${maxTolRatio})`);
  return { what: 'float64 plain-JS recompute of the MLP vs tfjs float32', max_abs_diff: maxAbs,
    max_rel_diff: maxRel, worst_diff_over_tolerance: maxTolRatio };
}
