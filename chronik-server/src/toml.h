/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small, strict TOML 1.0 parser for chronik-server's configuration.
 *
 * Supported: comments, bare/quoted/dotted keys, basic and literal strings
 * (single- and multi-line, all escapes incl. \uXXXX and \UXXXXXXXX),
 * integers (decimal, 0x/0o/0b, underscores, sign), floats (incl. inf and
 * nan), booleans, arrays (mixed types, multi-line, trailing comma), inline
 * tables, [tables] and [[arrays of tables]]. Offset date-times are refused
 * with a clear error: no setting needs them.
 *
 * Every error names file:line:column (columns count characters, from 1)
 * and says what was expected. Duplicate keys and redefined tables are
 * errors. The input must be UTF-8; control characters other than tab,
 * LF and CRLF are refused everywhere.
 *
 * The DOM is immutable once parsed; every pointer it hands out lives until
 * chronik_toml_free() of the root. Thread-safety: none needed, no state is
 * shared between documents.
 */
#ifndef CHRONIK_SERVER_TOML_H
#define CHRONIK_SERVER_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inputs larger than this are refused (a config file is small; the limit
 * keeps a hostile file from costing much). */
#define CHRONIK_TOML_MAX_INPUT (4u * 1024u * 1024u)
/* Deepest nesting of tables and arrays. */
#define CHRONIK_TOML_MAX_DEPTH 64

typedef enum chronik_toml_type {
	CHRONIK_TOML_STRING,
	CHRONIK_TOML_INTEGER,
	CHRONIK_TOML_FLOAT,
	CHRONIK_TOML_BOOL,
	CHRONIK_TOML_ARRAY,
	CHRONIK_TOML_TABLE
} chronik_toml_type;

typedef struct chronik_toml_value chronik_toml_value;

/* Where and why parsing failed. `text` is the full message,
 * "file:line:column: what", ready to print. */
typedef struct chronik_toml_error {
	int line;
	int column;
	char message[256];
	char text[512];
} chronik_toml_error;

/*
 * Parse `len` bytes of TOML. `filename` is only used in messages (NULL
 * gives "<input>"). On success *out is the root table (free it with
 * chronik_toml_free). Returns 0, CHRONIK_EMALFORMED (err filled),
 * CHRONIK_ETOOBIG or CHRONIK_ENOMEM.
 */
int chronik_toml_parse(chronik_toml_value **out, const char *data,
		       size_t len, const char *filename,
		       chronik_toml_error *err);

/* Read and parse a file. Also returns -errno when it cannot be read
 * (err->text says which file and why). */
int chronik_toml_parse_file(chronik_toml_value **out, const char *path,
			    chronik_toml_error *err);

/* Free a document; NULL is fine. Only the root may be freed. */
void chronik_toml_free(chronik_toml_value *root);

chronik_toml_type chronik_toml_type_of(const chronik_toml_value *v);
/* "string", "integer", "float", "boolean", "array", "table". */
const char *chronik_toml_type_name(chronik_toml_type t);

/* Position of the value's first character (1-based). */
int chronik_toml_line(const chronik_toml_value *v);
int chronik_toml_column(const chronik_toml_value *v);

/* Tables: entries keep the order in which they were written. */
size_t chronik_toml_table_size(const chronik_toml_value *table);
/* The i-th entry; key_line/key_column (may be NULL) get where its key
 * was written. Returns NULL when i is out of range or not a table. */
const chronik_toml_value *chronik_toml_table_at(
	const chronik_toml_value *table, size_t i, const char **key_out,
	int *key_line, int *key_column);
/* Look up one key (not a dotted path); NULL when absent. */
const chronik_toml_value *chronik_toml_table_get(
	const chronik_toml_value *table, const char *key);
/* Look up a dotted path of bare keys, e.g. "bind.kafka". */
const chronik_toml_value *chronik_toml_get_path(
	const chronik_toml_value *table, const char *path);

size_t chronik_toml_array_size(const chronik_toml_value *array);
const chronik_toml_value *chronik_toml_array_at(
	const chronik_toml_value *array, size_t i);

/* Typed access. Each returns 0, or CHRONIK_EARG when v is NULL or has
 * another type. Strings are NUL-terminated and may also contain NULs
 * (from \u0000): len_out (may be NULL) gets the real length. */
int chronik_toml_as_string(const chronik_toml_value *v, const char **out,
			   size_t *len_out);
int chronik_toml_as_int(const chronik_toml_value *v, int64_t *out);
int chronik_toml_as_float(const chronik_toml_value *v, double *out);
int chronik_toml_as_bool(const chronik_toml_value *v, bool *out);

/* Getters by key in a table: 0, CHRONIK_ENOTFOUND when the key is absent,
 * CHRONIK_EARG when the value has another type. */
int chronik_toml_get_string(const chronik_toml_value *table, const char *key,
			    const char **out);
int chronik_toml_get_int(const chronik_toml_value *table, const char *key,
			 int64_t *out);
int chronik_toml_get_float(const chronik_toml_value *table, const char *key,
			   double *out);
int chronik_toml_get_bool(const chronik_toml_value *table, const char *key,
			  bool *out);

/* Structural equality (nan equals nan), used by round-trip tests. */
bool chronik_toml_equal(const chronik_toml_value *a,
			const chronik_toml_value *b);

/* Write v as TOML text (tables as inline tables, one root key per line)
 * into a malloc'd NUL-terminated string. Returns 0 or CHRONIK_ENOMEM. */
int chronik_toml_dump(char **out, const chronik_toml_value *root);

#endif /* CHRONIK_SERVER_TOML_H */
