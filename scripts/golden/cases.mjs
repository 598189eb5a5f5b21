// The golden cases. Each is described once; generate.mjs turns the description
// into Keras JSON (keras_json.mjs) and into the tfjs oracle (tfjs_build.mjs).
// Layer args use Keras' snake_case names. Sequential cases chain layers; Functional
// cases name each layer's inputs. input.range: [lo, hi) of the uniform inputs.

const L = (cls, name, args = {}, inputs) => ({ cls, name, args, inputs });

const K2_ACTS = ['relu', 'sigmoid', 'hard_sigmoid', 'tanh', 'softmax', 'softplus', 'softsign', 'elu',
  'selu', 'gelu', 'swish', 'exponential', 'linear'];
const K3_ACTS = ['relu6', 'hard_sigmoid', 'silu', 'leaky_relu', 'mish', 'gelu', 'gelu_approximate',
  'exponential', 'sigmoid', 'softmax'];

function activationZoo(v, acts) {
  const inp = v === 2 ? 'input_1' : 'input_layer';
  const layers = acts.map((a, i) => L('Dense', i === 0 ? 'dense' : `dense_${i}`, { units: 6, activation: a }, [inp]));
  layers.push(L('Concatenate', 'concatenate', { axis: -1 }, layers.map((l) => l.name)));
  return { inputs: [{ name: inp, shape: [10], range: [-1.5, 1.5] }], layers, outputs: ['concatenate'] };
}

export const CASES = [
  {
    name: 'mlp_784_512_10', keras: 2, model: 'Sequential', batch: 4,
    inputs: [{ name: 'dense_input', shape: [784], range: [0, 1] }],
    layers: [
      L('Dense', 'dense', { units: 512, activation: 'relu' }),
      L('Dropout', 'dropout', { rate: 0.2 }),
      L('Dense', 'dense_1', { units: 10 }),
    ],
  },
  {
    name: 'cnn_mnist', keras: 2, model: 'Sequential', batch: 4,
    inputs: [{ name: 'conv2d_input', shape: [28, 28, 1], range: [0, 1] }],
    layers: [
      L('Conv2D', 'conv2d', { filters: 32, kernel_size: 3, activation: 'relu' }),
      L('MaxPooling2D', 'max_pooling2d', { pool_size: 2 }),
      L('Conv2D', 'conv2d_1', { filters: 64, kernel_size: 3, activation: 'relu' }),
      L('MaxPooling2D', 'max_pooling2d_1', { pool_size: 2 }),
      L('Flatten', 'flatten'),
      L('Dense', 'dense', { units: 128, activation: 'relu' }),
      L('Dense', 'dense_1', { units: 10 }),
    ],
  },
  {
    // >= 4 conv layers: tolerance 1e-4.
    name: 'conv_stack', keras: 2, model: 'Sequential', batch: 3,
    inputs: [{ name: 'conv2d_input', shape: [16, 16, 3], range: [-1, 1] }],
    layers: [
      L('Conv2D', 'conv2d', { filters: 8, kernel_size: 3, padding: 'same', activation: 'relu' }),
      L('Conv2D', 'conv2d_1', { filters: 8, kernel_size: 3, strides: 2, padding: 'same', activation: 'elu' }),
      L('BatchNormalization', 'batch_normalization', {}),
      L('Conv2D', 'conv2d_2', { filters: 12, kernel_size: 3, dilation_rate: 2, activation: 'tanh' }),
      L('DepthwiseConv2D', 'depthwise_conv2d', { kernel_size: 3, depth_multiplier: 2, padding: 'same', activation: 'relu' }),
      L('SeparableConv2D', 'separable_conv2d', { filters: 10, kernel_size: 3, activation: 'selu' }),
      L('Conv2D', 'conv2d_3', { filters: 6, kernel_size: [1, 2], strides: [1, 2], activation: 'softplus' }),
      L('GlobalMaxPooling2D', 'global_max_pooling2d'),
      L('Dense', 'dense', { units: 5, activation: 'softmax' }),
    ],
  },
  {
    name: 'conv_image_ops_k3', keras: 3, model: 'Sequential', batch: 3,
    inputs: [{ name: 'input_layer', shape: [9, 8, 2], range: [-1, 1] }],
    layers: [
      L('ZeroPadding2D', 'zero_padding2d', { padding: [[1, 2], [0, 1]] }),
      L('Conv2D', 'conv2d', { filters: 4, kernel_size: [3, 2], strides: [2, 1], padding: 'same', activation: 'relu6' }),
      L('Cropping2D', 'cropping2d', { cropping: [[1, 0], [0, 1]] }),
      L('UpSampling2D', 'up_sampling2d', { size: 2 }),
      L('SpatialDropout2D', 'spatial_dropout2d', { rate: 0.3 }),
      L('AveragePooling2D', 'average_pooling2d', { pool_size: 3, strides: 2, padding: 'same' }),
      L('DepthwiseConv2D', 'depthwise_conv2d', { kernel_size: 2, strides: 1, activation: 'silu' }),
      L('MaxPooling2D', 'max_pooling2d', { pool_size: 2, strides: 1, padding: 'valid' }),
      L('BatchNormalization', 'batch_normalization', {}),
      L('GlobalAveragePooling2D', 'global_average_pooling2d'),
      L('Dense', 'dense', { units: 3, activation: 'sigmoid' }),
    ],
  },
  {
    name: 'conv1d_seq', keras: 2, model: 'Sequential', batch: 4,
    inputs: [{ name: 'conv1d_input', shape: [21, 5], range: [-1, 1] }],
    layers: [
      L('Conv1D', 'conv1d', { filters: 8, kernel_size: 3, padding: 'same', activation: 'relu' }),
      L('MaxPooling1D', 'max_pooling1d', { pool_size: 2 }),
      L('Conv1D', 'conv1d_1', { filters: 8, kernel_size: 3, dilation_rate: 2, activation: 'gelu' }),
      L('AveragePooling1D', 'average_pooling1d', { pool_size: 3, strides: 2, padding: 'same' }),
      L('Conv1D', 'conv1d_2', { filters: 6, kernel_size: 2, strides: 2, padding: 'same', activation: 'softsign' }),
      L('LayerNormalization', 'layer_normalization', {}),
      L('GlobalAveragePooling1D', 'global_average_pooling1d'),
      L('Dense', 'dense', { units: 4, activation: 'tanh' }),
    ],
  },
  {
    name: 'embedding_text_k3', keras: 3, model: 'Sequential', batch: 5,
    inputs: [{ name: 'input_layer', shape: [12], dtype: 'int32', vocab: 50 }],
    layers: [
      L('Embedding', 'embedding', { input_dim: 50, output_dim: 8 }),
      L('Conv1D', 'conv1d', { filters: 8, kernel_size: 3, activation: 'leaky_relu' }),
      L('MaxPooling1D', 'max_pooling1d', { pool_size: 2, strides: 1, padding: 'same' }),
      L('GlobalMaxPooling1D', 'global_max_pooling1d'),
      L('Dense', 'dense', { units: 4, activation: 'softmax' }),
    ],
  },
  {
    name: 'two_in_two_out_merges', keras: 2, model: 'Functional', batch: 4,
    inputs: [{ name: 'input_1', shape: [8], range: [-1, 1] }, { name: 'input_2', shape: [8], range: [-1, 1] }],
    layers: [
      L('Dense', 'dense', { units: 6, activation: 'tanh' }, ['input_1']),
      L('Dense', 'dense_1', { units: 6, activation: 'sigmoid' }, ['input_2']),
      L('Add', 'add', {}, ['dense', 'dense_1']),
      L('Subtract', 'subtract', {}, ['dense', 'dense_1']),
      L('Multiply', 'multiply', {}, ['dense', 'dense_1']),
      L('Average', 'average', {}, ['dense', 'dense_1', 'add']),
      L('Maximum', 'maximum', {}, ['dense', 'dense_1']),
      L('Minimum', 'minimum', {}, ['dense', 'dense_1']),
      L('Concatenate', 'concatenate', { axis: -1 }, ['add', 'subtract', 'multiply', 'average', 'maximum', 'minimum']),
      L('Dense', 'dense_2', { units: 3, activation: 'softmax' }, ['concatenate']),
      L('Dense', 'dense_3', { units: 1, activation: 'sigmoid' }, ['subtract']),
    ],
    outputs: ['dense_2', 'dense_3'],
  },
  {
    name: 'two_in_two_out_k3', keras: 3, model: 'Functional', batch: 4,
    inputs: [{ name: 'input_layer', shape: [6], range: [-1, 1] }, { name: 'input_layer_1', shape: [4, 3], range: [-1, 1] }],
    layers: [
      L('Dense', 'dense', { units: 12, activation: 'relu' }, ['input_layer']),
      L('Flatten', 'flatten', {}, ['input_layer_1']),
      L('Subtract', 'subtract', {}, ['dense', 'flatten']),
      L('Concatenate', 'concatenate', { axis: 1 }, ['dense', 'flatten', 'subtract']),
      L('Dense', 'dense_1', { units: 5, activation: 'linear' }, ['concatenate']),
      L('Reshape', 'reshape', { target_shape: [4, 3] }, ['subtract']),
      L('Add', 'add', {}, ['reshape', 'input_layer_1']),
      L('GlobalAveragePooling1D', 'global_average_pooling1d', {}, ['add']),
    ],
    outputs: ['dense_1', 'global_average_pooling1d'],
  },
  { name: 'activations_k2', keras: 2, model: 'Functional', batch: 6, ...activationZoo(2, K2_ACTS) },
  { name: 'activations_k3', keras: 3, model: 'Functional', batch: 6, ...activationZoo(3, K3_ACTS) },
  {
    name: 'activation_layers', keras: 2, model: 'Sequential', batch: 5,
    inputs: [{ name: 'dense_input', shape: [10], range: [-1.5, 1.5] }],
    layers: [
      L('Dense', 'dense', { units: 10 }),
      L('ReLU', 're_lu', { max_value: 0.8 }),
      L('Dense', 'dense_1', { units: 10 }),
      L('LeakyReLU', 'leaky_re_lu', { alpha: 0.3 }),
      L('Dense', 'dense_2', { units: 10 }),
      L('PReLU', 'p_re_lu', {}),
      L('Dense', 'dense_3', { units: 10 }),
      L('ELU', 'elu', { alpha: 0.7 }),
      L('Dense', 'dense_4', { units: 10 }),
      L('ReLU', 're_lu_1', { negative_slope: 0.1, threshold: 0.2 }),
      L('Dense', 'dense_5', { units: 10 }),
      L('Activation', 'activation', { activation: 'tanh' }),
      L('Dense', 'dense_6', { units: 6 }),
      L('Softmax', 'softmax', { axis: -1 }),
    ],
  },
  {
    name: 'norm_noise_k3', keras: 3, model: 'Sequential', batch: 5,
    inputs: [{ name: 'input_layer', shape: [12], range: [-2, 4] }],
    layers: [
      L('Rescaling', 'rescaling', { scale: 0.5, offset: 0.25 }),
      L('Normalization', 'normalization', { axis: -1 }),
      L('Dense', 'dense', { units: 16, activation: 'mish' }),
      L('GaussianNoise', 'gaussian_noise', { stddev: 0.5 }),
      L('GaussianDropout', 'gaussian_dropout', { rate: 0.3 }),
      L('AlphaDropout', 'alpha_dropout', { rate: 0.2 }),
      L('Dropout', 'dropout', { rate: 0.5 }),
      L('BatchNormalization', 'batch_normalization', {}),
      L('LayerNormalization', 'layer_normalization', {}),
      L('Dense', 'dense_1', { units: 8, activation: 'hard_sigmoid' }),
      L('Activation', 'activation', { activation: 'exponential' }),
    ],
  },
  {
    name: 'reshape_ops', keras: 2, model: 'Sequential', batch: 4,
    inputs: [{ name: 'normalization_input', shape: [24], range: [-1, 3] }],
    layers: [
      L('Normalization', 'normalization', { axis: -1,
        mean: Array.from({ length: 24 }, (_, i) => Math.round((0.1 * i - 0.5) * 100) / 100),
        variance: Array.from({ length: 24 }, (_, i) => 0.5 + 0.125 * (i % 8)) }),
      L('Rescaling', 'rescaling', { scale: 0.8, offset: -0.1 }),
      L('Dense', 'dense', { units: 24, activation: 'softsign' }),
      L('Reshape', 'reshape', { target_shape: [4, 6] }),
      L('Permute', 'permute', { dims: [2, 1] }),
      L('Conv1D', 'conv1d', { filters: 3, kernel_size: 2, activation: 'hard_sigmoid' }),
      L('Flatten', 'flatten'),
      L('RepeatVector', 'repeat_vector', { n: 3 }),
      L('LayerNormalization', 'layer_normalization', {}),
      L('GlobalMaxPooling1D', 'global_max_pooling1d'),
      L('Dense', 'dense_1', { units: 4, activation: 'exponential' }),
    ],
  },
  {
    name: 'pooling_same_odd', keras: 2, model: 'Functional', batch: 3,
    inputs: [{ name: 'input_1', shape: [7, 5, 3], range: [-1, 1] }],
    layers: [
      L('AveragePooling2D', 'average_pooling2d', { pool_size: 2, padding: 'same' }, ['input_1']),
      L('MaxPooling2D', 'max_pooling2d', { pool_size: [3, 2], strides: [2, 1], padding: 'same' }, ['input_1']),
      L('AveragePooling2D', 'average_pooling2d_1', { pool_size: 3, strides: 1, padding: 'valid' }, ['input_1']),
      L('Flatten', 'flatten', {}, ['average_pooling2d']),
      L('Flatten', 'flatten_1', {}, ['max_pooling2d']),
      L('Flatten', 'flatten_2', {}, ['average_pooling2d_1']),
      L('Concatenate', 'concatenate', { axis: -1 }, ['flatten', 'flatten_1', 'flatten_2']),
      L('Dense', 'dense', { units: 4, activation: 'swish' }, ['concatenate']),
    ],
    outputs: ['dense'],
  },
  // Recurrent layers and wrappers (issue 11). tfjs runs LSTM, SimpleRNN, GRU(reset_after=False),
  // Bidirectional and TimeDistributed; GRU(reset_after=True) is the Keras definition in tfjs ops.
  {
    name: 'lstm_stack_k2', keras: 2, model: 'Sequential', batch: 4,
    inputs: [{ name: 'lstm_input', shape: [12, 5], range: [-1, 1] }],
    layers: [
      L('LSTM', 'lstm', { units: 8, return_sequences: true }),
      L('LSTM', 'lstm_1', { units: 6, go_backwards: true, recurrent_activation: 'hard_sigmoid', unroll: true }),
      L('Dense', 'dense', { units: 3, activation: 'softmax' }),
    ],
  },
  {
    name: 'gru_variants_k2', keras: 2, model: 'Functional', batch: 3,
    inputs: [{ name: 'input_1', shape: [10, 4], range: [-1, 1] }],
    layers: [
      L('GRU', 'gru', { units: 7, return_sequences: true }, ['input_1']),
      L('GRU', 'gru_1', { units: 5, reset_after: false, go_backwards: true }, ['gru']),
      L('GRU', 'gru_2', { units: 6, use_bias: false, return_sequences: true, go_backwards: true }, ['input_1']),
      L('GRU', 'gru_3', { units: 4, reset_after: false, use_bias: false, activation: 'relu',
        recurrent_activation: 'hard_sigmoid' }, ['gru_2']),
      L('Concatenate', 'concatenate', { axis: -1 }, ['gru_1', 'gru_3']),
      L('Dense', 'dense', { units: 2 }, ['concatenate']),
    ],
    outputs: ['dense', 'gru_2'],
  },
  {
    name: 'simple_rnn_time_distributed_k2', keras: 2, model: 'Sequential', batch: 5,
    inputs: [{ name: 'simple_rnn_input', shape: [9, 6], range: [-1, 1] }],
    layers: [
      L('SimpleRNN', 'simple_rnn', { units: 8, return_sequences: true, activation: 'relu' }),
      L('TimeDistributed', 'time_distributed', { layer: L('Dense', 'dense', { units: 4, activation: 'sigmoid' }) }),
      L('SimpleRNN', 'simple_rnn_1', { units: 5, use_bias: false, go_backwards: true, return_sequences: true }),
      L('TimeDistributed', 'time_distributed_1', { layer: L('Dense', 'dense_1', { units: 3, activation: 'softmax' }) }),
    ],
  },
  {
    name: 'bidirectional_k2', keras: 2, model: 'Functional', batch: 3,
    inputs: [{ name: 'input_1', shape: [8, 5], range: [-1, 1] }],
    layers: [
      L('Bidirectional', 'bidirectional', { layer: L('LSTM', 'lstm', { units: 6, return_sequences: true }) }, ['input_1']),
      L('Bidirectional', 'bidirectional_1', { layer: L('GRU', 'gru', { units: 4, reset_after: false }), merge_mode: 'sum' },
        ['bidirectional']),
      L('Bidirectional', 'bidirectional_2', { layer: L('SimpleRNN', 'simple_rnn', { units: 3 }), merge_mode: 'mul' },
        ['input_1']),
      L('Bidirectional', 'bidirectional_3', { layer: L('GRU', 'gru_1', { units: 4, return_sequences: true }),
        merge_mode: 'ave' }, ['input_1']),
      L('Bidirectional', 'bidirectional_4', { layer: L('GRU', 'gru_2', { units: 3 }) }, ['bidirectional_3']),
      L('Concatenate', 'concatenate', { axis: -1 }, ['bidirectional_1', 'bidirectional_2', 'bidirectional_4']),
      L('Dense', 'dense', { units: 3, activation: 'softmax' }, ['concatenate']),
    ],
    outputs: ['dense', 'bidirectional'],
  },
  {
    name: 'recurrent_text_k3', keras: 3, model: 'Sequential', batch: 4,
    inputs: [{ name: 'input_layer', shape: [11], dtype: 'int32', vocab: 30 }],
    layers: [
      L('Embedding', 'embedding', { input_dim: 30, output_dim: 6 }),
      L('Bidirectional', 'bidirectional', { layer: L('LSTM', 'lstm', { units: 5, return_sequences: true }) }),
      L('GRU', 'gru', { units: 6, return_sequences: true }),
      L('TimeDistributed', 'time_distributed', { layer: L('Dense', 'dense', { units: 4, activation: 'tanh' }) }),
      L('SimpleRNN', 'simple_rnn', { units: 4 }),
      L('Dense', 'dense_1', { units: 2, activation: 'sigmoid' }),
    ],
  },
  {
    // 60 steps: tolerance 1e-4 (float32 rounding accumulates through the recurrence).
    name: 'lstm_long_k2', keras: 2, model: 'Sequential', batch: 3, rtol: 1e-4,
    inputs: [{ name: 'lstm_input', shape: [60, 4], range: [-1, 1] }],
    layers: [
      L('LSTM', 'lstm', { units: 16, return_sequences: true }),
      L('GRU', 'gru', { units: 8 }),
    ],
  },
  // Masks (Keras 2 semantics, which tfjs follows for these layers): padded ids / padded steps are
  // skipped by the RNNs (state and output carried), Dense and TimeDistributed pass the mask on,
  // an RNN without return_sequences drops it.
  {
    name: 'masked_text_k2', keras: 2, model: 'Sequential', batch: 5,
    inputs: [{ name: 'embedding_input', shape: [10], dtype: 'int32', vocab: 20, pad_tail: [0, 3, 6, 1, 9],
      masked_steps: [[0, 4], [2, 1]] }],
    layers: [
      L('Embedding', 'embedding', { input_dim: 20, output_dim: 6, mask_zero: true }),
      L('LSTM', 'lstm', { units: 7, return_sequences: true }),
      L('Dense', 'dense', { units: 5, activation: 'tanh' }),
      L('GRU', 'gru', { units: 4, reset_after: false, go_backwards: true }),
      L('Dense', 'dense_1', { units: 3, activation: 'softmax' }),
    ],
  },
  {
    name: 'masking_layer_k2', keras: 2, model: 'Sequential', batch: 4,
    inputs: [{ name: 'masking_input', shape: [8, 3], range: [-1, 1], pad_tail: [2, 0, 5, 3], masked_steps: [[1, 2]] }],
    layers: [
      L('Masking', 'masking', { mask_value: 0 }),
      L('TimeDistributed', 'time_distributed', { layer: L('Dense', 'dense', { units: 5, activation: 'relu' }) }),
      L('SimpleRNN', 'simple_rnn', { units: 6, return_sequences: true }),
      L('Bidirectional', 'bidirectional', { layer: L('LSTM', 'lstm', { units: 4 }) }),
    ],
  },
  // Image-to-image layers (issue 11).
  {
    name: 'conv_transpose_upsample_k2', keras: 2, model: 'Functional', batch: 2,
    inputs: [{ name: 'input_1', shape: [4, 5, 3], range: [-1, 1] }],
    layers: [
      L('Conv2DTranspose', 'conv2d_transpose', { filters: 4, kernel_size: 3, strides: 2, padding: 'same', activation: 'relu' }, ['input_1']),
      L('Conv2DTranspose', 'conv2d_transpose_1', { filters: 3, kernel_size: [3, 2], strides: [2, 1], output_padding: [1, 0] },
        ['conv2d_transpose']),
      L('Conv2DTranspose', 'conv2d_transpose_2', { filters: 2, kernel_size: 2, strides: 3, activation: 'tanh' }, ['input_1']),
      L('UpSampling2D', 'up_sampling2d', { size: [2, 3], interpolation: 'bilinear' }, ['conv2d_transpose_2']),
    ],
    outputs: ['conv2d_transpose_1', 'up_sampling2d'],
  },
  {
    name: 'conv1d_transpose_k2', keras: 2, model: 'Sequential', batch: 3,
    inputs: [{ name: 'zero_padding1d_input', shape: [7, 3], range: [-1, 1] }],
    layers: [
      L('ZeroPadding1D', 'zero_padding1d', { padding: [1, 2] }),
      L('Conv1DTranspose', 'conv1d_transpose', { filters: 4, kernel_size: 3, strides: 2, padding: 'same', activation: 'relu' }),
      L('Cropping1D', 'cropping1d', { cropping: [2, 1] }),
      L('Conv1DTranspose', 'conv1d_transpose_1', { filters: 2, kernel_size: 4, strides: 3, output_padding: 1 }),
    ],
  },
  {
    name: 'separable_conv1d_k2', keras: 2, model: 'Sequential', batch: 3,
    inputs: [{ name: 'separable_conv1d_input', shape: [11, 4], range: [-1, 1] }],
    layers: [
      L('SeparableConv1D', 'separable_conv1d', { filters: 6, kernel_size: 3, padding: 'same', depth_multiplier: 2, activation: 'relu' }),
      L('SeparableConv1D', 'separable_conv1d_1', { filters: 5, kernel_size: 2, padding: 'causal', dilation_rate: 2, use_bias: false }),
      L('SeparableConv1D', 'separable_conv1d_2', { filters: 3, kernel_size: 3, strides: 2, activation: 'tanh' }),
    ],
  },
  {
    // Attention layers: no tfjs layer; the Keras 2.15 definitions in tfjs ops.
    name: 'attention_k2', keras: 2, model: 'Functional', batch: 3,
    inputs: [{ name: 'query', shape: [5, 4], range: [-1, 1] }, { name: 'value', shape: [7, 4], range: [-1, 1] },
      { name: 'key', shape: [7, 4], range: [-1, 1] }],
    layers: [
      L('Attention', 'attention', { use_scale: true }, ['query', 'value']),
      L('Attention', 'attention_1', {}, ['query', 'value', 'key']),
      L('Attention', 'attention_2', { use_scale: true, score_mode: 'concat' }, ['query', 'value', 'key']),
      L('AdditiveAttention', 'additive_attention', {}, ['query', 'value']),
      L('AdditiveAttention', 'additive_attention_1', { use_scale: false }, ['query', 'value', 'key']),
      L('Concatenate', 'concatenate', { axis: -1 }, ['attention', 'attention_1', 'attention_2', 'additive_attention',
        'additive_attention_1']),
      L('Dense', 'dense', { units: 3 }, ['concatenate']),
    ],
    outputs: ['dense'],
  },
];
