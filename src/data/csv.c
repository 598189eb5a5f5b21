/* data/csv.c — streaming CSV reader (RFC 4180 with the usual leniency, see sidecar/data.h).
 *
 * A record's fields are unescaped into one buffer (NUL after each) reused from row to row, so a
 * row costs no allocation once the buffers have grown. Numbers are parsed with strtod_l in the
 * "C" locale: a host program's setlocale() must not turn "7.25" into 7.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "sidecar/data.h"

#define CSV_BUFFER  (64 * 1024)
#define CSV_MAX_ROW ((size_t)256 << 20) /* a longer row is damage, not data */

struct sc_csv_reader {
    char *path;
    int fd;
    char delim;
    int allow_empty;
    double empty_value;
    locale_t c_locale;

    uint8_t in[CSV_BUFFER];
    size_t in_pos, in_len;
    uint64_t file_off; /* file offset just past in[in_len) */
    uint64_t line;     /* line of the next character */

    char *fields; /* current record: unescaped fields, each NUL-terminated */
    size_t fields_len, fields_cap;
    size_t *starts;
    size_t nf, starts_cap;

    char **header;
    size_t ncols;
    size_t *sel; /* header index of each output column */
    size_t nsel;
    long label; /* header index or -1 */
    double *values;

    uint64_t data_off, data_line; /* where the first data row starts, for rewind */
    uint64_t row_line;
};

sc_csv_params sc_csv_default_params(void) {
    sc_csv_params p = {',', NULL, 0, NULL, 0, NAN};
    return p;
}

/* -1 at end of file, -2 on a read error (err set). */
static int peekc(sc_csv_reader *r, sc_error *err) {
    if (r->in_pos == r->in_len) {
        ssize_t n;
        do n = pread(r->fd, r->in, sizeof r->in, (off_t)r->file_off);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            sc_error_set(err, SC_IO, "%s: read at byte %llu failed: %s", r->path,
                         (unsigned long long)r->file_off, strerror(errno));
            return -2;
        }
        r->in_pos = 0;
        r->in_len = (size_t)n;
        r->file_off += (uint64_t)n;
        if (n == 0) return -1;
    }
    return r->in[r->in_pos];
}

static int getch(sc_csv_reader *r, sc_error *err) {
    int c = peekc(r, err);
    if (c >= 0) r->in_pos++;
    if (c == '\n') r->line++;
    return c;
}

static int put_char(sc_csv_reader *r, char c) {
    if (r->fields_len >= CSV_MAX_ROW) return -1;
    if (r->fields_len == r->fields_cap) {
        size_t cap = r->fields_cap ? r->fields_cap * 2 : 256;
        char *nb = cap > r->fields_cap ? realloc(r->fields, cap) : NULL;
        if (!nb) return -1;
        r->fields = nb;
        r->fields_cap = cap;
    }
    r->fields[r->fields_len++] = c;
    return 0;
}

static int start_field(sc_csv_reader *r) {
    if (r->nf == r->starts_cap) {
        size_t cap = r->starts_cap ? r->starts_cap * 2 : 16;
        size_t *nb = cap <= SIZE_MAX / sizeof *nb ? realloc(r->starts, cap * sizeof *nb) : NULL;
        if (!nb) return -1;
        r->starts = nb;
        r->starts_cap = cap;
    }
    r->starts[r->nf++] = r->fields_len;
    return 0;
}

/* Reads one record into fields/starts. *got = 0 at the end of the file. Blank lines skipped. */
static sc_status read_record(sc_csv_reader *r, int *got, sc_error *err) {
    enum { START, UNQUOTED, QUOTED, QUOTE_SEEN } st;
    *got = 0;
    for (;;) {
        r->fields_len = r->nf = 0;
        r->row_line = r->line;
        int c = peekc(r, err);
        if (c == -2) return SC_IO; /* peekc filled err */
        if (c == -1) return SC_OK;
        if (c == '\n' || c == '\r') { /* blank line */
            getch(r, err);
            if (c == '\r' && peekc(r, err) == '\n')
                getch(r, err);
            else if (c == '\r')
                r->line++;
            continue;
        }
        break;
    }
    st = START;
    if (start_field(r) != 0) goto oom;
    for (;;) {
        int c = getch(r, err);
        if (c == -2) return SC_IO; /* peekc filled err */
        if (c == '\0')
            return sc_error_set(err, SC_DATA_LOSS, "%s: line %llu: NUL byte (not a text file?)",
                                r->path, (unsigned long long)r->line);
        if (st == QUOTED) {
            if (c == -1)
                return sc_error_set(err, SC_DATA_LOSS,
                                    "%s: line %llu: quoted field never closed (file ends at line "
                                    "%llu)",
                                    r->path, (unsigned long long)r->row_line,
                                    (unsigned long long)r->line);
            if (c == '"')
                st = QUOTE_SEEN;
            else if (put_char(r, (char)c) != 0)
                goto oom;
            continue;
        }
        if (st == QUOTE_SEEN && c == '"') { /* "" inside quotes */
            if (put_char(r, '"') != 0) goto oom;
            st = QUOTED;
            continue;
        }
        if (c == -1 || c == '\n' || c == '\r' || c == r->delim) {
            if (put_char(r, '\0') != 0) goto oom;
            if (c == r->delim) {
                if (start_field(r) != 0) goto oom;
                st = START;
                continue;
            }
            if (c == '\r') {
                if (peekc(r, err) == '\n')
                    getch(r, err);
                else
                    r->line++; /* a lone CR ends a line too */
            }
            *got = 1;
            return SC_OK;
        }
        if (st == QUOTE_SEEN)
            return sc_error_set(err, SC_DATA_LOSS,
                                "%s: line %llu, field %zu: unexpected '%c' after a closing quote",
                                r->path, (unsigned long long)r->line, r->nf, (char)c);
        if (st == START && c == '"') {
            st = QUOTED;
            continue;
        }
        st = UNQUOTED; /* a quote inside an unquoted field is a plain character */
        if (put_char(r, (char)c) != 0) goto oom;
    }
oom:
    if (r->fields_len >= CSV_MAX_ROW)
        return sc_error_set(err, SC_DATA_LOSS, "%s: line %llu: row longer than %zu bytes", r->path,
                            (unsigned long long)r->row_line, CSV_MAX_ROW);
    return sc_error_set(err, SC_NO_MEMORY, "%s: line %llu: out of memory", r->path,
                        (unsigned long long)r->row_line);
}

static const char *field(const sc_csv_reader *r, size_t i) { return r->fields + r->starts[i]; }

static sc_status column_missing(const sc_csv_reader *r, const char *name, sc_error *err) {
    char list[320] = "";
    size_t used = 0;
    for (size_t i = 0; i < r->ncols; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", r->header[i]);
        if (w < 0 || (size_t)w >= sizeof list - used) {
            strcpy(list + sizeof list - 4, "...");
            break;
        }
        used += (size_t)w;
    }
    return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: no column '%s' (columns present: %s)",
                        r->path, name, list);
}

static long find_column(const sc_csv_reader *r, const char *name) {
    for (size_t i = 0; i < r->ncols; i++)
        if (strcmp(r->header[i], name) == 0) return (long)i;
    return -1;
}

static sc_status read_header(sc_csv_reader *r, const sc_csv_params *p, sc_error *err) {
    if (peekc(r, err) == 0xef && r->in_len - r->in_pos >= 3
        && memcmp(r->in + r->in_pos, "\xef\xbb\xbf", 3) == 0)
        r->in_pos += 3; /* UTF-8 byte-order mark */
    int got;
    sc_status s = read_record(r, &got, err);
    if (s != SC_OK) return s;
    if (!got)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: empty file, expected a header row",
                            r->path);
    r->header = calloc(r->nf, sizeof *r->header);
    if (!r->header) goto oom;
    for (r->ncols = 0; r->ncols < r->nf; r->ncols++)
        if (!(r->header[r->ncols] = strdup(field(r, r->ncols)))) goto oom;
    r->label = -1;
    if (p->label_column && (r->label = find_column(r, p->label_column)) < 0)
        return column_missing(r, p->label_column, err);
    size_t want = p->columns ? p->num_columns : r->ncols - (r->label >= 0);
    r->sel = calloc(want + 1, sizeof *r->sel);
    r->values = calloc(want + 1, sizeof *r->values);
    if (!r->sel || !r->values) goto oom;
    for (size_t i = 0; i < (p->columns ? p->num_columns : r->ncols); i++) {
        long c = (long)i;
        if (p->columns && (c = find_column(r, p->columns[i])) < 0)
            return column_missing(r, p->columns[i], err);
        if (!p->columns && c == r->label) continue;
        r->sel[r->nsel++] = (size_t)c;
    }
    r->data_off = r->file_off - (r->in_len - r->in_pos);
    r->data_line = r->line;
    return SC_OK;
oom:
    return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory reading the header", r->path);
}

sc_status sc_csv_reader_create(const char *path, const sc_csv_params *params, sc_csv_reader **out,
                               sc_error *err) {
    *out = NULL;
    sc_csv_params p = params ? *params : sc_csv_default_params();
    if (p.delimiter == '"' || p.delimiter == '\n' || p.delimiter == '\r' || p.delimiter == '\0')
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: invalid CSV delimiter", path);
    sc_status s;
    sc_csv_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    }
    r->fd = -1;
    r->delim = p.delimiter;
    r->allow_empty = p.allow_empty;
    r->empty_value = p.empty_value;
    r->line = 1;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        s = sc_error_set(err, errno == ENOENT ? SC_NOT_FOUND : SC_IO, "%s: cannot open: %s", path,
                         strerror(errno));
        goto fail;
    }
    r->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!r->c_locale) {
        s = sc_error_set(err, SC_NO_MEMORY, "%s: cannot create the C locale", path);
        goto fail;
    }
    s = read_header(r, &p, err);
    if (s != SC_OK) goto fail;
    *out = r;
    return SC_OK;
fail:
    sc_csv_reader_free(r);
    return s;
}

void sc_csv_reader_free(sc_csv_reader *r) {
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    if (r->c_locale) freelocale(r->c_locale);
    for (size_t i = 0; r->header && i < r->ncols; i++) free(r->header[i]);
    free(r->header);
    free(r->sel);
    free(r->values);
    free(r->fields);
    free(r->starts);
    free(r->path);
    free(r);
}

size_t sc_csv_reader_num_columns(const sc_csv_reader *r) { return r->nsel; }
const char *sc_csv_reader_column_name(const sc_csv_reader *r, size_t i) {
    return i < r->nsel ? r->header[r->sel[i]] : NULL;
}
uint64_t sc_csv_reader_line(const sc_csv_reader *r) { return r->row_line; }

static sc_status parse_cell(sc_csv_reader *r, size_t col, double *v, sc_error *err) {
    const char *s = field(r, col), *b = s;
    size_t n = strlen(s);
    while (*b == ' ' || *b == '\t') b++;
    while (n > (size_t)(b - s) && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if ((size_t)(b - s) == n && r->allow_empty) {
        *v = r->empty_value;
        return SC_OK;
    }
    char *end;
    *v = strtod_l(b, &end, r->c_locale);
    if ((size_t)(b - s) == n || (size_t)(end - s) != n) {
        char shown[64]; /* the cell as found, printable and cut to fit */
        size_t k = 0;
        for (; s[k] && k + 4 < sizeof shown; k++)
            shown[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
        if (s[k]) {
            memcpy(shown + k, "...", 3);
            k += 3;
        }
        shown[k] = '\0';
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: line %llu, column '%s': expected a number, found '%s'", r->path,
                            (unsigned long long)r->row_line, r->header[col], shown);
    }
    return SC_OK;
}

sc_status sc_csv_reader_next(sc_csv_reader *r, const double **values, double *label,
                             sc_error *err) {
    *values = NULL;
    int got;
    sc_status s = read_record(r, &got, err);
    if (s != SC_OK || !got) return s;
    if (r->nf != r->ncols)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: line %llu has %zu fields, the header has %zu", r->path,
                            (unsigned long long)r->row_line, r->nf, r->ncols);
    for (size_t i = 0; i < r->nsel; i++)
        if ((s = parse_cell(r, r->sel[i], &r->values[i], err)) != SC_OK) return s;
    if (r->label >= 0) {
        double v;
        if ((s = parse_cell(r, (size_t)r->label, &v, err)) != SC_OK) return s;
        if (label) *label = v;
    }
    *values = r->values;
    return SC_OK;
}

sc_status sc_csv_reader_rewind(sc_csv_reader *r, sc_error *err) {
    (void)err;
    r->file_off = r->data_off;
    r->in_pos = r->in_len = 0;
    r->line = r->data_line;
    r->row_line = 0;
    return SC_OK;
}
