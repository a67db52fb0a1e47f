/* Text forms of values for training-set files: CSV cells (quoted only when
 * needed), JSON strings, and stored values (doubles in the shortest form
 * that reads back to the same bits, times in RFC 3339). One module so that a
 * build and its rebuild can only ever format values the same way. Text is
 * appended to an fs_strbuf: formatting a million rows through stdio's
 * locked FILE calls cost more than the joins. */
#ifndef FS_TRAINING_VALUES_H
#define FS_TRAINING_VALUES_H

#include <stddef.h>

#include "core/strbuf.h"
#include "storage/engine.h"

/* Appends s as a JSON string (quoted, escaped). */
void fs_put_json_string(fs_strbuf *sb, const char *s);

/* Appends s as one CSV cell: as it is, or quoted with "" doubled when it
 * holds a comma, a quote or a line break. */
void fs_put_csv(fs_strbuf *sb, const char *s);

/* Column `col` of a stored row as text (in buf, or the stored string);
 * NULL for a null, a missing row (ref.batch NULL) or col < 0. *quote says
 * whether JSON needs it as a string (strings and times) or as a literal.
 * buf must hold at least 40 bytes. */
const char *fs_value_text(fs_row_ref ref, int col, char *buf, size_t sz, int *quote);

/* A double as the shortest text that reads back to the same bits, exactly
 * as printf's "%.15g", else "%.16g", else "%.17g" would write it; buf holds
 * at least 32 bytes. Exported for the test that holds it to printf. */
const char *fs_double_text(double v, char *buf, size_t sz);

#endif
