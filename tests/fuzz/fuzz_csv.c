/* tests/fuzz/fuzz_csv.c — libFuzzer target: bytes as a CSV file with a header, read to the end
 * with and without a label column, then rewound and read again. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz_file.h"
#include "sidecar/data.h"

static void read_all(const char *path, const char *label) {
    sc_csv_params p = sc_csv_default_params();
    p.label_column = label;
    p.allow_empty = label != NULL;
    sc_csv_reader *r = NULL;
    sc_error err;
    if (sc_csv_reader_create(path, &p, &r, &err) != SC_OK) return;
    for (int pass = 0; pass < 2; pass++) {
        for (int rows = 0; rows < 100000; rows++) {
            const double *v = NULL;
            double lab;
            sc_status s = sc_csv_reader_next(r, &v, &lab, &err);
            if (s == SC_DATA_LOSS || (s == SC_OK && !v)) break;
        }
        if (sc_csv_reader_rewind(r, &err) != SC_OK) break;
    }
    sc_csv_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_file("f.csv", data, size);
    read_all(path, NULL);
    read_all(path, "y");
    return 0;
}
