/* tests/fuzz/fuzz_journal.c — libFuzzer target: bytes as a results journal
 * (sidecar_journal.jsonl): opened (torn last line dropped), queried for the best value. The
 * intent file is not written, so nothing but the journal itself is touched. */
#include <stddef.h>
#include <stdint.h>

#include "eval/journal.h"
#include "fuzz/fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sc_journal *j = NULL;
    sc_error err;
    if (sc_journal_open(fz_file("sidecar_journal.jsonl", data, size), &j, &err) != SC_OK) return 0;
    double v;
    const char *path;
    (void)sc_journal_best(j, "loss", 0, &v, &path);
    (void)sc_journal_best(j, "accuracy", 1, &v, &path);
    (void)sc_journal_has(j, "ckpt-1");
    sc_journal_free(j);
    return 0;
}
