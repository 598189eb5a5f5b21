#!/usr/bin/env python3
"""Writes keras.applications model configs as tf.keras 2.15 `model.to_json()` writes them.

Each builder below follows, call for call, the application source of tf.keras 2.15 (read from
keras-team/tf-keras, which continues Keras 2.15 unchanged in these files):
  * tf_keras/applications/resnet.py        ResNet, block1, stack1, ResNet50
  * tf_keras/applications/mobilenet_v2.py  MobileNetV2, _inverted_res_block, _make_divisible
  * tf_keras/applications/efficientnet.py  EfficientNet, block, DEFAULT_BLOCKS_ARGS, EfficientNetB0
  * tf_keras/applications/imagenet_utils.py correct_pad
with include_top=True, weights=None, a small input_shape (imagenet_utils.obtain_input_shape
accepts any size >= 32 when weights is None) and a small `classes`. One more config,
`efficientnetb0_notop`, is EfficientNetB0(include_top=False, weights="imagenet", pooling="avg")
as a transfer-learning base is built: with weights="imagenet" efficientnet.py adds the
`Rescaling(1/sqrt(stddev))` stem fix-up (tensorflow/tensorflow#49930); the config is written
before `load_weights`, so no weights are fetched.

    python3 scripts/applications/make_configs.py [OUTDIR]     (default tests/golden/applications)

Writes OUTDIR/<model>/model.json and OUTDIR/<model>/weights.json (every layer with weights:
its index in model.layers, its Keras 2 `layer_with_weights-K` index, its variables with their
checkpoint keys and .weights.h5 paths; make_reference.py then adds the weight generator's
parameters). Python 3 standard library only.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras2_graph as L  # noqa: E402


def correct_pad(x, kernel_size):
    # imagenet_utils.correct_pad, channels_last: img_dim = 1
    input_size = x.shape[1:3]
    kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    adjust = (1, 1) if input_size[0] is None else (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


# ---- resnet.py -----------------------------------------------------------------------------

def resnet_block1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    bn_axis = 3
    if conv_shortcut:
        shortcut = L.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
        shortcut = L.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=name + "_0_bn")(shortcut)
    else:
        shortcut = x
    x = L.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = L.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=name + "_1_bn")(x)
    x = L.Activation("relu", name=name + "_1_relu")(x)
    x = L.Conv2D(filters, kernel_size, padding="SAME", name=name + "_2_conv")(x)
    x = L.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=name + "_2_bn")(x)
    x = L.Activation("relu", name=name + "_2_relu")(x)
    x = L.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = L.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=name + "_3_bn")(x)
    x = L.Add(name=name + "_add")([shortcut, x])
    x = L.Activation("relu", name=name + "_out")(x)
    return x


def resnet_stack1(x, filters, blocks, stride1=2, name=None):
    x = resnet_block1(x, filters, stride=stride1, name=name + "_block1")
    for i in range(2, blocks + 1):
        x = resnet_block1(x, filters, conv_shortcut=False, name=name + "_block" + str(i))
    return x


def ResNet50(input_shape, classes, classifier_activation="softmax"):
    def stack_fn(x):
        x = resnet_stack1(x, 64, 3, stride1=1, name="conv2")
        x = resnet_stack1(x, 128, 4, name="conv3")
        x = resnet_stack1(x, 256, 6, name="conv4")
        return resnet_stack1(x, 512, 3, name="conv5")

    use_bias, preact, bn_axis = True, False, 3
    img_input = L.Input(shape=input_shape)
    x = L.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = L.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = L.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name="conv1_bn")(x)
        x = L.Activation("relu", name="conv1_relu")(x)
    x = L.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = L.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    x = L.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return L.Model(img_input, x, name="resnet50")


# ---- mobilenet_v2.py -----------------------------------------------------------------------

def _make_divisible(v, divisor, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    channel_axis = -1
    in_channels = inputs.shape[channel_axis]
    pointwise_conv_filters = int(filters * alpha)
    pointwise_filters = _make_divisible(pointwise_conv_filters, 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = L.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False,
                     activation=None, name=prefix + "expand")(x)
        x = L.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                 name=prefix + "expand_BN")(x)
        x = L.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = L.ZeroPadding2D(padding=correct_pad(x, 3), name=prefix + "pad")(x)
    x = L.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                          padding="same" if stride == 1 else "valid", name=prefix + "depthwise")(x)
    x = L.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                             name=prefix + "depthwise_BN")(x)
    x = L.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = L.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False, activation=None,
                 name=prefix + "project")(x)
    x = L.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                             name=prefix + "project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return L.Add(name=prefix + "add")([inputs, x])
    return x


def MobileNetV2(input_shape, alpha=1.0, classes=1000, classifier_activation="softmax"):
    rows = input_shape[0]
    img_input = L.Input(shape=input_shape)
    channel_axis = -1
    first_block_filters = _make_divisible(32 * alpha, 8)
    x = L.Conv2D(first_block_filters, kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                 name="Conv1")(img_input)
    x = L.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = L.ReLU(6.0, name="Conv1_relu")(x)
    for filters, stride, expansion, block_id in [
            (16, 1, 1, 0), (24, 2, 6, 1), (24, 1, 6, 2), (32, 2, 6, 3), (32, 1, 6, 4),
            (32, 1, 6, 5), (64, 2, 6, 6), (64, 1, 6, 7), (64, 1, 6, 8), (64, 1, 6, 9),
            (96, 1, 6, 10), (96, 1, 6, 11), (96, 1, 6, 12), (160, 2, 6, 13), (160, 1, 6, 14),
            (160, 1, 6, 15), (320, 1, 6, 16)]:
        x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride,
                                expansion=expansion, block_id=block_id)
    last_block_filters = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = L.Conv2D(last_block_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = L.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = L.ReLU(6.0, name="out_relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return L.Model(img_input, x, name=f"mobilenetv2_{alpha:0.2f}_{rows}")


# ---- efficientnet.py -----------------------------------------------------------------------

DEFAULT_BLOCKS_ARGS = [
    dict(kernel_size=3, repeats=1, filters_in=32, filters_out=16, expand_ratio=1, id_skip=True,
         strides=1, se_ratio=0.25),
    dict(kernel_size=3, repeats=2, filters_in=16, filters_out=24, expand_ratio=6, id_skip=True,
         strides=2, se_ratio=0.25),
    dict(kernel_size=5, repeats=2, filters_in=24, filters_out=40, expand_ratio=6, id_skip=True,
         strides=2, se_ratio=0.25),
    dict(kernel_size=3, repeats=3, filters_in=40, filters_out=80, expand_ratio=6, id_skip=True,
         strides=2, se_ratio=0.25),
    dict(kernel_size=5, repeats=3, filters_in=80, filters_out=112, expand_ratio=6, id_skip=True,
         strides=1, se_ratio=0.25),
    dict(kernel_size=5, repeats=4, filters_in=112, filters_out=192, expand_ratio=6, id_skip=True,
         strides=2, se_ratio=0.25),
    dict(kernel_size=3, repeats=1, filters_in=192, filters_out=320, expand_ratio=6, id_skip=True,
         strides=1, se_ratio=0.25),
]
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}
IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]


def efficientnet_block(inputs, activation="swish", drop_rate=0.0, name="", filters_in=32,
                       filters_out=16, kernel_size=3, strides=1, expand_ratio=1, se_ratio=0.0,
                       id_skip=True):
    bn_axis = 3
    conv_init = L.variance_scaling(CONV_KERNEL_INITIALIZER)
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = L.Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=conv_init,
                     name=name + "expand_conv")(inputs)
        x = L.BatchNormalization(axis=bn_axis, name=name + "expand_bn")(x)
        x = L.Activation(activation, name=name + "expand_activation")(x)
    else:
        x = inputs
    if strides == 2:
        x = L.ZeroPadding2D(padding=correct_pad(x, kernel_size), name=name + "dwconv_pad")(x)
        conv_pad = "valid"
    else:
        conv_pad = "same"
    x = L.DepthwiseConv2D(kernel_size, strides=strides, padding=conv_pad, use_bias=False,
                          depthwise_initializer=conv_init, name=name + "dwconv")(x)
    x = L.BatchNormalization(axis=bn_axis, name=name + "bn")(x)
    x = L.Activation(activation, name=name + "activation")(x)
    if 0 < se_ratio <= 1:
        filters_se = max(1, int(filters_in * se_ratio))
        se = L.GlobalAveragePooling2D(name=name + "se_squeeze")(x)
        se_shape = (1, 1, filters)
        se = L.Reshape(se_shape, name=name + "se_reshape")(se)
        se = L.Conv2D(filters_se, 1, padding="same", activation=activation,
                      kernel_initializer=conv_init, name=name + "se_reduce")(se)
        se = L.Conv2D(filters, 1, padding="same", activation="sigmoid",
                      kernel_initializer=conv_init, name=name + "se_expand")(se)
        x = L.Multiply(name=name + "se_excite")([x, se])  # layers.multiply([x, se], name=...)
    x = L.Conv2D(filters_out, 1, padding="same", use_bias=False, kernel_initializer=conv_init,
                 name=name + "project_conv")(x)
    x = L.BatchNormalization(axis=bn_axis, name=name + "project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = L.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
        x = L.Add(name=name + "add")([x, inputs])  # layers.add([x, inputs], name=...)
    return x


def EfficientNet(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                 drop_connect_rate=0.2, depth_divisor=8, activation="swish",
                 model_name="efficientnet", include_top=True, weights="imagenet",
                 input_shape=None, pooling=None, classes=1000, classifier_activation="softmax"):
    blocks_args = DEFAULT_BLOCKS_ARGS
    img_input = L.Input(shape=input_shape)
    bn_axis = 3

    def round_filters(filters, divisor=depth_divisor):
        filters *= width_coefficient
        new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
        if new_filters < 0.9 * filters:
            new_filters += divisor
        return int(new_filters)

    def round_repeats(repeats):
        return int(math.ceil(depth_coefficient * repeats))

    x = img_input
    x = L.Rescaling(1.0 / 255.0)(x)
    x = L.Normalization(axis=bn_axis)(x)
    if weights == "imagenet":
        x = L.Rescaling([1.0 / math.sqrt(stddev) for stddev in IMAGENET_STDDEV_RGB])(x)
    x = L.ZeroPadding2D(padding=correct_pad(x, 3), name="stem_conv_pad")(x)
    conv_init = L.variance_scaling(CONV_KERNEL_INITIALIZER)
    x = L.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                 kernel_initializer=conv_init, name="stem_conv")(x)
    x = L.BatchNormalization(axis=bn_axis, name="stem_bn")(x)
    x = L.Activation(activation, name="stem_activation")(x)
    blocks_args = [dict(a) for a in blocks_args]  # copy.deepcopy
    b = 0
    blocks = float(sum(round_repeats(args["repeats"]) for args in blocks_args))
    for i, args in enumerate(blocks_args):
        args["filters_in"] = round_filters(args["filters_in"])
        args["filters_out"] = round_filters(args["filters_out"])
        for j in range(round_repeats(args.pop("repeats"))):
            if j > 0:
                args["strides"] = 1
                args["filters_in"] = args["filters_out"]
            x = efficientnet_block(x, activation, drop_connect_rate * b / blocks,
                                   name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1
    x = L.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                 kernel_initializer=conv_init, name="top_conv")(x)
    x = L.BatchNormalization(axis=bn_axis, name="top_bn")(x)
    x = L.Activation(activation, name="top_activation")(x)
    if include_top:
        x = L.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = L.Dropout(dropout_rate, name="top_dropout")(x)
        x = L.Dense(classes, activation=classifier_activation,
                    kernel_initializer=L.variance_scaling(DENSE_KERNEL_INITIALIZER),
                    name="predictions")(x)
    elif pooling == "avg":
        x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    return L.Model(img_input, x, name=model_name)


def EfficientNetB0(**kw):
    return EfficientNet(1.0, 1.0, 224, 0.2, model_name="efficientnetb0", **kw)


# The configs: each built in a fresh session (auto-names restart at input_1, rescaling, ...).
MODELS = {
    "resnet50": lambda: ResNet50(input_shape=(64, 64, 3), classes=10),
    "mobilenetv2": lambda: MobileNetV2(input_shape=(96, 96, 3), classes=10),
    # non-square, so that a height/width mix-up anywhere shows
    "efficientnetb0": lambda: EfficientNetB0(include_top=True, weights=None,
                                             input_shape=(80, 72, 3), classes=10),
    "efficientnetb0_notop": lambda: EfficientNetB0(include_top=False, weights="imagenet",
                                                   input_shape=(64, 64, 3), pooling="avg"),
}


def h5_groups(model):
    """The .weights.h5 group of each layer: saving_lib._save_container_state (Keras 3, and
    Keras 2.13+'s `.weights.h5` writer) names the layers of a model not by layer.name but by
    to_snake_case(class name), numbered in model.layers order: conv2d, conv2d_1, ..."""
    used, out = {}, {}
    for layer in model.layers:
        name = L._snake(layer.cls)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        out[layer] = "layers/" + name
    return out


def layer_table(model):
    out = []
    index = {l: n for n, l in enumerate(model.layers)}
    groups = h5_groups(model)
    for k, layer in enumerate(model.layers_with_weights()):
        out.append({"name": layer.name, "class_name": layer.cls, "keras2_layer_index": index[layer],
                    "keras2_layer_with_weights": k,
                    "vars": [{"index": i, "name": n, "shape": s, "dtype": dt,
                              "keras2_checkpoint_key":
                                  f"layer_with_weights-{k}/{n}/.ATTRIBUTES/VARIABLE_VALUE",
                              "keras3_h5_path": f"{groups[layer]}/vars/{i}"}
                             for i, (n, s, dt) in enumerate(layer.weights)]})
    return out


def build(name):
    L.reset_names()
    return MODELS[name]()


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "../../tests/golden/applications")
    for name in MODELS:
        m = build(name)
        d = os.path.join(outdir, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.json"), "w") as f:
            f.write(m.to_json())
        with open(os.path.join(d, "weights.json"), "w") as f:
            json.dump({"model": name, "keras2_num_layers": len(m.layers), "layers": layer_table(m)},
                      f, indent=1)
        nparams = sum(math.prod(v["shape"]) for l in layer_table(m) for v in l["vars"])
        print(f"{name}: {len(m.layers)} layers, {len(m.layers_with_weights())} with weights, "
              f"{nparams} weight values, output {m.outputs[0].shape}")


if __name__ == "__main__":
    main()
