#!/usr/bin/env bash
# tests/cli/test_report_cli.sh — `sidecar report`: help, usage errors, a missing LOGDIR, a
# corrupt event file (warned about by name, the rest drawn), --json, -o and --opt=VALUE forms.
# The events come from the demo trainer + `sidecar run` (no fixtures needed).
source "$(dirname "$0")/common.bash" "$@"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"

run report --help
expect_rc 0 "--help"
expect_out_line '^usage: sidecar report LOGDIR' "--help usage line"
expect_out_line '--monitor' "--help lists --monitor"
run report
expect_usage_error "missing LOGDIR"
run report "$TMP" --mode sideways
expect_usage_error "bad --mode"
run report "$TMP" --max-points=1
expect_usage_error "--max-points below 2"
run report "$TMP" --bogus
expect_usage_error "unknown option"
run report "$TMP/nope"
expect_rc 1 "missing LOGDIR"
expect_one_error_line "$TMP/nope" "missing LOGDIR"

D="$TMP/d"
mkdir -p "$D"
"$TRAINER" --write-model "$D/model.json" --write-data "$D/eval.npz" --seed 3 >/dev/null 2>&1 || fail "trainer"
"$TRAINER" --out "$D/run" --epochs 3 --seed 3 --sleep-ms 0 >/dev/null 2>&1 || fail "trainer"
run run --checkpoint-dir "$D/run" --model "$D/model.json" --data "$D/eval.npz" \
    --loss sparse_categorical_crossentropy --metrics accuracy --every --max-evaluations 3 \
    --logdir "$D/logs" --timeout 120 --no-progress
expect_rc 0 "sidecar run"

# A second run whose event file ends in a torn record: its good records are kept.
mkdir -p "$D/logs/torn"
f=$(ls "$D"/logs/validation/events.out.tfevents.*)
head -c $(( $(stat -c %s "$f") - 7 )) "$f" > "$D/logs/torn/events.out.tfevents.1700000000.torn.v2"

run report "$D/logs" --json --monitor=accuracy -o "$D/r.html"
expect_rc 0 "report --json"
grep -q 'events.out.tfevents.1700000000.torn.v2' "$ERR" || fail "the warning names the torn file"
grep -q '^sidecar: warning: .*cut short' "$ERR" || fail "a 'cut short' warning"
"$PYTHON" - "$OUT" <<'PY' || fail "--json output"
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["runs"] == 2, o
assert o["charts"] == 2, o
# validation: 3 evaluations x 2 tags; torn: the same minus its last (torn) record.
assert o["points_read"] == 11, o
assert o["warnings"] == 1, o
print("json ok", o)
PY
[ -s "$D/r.html" ] || fail "-o FILE not written"
grep -q 'ckpt-3' "$D/r.html" || fail "the journal's checkpoint names are on the page"

run report "$D/logs"
expect_rc 0 "default output"
[ -s "$D/logs/report.html" ] || fail "default output LOGDIR/report.html"
expect_out_line 'report.html: 2 runs, 2 charts' "summary line"
# ---- live: the page reloads itself while the run goes on, and stops when it ends ----
# The second checkpoint is held back until the live page with the first point has been seen,
# so there is no race to win: only generous bounded waits.
L="$TMP/live"
"$TRAINER" --out "$L/run" --epochs 2 --seed 3 --sleep-ms 0 >/dev/null 2>&1 || fail "trainer (live)"
mkdir -p "$L/held"
mv "$L"/run/ckpt-2.* "$L/held/"
printf 'model_checkpoint_path: "ckpt-1"\nall_model_checkpoint_paths: "ckpt-1"\n' >"$L/run/state.tmp"
mv "$L/run/state.tmp" "$L/run/checkpoint"
"$CLI" run --checkpoint-dir "$L/run" --model "$D/model.json" --data "$D/eval.npz" \
    --loss sparse_categorical_crossentropy --metrics accuracy --every --max-evaluations 2 \
    --logdir "$L/logs" --report "$L/report.html" --timeout 600 --no-progress \
    >"$TMP/live.out" 2>"$TMP/live.err" &
pid=$!
live=0
for _ in $(seq 1 2400); do # up to 240 s
    if [ -f "$L/report.html" ] && grep -q 'http-equiv="refresh"' "$L/report.html" &&
        grep -q 'data-n="1"' "$L/report.html"; then
        live=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ "$live" -eq 1 ] || { kill "$pid" 2>/dev/null; fail "no live page (reloading, one point) while the run waited: $(cat "$TMP/live.err")"; }
grep -q 'id="status">live' "$L/report.html" || fail "the live page says it is live"
mv "$L"/held/ckpt-2.data-* "$L/run/"
mv "$L"/held/ckpt-2.index "$L/run/"
printf 'model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-1"\nall_model_checkpoint_paths: "ckpt-2"\n' >"$L/run/state.tmp"
mv "$L/run/state.tmp" "$L/run/checkpoint"
wait "$pid" || fail "sidecar run --report (live) failed: $(cat "$TMP/live.err")"
grep -q 'http-equiv="refresh"' "$L/report.html" && fail "the final page still reloads itself"
grep -q 'data-n="2"' "$L/report.html" || fail "the final page has both evaluations"
grep -q 'id="status">final' "$L/report.html" || fail "the final page says final"
echo "PASS: test_report_cli"
