/* tests/fuzz/fuzz_events.c — libFuzzer target: arbitrary bytes as a TensorBoard event file,
 * read by the scalar reader twice (every point kept, and a 4-point reservoir) so the purge,
 * the reservoir and the byte-compare fast path all see the input. */
#include <stddef.h>
#include <stdint.h>

#include "sidecar/events.h"
#include "summary/reader_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int pass = 0; pass < 2; pass++) {
        sc_events_params p = sc_events_default_params();
        p.max_points = pass ? 4 : 0;
        sc_scalars *s;
        if (sc_scalars_create(&p, &s, NULL) != SC_OK) return 0;
        sc_scalars_decode(s, "fuzz", data, size, NULL);
        for (size_t i = 0; i < sc_scalars_num_series(s); i++) {
            sc_scalar_series ser = sc_scalars_series(s, i);
            for (size_t k = 1; k < ser.num_points; k++) (void)ser.points[k].value;
        }
        sc_scalars_free(s);
    }
    return 0;
}
