/* tests/fuzz/fuzz_events.c — libFuzzer target: arbitrary bytes as a TensorBoard event file,
 * read by the scalar reader twice (every point kept, and a 4-point reservoir) so the purge,
 * the reservoir and the byte-compare fast path all see the input.
 *
 * A mutated record almost never keeps a valid CRC, so the raw input alone stops at the framing
 * and the Event parser is barely fuzzed. The input is therefore read a second time re-framed:
 * its records are taken by their length fields alone (CRCs ignored, the last one cut to what is
 * left) and framed again with correct CRCs, so every mutation of a payload reaches the parser.
 * Seeds: tests/fuzz/gen_events_corpus.py. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "sidecar/events.h"
#include "summary/reader_internal.h"

static void decode(const uint8_t *data, size_t size) {
    for (int pass = 0; pass < 2; pass++) {
        sc_events_params p = sc_events_default_params();
        p.max_points = pass ? 4 : 0;
        sc_scalars *s;
        if (sc_scalars_create(&p, &s, NULL) != SC_OK) return;
        sc_scalars_decode(s, "fuzz", data, size, NULL);
        for (size_t i = 0; i < sc_scalars_num_series(s); i++) {
            sc_scalar_series ser = sc_scalars_series(s, i);
            for (size_t k = 1; k < ser.num_points; k++) (void)ser.points[k].value;
        }
        sc_scalars_free(s);
    }
}

/* Re-frames data into out (capacity: size + 16 per record, at most size/12 + 1 records). */
static size_t reframe(const uint8_t *data, size_t size, uint8_t *out) {
    size_t in = 0, o = 0;
    while (size - in >= SC_RECORD_HEADER_SIZE) {
        uint64_t n = 0;
        for (int i = 0; i < 8; i++) n |= (uint64_t)data[in + i] << (8 * i);
        in += SC_RECORD_HEADER_SIZE;
        if (n > size - in) n = size - in;
        sc_record_frame(out + o, out + o + SC_RECORD_HEADER_SIZE + n, data + in, (size_t)n);
        memcpy(out + o + SC_RECORD_HEADER_SIZE, data + in, (size_t)n);
        o += SC_RECORD_HEADER_SIZE + (size_t)n + SC_RECORD_FOOTER_SIZE;
        in += (size_t)n;
        in += size - in < SC_RECORD_FOOTER_SIZE ? size - in : SC_RECORD_FOOTER_SIZE;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decode(data, size);
    uint8_t *framed = malloc(size + (size / SC_RECORD_HEADER_SIZE + 1) * 16 + 1);
    if (!framed) return 0;
    size_t n = reframe(data, size, framed);
    decode(framed, n);
    free(framed);
    return 0;
}
