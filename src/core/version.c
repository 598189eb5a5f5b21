/* core/version.c — the version the library was built as (sidecar/version.h, generated). */
#include "sidecar/version.h"

const char *sc_version(void) { return SIDECAR_VERSION_STRING; }
int sc_version_number(void) { return SIDECAR_VERSION_NUMBER; }
