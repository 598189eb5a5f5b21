/* cli/cli.h — pieces shared by the `sidecar` subcommands. Uses only include/sidecar/.
 *
 * Conventions of the command line (DESIGN §4): exit 0 on success, 1 for an input error (one
 * line "sidecar: <message>" on stderr), 2 for a usage error (a line naming the problem and a
 * short usage hint). Output is built in memory and written only when the command succeeds, so a
 * failure half-way never leaves half a table or half a JSON object on stdout.
 */
#ifndef SIDECAR_CLI_H
#define SIDECAR_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sidecar/checkpoint.h"
#include "sidecar/ckpt_ref.h"
#include "sidecar/eval.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_INPUT = 1, CLI_EXIT_USAGE = 2 };

typedef enum cli_format { CLI_HUMAN = 0, CLI_JSON = 1 } cli_format;

/* `sidecar inspect ...`; argv[0] is "inspect". Returns the process exit code. */
int cli_inspect_main(int argc, char **argv);
void cli_inspect_usage(FILE *f);

/* Prints "sidecar: <message>" for a failed library call (falls back to the status name when
 * the library left the message empty). */
void cli_report_error(const sc_error *err, sc_status st);

/* `sidecar run ...` (is_run 1) and `sidecar eval ...` (0); argv[0] is the command. */
int cli_run_main(int argc, char **argv, int is_run);
void cli_run_usage(FILE *f, int is_run);

/* `sidecar report LOGDIR ...`; argv[0] is "report". */
int cli_report_main(int argc, char **argv);
void cli_report_usage(FILE *f);

/* Reads a whole text file (NUL-terminated) for --compile; the message names the file. */
sc_status cli_read_text(const char *path, char **out, size_t *len, sc_error *err);

/* ---- progress bar on a terminal (cli/progress.c) ---- */
sc_callback cli_progress_callback(void);
/* Erases the bar (before a log line or at the end); no-op when none is drawn. */
void cli_progress_clear(void);

/* ---- --model (cli/inspect_model.c) ---- */

/* Loads the Keras model, binds the checkpoint's variables to it and writes the binding table
 * (JSON: fields ,"model","binding","unused" to splice into the inspect object). source is what
 * kind says (model_root: --model-root, for bundles): an sc_bundle (bundle, SavedModel), an sc_h5weights (.weights.h5, the weights of a
 * .keras, a legacy .h5) or an sc_safetensors. A model that does not load is returned as an
 * error; a binding that fails (missing key, shape mismatch) still writes the table and leaves
 * its status in bind_err->status for the caller to report after the output. */
sc_status cli_write_binding(FILE *f, cli_format fmt, const char *model_path, const char *model_root,
                            sc_ckpt_kind kind, void *source, sc_error *bind_err, sc_error *err);

/* ---- text escaping (cli/escape.c) ---- */

/* Writes bytes as the inside of a JSON string: valid UTF-8 as is, '"' '\\' and controls
 * escaped, every byte that is not part of valid UTF-8 as \u00XX (its Latin-1 reading), so that
 * arbitrary key bytes always give valid JSON. */
void cli_json_bytes(FILE *f, const void *s, size_t n);
void cli_json_string(FILE *f, const char *s); /* quoted, NUL-terminated input */

/* Writes bytes for a terminal: valid UTF-8 as is, controls and invalid bytes as \xHH; with
 * quoted (a string value shown in double quotes), also '"', '\\', \n, \t, \r escaped C-style.
 * f may be NULL to only measure. Returns the number of terminal columns (one per code point). */
size_t cli_text_bytes(FILE *f, const void *s, size_t n, int quoted);

/* ---- tensor values (cli/values.c) ---- */

/* NULL when values of this dtype are printed, else a short reason ("variant"). */
const char *cli_values_not_decoded(const sc_tensor_info *t);

/* Writes the first max_values elements of a tensor read whole by sc_bundle_read (buf, size):
 * human form "[1, 2, 3, ... 9 more]" (a scalar without brackets), JSON form an array. Strings
 * are split with sc_bundle_decode_strings, escaped and cut to a display length. */
sc_status cli_write_values(FILE *f, cli_format fmt, const sc_tensor_info *t, const void *buf,
                           size_t size, uint64_t max_values, sc_error *err);

#endif
