/* fuzz_pb — libFuzzer target for the hand-written protobuf wire codec (core/pb.h).
 *
 * The input is walked as a message: every field is read with the getter of its wire type, and
 * every length-delimited value that itself parses as a message is walked recursively (as the
 * checkpoint readers do with nested protos). Besides "no crash, no out-of-bounds read", the
 * target checks a property of reader and writer together: re-encoding what was read gives a
 * canonical form (shortest varints, sub-messages written with sc_pb_begin_sub/sc_pb_end_sub),
 * and canonicalising that form again must give the same bytes. A reader that misreads a value
 * or a writer that mis-patches a sub-message length breaks that fixed point and aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pb.h"

/* Nested messages cost at least two bytes per level, so the depth is bounded by the input;
 * this cap keeps the worst case (every byte a new level) linear-ish and the stack small. */
#define MAX_DEPTH 32

/* Returns 1 when data[0..n) parses completely as a message (every field well-formed). */
static int is_message(const uint8_t *data, size_t n) {
    sc_pb_reader r = sc_pb_reader_init(data, n);
    uint32_t field;
    int wire, rc;
    while ((rc = sc_pb_next(&r, &field, &wire)) == 1) {
        if (sc_pb_skip(&r, wire)) return 0;
    }
    return rc == 0;
}

/* Canonicalises one message into out. Returns 0, or -1 when the input is malformed (the
 * output is then meaningless). Exercises every getter on the way. */
static int canon(const uint8_t *data, size_t n, int depth, sc_pb_buf *out) {
    sc_pb_reader r = sc_pb_reader_init(data, n);
    uint32_t field;
    int wire, rc;
    while ((rc = sc_pb_next(&r, &field, &wire)) == 1) {
        switch (wire) {
        case SC_PB_VARINT: {
            sc_pb_reader again = r;
            uint64_t v;
            uint32_t v32;
            if (sc_pb_read_varint64(&r, &v)) return -1;
            /* The 32-bit getter must agree with the 64-bit one and reject what does not fit. */
            int rc32 = sc_pb_read_varint32(&again, &v32);
            if (v <= UINT32_MAX ? (rc32 != 0 || v32 != v || again.p != r.p) : rc32 == 0) abort();
            sc_pb_put_uint(out, field, v);
            break;
        }
        case SC_PB_I64: {
            uint64_t v;
            if (sc_pb_read_fixed64(&r, &v)) return -1;
            sc_pb_put_key(out, field, SC_PB_I64);
            sc_pb_put_fixed64(out, v);
            break;
        }
        case SC_PB_I32: {
            uint32_t v;
            if (sc_pb_read_fixed32(&r, &v)) return -1;
            sc_pb_put_key(out, field, SC_PB_I32);
            sc_pb_put_fixed32(out, v);
            break;
        }
        case SC_PB_LEN: {
            sc_pb_reader again = r, sub;
            const uint8_t *d;
            size_t len;
            if (sc_pb_read_len(&r, &d, &len)) return -1;
            if (sc_pb_read_sub(&again, &sub) || sub.p != d || (size_t)(sub.end - sub.p) != len
                || again.p != r.p)
                abort();
            if (d + len > data + n) abort(); /* the view must stay inside the input */
            if (depth < MAX_DEPTH && is_message(d, len)) {
                size_t mark = sc_pb_begin_sub(out, field);
                if (canon(d, len, depth + 1, out)) abort(); /* is_message said it parses */
                sc_pb_end_sub(out, mark);
            } else {
                sc_pb_put_lenfield(out, field, d, len);
            }
            break;
        }
        default: abort(); /* sc_pb_next promised one of the four wire types */
        }
    }
    return rc == 0 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_pb_buf once = {0}, twice = {0};
    int parses = is_message(data, size);
    int rc = canon(data, size, 0, &once);
    if ((rc == 0) != parses) abort(); /* the two walks must agree on validity */
    if (rc == 0 && !once.failed) {
        /* An empty buffer has data == NULL, and NULL + 0 is undefined in C: pass a real pointer. */
        const uint8_t *canonical = once.data ? once.data : (const uint8_t *)"";
        if (canon(canonical, once.len, 0, &twice)) abort(); /* canonical output must parse */
        if (!twice.failed
            && (twice.len != once.len
                || (once.len && memcmp(once.data, twice.data, once.len) != 0)))
            abort();
    }
    sc_pb_buf_free(&once);
    sc_pb_buf_free(&twice);
    return 0;
}
