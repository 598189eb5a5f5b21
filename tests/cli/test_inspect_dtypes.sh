#!/bin/bash
# sidecar inspect --values on every type it decodes (sc_write_demo_ckpt --all-dtypes): float16
# and bfloat16 shown as floats, complex as (re,im), bools, strings escaped and cut, NaN and
# infinities, empty tensors; a type it does not decode (float8) is listed as such and does not
# stop the others; and the same values in --json.
source "$(dirname "$0")/common.bash" "$@"

D="$TMP/all"
demo_ckpt "$D" --all-dtypes

run inspect "$D" --values 3
expect_rc 0 "--values 3 on every dtype"
expect_out_line '^extra/float16 +float16 +\[3\] +6$' "float16 row"
expect_values extra/bool '[true, false, true]'
expect_values extra/float16 '[1, -2, inf]'
expect_values extra/bfloat16 '[1.5, -1]'
expect_values extra/int8 '[-128, 0, 127]'
expect_values extra/uint8 '[0, 255]'
expect_values extra/float64 '[0.10000000000000001, -2]'
expect_values extra/complex64 '[(1.5,-2)]'
expect_values extra/nonfinite '[nan, -inf]'
expect_values extra/empty '[]'
expect_values extra/float8 '(not decoded: float8_e5m2, 2 bytes)'
expect_values extra/string '["hello", "a\"b\\c\n\x01", "0123456789abcdefghijklmnopqrstuvwxyz0123"...(72 bytes)]'

run inspect "$D" --values 1
expect_rc 0 "--values 1"
expect_values extra/string '["hello", ... 2 more]'
expect_values extra/empty '[]'

run inspect "$D" --values 3 --json
expect_rc 0 "--json --values 3 on every dtype"
expect_json "--json values of every dtype" \
    "{t['key']: t['values'] for t in d['tensors'] if t['key'].startswith('extra/')} == {
    'extra/bool': [True, False, True],
    'extra/float16': [1, -2, 'Infinity'],
    'extra/bfloat16': [1.5, -1],
    'extra/int8': [-128, 0, 127],
    'extra/uint8': [0, 255],
    'extra/float64': [0.1, -2],
    'extra/complex64': [[1.5, -2]],
    'extra/nonfinite': ['NaN', '-Infinity'],
    'extra/empty': [],
    'extra/float8': None,
    'extra/string': ['hello', 'a\"b\\\\c\\n\\x01', ('0123456789abcdefghijklmnopqrstuvwxyz' * 2)[:64]],
}" \
    "[t['shape'] for t in d['tensors'] if t['key'] == 'extra/empty'] == [[0, 3]]" \
    "[t['not_decoded'] for t in d['tensors'] if 'not_decoded' in t] == ['float8_e5m2']"
echo "PASS: test_inspect_dtypes"
