#!/usr/bin/env bash
# Stop ordering with several --data sets (issue 8): a checkpoint's results (journal line,
# TensorBoard events, the --json line of every dataset) appear all together or not at all. A
# SIGTERM during the second dataset's pass abandons the whole evaluation: the first dataset's
# --json line is not printed either. The signal comes at a known point (after batch 1 of the
# named dataset, through the test-only SIDECAR_TEST_SIGNAL_AT hook of cli/run.c), so nothing
# here depends on timing.
source "$(dirname "$0")/common.bash" "$@"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"
"$TRAINER" --write-data "$TMP/a.npz" --write-model "$TMP/model.json" --seed 5 >/dev/null || fail "data"
"$TRAINER" --out "$TMP/run" --epochs 3 --max-to-keep 0 >/dev/null || fail "trainer"
A=(--model "$TMP/model.json" --data first="$TMP/a.npz" --data second="$TMP/a.npz"
   --loss sparse_categorical_crossentropy --metrics accuracy --batch-size 4 --json)

events() { find "$1" -name 'events.out.tfevents.*' 2>/dev/null | wc -l; }
journal_lines() { if [ -f "$1/sidecar_journal.jsonl" ]; then wc -l <"$1/sidecar_journal.jsonl"; else echo 0; fi; }

# Complete run: both datasets' lines for each checkpoint, first then second, after the journal.
run run --checkpoint-dir "$TMP/run" "${A[@]}" --every --max-evaluations 3 --logdir "$TMP/full"
expect_rc 0 "two datasets, no stop"
"$PYTHON" - "$OUT" <<'PY' || fail "--json: one line per dataset and checkpoint, in order"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["checkpoint"].rsplit("/", 1)[1], r["dataset"]) for r in rows] == [
    (c, d) for c in ("ckpt-1", "ckpt-2", "ckpt-3") for d in ("first", "second")], rows
assert all(set(r["metrics"]) == {"loss", "accuracy"} for r in rows), rows
PY
[ "$(journal_lines "$TMP/full")" -eq 3 ] || fail "three journal lines"

# run: SIGTERM after batch 1 of the second dataset of the first checkpoint. Nothing at all.
SIDECAR_TEST_SIGNAL_AT=second:1 run run --checkpoint-dir "$TMP/run" "${A[@]}" --every \
    --max-evaluations 3 --logdir "$TMP/stopped"
expect_rc 0 "SIGTERM during the second dataset"
expect_out_empty "no --json line of the abandoned evaluation (not even the first dataset's)"
grep -q "Stop requested: the evaluation of .*ckpt-1 was abandoned" "$ERR" || fail "the stop is logged"
[ "$(grep -c "Stop requested" "$ERR")" -eq 1 ] || fail "one stop line"
grep -q "End of evaluation" "$ERR" && fail "no metrics logged for the abandoned evaluation"
[ "$(journal_lines "$TMP/stopped")" -eq 0 ] || fail "no journal line"
[ "$(events "$TMP/stopped")" -eq 0 ] || fail "no TensorBoard event file of either dataset"

# The restart evaluates everything, each checkpoint once, both datasets together.
run run --checkpoint-dir "$TMP/run" "${A[@]}" --every --max-evaluations 3 --logdir "$TMP/stopped"
expect_rc 0 "restart after the stop"
[ "$(wc -l <"$OUT")" -eq 6 ] || fail "restart: six --json lines"
[ "$(journal_lines "$TMP/stopped")" -eq 3 ] || fail "restart: three journal lines"

# eval: the same, without a log directory; and a stop in the first dataset.
for at in second:1 first:1; do
    SIDECAR_TEST_SIGNAL_AT=$at run eval "$TMP/run/ckpt-2" "${A[@]}"
    expect_rc 0 "eval, SIGTERM at $at"
    expect_out_empty "eval, SIGTERM at $at: no --json line"
    grep -q "stop requested (signal 15): the evaluation of .*ckpt-2 was abandoned" "$ERR" ||
        fail "eval, SIGTERM at $at: the stop is said"
done
run eval "$TMP/run/ckpt-2" "${A[@]}"
expect_rc 0 "eval without a stop"
[ "$(wc -l <"$OUT")" -eq 2 ] || fail "eval: two --json lines"
echo "test_run_stop_datasets: all checks passed"
