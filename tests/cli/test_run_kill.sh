#!/usr/bin/env bash
# sidecar run killed with SIGKILL at random moments and restarted, 20 times, while a trainer
# writes checkpoints: with --every, in the end the results journal lists every checkpoint exactly
# once (none evaluated twice, none lost).
source "$(dirname "$0")/common.bash" "$@"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"
EPOCHS=24
"$TRAINER" --write-data "$TMP/eval.npz" --write-model "$TMP/model.json" >/dev/null || fail "trainer data"
"$TRAINER" --out "$TMP/run" --epochs $EPOCHS --max-to-keep 0 --sleep-ms 150 >/dev/null &
trainer=$!
RANDOM=42
args=(run --checkpoint-dir "$TMP/run" --model "$TMP/model.json" --data "$TMP/eval.npz"
      --loss sparse_categorical_crossentropy --metrics accuracy --every
      --max-evaluations $EPOCHS --logdir "$TMP/logs" --timeout 30)
for i in $(seq 1 20); do
    # The CLI itself in the background (not a shell function: $! must be sidecar's own pid).
    "$CLI" "${args[@]}" >>"$OUT" 2>>"$ERR" &
    pid=$!
    sleep "0.$(( RANDOM % 30 + 5 ))"
    kill -KILL $pid 2>/dev/null
    wait $pid 2>/dev/null
done
wait $trainer || fail "trainer failed"
"$CLI" "${args[@]}" >>"$OUT" 2>>"$ERR"
RC=$?
expect_rc 0 "the last run finishes"
"$PYTHON" - "$TMP/logs/sidecar_journal.jsonl" $EPOCHS <<'PY' || fail "journal after 20 kills"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
names = [json.loads(l)["checkpoint"] for l in lines]
want = ["ckpt-%d" % i for i in range(1, int(sys.argv[2]) + 1)]
dups = sorted({n for n in names if names.count(n) > 1})
missing = sorted(set(want) - set(names))
assert not dups, "evaluated twice: %s" % dups
assert not missing, "lost: %s" % missing
assert names == want, "out of order: %s" % names
steps = [json.loads(l)["step"] for l in lines]
assert steps == [32 * i for i in range(1, len(want) + 1)], steps
PY
echo "test_run_kill: 20 kills, every checkpoint evaluated exactly once"
