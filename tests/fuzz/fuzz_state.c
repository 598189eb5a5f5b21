/* fuzz_state — libFuzzer target for the `checkpoint` state-file parser (FORMATS §2.1).
 *
 * Any bytes: the parser returns OK or INVALID_ARGUMENT (NO_MEMORY aside) and leaves the state
 * cleared on error. What it accepts must survive the writer: format(parsed) parses back to the
 * same state (strings byte-equal, doubles bit-equal, NaN as NaN), and formatting that again
 * gives the same text. A writer escape the parser misreads, or a double printed without enough
 * digits, breaks the round trip and aborts.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/checkpoint.h"
#include "ckpt/state.h"

static int same_double(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static int same_str(const char *a, const char *b) {
    return strcmp(a ? a : "", b ? b : "") == 0; /* "" is written as nothing, read as NULL */
}

static void check_same(const sc_ckpt_state *a, const sc_ckpt_state *b) {
    if (!same_str(a->model_checkpoint_path, b->model_checkpoint_path)) abort();
    if (a->num_paths != b->num_paths || a->num_timestamps != b->num_timestamps) abort();
    for (size_t i = 0; i < a->num_paths; i++)
        if (strcmp(a->all_model_checkpoint_paths[i], b->all_model_checkpoint_paths[i]) != 0)
            abort();
    for (size_t i = 0; i < a->num_timestamps; i++)
        if (!same_double(a->all_model_checkpoint_timestamps[i],
                         b->all_model_checkpoint_timestamps[i]))
            abort();
    if (!same_double(a->last_preserved_timestamp, b->last_preserved_timestamp)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_ckpt_state st, back;
    sc_error err;
    sc_status rc = sc_ckpt_state_parse((const char *)data, size, "fuzz", &st, &err);
    if (rc != SC_OK) {
        if (rc != SC_INVALID_ARGUMENT && rc != SC_NO_MEMORY) abort();
        if (st.model_checkpoint_path || st.num_paths || st.num_timestamps) abort();
        return 0;
    }
    char *text = NULL, *text2 = NULL;
    size_t len = 0, len2 = 0;
    if (sc_ckpt_state_format(&st, &text, &len, &err) != SC_OK) goto done;
    if (sc_ckpt_state_parse(text, len, "formatted", &back, &err) != SC_OK) abort();
    check_same(&st, &back);
    if (sc_ckpt_state_format(&back, &text2, &len2, &err) == SC_OK
        && (len != len2 || memcmp(text, text2, len) != 0))
        abort();
    sc_ckpt_state_clear(&back);
done:
    free(text);
    free(text2);
    sc_ckpt_state_clear(&st);
    return 0;
}
