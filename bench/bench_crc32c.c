/* bench_crc32c — CRC-32C throughput of both implementations against memcpy of the same buffer.
 *
 *   bench_crc32c [MiB]      buffer size, default 256
 *
 * Every tensor read verifies a CRC over every byte, so the CRC must run close to memory speed.
 * The reference is memcpy of the same buffer into a second, pre-faulted buffer, measured in the
 * same run: the figure is the ratio hw/memcpy (and portable/memcpy). Best of 5 runs each.
 * The hw path is whatever sc_crc32c_impl_name() says (SC_CRC32C_NO_VPCLMUL=1 in the
 * environment measures the plain SSE4.2 loop on a CPU with VPCLMULQDQ).
 * Before timing, both implementations must agree on the whole buffer, on the check value of
 * FORMATS §0.3 and on unaligned pieces stitched together with sc_crc32c_extend; a disagreement
 * exits 1 (a correctness failure, unlike any speed figure).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/crc32c.h"

#define RUNS 5

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static double best_crc(crc_fn fn, const uint8_t *buf, size_t n) {
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_cpu_now();
        uint32_t c = fn(0, buf, n);
        double dt = bench_cpu_now() - t0;
        bench_keep(c);
        if (dt < best) best = dt;
    }
    return best;
}

static double best_memcpy(uint8_t *dst, const uint8_t *src, size_t n) {
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_cpu_now();
        memcpy(dst, src, n);
        double dt = bench_cpu_now() - t0;
        bench_keep(dst[(size_t)r * 4099 % n]);
        if (dt < best) best = dt;
    }
    return best;
}

/* Agreement checks; returns the number of disagreements. */
static int check_agree(const uint8_t *buf, size_t n, int hw) {
    int bad = 0;
    if (sc_crc32c("123456789", 9) != 0xE3069283u
        || sc_crc32c_extend_portable(0, "123456789", 9) != 0xE3069283u) {
        fprintf(stderr, "bench_crc32c: check value of \"123456789\" is wrong\n");
        bad++;
    }
    uint32_t whole = sc_crc32c_extend_portable(0, buf, n);
    if (hw && sc_crc32c_extend_hw(0, buf, n) != whole) {
        fprintf(stderr, "bench_crc32c: hw and portable differ on the %zu-byte buffer\n", n);
        bad++;
    }
    /* Odd offsets and lengths reach the byte-wise heads and tails and every stream size. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 2000 && n > 1; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        size_t off = (size_t)(x >> 33) % n;
        size_t max = n - off < ((size_t)1 << 20) ? n - off : ((size_t)1 << 20);
        size_t len = (size_t)(x >> 7) % (i % 4 == 0 ? max : (max < 300 ? max : 300)) + 1;
        if (len > n - off) len = n - off;
        size_t cut = len / 3;
        uint32_t p = sc_crc32c_extend_portable(0, buf + off, len);
        uint32_t s =
            sc_crc32c_extend(sc_crc32c_extend(0, buf + off, cut), buf + off + cut, len - cut);
        if (p != s || (hw && sc_crc32c_extend_hw(0, buf + off, len) != p)) {
            fprintf(stderr, "bench_crc32c: implementations differ at offset %zu length %zu\n", off,
                    len);
            bad++;
        }
    }
    return bad;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    if (mib == 0 || mib > 65536) {
        fprintf(stderr, "usage: bench_crc32c [MiB 1..65536]\n");
        return 2;
    }
    size_t n = mib << 20;
    uint8_t *src = aligned_alloc(64, n), *dst = aligned_alloc(64, n);
    if (!src || !dst) {
        fprintf(stderr, "bench_crc32c: cannot allocate 2 x %zu MiB\n", mib);
        return 1;
    }
    bench_fill(src, n, 42);
    memset(dst, 0, n); /* fault the pages in: memcpy must not pay for page faults */

    int hw = sc_crc32c_hw_available();
    if (check_agree(src, n, hw) != 0) return 1;

    double t_copy = best_memcpy(dst, src, n);
    double t_port = best_crc(sc_crc32c_extend_portable, src, n);
    double t_hw = hw ? best_crc(sc_crc32c_extend_hw, src, n) : 0;
    double g_copy = bench_gbps((double)n, t_copy), g_port = bench_gbps((double)n, t_port);

    printf("bench_crc32c: %zu MiB buffer, best of %d, sc_crc32c uses %s\n", mib, RUNS,
           sc_crc32c_impl_name());
    printf("  memcpy (reference)   %7.2f GB/s\n", g_copy);
    if (hw) {
        double g_hw = bench_gbps((double)n, t_hw);
        printf("  crc32c hw            %7.2f GB/s  (%s)\n", g_hw, sc_crc32c_impl_name());
        printf("  crc32c portable      %7.2f GB/s\n", g_port);
        printf("  ratio hw/memcpy       %6.2f\n", g_hw / g_copy);
        printf("  ratio portable/memcpy %6.2f\n", g_port / g_copy);
        printf("  ratio hw/portable     %6.2f\n", g_hw / g_port);
    } else {
        printf("  crc32c portable      %7.2f GB/s\n", g_port);
        printf("  crc32c hw            not available on this CPU (no SSE4.2): skipped\n");
        printf("  ratio portable/memcpy %6.2f\n", g_port / g_copy);
    }
    printf("  agreement: %s\n", hw ? "hw and portable identical on the buffer and 2000 slices"
                                   : "portable matches the check value and split extends");
    free(src);
    free(dst);
    return 0;
}
