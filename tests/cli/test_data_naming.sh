#!/bin/bash
# Naming the data: a single-input model reads an .npz array `x` or one named after its input
# layer; --columns picks and orders CSV input columns (with --label); --bytes-dtype says what a
# TFRecord bytes_list feature holds. Each form of the same examples gives the same metrics.
source "$(dirname "$0")/common.bash" "$@"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"
"$TRAINER" --write-data "$TMP/a.npz" --write-model "$TMP/model.json" --eval-samples 120 >/dev/null ||
    fail "data"
"$TRAINER" --out "$TMP/run" --epochs 1 >/dev/null || fail "trainer"
CK="$TMP/run/ckpt-1"
COMMON=(--model "$TMP/model.json" --loss sparse_categorical_crossentropy --metrics accuracy --json)

metrics() { "$PYTHON" -c 'import json,sys; print(json.dumps(json.loads(open(sys.argv[1]).read())["metrics"], sort_keys=True))' "$OUT"; }

run eval "$CK" --data "$TMP/a.npz" "${COMMON[@]}"
expect_rc 0 "npz with x"
WANT=$(metrics)

# The same arrays under other names and forms, written without numpy.
"$PYTHON" - "$TMP" "$(dirname "$0")" <<'PY' || fail "writing the variants"
import ast, struct, sys, zipfile
tmp = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from pbwire import ld, varint
z = zipfile.ZipFile(tmp + "/a.npz")
def load(name):
    raw = z.read(name + ".npy")
    hl = struct.unpack("<H", raw[8:10])[0]
    hdr = ast.literal_eval(raw[10:10 + hl].decode())
    body = raw[10 + hl:]
    fmt = {"<f4": "f", "<i8": "q"}[hdr["descr"]]
    n = 1
    for d in hdr["shape"]:
        n *= d
    return hdr["shape"], struct.unpack("<%d%s" % (n, fmt), body[:n * struct.calcsize(fmt)]), raw
(xs, x, xraw), (ys, y, yraw) = load("x"), load("y")
# 1. the input layer's name instead of x
with zipfile.ZipFile(tmp + "/named.npz", "w") as o:
    o.writestr("dense_input.npy", xraw)
    o.writestr("y.npy", yraw)
# 2. CSV: a label column named "target", a column to leave out, the inputs in reverse order
rows, cols = xs
with open(tmp + "/a.csv", "w") as f:
    f.write(",".join(["target", "noise"] + ["c%d" % j for j in reversed(range(cols))]) + "\n")
    for i in range(rows):
        v = x[i * cols:(i + 1) * cols]
        f.write(",".join([str(y[i]), "7"] + ["%.9g" % v[j] for j in reversed(range(cols))]) + "\n")
# 3. TFRecord: feature x as one bytes_list value (raw float32), label y as int64_list
def crc32c(data, table=[]):
    if not table:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            table.append(c)
    c = 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
def mask(c):
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
def entry(key, feature):
    return ld(1, ld(1, key.encode()) + ld(2, feature))
with open(tmp + "/a.tfrecord", "wb") as f:
    for i in range(rows):
        raw = struct.pack("<%df" % cols, *x[i * cols:(i + 1) * cols])
        fx = ld(1, ld(1, raw))                          # Feature.bytes_list { value: raw }
        fy = ld(3, ld(1, varint(y[i] & (2**64 - 1))))   # Feature.int64_list { value: [y] } packed
        ex = ld(1, entry("x", fx) + entry("y", fy))     # Example.features.feature map
        n = struct.pack("<Q", len(ex))
        f.write(n + struct.pack("<I", mask(crc32c(n))) + ex + struct.pack("<I", mask(crc32c(ex))))
PY

run eval "$CK" --data "$TMP/named.npz" "${COMMON[@]}"
expect_rc 0 "npz with the input layer's name"
[ "$(metrics)" = "$WANT" ] || fail "npz by input name: $(metrics) != $WANT"

COLS=$("$PYTHON" -c 'print(",".join("c%d" % j for j in range(16)))')
run eval "$CK" --data "$TMP/a.csv" --columns "$COLS" --label target "${COMMON[@]}"
expect_rc 0 "CSV --columns --label"
[ "$(metrics)" = "$WANT" ] || fail "CSV --columns: $(metrics) != $WANT"
run eval "$CK" --data "$TMP/a.csv" --columns=c0,nope --label target "${COMMON[@]}"
expect_rc 1 "CSV --columns naming a missing column"
grep -q nope "$ERR" || fail "the missing column is named"

run eval "$CK" --data "$TMP/a.tfrecord" "${COMMON[@]}"
expect_rc 1 "TFRecord bytes_list without --bytes-dtype"
grep -q -- '--bytes-dtype' "$ERR" || fail "the error names --bytes-dtype"
run eval "$CK" --data "$TMP/a.tfrecord" --bytes-dtype x=float32 "${COMMON[@]}"
expect_rc 0 "TFRecord --bytes-dtype x=float32"
[ "$(metrics)" = "$WANT" ] || fail "TFRecord bytes: $(metrics) != $WANT"
run eval "$CK" --data "$TMP/a.tfrecord" --bytes-dtype=float32 "${COMMON[@]}"
expect_rc 0 "TFRecord --bytes-dtype=float32 (every input)"
[ "$(metrics)" = "$WANT" ] || fail "TFRecord bytes (every input): $(metrics) != $WANT"
run eval "$CK" --data "$TMP/a.tfrecord" --bytes-dtype x=complex64 "${COMMON[@]}"
expect_rc 2 "--bytes-dtype with a dtype that is not numeric"
echo "PASS"
