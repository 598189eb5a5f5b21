#!/usr/bin/env python3
"""tests/fuzz/gen_events_corpus.py — writes the seed corpus of fuzz_events.

    python3 tests/fuzz/gen_events_corpus.py [OUTDIR]   default: tests/fuzz/corpus/fuzz_events

Each seed is a TensorBoard event file framed as TFRecords with correct masked CRC-32C, built
from the Event, Summary, TensorProto and SessionLog fields the scalar reader decodes
(FORMATS §6): the two byte layouts TensorFlow's writers produce (the fast path), the general
forms (float_val packed and unpacked, double_val, tensor_content), other plugins, histograms,
a SessionLog START purge, out-of-order steps in a version 1 file. Without valid CRCs a
mutated input never reaches the Event parser; the harness also re-frames each input, so the
mutations of these seeds reach it. Deterministic: the same script gives the same bytes.
"""
import os
import struct
import sys


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(payload):
    head = struct.pack("<Q", len(payload))
    return head + struct.pack("<I", masked(head)) + payload + struct.pack("<I", masked(payload))


def varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, v):
    return key(field, 0) + varint(v)


def f_len(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_fixed32(field, v):
    return key(field, 5) + struct.pack("<f", v)


def f_double(field, v):
    return key(field, 1) + struct.pack("<d", v)


# Event: wall_time 1, step 2, file_version 3, summary 5, session_log 6.
def event(step, wall=1.6e9, version=None, summary=None, session_log=None):
    out = f_double(1, wall + step) + f_varint(2, step)
    if version is not None:
        out += f_len(3, version)
    if summary is not None:
        out += f_len(5, summary)
    if session_log is not None:
        out += f_len(6, session_log)
    return out


# Summary.Value: tag 1, simple_value 2, histo 5, tensor 8, metadata 9.
def value(tag, simple=None, tensor=None, plugin=None, histo=False):
    out = f_len(1, tag)
    if simple is not None:
        out += f_fixed32(2, simple)
    if histo:
        out += f_len(5, f_double(1, 0.0) + f_double(2, 1.0) + f_double(3, 4.0))
    if tensor is not None:
        out += f_len(8, tensor)
    if plugin is not None:
        out += f_len(9, f_len(1, f_len(1, plugin)))
    return out


def summary(*values):
    return b"".join(f_len(1, v) for v in values)


# TensorProto: dtype 1, tensor_shape 2, tensor_content 4, float_val 5, double_val 6.
DT_FLOAT, DT_DOUBLE = 1, 2


def tensor_scalar_content(v):
    return f_varint(1, DT_FLOAT) + f_len(2, b"") + f_len(4, struct.pack("<f", v))


def tensor_float_val_packed(v):
    return f_varint(1, DT_FLOAT) + f_len(2, b"") + f_len(5, struct.pack("<f", v))


def tensor_float_val(v):
    return f_varint(1, DT_FLOAT) + f_len(2, b"") + f_fixed32(5, v)


def tensor_double_val(v, packed):
    body = struct.pack("<d", v)
    return f_varint(1, DT_DOUBLE) + f_len(2, b"") + (f_len(6, body) if packed else f_double(6, v))


def tensor_vector(vals):
    shape = f_len(2, f_varint(1, len(vals)))  # TensorShapeProto.dim { size }
    return f_varint(1, DT_FLOAT) + f_len(2, shape) + f_len(4, struct.pack("<%df" % len(vals), *vals))


SESSION_START = f_varint(1, 1)


def seeds():
    v2 = [event(0, version="brain.Event:2")]
    yield "keras_v2", v2 + [
        event(s, summary=summary(value("epoch_loss", tensor=tensor_scalar_content(1.0 / s), plugin="scalars")))
        for s in range(1, 6)
    ]
    yield "tf1_simple_value", [event(0, version="brain.Event:1")] + [
        event(s, summary=summary(value("loss", simple=0.5 * s), value("accuracy", simple=0.1 * s)))
        for s in (1, 2, 3, 2, 4)  # step 2 again: out of order purges in a version 1 file
    ]
    yield "tensor_forms", v2 + [
        event(1, summary=summary(value("a", tensor=tensor_float_val_packed(1.5), plugin="scalars"))),
        event(2, summary=summary(value("a", tensor=tensor_float_val(2.5)))),
        event(3, summary=summary(value("b", tensor=tensor_double_val(3.5, True), plugin="scalars"))),
        event(4, summary=summary(value("b", tensor=tensor_double_val(4.5, False)))),
        event(5, summary=summary(value("c", tensor=tensor_vector([1, 2, 3]), plugin="scalars"))),
        event(6, summary=summary(value("tensor_no_tag_meta", tensor=tensor_scalar_content(6.0)))),
    ]
    yield "other_plugins", v2 + [
        event(1, summary=summary(value("img", tensor=tensor_scalar_content(1.0), plugin="images"))),
        event(2, summary=summary(value("img", tensor=tensor_scalar_content(2.0)))),
        event(3, summary=summary(value("h", histo=True), value("x", simple=3.0))),
    ]
    yield "session_start_purge", v2 + [
        event(s, summary=summary(value("loss", tensor=tensor_scalar_content(float(s)), plugin="scalars")))
        for s in range(1, 5)
    ] + [event(2, session_log=SESSION_START)] + [
        event(s, summary=summary(value("loss", tensor=tensor_scalar_content(float(s)), plugin="scalars")))
        for s in range(2, 4)
    ]
    yield "odd_versions", [
        event(0, version="brain.Event:x"),
        event(1, summary=summary(value("v", simple=float("nan")))),
        event(0, version="brain.Event:2.5"),
        event(2, summary=summary(value("v", simple=float("inf")))),
        event(-1 & ((1 << 64) - 1), summary=summary(value("v", simple=-1.0))),
    ]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "fuzz_events")
    os.makedirs(out, exist_ok=True)
    for name, events in seeds():
        with open(os.path.join(out, name + ".tfevents"), "wb") as f:
            f.write(b"".join(record(e) for e in events))


if __name__ == "__main__":
    main()
