#!/usr/bin/env bash
# Nothing lost, nothing wrong (issue 8): --export-best never overlaps the checkpoint directory
# (inside, equal, containing, through symlinks) nor rewrites a directory it did not create;
# duplicate --data names; empty data; NaN metrics written as "NaN" and never the best;
# a non-UTF-8 checkpoint path round-trips through the journal and --json (surrogateescape);
# --opt=VALUE; repeated options; --batch-size's maximum.
source "$(dirname "$0")/common.bash" "$@"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"
"$TRAINER" --write-data "$TMP/a.npz" --write-model "$TMP/model.json" --seed 3 >/dev/null || fail "data"
"$TRAINER" --out "$TMP/run" --epochs 3 --max-to-keep 0 >/dev/null || fail "trainer"
M=(--model "$TMP/model.json")
L=(--loss sparse_categorical_crossentropy)
snapshot() { (cd "$TMP/run" && find . -type f -exec md5sum {} + | sort); }
BEFORE=$(snapshot)

# --export-best overlapping the checkpoint directory: usage error naming both paths.
ln -s "$TMP/run" "$TMP/runlink"
for e in "$TMP/run" "$TMP/run/best" "$TMP" "$TMP/runlink" "$TMP/runlink/x" "$TMP/run/../run/" "$TMP/run/./sub/"; do
    run run --checkpoint-dir "$TMP/run" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --export-best "$e" \
        --timeout 1
    expect_usage_error "--export-best $e"
    grep -qF -- "--export-best $e" "$ERR" || fail "$e: the export path is named"
    grep -qF -- "--checkpoint-dir $TMP/run" "$ERR" || fail "$e: the checkpoint directory is named"
done
# The checkpoint directory given through a symlink, export inside the real one.
run run --checkpoint-dir "$TMP/runlink" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --export-best "$TMP/run/b" --timeout 1
expect_usage_error "checkpoint dir through a symlink"
[ ! -e "$TMP/run/best" ] && [ ! -e "$TMP/run/b" ] && [ ! -e "$TMP/run/sub" ] || fail "a refused export created a directory"
[ "$(snapshot)" = "$BEFORE" ] || fail "the checkpoint directory changed"

# A directory with someone else's files is refused; nothing in it is touched.
mkdir "$TMP/theirs" && echo keep >"$TMP/theirs/checkpoint"
run run --checkpoint-dir "$TMP/run" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --export-best "$TMP/theirs" --timeout 1
expect_usage_error "export into a foreign directory"
grep -q "did not create" "$ERR" || fail "the reason is given"
[ "$(cat "$TMP/theirs/checkpoint")" = keep ] || fail "a foreign file was rewritten"

# A new export directory works, and again on restart (its marker says it is sidecar's).
run run --checkpoint-dir "$TMP/run" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --export-best "$TMP/best" \
    --every --max-evaluations 3 --logdir "$TMP/lg0"
expect_rc 0 "export into a new directory"
[ -e "$TMP/best/.sidecar-export" ] && ls "$TMP/best/"*.index >/dev/null || fail "export written"
run run --checkpoint-dir "$TMP/run" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --export-best="$TMP/best" \
    --every --max-evaluations=3 --logdir="$TMP/lg0"
expect_rc 0 "restart with the same export directory (and --opt=VALUE)"
[ "$(snapshot)" = "$BEFORE" ] || fail "the checkpoint directory changed after exports"

# Duplicate --data names.
run run --checkpoint-dir "$TMP/run" "${M[@]}" --data v="$TMP/a.npz" --data v="$TMP/a.npz" "${L[@]}"
expect_usage_error "duplicate --data names"
grep -q "'v' given twice" "$ERR" || fail "the duplicate name is named"

# Empty data: an error naming the file, not loss 0.
(printf 'x0'; for i in $(seq 1 15); do printf ',x%d' "$i"; done; echo ',y') >"$TMP/empty.csv"
run eval "$TMP/run/ckpt-2" "${M[@]}" --data "$TMP/empty.csv" "${L[@]}"
expect_rc 1 "header-only CSV"
expect_one_error_line "$TMP/empty.csv" "header-only CSV"
grep -q "no examples" "$ERR" || fail "empty data: says why"
run eval "$TMP/run/ckpt-2" "${M[@]}" --data "$TMP/nothing-*.tfrecord" "${L[@]}"
expect_rc 1 "TFRecord glob matching nothing"
grep -qF "$TMP/nothing-*.tfrecord" "$ERR" || fail "the glob is named"

# NaN: written as "NaN" in --json and the journal, never the best.
cp "$TMP/empty.csv" "$TMP/nan.csv"
for r in 1 2 3; do (printf 'nan'; for i in $(seq 1 15); do printf ',nan'; done; echo ',1') >>"$TMP/nan.csv"; done
run run --checkpoint-dir "$TMP/run" "${M[@]}" --data "$TMP/nan.csv" "${L[@]}" --every --max-evaluations 3 \
    --logdir "$TMP/lgnan" --export-best "$TMP/bestnan" --json
expect_rc 0 "NaN data"
[ "$(grep -c '"loss":"NaN"' "$OUT")" -eq 3 ] || fail "--json writes loss NaN as \"NaN\""
[ "$(grep -c '"loss":"NaN"' "$TMP/lgnan/sidecar_journal.jsonl")" -eq 3 ] || fail "journal writes \"NaN\""
ls "$TMP/bestnan/"*.index >/dev/null 2>&1 && fail "a NaN loss was exported as the best"
grep -q "NaN for .*never the best" "$ERR" || fail "the NaN export skip is logged"

# A checkpoint directory whose name is not UTF-8: the journal keeps the bytes (restart does not
# evaluate again), --json writes the bad byte as \udcff (Python: os.fsencode gives it back).
D="$TMP/$(printf 'r\xffn')"
mkdir "$D" && cp "$TMP/run/ckpt-1."* "$TMP/run/ckpt-2."* "$D/"
printf 'model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-1"\nall_model_checkpoint_paths: "ckpt-2"\n' >"$D/checkpoint"
run run --checkpoint-dir "$D" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --every --max-evaluations 2 --logdir "$TMP/lgu" --json
expect_rc 0 "non-UTF-8 checkpoint dir"
"$PYTHON" - "$OUT" "$D" <<'PY' || fail "--json path is not the checkpoint's bytes"
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = os.fsencode(sys.argv[2])
assert [os.fsencode(r["checkpoint"]) for r in rows] == [want + b"/ckpt-1", want + b"/ckpt-2"], rows
PY
run run --checkpoint-dir "$D" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --every --max-evaluations 2 --logdir "$TMP/lgu" --json
expect_rc 0 "non-UTF-8 restart"
expect_out_empty "non-UTF-8 restart: nothing evaluated again"
[ "$(wc -l <"$TMP/lgu/sidecar_journal.jsonl")" -eq 2 ] || fail "one journal line per checkpoint"

# Options: --opt=VALUE everywhere, repeated --loss refused, repeated --metrics merged.
run eval "$TMP/run/ckpt-2" --model="$TMP/model.json" --data="$TMP/a.npz" --loss="${L[1]}" \
    --metrics=accuracy --metrics=sparse_top_k_categorical_accuracy --batch-size=7 --steps=2 --json
expect_rc 0 "--opt=VALUE"
expect_json "merged --metrics" '"accuracy" in d["metrics"]' 'len(d["metrics"]) == 3'
run eval "$TMP/run/ckpt-2" "${M[@]}" --data "$TMP/a.npz" --loss mse --loss mae
expect_usage_error "repeated --loss"
grep -q -- "--loss given twice" "$ERR" || fail "repeated --loss named"
run eval "$TMP/run/ckpt-2" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --json=yes
expect_usage_error "a flag with a value"
run eval "$TMP/run/ckpt-2" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --batch-size 2000000
expect_usage_error "--batch-size too large"
grep -q "1048576" "$ERR" || fail "--batch-size states its maximum"

# A state file naming a checkpoint that is not there: said at the first scan.
mkdir "$TMP/moved" && cp "$TMP/run/ckpt-3."* "$TMP/moved/"
printf 'model_checkpoint_path: "/train/host/run/ckpt-3"\n' >"$TMP/moved/checkpoint"
run run --checkpoint-dir "$TMP/moved" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" --timeout 1
expect_rc 0 "state file naming a missing checkpoint"
grep -q "names a checkpoint that does not exist.*/train/host/run/ckpt-3" "$ERR" || fail "the missing checkpoint is named"

# Sparse labels with a categorical loss: the loss is named and the sparse one suggested.
run eval "$TMP/run/ckpt-2" "${M[@]}" --data "$TMP/a.npz" --loss categorical_crossentropy
expect_rc 1 "categorical loss, sparse labels"
grep -q "CategoricalCrossentropy: .*use sparse_categorical_crossentropy" "$ERR" || fail "loss named, other suggested"

# SIGINT while idle: one log line, exit 0.
"$CLI" run --checkpoint-dir "$TMP/moved" "${M[@]}" --data "$TMP/a.npz" "${L[@]}" >"$OUT" 2>"$ERR" &
pid=$!
# The handler is installed before "Watching" is logged: wait for that line however slow the
# start (a signal before it would kill the process, not stop it), and say so if it never comes.
for _ in $(seq 1 2400); do grep -q "^Watching" "$ERR" && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
grep -q "^Watching" "$ERR" || { kill -KILL $pid 2>/dev/null; fail "run never started watching"; }
kill -INT $pid
wait $pid
RC=$?
expect_rc 0 "SIGINT while idle"
[ "$(grep -c "Stop requested" "$ERR")" -eq 1 ] || fail "one stop line"
grep -q "^sidecar:" "$ERR" && fail "no error line on a requested stop"
echo "test_run_safety: all checks passed"
