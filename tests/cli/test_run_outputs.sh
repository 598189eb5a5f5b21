#!/usr/bin/env bash
# sidecar run's outputs: two named datasets (their own TensorBoard directories and journal
# entries), the best-model export (the exported checkpoint is the journal's best), SIGTERM
# (a clean stop: exit 0, complete journal lines, event files that decode), usage errors.
source "$(dirname "$0")/common.bash" "$@"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"
"$TRAINER" --write-data "$TMP/a.npz" --write-model "$TMP/model.json" --seed 3 >/dev/null || fail "data a"
"$TRAINER" --write-data "$TMP/b.npz" --seed 4 --eval-samples 200 >/dev/null || fail "data b"
"$TRAINER" --out "$TMP/run" --epochs 6 --max-to-keep 0 >/dev/null || fail "trainer"

run run --checkpoint-dir "$TMP/run" --model "$TMP/model.json" --data val="$TMP/a.npz" \
    --data holdout="$TMP/b.npz" --loss sparse_categorical_crossentropy --metrics accuracy \
    --every --max-evaluations 6 --logdir "$TMP/logs" --export-best "$TMP/best" \
    --monitor accuracy --json
expect_rc 0 "two datasets"
[ "$(wc -l <"$OUT")" -eq 12 ] || fail "expected 6 checkpoints x 2 datasets = 12 JSON lines"
ls "$TMP/logs/validation_val/"events.out.tfevents.* >/dev/null 2>&1 || fail "no validation_val events"
ls "$TMP/logs/validation_holdout/"events.out.tfevents.* >/dev/null 2>&1 || fail "no validation_holdout events"
grep -q "End of evaluation. Metrics (holdout): loss=" "$ERR" || fail "per-dataset log line"
"$PYTHON" - "$TMP/logs/sidecar_journal.jsonl" "$TMP/best/checkpoint" "$OUT" <<'PY' || fail "journal/export"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 6, len(lines)
for l in lines:
    assert set(l["datasets"]) == {"val", "holdout"}, l
    assert l["metrics"] == l["datasets"]["val"], l
best = max(lines, key=lambda l: l["metrics"]["accuracy"])
state = open(sys.argv[2]).read()
assert 'model_checkpoint_path: "%s"' % best["checkpoint"] in state, (state, best["checkpoint"])
rows = [json.loads(l) for l in open(sys.argv[3])]
assert {r["dataset"] for r in rows} == {"val", "holdout"}
PY
ls "$TMP/best/"*.index | grep -q . || fail "export has no .index"
[ "$(ls "$TMP/best/"*.index | wc -l)" -eq 1 ] || fail "export keeps only the best checkpoint"

# SIGTERM while waiting for checkpoints that never come: exit 0, nothing torn.
"$CLI" run --checkpoint-dir "$TMP/run" --model "$TMP/model.json" --data "$TMP/a.npz" \
    --loss sparse_categorical_crossentropy --logdir "$TMP/logs2" >"$OUT" 2>"$ERR" &
pid=$!
# Wait for the first journal line (the signal handler is installed long before), however slow
# the machine: a SIGTERM sent earlier could come before the handler and kill the process.
for _ in $(seq 1 2400); do
    [ -s "$TMP/logs2/sidecar_journal.jsonl" ] && [ "$(wc -l <"$TMP/logs2/sidecar_journal.jsonl")" -ge 1 ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
[ -s "$TMP/logs2/sidecar_journal.jsonl" ] || { kill -KILL $pid 2>/dev/null; fail "no journal line before SIGTERM"; }
kill -TERM $pid
wait $pid
RC=$?
expect_rc 0 "SIGTERM stops cleanly"
"$PYTHON" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/logs2/sidecar_journal.jsonl" ||
    fail "journal lines after SIGTERM"

run run --checkpoint-dir "$TMP/run" --model "$TMP/model.json" --data "$TMP/a.npz" --data "$TMP/b.npz" --loss mse
expect_usage_error "two unnamed datasets"
run run --checkpoint-dir "$TMP/run" --model "$TMP/model.json" --data "$TMP/a.npz"
expect_usage_error "no loss or metrics"
run eval "$TMP/run/ckpt-2" --model "$TMP/model.json" --data "$TMP/a.npz" --metrics no_such_metric
expect_rc 1 "unknown metric"
grep -q "no_such_metric" "$ERR" || fail "the unknown metric is named"
# --threads: the same metrics on one thread as on the default; the engine is logged.
run eval "$TMP/run/ckpt-2" --model "$TMP/model.json" --data "$TMP/a.npz" --metrics accuracy --json
expect_rc 0 "eval, default threads"
cp "$OUT" "$TMP/default.json"
grep -q "Compute engine: oneDNN .*, ISA .*, [0-9]* threads" "$ERR" || fail "engine log line"
run eval "$TMP/run/ckpt-2" --model "$TMP/model.json" --data "$TMP/a.npz" --metrics accuracy --json --threads 1
expect_rc 0 "eval --threads 1"
grep -q "Compute engine: .*, 1 threads" "$ERR" || fail "--threads 1 reaches the engine"
"$PYTHON" - "$TMP/default.json" "$OUT" <<'PY' || fail "--threads 1 changes the metrics"
import json, sys
a, b = (json.loads(open(p).readline())["metrics"] for p in sys.argv[1:])
assert a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-6 * max(1, abs(a[k])) for k in a), (a, b)
PY
run eval "$TMP/run/ckpt-2" --model "$TMP/model.json" --data "$TMP/a.npz" --metrics accuracy --threads 0
expect_usage_error "--threads 0"
echo "test_run_outputs: all checks passed"
