"""A minimal stand-in for the tf.keras 2.15 Functional API, enough to write `model.to_json()`.

Layers are created and called as in Keras; `Model(inputs, outputs).to_json()` orders the layers
as tf.keras 2.15 `functional.py` `_map_graph_network` does (decreasing depth, ties in DFS order
from the outputs), names unnamed layers as `backend.unique_object_name(to_snake_case(cls))`
does (`rescaling`, `rescaling_1`, ...; InputLayer: `input_1`), and writes each layer with the
2.13+ envelope (module, class_name, config, registered_name, build_config, name,
inbound_nodes). Each layer's config fields are those of its tf.keras 2.15 `get_config()`, read
from the source (keras-team/tf-keras `tf_keras/layers/...`, the continuation of Keras 2.15).

No TensorFlow is involved: shapes are inferred here for the few layer classes the
applications use. Python 3 + the standard library only.
"""
import collections
import json
import re

KERAS_VERSION = "2.15.0"

_uids = collections.Counter()


def reset_names():
    _uids.clear()


def _snake(name):
    # tf_keras/utils/generic_utils.py to_snake_case
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


def _unique(base, zero_based=True):
    n = _uids[base]
    _uids[base] += 1
    if zero_based:
        return base if n == 0 else f"{base}_{n}"
    return f"{base}_{n + 1}"


def init(cls, **config):
    return {"module": "keras.initializers", "class_name": cls, "config": config,
            "registered_name": None}


def glorot():
    return init("GlorotUniform", seed=None)


def variance_scaling(d):
    """An initializer given as a dict in the application source (efficientnet.py)."""
    c = dict(d["config"])
    c["seed"] = None
    return init(d["class_name"], **c)


class Tensor:
    def __init__(self, layer, shape):
        self.layer, self.shape = layer, tuple(shape)


class Layer:
    """cls: Keras class name; fields: get_config() fields after name/trainable/dtype;
    weights: [(attribute name, shape, dtype)] in the layer's `weights` order."""

    def __init__(self, cls, name=None, **fields):
        self.cls = cls
        self.name = name if name is not None else _unique(_snake(cls))
        self.fields = fields
        self.inputs = []
        self.weights = []
        self.out = None

    def __call__(self, x):
        xs = x if isinstance(x, list) else [x]
        assert self.out is None, "each layer is called once in these models"
        self.inputs = xs
        shapes = [t.shape for t in xs]
        self.build_input_shape = [list(s) for s in shapes] if isinstance(x, list) else list(shapes[0])
        self.out = Tensor(self, _infer(self, shapes))
        return self.out

    def config(self):
        c = {"name": self.name, "trainable": True, "dtype": "float32"}
        c.update(self.fields)
        return c


def Input(shape):
    layer = Layer("InputLayer", name=_unique("input", zero_based=False))
    layer.fields = {}
    layer.out = Tensor(layer, (None,) + tuple(shape))
    return layer.out


def _tuple(v, n=2):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def _conv_out(n, k, s, d, padding):
    if padding == "same":
        return -(-n // s)
    return (n - (k - 1) * d - 1) // s + 1


def _infer(layer, shapes):
    f, s = layer.fields, shapes[0]
    cls = layer.cls
    if cls in ("Conv2D", "DepthwiseConv2D", "MaxPooling2D"):
        ks = f["kernel_size"] if "kernel_size" in f else f["pool_size"]
        dil = f.get("dilation_rate", [1, 1])
        h = _conv_out(s[1], ks[0], f["strides"][0], dil[0], f["padding"])
        w = _conv_out(s[2], ks[1], f["strides"][1], dil[1], f["padding"])
        if cls == "Conv2D":
            c = f["filters"]
            layer.weights = [("kernel", ks + [s[3], c], "float32")]
            if f["use_bias"]:
                layer.weights.append(("bias", [c], "float32"))
        elif cls == "DepthwiseConv2D":
            c = s[3] * f["depth_multiplier"]
            layer.weights = [("depthwise_kernel", ks + [s[3], f["depth_multiplier"]], "float32")]
            if f["use_bias"]:
                layer.weights.append(("bias", [c], "float32"))
        else:
            c = s[3]
        return (None, h, w, c)
    if cls == "ZeroPadding2D":
        (t, b), (l, r) = f["padding"]
        return (None, s[1] + t + b, s[2] + l + r, s[3])
    if cls == "BatchNormalization":
        c = s[f["axis"][0]]
        layer.weights = [(n, [c], "float32") for n in ("gamma", "beta", "moving_mean", "moving_variance")]
        return s
    if cls == "Normalization":
        c = s[f["axis"][0]]
        layer.weights = [("mean", [c], "float32"), ("variance", [c], "float32"), ("count", [], "int64")]
        return s
    if cls in ("Activation", "ReLU", "Rescaling", "Dropout"):
        return s
    if cls in ("Add", "Multiply"):
        # tf_keras/layers/merging/base_merge.py _compute_elemwise_op_output_shape: broadcast.
        out = list(s)
        for t in shapes[1:]:
            for i in range(1, len(out)):
                a, b = out[i], t[i]
                assert a == b or a == 1 or b == 1, (layer.name, shapes)
                out[i] = max(a, b)
        return tuple(out)
    if cls == "GlobalAveragePooling2D":
        return (None, s[3])
    if cls == "Reshape":
        return (None,) + tuple(f["target_shape"])
    if cls == "Dense":
        layer.weights = [("kernel", [s[-1], f["units"]], "float32")]
        if f["use_bias"]:
            layer.weights.append(("bias", [f["units"]], "float32"))
        return s[:-1] + (f["units"],)
    raise NotImplementedError(cls)


# ---- layer constructors with tf.keras 2.15 get_config() fields ----------------------------

def Conv2D(filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
           kernel_initializer=None, name=None, dilation_rate=1):
    # tf_keras/layers/convolutional/base_conv.py Conv.get_config; padding lower-cased by
    # conv_utils.normalize_padding ("SAME" in resnet.py -> "same").
    return Layer("Conv2D", name, filters=filters, kernel_size=_tuple(kernel_size),
                 strides=_tuple(strides), padding=padding.lower(), data_format="channels_last",
                 dilation_rate=_tuple(dilation_rate), groups=1, activation=activation or "linear",
                 use_bias=use_bias, kernel_initializer=kernel_initializer or glorot(),
                 bias_initializer=init("Zeros"), kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None)


def DepthwiseConv2D(kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                    depthwise_initializer=None, name=None, depth_multiplier=1):
    # tf_keras/layers/convolutional/base_depthwise_conv.py get_config: Conv's fields without
    # filters/kernel_*, then depth_multiplier and depthwise_*.
    return Layer("DepthwiseConv2D", name, kernel_size=_tuple(kernel_size), strides=_tuple(strides),
                 padding=padding.lower(), data_format="channels_last", dilation_rate=[1, 1],
                 groups=1, activation=activation or "linear", use_bias=use_bias,
                 bias_initializer=init("Zeros"), bias_regularizer=None, activity_regularizer=None,
                 bias_constraint=None, depth_multiplier=depth_multiplier,
                 depthwise_initializer=depthwise_initializer or glorot(),
                 depthwise_regularizer=None, depthwise_constraint=None)


def BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3, name=None):
    # tf_keras/layers/normalization/batch_normalization.py get_config; after build `axis` is a
    # list of non-negative ints; renorm / virtual_batch_size fields only when set.
    return Layer("BatchNormalization", name, axis=[axis % 4], momentum=momentum, epsilon=epsilon,
                 center=True, scale=True, beta_initializer=init("Zeros"),
                 gamma_initializer=init("Ones"), moving_mean_initializer=init("Zeros"),
                 moving_variance_initializer=init("Ones"), beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None)


def Activation(activation, name=None):
    return Layer("Activation", name, activation=activation)


def ReLU(max_value=None, name=None):
    # tf_keras/layers/activation/relu.py: max_value/negative_slope/threshold cast to floatx.
    return Layer("ReLU", name, max_value=None if max_value is None else float(max_value),
                 negative_slope=0.0, threshold=0.0)


def ZeroPadding2D(padding, name=None):
    return Layer("ZeroPadding2D", name, padding=[list(p) for p in padding],
                 data_format="channels_last")


def MaxPooling2D(pool_size, strides=None, padding="valid", name=None):
    return Layer("MaxPooling2D", name, pool_size=_tuple(pool_size), padding=padding,
                 strides=_tuple(strides if strides is not None else pool_size),
                 data_format="channels_last")


def GlobalAveragePooling2D(name=None):
    return Layer("GlobalAveragePooling2D", name, data_format="channels_last", keepdims=False)


def Dense(units, activation=None, kernel_initializer=None, name=None):
    return Layer("Dense", name, units=units, activation=activation or "linear", use_bias=True,
                 kernel_initializer=kernel_initializer or glorot(), bias_initializer=init("Zeros"),
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None)


def Add(name=None):
    return Layer("Add", name)


def Multiply(name=None):
    return Layer("Multiply", name)


def Dropout(rate, noise_shape=None, name=None):
    return Layer("Dropout", name, rate=rate,
                 noise_shape=None if noise_shape is None else list(noise_shape), seed=None)


def Reshape(target_shape, name=None):
    return Layer("Reshape", name, target_shape=list(target_shape))


def Rescaling(scale, offset=0.0, name=None):
    # tf_keras/layers/preprocessing/image_preprocessing.py Rescaling.get_config: scale/offset
    # as given (a float or a list).
    return Layer("Rescaling", name, scale=scale, offset=offset)


def Normalization(axis=-1, name=None):
    # tf_keras/layers/preprocessing/normalization.py: an int axis becomes the tuple (axis,);
    # mean/variance None (adapted state lives in the weights mean, variance, count).
    return Layer("Normalization", name, axis=[axis], invert=False, mean=None, variance=None)


# ---- the model -----------------------------------------------------------------------------

class Model:
    def __init__(self, inputs, outputs, name):
        self.inputs, self.outputs, self.name = [inputs], [outputs], name
        self.layers = _map_graph_network(self.outputs)

    def get_config(self):
        entries = []
        for layer in self.layers:
            if layer.cls == "InputLayer":
                cfg = {"batch_input_shape": list(layer.out.shape), "dtype": "float32",
                       "sparse": False, "ragged": False, "name": layer.name}
                e = {"module": "keras.layers", "class_name": "InputLayer", "config": cfg,
                     "registered_name": None, "name": layer.name, "inbound_nodes": []}
            else:
                e = {"module": "keras.layers", "class_name": layer.cls, "config": layer.config(),
                     "registered_name": None,
                     "build_config": {"input_shape": layer.build_input_shape},
                     "name": layer.name,
                     "inbound_nodes": [[[t.layer.name, 0, 0, {}] for t in layer.inputs]]}
            entries.append(e)
        return {"name": self.name, "trainable": True, "layers": entries,
                "input_layers": [[t.layer.name, 0, 0] for t in self.inputs],
                "output_layers": [[t.layer.name, 0, 0] for t in self.outputs]}

    def to_json(self):
        # tf_keras/engine/training.py Model.to_json -> json.dumps(_updated_config())
        return json.dumps({"class_name": "Functional", "config": self.get_config(),
                           "keras_version": KERAS_VERSION, "backend": "tensorflow"})

    def layers_with_weights(self):
        return [l for l in self.layers if l.weights]


def _map_graph_network(outputs):
    """tf_keras/engine/functional.py _build_map + _map_graph_network: DFS from the outputs
    (inputs of a node in order) gives layer_indices (pre-order) and the nodes in decreasing
    depth (post-order); depth = longest path to an output; layers sorted by decreasing depth,
    ties by layer_indices."""
    layer_indices, order, done = {}, [], set()

    def visit(layer):
        if layer in done:
            return
        if layer not in layer_indices:
            layer_indices[layer] = len(layer_indices)
        for t in layer.inputs:
            visit(t.layer)
        done.add(layer)
        order.append(layer)

    for t in outputs:
        visit(t.layer)
    depth = {}
    for layer in reversed(order):
        d = depth.setdefault(layer, 0)
        for t in layer.inputs:
            depth[t.layer] = max(d + 1, depth.get(t.layer, 0))
    by_depth = collections.defaultdict(list)
    for layer, d in depth.items():
        by_depth[d].append(layer)
    result = []
    for d in sorted(by_depth, reverse=True):
        result.extend(sorted(by_depth[d], key=lambda l: layer_indices[l]))
    return result
