/* examples/hello.c — a program built against an installed sidecar:
 *   cc hello.c $(pkg-config --cflags --libs sidecar)      or CMake: see CMakeLists.txt here. */
#include <sidecar/sidecar.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (strcmp(sc_version(), SIDECAR_VERSION_STRING) != 0) {
        fprintf(stderr, "headers %s, library %s\n", SIDECAR_VERSION_STRING, sc_version());
        return 1;
    }
    const char *dir = argc > 1 ? argv[1] : "no-such-dir";
    char *prefix = NULL;
    sc_error err;
    sc_status s = sc_ckpt_resolve(dir, &prefix, &err);
    printf("sidecar %s: %s -> %s\n", sc_version(), dir, s == SC_OK ? prefix : err.message);
    free(prefix);
    return 0;
}
