#!/usr/bin/env bash
# mpirun -n 1/2/3 sidecar eval|run: the same numbers as one process; rank 0 alone writes the
# journal and TensorBoard (one record per checkpoint); a killed rank ends the run with a message
# in bounded time; SIGTERM to mpirun stops every rank cleanly; a max_to_keep=2 race gives no torn
# result. Skipped (exit 0 with SKIPPED) when the build has no mpirun.
source "$(dirname "$0")/common.bash" "$@"
MPIRUN=$(command -v mpirun || true)
if [ -z "$MPIRUN" ]; then echo "SKIPPED: mpirun not found"; exit 0; fi
# Root in CI, more ranks than cores, no stdin; the shared-memory transport without ptrace
# (containers), TCP on loopback.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_orte_base_help_aggregate=0
# ASan build: Open MPI's own allocations at exit are not ours to report. Its components stay
# loaded and stacks are unwound exactly (libmpi has no frame pointers), so the suppressions can
# name them while leaks in sidecar's code are still reported.
export OMPI_MCA_mca_base_component_disable_dlclose=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$(dirname "$0")/mpi_lsan.supp:print_suppressions=0
# Background jobs (trainers, launchers) do not outlive a failed check.
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
mpi() { local n=$1; shift; timeout -k 10 240 "$MPIRUN" --oversubscribe --allow-run-as-root -n "$n" "$@" </dev/null; }

TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
"$TRAINER" --write-data "$TMP/eval.npz" --write-model "$TMP/model.json" >/dev/null || fail "trainer data"
"$TRAINER" --out "$TMP/run" --epochs 3 --max-to-keep 0 >/dev/null || fail "trainer"

# same_metrics REF GOT: same checkpoints, steps and metric names; counts equal, the rest to 1e-6
# relative (the merged float32 sums add in another order), with a floor of 1e-12 for results near 0.
same_metrics() {
    "$PYTHON" - "$1" "$2" <<'PY' || fail "metrics of $2 differ from the one-process run $1"
import json, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(ref) == len(got) and ref, (len(ref), len(got))
for r, g in zip(ref, got):
    assert r["checkpoint"] == g["checkpoint"] and r["step"] == g["step"], (r, g)
    assert list(r["metrics"]) == list(g["metrics"]), (r, g)
    for k, v in r["metrics"].items():
        w = g["metrics"][k]
        assert abs(v - w) <= 1e-6 * max(abs(v), 1e-6), (k, v, w)  # 1e-12 floor: an mse of 4e-14
PY
}

# 1. eval: the demo MLP (.npz by rows) and the CNN golden (.npy by rows), odd batch sizes.
G="$SC_SOURCE_DIR/tests/golden/data/cnn_mnist"
mlp=(eval "$TMP/run/ckpt-3" --model "$TMP/model.json" --data "$TMP/eval.npz" --json
     --loss sparse_categorical_crossentropy
     --metrics accuracy,sparse_categorical_crossentropy,sparse_top_k_categorical_accuracy)
cnn=(eval "$G/weights.safetensors" --model "$G/model.json" --data "$G/x.npy" --json
     --loss categorical_crossentropy --metrics categorical_accuracy,cosine_similarity,categorical_crossentropy)
for bs in 7 32; do
    "$CLI" "${mlp[@]}" --batch-size $bs >"$TMP/ref_mlp" 2>"$ERR" || fail "one-process eval"
    "$CLI" "${cnn[@]}" --batch-size 3 >"$TMP/ref_cnn" 2>"$ERR" || fail "one-process cnn eval"
    for n in 1 2 3; do
        mpi $n "$CLI" "${mlp[@]}" --batch-size $bs >"$OUT" 2>"$ERR"; RC=$?
        expect_rc 0 "mpirun -n $n eval (batch $bs)"
        same_metrics "$TMP/ref_mlp" "$OUT"
        mpi $n "$CLI" "${mlp[@]}" --batch-size $bs --steps 3 >"$OUT" 2>"$ERR"; RC=$?
        "$CLI" "${mlp[@]}" --batch-size $bs --steps 3 >"$TMP/ref_steps" 2>/dev/null
        same_metrics "$TMP/ref_steps" "$OUT"
        mpi $n "$CLI" "${cnn[@]}" --batch-size 3 >"$OUT" 2>"$ERR"; RC=$?
        expect_rc 0 "mpirun -n $n cnn eval"
        same_metrics "$TMP/ref_cnn" "$OUT"
    done
done
# A rank whose share is empty (--steps 1 over 3 ranks) still evaluates with the others; only data
# that is empty as a whole is refused, by every rank alike.
"$CLI" "${mlp[@]}" --steps 1 >"$TMP/ref_one" 2>"$ERR" || fail "one-process eval --steps 1"
mpi 3 "$CLI" "${mlp[@]}" --steps 1 >"$OUT" 2>"$ERR"; RC=$?
expect_rc 0 "mpirun -n 3 eval --steps 1 (two empty shares)"
same_metrics "$TMP/ref_one" "$OUT"
"$PYTHON" -c "import numpy as np, sys; np.savez(sys.argv[1], x=np.zeros((0, 16), 'f4'), y=np.zeros((0,), 'i8'))" \
    "$TMP/empty.npz" || fail "writing empty.npz"
mpi 2 "$CLI" eval "$TMP/run/ckpt-3" --model "$TMP/model.json" --data "$TMP/empty.npz" \
    --loss sparse_categorical_crossentropy >"$OUT" 2>"$ERR"; RC=$?
[ "$RC" -ne 0 ] || fail "mpirun -n 2 eval of empty data succeeded"
grep -q "no examples to evaluate" "$ERR" || fail "empty data under mpirun: no clear message"

# Ranks > 0 print nothing: one log block, from rank 0.
mpi 3 "$CLI" "${mlp[@]}" >"$OUT" 2>"$ERR"
[ "$(grep -c '^Evaluation starts' "$ERR")" -eq 1 ] || fail "expected one 'Evaluation starts' line from 3 ranks"

# 2. run: journal and TensorBoard written once per checkpoint, by rank 0.
runargs=(run --checkpoint-dir "$TMP/run" --model "$TMP/model.json" --data "$TMP/eval.npz"
         --loss sparse_categorical_crossentropy --metrics accuracy --every --max-evaluations 3
         --json --batch-size 7)
"$CLI" "${runargs[@]}" --logdir "$TMP/logs1" >"$TMP/ref_run" 2>"$ERR" || fail "one-process run"
mpi 3 "$CLI" "${runargs[@]}" --logdir "$TMP/logs3" --group-stats >"$OUT" 2>"$ERR"; RC=$?
expect_rc 0 "mpirun -n 3 run"
same_metrics "$TMP/ref_run" "$OUT"
grep -q '^group: 3 ranks' "$ERR" || fail "expected the --group-stats line"
"$PYTHON" - "$TMP/logs3" <<'PY' || fail "journal / TensorBoard of the 3-rank run"
import glob, json, os, struct, sys
lines = open(os.path.join(sys.argv[1], "sidecar_journal.jsonl")).read().splitlines()
names = [json.loads(l)["checkpoint"] for l in lines]
assert names == ["ckpt-1", "ckpt-2", "ckpt-3"], names
ev = glob.glob(os.path.join(sys.argv[1], "validation", "events.out.tfevents.*"))
assert len(ev) == 1, ev
data, n, off = open(ev[0], "rb").read(), 0, 0
while off < len(data):
    (ln,) = struct.unpack_from("<Q", data, off)
    off += 12 + ln + 4
    n += 1
assert n == 1 + 3 * 2, n   # file_version + (loss, accuracy) per checkpoint
PY

# 3. A rank killed (SIGKILL: mpirun notices and ends the job) or stuck (SIGSTOP: rank 0's
# bounded wait notices) mid-run: the run ends within bounded time, with a message naming rank 2.
# The signal is sent only once every rank is in the group's protocol (rank 0 logged a finished
# evaluation, which needs every rank's vote); a rank stopped inside MPI_Init would hang the
# others there, which is Open MPI's business, not sidecar's. The bound is measured from the
# signal, so a slow start on a loaded machine does not count against it.
for sig in KILL STOP; do
    "$TRAINER" --out "$TMP/slow$sig" --epochs 1000 --max-to-keep 3 --sleep-ms 200 >/dev/null &
    trainer=$!
    timeout -k 10 600 "$MPIRUN" --oversubscribe --allow-run-as-root -n 3 "$CLI" run \
        --checkpoint-dir "$TMP/slow$sig" --model "$TMP/model.json" --data "$TMP/eval.npz" \
        --loss sparse_categorical_crossentropy --metrics accuracy --group-timeout 5 \
        </dev/null >"$OUT" 2>"$ERR" &
    launcher=$!
    victim=""
    deadline=$(( $(date +%s) + 240 ))
    # rank 2: a process under this mpirun with OMPI_COMM_WORLD_RANK=2
    while [ -z "$victim" ] || ! grep -q 'End of evaluation' "$ERR"; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "rank 2 got SIG$sig: no evaluation within 240 s (rank 2 found: '${victim}')"
        kill -0 $launcher 2>/dev/null || fail "rank 2 got SIG$sig: the job ended before the signal"
        for c in $(descendants $launcher); do
            if tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=2'; then victim=$c; fi
        done
        sleep 0.2
    done
    kill -$sig "$victim"
    start=$(date +%s)
    while kill -0 $launcher 2>/dev/null && [ $(( $(date +%s) - start )) -lt 190 ]; do sleep 0.2; done
    took=$(( $(date +%s) - start ))
    kill -0 $launcher 2>/dev/null && fail "rank 2 got SIG$sig: the group hung (${took} s after the signal)"
    wait $launcher; RC=$?
    kill -TERM $trainer 2>/dev/null; wait $trainer 2>/dev/null
    [ "$RC" -ne 0 ] || fail "rank 2 got SIG$sig: expected a non-zero exit"
    if [ "$sig" = STOP ] && [ "$RC" -eq 139 ] && ! grep -q 'rank 2' "$ERR"; then
        # Open MPI 4.1's mpirun sometimes crashes (SIGSEGV) over a stopped child before rank 0's
        # bounded wait expires; the job still ends, which is what matters here.
        echo "rank 2 got SIGSTOP: mpirun itself crashed after ${took}s (Open MPI), the job ended"
        continue
    fi
    grep -Eq 'rank 2' "$ERR" || fail "rank 2 got SIG$sig: expected a message naming rank 2 (exit $RC)"
    echo "rank 2 got SIG$sig: the run ended after ${took}s: $(grep -m1 'rank 2' "$ERR")"
done

# 4. SIGTERM to mpirun with Open MPI's defaults: the job ends in bounded time, no rank reports
# an error, the journal written before the signal is still there and whole. mpirun (4.1) sends
# the ranks SIGTERM odls_base_sigkill_timeout (1 s) after its own, SIGKILLs them when the rest
# of that grace, cut to whole seconds each time a rank exits, runs out (at once, with 1 s), and
# exits 1 itself; so the ranks' own exits are not asserted here (4b gives them a grace). The
# signal waits for a complete journal line, not for the "End of evaluation" log line, which
# comes before the TensorBoard and journal writes.
"$TRAINER" --out "$TMP/term" --epochs 1000 --max-to-keep 3 --sleep-ms 200 >/dev/null &
trainer=$!
timeout -k 10 600 "$MPIRUN" --oversubscribe --allow-run-as-root -n 2 "$CLI" run \
    --checkpoint-dir "$TMP/term" --model "$TMP/model.json" --data "$TMP/eval.npz" \
    --loss sparse_categorical_crossentropy --metrics accuracy --logdir "$TMP/logsT" --json \
    --group-stats </dev/null >"$OUT" 2>"$ERR" &
launcher=$!
J="$TMP/logsT/sidecar_journal.jsonl"
deadline=$(( $(date +%s) + 240 ))
until [ -s "$J" ] && [ "$(tail -c 1 "$J" | od -An -c | tr -d ' ')" = '\n' ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "SIGTERM: no journal line within 240 s, nothing to stop yet"
    kill -0 $launcher 2>/dev/null || fail "SIGTERM: the job ended before it was signalled"
    sleep 0.2
done
kill -TERM $launcher
wait $launcher; RC=$?
kill -TERM $trainer 2>/dev/null; wait $trainer 2>/dev/null
[ "$RC" -ne 124 ] || fail "SIGTERM to mpirun: the job did not end (timeout)"
# (An evaluation interrupted mid-way reports "stopped", as one process does today.)
! grep '^sidecar: ' "$ERR" | grep -vq 'stopped$' || fail "SIGTERM: a rank reported an error"
[ -s "$J" ] || fail "SIGTERM: the journal is gone"
"$PYTHON" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' \
    "$J" || fail "SIGTERM: torn journal"

# 4b. How a supervisor stops a group so that every rank exits cleanly (README "Faults"); each
# rank's exit status is recorded by a shell around it (which ignores the signals itself; the
# shell is SIGKILLed with its rank, so a missing line is a rank that did not exit by itself).
#  - SIGUSR1: mpirun forwards it to every rank at once and keeps running; the ranks stop as on
#    SIGTERM, finalise, exit 0, and so does mpirun.
#  - SIGTERM with a grace (odls_base_sigkill_timeout) long enough for the load: every rank exits
#    0; mpirun exits 1 whatever the ranks do (Open MPI sets its status in its signal handler).
stop_group() { # SIGNAL TAG [VAR=VALUE for mpirun's environment]
    local sig=$1 tag=$2; shift 2
    "$TRAINER" --out "$TMP/stop$tag" --epochs 1000 --max-to-keep 3 --sleep-ms 200 >/dev/null &
    trainer=$!
    env "$@" timeout -k 10 600 "$MPIRUN" --oversubscribe --allow-run-as-root -n 2 \
        sh -c 'trap "" TERM USR1; "$0" "$@"; echo "rank $OMPI_COMM_WORLD_RANK exit $?" >>"'"$TMP/exits$tag"'"' \
        "$CLI" run --checkpoint-dir "$TMP/stop$tag" --model "$TMP/model.json" --data "$TMP/eval.npz" \
        --loss sparse_categorical_crossentropy --metrics accuracy --logdir "$TMP/stoplogs$tag" --json \
        </dev/null >"$OUT" 2>"$ERR" &
    launcher=$!
    local j="$TMP/stoplogs$tag/sidecar_journal.jsonl" deadline=$(( $(date +%s) + 240 ))
    until [ -s "$j" ] && [ "$(tail -c 1 "$j" | od -An -c | tr -d ' ')" = '\n' ]; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "SIG$sig: no journal line within 240 s"
        kill -0 $launcher 2>/dev/null || fail "SIG$sig: the job ended before it was signalled"
        sleep 0.2
    done
    # To mpirun itself: `timeout` around it relays SIGTERM but dies of SIGUSR1.
    local m; m=$(pgrep -P $launcher | head -1)
    [ -n "$m" ] || fail "SIG$sig: mpirun not found under timeout"
    kill -$sig "$m"
    wait $launcher; RC=$?
    kill -TERM $trainer 2>/dev/null; wait $trainer 2>/dev/null
    [ "$RC" -ne 124 ] || fail "SIG$sig to mpirun: the job did not end (timeout)"
    ! grep '^sidecar: ' "$ERR" | grep -vq 'stopped$' || fail "SIG$sig: a rank reported an error"
    grep -q '^Stop requested' "$ERR" || fail "SIG$sig: rank 0 did not log the stop"
    "$PYTHON" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' \
        "$j" || fail "SIG$sig: torn journal"
    [ "$(sort "$TMP/exits$tag" 2>/dev/null | tr '\n' ' ')" = "rank 0 exit 0 rank 1 exit 0 " ] ||
        fail "SIG$sig: expected both ranks to exit 0 by themselves, got: $(cat "$TMP/exits$tag" 2>/dev/null) (mpirun exit $RC)"
}
stop_group USR1 U
[ "$RC" -eq 0 ] || fail "SIGUSR1 to mpirun: expected exit 0, got $RC"
grep -q 'Forwarding signal' "$ERR" || fail "SIGUSR1: expected mpirun's 'Forwarding signal' line"
stop_group TERM T OMPI_MCA_odls_base_sigkill_timeout=10
[ "$RC" -eq 1 ] || fail "SIGTERM to mpirun: expected Open MPI's exit 1, got $RC"

# 5. A trainer with max_to_keep=2 racing 2 ranks: every reported result equals an offline
# evaluation of the same checkpoint (archived by the trainer). The trainer writes a fixed number
# of checkpoints, starting once the group watches, and the group stops at the last one (the
# stop rule; the newest checkpoint is never deleted): no timeout decides when the race ends,
# so a trainer stalled on a loaded machine cannot end it early. How many checkpoints the group
# catches mid-race depends on the scheduling; the last one it always evaluates.
RACE_CKPTS=${SC_RACE_CHECKPOINTS:-250}
mpi 2 "$CLI" run --checkpoint-dir "$TMP/race" --model "$TMP/model.json" --data "$TMP/eval.npz" \
    --loss sparse_categorical_crossentropy --metrics accuracy --json \
    --max-evaluations "$RACE_CKPTS" >"$OUT" 2>"$ERR" &
group=$!
deadline=$(( $(date +%s) + 240 ))
until grep -q '^Watching ' "$ERR"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "race: the group did not start watching within 240 s"
    kill -0 $group 2>/dev/null || fail "race: the group ended before watching"
    sleep 0.2
done
"$TRAINER" --out "$TMP/race" --archive "$TMP/archive" --epochs "$RACE_CKPTS" --steps-per-epoch 16 \
    --max-to-keep 2 >/dev/null || fail "race: trainer"
wait $group; RC=$?
expect_rc 0 "2 ranks during the race"
tail -1 "$OUT" | grep -q "/ckpt-$RACE_CKPTS\"" || fail "race: expected the last result to be ckpt-$RACE_CKPTS (the stop rule)"
# At most 15 of them, spread over the run (each check is an offline `sidecar eval`).
awk -v n="$(wc -l <"$OUT")" 'NR == 1 || NR == n || NR % int(n / 13 + 1) == 0' "$OUT" >"$TMP/race_out"
while read -r line; do
    name=$(echo "$line" | "$PYTHON" -c 'import json,sys,os; print(os.path.basename(json.load(sys.stdin)["checkpoint"]))')
    echo "$line" >"$TMP/one"
    "$CLI" eval "$TMP/archive/$name" --model "$TMP/model.json" --data "$TMP/eval.npz" \
        --loss sparse_categorical_crossentropy --metrics accuracy --json 2>/dev/null |
        "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); d["checkpoint"]=sys.argv[1]; print(json.dumps(d))' \
        "$(echo "$line" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["checkpoint"])')" >"$TMP/ref_one"
    same_metrics "$TMP/ref_one" "$TMP/one"
done <"$TMP/race_out"
echo "test_mpi_group: n=1/2/3 equal to one process; journal/TensorBoard once; killed rank ended; SIGTERM clean; race: $(wc -l <"$OUT") evaluations of $RACE_CKPTS checkpoints, $(wc -l <"$TMP/race_out") checked offline"
