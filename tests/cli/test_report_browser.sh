#!/usr/bin/env bash
# tests/cli/test_report_browser.sh — the demo's report, rendered by headless Chromium.
#
# A short demo-like run (the C trainer writes 5 checkpoints, `sidecar run --every --report`
# evaluates them and keeps the page), then Chromium (installed by scripts/install-deps):
#   --dump-dom:   the page loads without any console message (errors and uncaught exceptions
#                 are console messages; a control page with console.error proves they are
#                 seen), both charts are there with one point per evaluation;
#   --screenshot: the PNG is not blank (decoded here: several colours, ink on the page).
# No timing: every wait is a generous timeout; nothing on the page runs a script or loads
# anything, so what Chromium renders does not depend on load.
source "$(dirname "$0")/common.bash" "$@"

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || fail "chromium not found: scripts/install-deps installs it for this test"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"

chrome() { # chrome OUT_FILE ARGS... : a fresh profile per call; stderr (console log) to OUT_FILE.log
    local out=$1
    shift
    local profile
    profile=$(mktemp -d "$TMP/profile.XXXXXX")
    timeout 300 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
        --enable-logging=stderr --v=0 "$@" >"$out" 2>"$out.log"
    local rc=$?
    rm -rf "$profile"
    return $rc
}

# ---- the run ----
D="$TMP/demo"
mkdir -p "$D"
"$TRAINER" --write-model "$D/model.json" --write-data "$D/eval.npz" --seed 7 >"$OUT" 2>"$ERR" ||
    fail "trainer could not write the model"
"$TRAINER" --out "$D/run" --epochs 5 --seed 7 --sleep-ms 0 >"$OUT" 2>"$ERR" || fail "trainer failed"
"$CLI" run --checkpoint-dir "$D/run" --model "$D/model.json" --data "$D/eval.npz" \
    --loss sparse_categorical_crossentropy --metrics accuracy --every --max-evaluations 5 \
    --logdir "$D/logs" --monitor accuracy --report "$D/logs/report.html" --timeout 120 \
    --no-progress >"$OUT" 2>"$ERR" || fail "sidecar run --report failed"
PAGE="$D/logs/report.html"
[ -s "$PAGE" ] || fail "run --report wrote no $PAGE"
grep -q 'http-equiv="refresh"' "$PAGE" && fail "the final page still reloads itself"
N=$(wc -l <"$D/logs/sidecar_journal.jsonl")
[ "$N" -eq 5 ] || fail "expected 5 evaluations in the journal, got $N"

# ---- the control: a console error is seen ----
printf '<!DOCTYPE html><body><script>console.error("sc-control-error")</script></body>' >"$TMP/control.html"
chrome "$TMP/control.dom" --dump-dom "file://$TMP/control.html" || fail "chromium failed on the control page"
grep -q 'CONSOLE.*sc-control-error' "$TMP/control.dom.log" ||
    fail "the console-message check does not see a console.error (log: $(head -c 2000 "$TMP/control.dom.log"))"

# ---- the page ----
chrome "$TMP/page.dom" --dump-dom "file://$PAGE" || fail "chromium --dump-dom failed: $(tail -5 "$TMP/page.dom.log")"
if grep -q 'CONSOLE' "$TMP/page.dom.log"; then
    fail "console messages while loading the report: $(grep CONSOLE "$TMP/page.dom.log" | head -5)"
fi
"$PYTHON" - "$TMP/page.dom" "$N" <<'EOF' || fail "the DOM is not what was expected"
import sys
from html.parser import HTMLParser

dom, n = open(sys.argv[1], encoding="utf-8").read(), int(sys.argv[2])

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.tag, self.svg, self.series = {}, None, None, None
    def handle_starttag(self, t, a):
        a = dict(a)
        if t == "section" and "chart" in a.get("class", ""):
            self.tag = a["data-tag"]
            self.charts[self.tag] = {}
        elif t == "svg" and "plot" in a.get("class", ""):
            self.svg = "lin" if "lin" in a["class"] else "log"
        elif t == "g" and "series" in a.get("class", "") and self.svg == "lin":
            self.series = a["data-run"]
            self.charts[self.tag][self.series] = 0
        elif t == "circle" and self.series and self.svg == "lin":
            self.charts[self.tag][self.series] += 1
    def handle_endtag(self, t):
        if t == "g":
            self.series = None
        elif t == "svg":
            self.svg = None

p = P()
p.feed(dom)
want = {"evaluation_loss_vs_iterations", "evaluation_accuracy_vs_iterations"}
if set(p.charts) != want:
    sys.exit(f"charts {sorted(p.charts)}, expected {sorted(want)}")
for tag, runs in p.charts.items():
    if runs != {"validation": n}:
        sys.exit(f"{tag}: points per run {runs}, expected {{'validation': {n}}}")
best = dom.count('class="best"')
if best != 1:
    sys.exit(f"expected one best marker (accuracy), found {best}")
print(f"charts ok: {p.charts}")
EOF

# ---- the picture ----
chrome "$TMP/shot.out" --window-size=1100,800 --screenshot="$TMP/report.png" "file://$PAGE" ||
    fail "chromium --screenshot failed: $(tail -5 "$TMP/shot.out.log")"
[ -s "$TMP/report.png" ] || fail "no screenshot written"
"$PYTHON" - "$TMP/report.png" <<'EOF' || fail "the screenshot looks blank"
import struct, sys, zlib

data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        if depth != 8 or ctype not in (2, 6):
            sys.exit(f"unexpected PNG format depth {depth} colour type {ctype}")
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours, ink = set(), 0
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, w, 2):
        px = bytes(line[x * bpp:x * bpp + 3])
        colours.add(px)
        if sum(px) < 600:
            ink += 1
    prev = line
share = ink / (w * h / 2)
print(f"screenshot {w}x{h}: {len(colours)} colours, {share:.1%} ink")
if len(colours) < 20 or share < 0.01:
    sys.exit("too few colours or too little ink: blank page?")
EOF
echo "PASS: test_report_browser"
