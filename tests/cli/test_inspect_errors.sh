#!/bin/bash
# sidecar inspect on bad input: exit 1 with one "sidecar: ..." line naming the file, nothing on
# stdout; usage errors: exit 2 with a usage hint.
source "$(dirname "$0")/common.bash" "$@"

# --- a path that is nothing
run inspect "$TMP/nothing-here"
expect_rc 1 "missing path"
expect_out_empty "missing path"
expect_one_error_line "$TMP/nothing-here" "missing path"

# --- a truncated .index
D="$TMP/truncated"
demo_ckpt "$D"
head -c 30 "$D/ckpt-1.index" >"$TMP/cut" && mv "$TMP/cut" "$D/ckpt-1.index"
run inspect "$D/ckpt-1"
expect_rc 1 "truncated .index"
expect_out_empty "truncated .index"
expect_one_error_line "ckpt-1.index" "truncated .index"

# --- the .index with its last byte (inside the footer magic) flipped
D="$TMP/badmagic"
demo_ckpt "$D"
size=$(stat -c %s "$D/ckpt-1.index")
printf '\x00' | dd of="$D/ckpt-1.index" bs=1 seek=$((size - 1)) count=1 conv=notrunc 2>/dev/null
run inspect "$D"
expect_rc 1 "corrupt .index footer"
expect_one_error_line "ckpt-1.index" "corrupt .index footer"

# --- one data byte flipped: the kernel sits at offset 0 (sc_write_demo_ckpt adds it first)
D="$TMP/corrupt"
demo_ckpt "$D"
DATA="$D/ckpt-1.data-00000-of-00001"
cp "$DATA" "$TMP/data.orig"
byte=$(od -An -tu1 -N1 "$DATA" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 255)))" | dd of="$DATA" bs=1 seek=0 count=1 conv=notrunc 2>/dev/null
cmp -s "$DATA" "$TMP/data.orig" && fail "the test did not manage to flip a data byte"
run inspect "$D"
expect_rc 0 "corrupt kernel, no --values (only the step tensor is read)"
expect_out_line '^step +32, from optimizer/_iterations$' "step still readable"
run inspect "$D" --values 1
expect_rc 1 "corrupt kernel with --values"
expect_out_empty "corrupt kernel with --values (no half table)"
expect_one_error_line "model/layer_with_weights-0/kernel" "corrupt kernel with --values"
grep -q 'CRC' "$ERR" || fail "corrupt kernel: expected the message to say CRC"
grep -qF "ckpt-1.data-00000-of-00001" "$ERR" || fail "corrupt kernel: expected the data file named"
run inspect "$D" --values 1 --json
expect_rc 1 "corrupt kernel with --json --values"
expect_out_empty "corrupt kernel with --json --values (no half JSON)"

# --- the data shard missing (a half-written or deleted checkpoint)
D="$TMP/nodata"
demo_ckpt "$D"
rm "$D/ckpt-1.data-00000-of-00001"
run inspect "$D"
expect_rc 1 "missing data shard"
expect_out_empty "missing data shard"
expect_one_error_line "ckpt-1.data-00000-of-00001" "missing data shard"

# --- a state file naming a checkpoint that is not there
D="$TMP/stale"
demo_ckpt "$D"
printf 'model_checkpoint_path: "ckpt-9"\nall_model_checkpoint_paths: "ckpt-9"\n' >"$D/checkpoint"
run inspect "$D"
expect_rc 1 "state file names a missing checkpoint"
expect_one_error_line "ckpt-9" "state file names a missing checkpoint"

# --- usage errors
D="$TMP/ok"
demo_ckpt "$D"
run
expect_rc 2 "no arguments"
grep -q 'usage: sidecar' "$ERR" || fail "no arguments: expected the usage on stderr"
run inspect;                         expect_usage_error "inspect without PATH"
run inspect "$D" --values;           expect_usage_error "--values without N"
run inspect "$D" --values 0;         expect_usage_error "--values 0"
run inspect "$D" --values -1;        expect_usage_error "--values -1"
run inspect "$D" --values 3x;        expect_usage_error "--values 3x"
run inspect "$D" --values 99999999999999999999999; expect_usage_error "--values overflowing"
run inspect "$D" --frobnicate;       expect_usage_error "unknown option"
grep -qF -- "--frobnicate" "$ERR" || fail "unknown option: expected it named on stderr"
run inspect "$D" --model;            expect_usage_error "--model without a file"
run inspect "$D" "$D";               expect_usage_error "two PATHs"
run frobnicate;                      expect_usage_error "unknown command"
run --frobnicate;                    expect_usage_error "unknown global option"
echo "PASS: test_inspect_errors"
