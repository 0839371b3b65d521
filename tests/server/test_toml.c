/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chronik/common.h"
#include "toml.h"

/* A valid document and its canonical dump (see chronik_toml_dump). */
struct valid_case {
	const char *in;
	const char *dump;
};

static const struct valid_case valid_cases[] = {
	{"", ""},
	{"# only a comment\n\n  \t\n", ""},
	{"a = 1", "\"a\" = 1\n"},
	{"a = 1 # trailing comment\r\nb = 2\r\n",
	 "\"a\" = 1\n\"b\" = 2\n"},
	/* keys */
	{"bare_key-1 = 1\n\"quoted key\" = 2\n'lit' = 3\n1234 = 4\n",
	 "\"bare_key-1\" = 1\n\"quoted key\" = 2\n\"lit\" = 3\n"
	 "\"1234\" = 4\n"},
	{"\"\" = 1", "\"\" = 1\n"},
	{"a . b\t.\"c.d\" = true", "\"a\" = {\"b\" = {\"c.d\" = true}}\n"},
	{"a.b = 1\na.c = 2", "\"a\" = {\"b\" = 1, \"c\" = 2}\n"},
	{"3.14 = 1", "\"3\" = {\"14\" = 1}\n"},
	/* strings */
	{"s = \"tab\\tnl\\n q\\\" bs\\\\ \\b\\f\\r\"",
	 "\"s\" = \"tab\\u0009nl\\u000a q\\\" bs\\\\ \\u0008\\u000c"
	 "\\u000d\"\n"},
	{"s = \"\\u00e9\\U0001F600\"",
	 "\"s\" = \"\xc3\xa9\xf0\x9f\x98\x80\"\n"},
	{"s = \"\\u0000x\"", "\"s\" = \"\\u0000x\"\n"},
	{"s = 'C:\\path\\n'", "\"s\" = \"C:\\\\path\\\\n\"\n"},
	{"s = \"\"\"\nline1\nline2\"\"\"",
	 "\"s\" = \"line1\\u000aline2\"\n"},
	{"s = \"\"\"a \\\n   \n  b\"\"\"", "\"s\" = \"a b\"\n"},
	{"s = \"\"\"a \\  \t\r\n  b\"\"\"", "\"s\" = \"a b\"\n"},
	{"s = \"\"\"q\"\"\"\"\"", "\"s\" = \"q\\\"\\\"\"\n"},
	{"s = \"\"\"\"a\"\"\"", "\"s\" = \"\\\"a\"\n"},
	{"s = '''\nraw \\n ''x'' '''", "\"s\" = \"raw \\\\n ''x'' \"\n"},
	{"s = ''''a'''''", "\"s\" = \"'a''\"\n"},
	{"s = \"\xc3\xa9t\xc3\xa9\"", "\"s\" = \"\xc3\xa9t\xc3\xa9\"\n"},
	/* integers */
	{"a = +99\nb = -17\nc = 0\nd = -0\ne = 1_000_000",
	 "\"a\" = 99\n\"b\" = -17\n\"c\" = 0\n\"d\" = 0\n\"e\" = 1000000\n"},
	{"h = 0xDEAD_beef\no = 0o755\nb = 0b1101",
	 "\"h\" = 3735928559\n\"o\" = 493\n\"b\" = 13\n"},
	{"max = 9223372036854775807\nmin = -9223372036854775808",
	 "\"max\" = 9223372036854775807\n\"min\" = -9223372036854775808\n"},
	{"h = 0x7fffffffffffffff", "\"h\" = 9223372036854775807\n"},
	/* floats */
	{"a = 1.5\nb = -0.25\nc = 5e+2\nd = 1E3\ne = 6.626e-34\n"
	 "f = 9_224_617.445_991",
	 "\"a\" = 1.5\n\"b\" = -0.25\n\"c\" = 500.0\n\"d\" = 1000.0\n"
	 "\"e\" = 6.6259999999999998e-34\n\"f\" = 9224617.4459910002\n"},
	{"a = inf\nb = -inf\nc = +nan\nd = 0.0\ne = -0.0",
	 "\"a\" = inf\n\"b\" = -inf\n\"c\" = nan\n\"d\" = 0.0\n"
	 "\"e\" = -0.0\n"},
	/* booleans */
	{"t = true\nf = false", "\"t\" = true\n\"f\" = false\n"},
	/* arrays */
	{"a = []\nb = [ 1, 2, 3, ]\nc = [1, 'x', 2.5, [true], {k = 1}]",
	 "\"a\" = []\n\"b\" = [1, 2, 3]\n"
	 "\"c\" = [1, \"x\", 2.5, [true], {\"k\" = 1}]\n"},
	{"a = [\n  1, # one\n  # between\n  2\n  ,\n]\n",
	 "\"a\" = [1, 2]\n"},
	/* inline tables */
	{"p = { x = 1, y.z = 'a' }\ne = {}",
	 "\"p\" = {\"x\" = 1, \"y\" = {\"z\" = \"a\"}}\n\"e\" = {}\n"},
	/* tables */
	{"[a]\nx = 1\n[b . c]\ny = 2\n[ 'd' ]",
	 "\"a\" = {\"x\" = 1}\n\"b\" = {\"c\" = {\"y\" = 2}}\n\"d\" = {}\n"},
	{"[a.b]\nx = 1\n[a]\ny = 2",
	 "\"a\" = {\"b\" = {\"x\" = 1}, \"y\" = 2}\n"},
	{"[fruit]\napple.color = 'red'\n[fruit.apple.texture]\nsmooth = true",
	 "\"fruit\" = {\"apple\" = {\"color\" = \"red\", \"texture\" = "
	 "{\"smooth\" = true}}}\n"},
	/* arrays of tables */
	{"[[p]]\nid = 1\n[[p]]\nid = 2\n[p.sub]\nk = 3\n[[p.list]]\n",
	 "\"p\" = [{\"id\" = 1}, {\"id\" = 2, \"sub\" = {\"k\" = 3}, "
	 "\"list\" = [{}]}]\n"},
	{"\xef\xbb\xbf" "a = 1", "\"a\" = 1\n"},
};

/* An invalid document: where the error is and a part of its message. */
struct invalid_case {
	const char *in;
	int line, col;
	const char *msg;
};

static const struct invalid_case invalid_cases[] = {
	{"node_id 1", 1, 9, "expected '=' after key 'node_id'"},
	{"a = 1\n\n   node_id   3", 3, 14, "expected '=' after key 'node_id'"},
	{"= 1", 1, 1, "expected a key, found '='"},
	{"a.= 1", 1, 3, "expected a key after '.'"},
	{"a = ", 1, 5, "expected a value"},
	{"a = 1 2", 1, 7, "expected a newline or a comment"},
	{"a = 1\na = 2", 2, 1, "duplicate key 'a' (first defined at 1:1)"},
	{"a.b = 1\na.b = 2", 2, 3, "duplicate key 'a.b'"},
	{"a = 1\na.b = 2", 2, 1, "cannot add keys to 'a'"},
	{"[a]\n[a]", 2, 2, "table 'a' is already defined at 1:2"},
	{"[a]\nb = 1\n[a.b]", 3, 4, "table 'a.b' is already defined"},
	{"a.b = 1\n[a]", 2, 2, "table 'a' is already defined"},
	{"[fruit]\napple.color = 'red'\n[fruit.apple]", 3, 8,
	 "already defined"},
	{"[a.b.c]\nz = 9\n[a]\nb.c.t = 9", 4, 1, "cannot add keys to 'a.b'"},
	{"a = {x = 1}\na.y = 2", 2, 1, "an inline table"},
	{"a = {x = 1}\n[a.b]", 2, 2, "an inline table"},
	{"a = {x = 1, x = 2}", 1, 13, "duplicate key 'x'"},
	{"a = {x = 1,}", 1, 12, "trailing comma"},
	{"a = {x = 1\n}", 1, 11, "inline tables must be on one line"},
	{"a = [1, 2", 1, 10, "unterminated array"},
	{"a = [1 2]", 1, 8, "expected ',' or ']'"},
	{"a = [1,,2]", 1, 8, "expected a value"},
	{"a = [1]\n[[a]]", 2, 3, "already defined as an array"},
	{"[[a]]\n[a]", 2, 2, "already defined"},
	{"[a]\n[[a]]", 2, 3, "already defined as a table"},
	{"[a", 1, 3, "expected ']' after table name 'a'"},
	{"[[a]", 1, 4, "expected ']]'"},
	{"[]", 1, 2, "expected a key after '['"},
	{"a = \"abc", 1, 5, "unterminated string"},
	{"a = \"ab\ncd\"", 1, 8, "newline in a single-line string"},
	{"a = \"\\x41\"", 1, 6, "invalid escape '\\x'"},
	{"a = \"\\u12\"", 1, 6, "expected 4 hex digits"},
	{"a = \"\\uD800\"", 1, 6, "not a Unicode scalar value"},
	{"a = \"\\U00110000\"", 1, 6, "not a Unicode scalar value"},
	{"a = \"\"\"x\"\"\"\"\"\"", 1, 9, "too many quotes"},
	{"a = '''abc", 1, 5, "unterminated string"},
	{"a = \"x\x01\"", 1, 7, "control character U+0001"},
	{"# comment \x7f\n", 1, 11, "control character U+007F"},
	{"a = 1\r", 1, 6, "carriage return"},
	{"a = \"\xc3\x28\"", 1, 6, "invalid UTF-8"},
	{"a = \"\xed\xa0\x80\"", 1, 6, "invalid UTF-8"},
	{"a = \"\xc0\xaf\"", 1, 6, "invalid UTF-8"},
	{"\xc3\xa9\xc3\xa9 = 1", 1, 1, "expected a key, found"},
	{"a = 007", 1, 5, "leading zeros"},
	{"a = 1__0", 1, 5, "invalid decimal integer"},
	{"a = _1", 1, 5, "expected a value"},
	{"a = 1_", 1, 5, "invalid decimal integer"},
	{"a = +0x10", 1, 5, "a sign is not allowed"},
	{"a = 0x", 1, 5, "invalid hexadecimal integer"},
	{"a = 0b102", 1, 5, "invalid binary integer"},
	{"a = 9223372036854775808", 1, 5, "does not fit in 64 bits"},
	{"a = -9223372036854775809", 1, 5, "does not fit in 64 bits"},
	{"a = 1.", 1, 5, "invalid float"},
	{"a = .5", 1, 5, "invalid float"},
	{"a = 1e", 1, 5, "invalid float"},
	{"a = 1._5", 1, 5, "invalid float"},
	{"a = 01.5", 1, 5, "invalid float"},
	{"a = 1e999", 1, 5, "out of range"},
	{"a = True", 1, 5, "expected a value, found 'True'"},
	{"a = yes", 1, 5, "strings need quotes"},
	{"a = 1979-05-27", 1, 5, "date and time values are not supported"},
	{"a = 07:32:00", 1, 5, "date and time"},
	{"\"a\nb\" = 1", 1, 3, "newline in a single-line string"},
	{"\"\\u0000\" = 1", 1, 1, "key contains a NUL"},
	{"a = \"\"\"x\"\"\" = 1", 1, 13, "expected a newline"},
	{"a = 1 # ok\nb = = 2", 2, 5, "expected a value"},
	{"a = \"\xc3\xa9\" x", 1, 9, "expected a newline"},
	{"a = 1\n x x", 2, 4, "expected '=' after key 'x'"},
	{"a = \xc3\xa9", 1, 5, "found '\xc3\xa9'"},
};

static void test_toml_valid_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0];
	     i++) {
		const struct valid_case *c = &valid_cases[i];
		chronik_toml_value *root = NULL, *again = NULL;
		chronik_toml_error err;
		char *dump = NULL;
		int rc = chronik_toml_parse(&root, c->in, strlen(c->in),
					    "t.toml", &err);
		if (rc != 0)
			fail_msg("case %zu: %s", i, err.text);
		assert_int_equal(chronik_toml_dump(&dump, root), 0);
		if (strcmp(dump, c->dump) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, dump,
				 c->dump);
		/* The dump is TOML too and means the same. */
		rc = chronik_toml_parse(&again, dump, strlen(dump), "dump",
					&err);
		if (rc != 0)
			fail_msg("case %zu: reparse: %s", i, err.text);
		assert_true(chronik_toml_equal(root, again));
		free(dump);
		chronik_toml_free(root);
		chronik_toml_free(again);
	}
}

static void test_toml_invalid_documents(void **state)
{
	(void)state;
	for (size_t i = 0;
	     i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
		const struct invalid_case *c = &invalid_cases[i];
		chronik_toml_value *root = NULL;
		chronik_toml_error err;
		char want[64];
		int rc = chronik_toml_parse(&root, c->in, strlen(c->in),
					    "cluster.toml", &err);
		if (rc == 0)
			fail_msg("case %zu (%s): parsed", i, c->in);
		assert_int_equal(rc, CHRONIK_EMALFORMED);
		assert_null(root);
		if (err.line != c->line || err.column != c->col ||
		    !strstr(err.message, c->msg))
			fail_msg("case %zu: got '%s', want %d:%d '%s'", i,
				 err.text, c->line, c->col, c->msg);
		snprintf(want, sizeof want, "cluster.toml:%d:%d: ", c->line,
			 c->col);
		assert_memory_equal(err.text, want, strlen(want));
	}
}

static void test_toml_getters(void **state)
{
	static const char doc[] =
		"name = 'n'\nport = 9092\nratio = 0.5\non = true\n"
		"[bind]\nkafka = '0.0.0.0:9092'\n"
		"[[peers]]\nid = 1\n[[peers]]\nid = 2\n";
	chronik_toml_value *root;
	chronik_toml_error err;
	const chronik_toml_value *v, *peers;
	const char *s, *key;
	int64_t i;
	double f;
	bool b;
	int line, col;
	(void)state;

	assert_int_equal(chronik_toml_parse(&root, doc, sizeof doc - 1,
					    NULL, &err), 0);
	assert_int_equal(chronik_toml_get_string(root, "name", &s), 0);
	assert_string_equal(s, "n");
	assert_int_equal(chronik_toml_get_int(root, "port", &i), 0);
	assert_int_equal(i, 9092);
	assert_int_equal(chronik_toml_get_float(root, "ratio", &f), 0);
	assert_true(f == 0.5);
	assert_int_equal(chronik_toml_get_bool(root, "on", &b), 0);
	assert_true(b);
	assert_int_equal(chronik_toml_get_int(root, "name", &i),
			 CHRONIK_EARG);
	assert_int_equal(chronik_toml_get_int(root, "nope", &i),
			 CHRONIK_ENOTFOUND);
	v = chronik_toml_get_path(root, "bind.kafka");
	assert_non_null(v);
	assert_int_equal(chronik_toml_line(v), 6);
	assert_int_equal(chronik_toml_column(v), 9);
	assert_null(chronik_toml_get_path(root, "bind.raft"));
	assert_null(chronik_toml_get_path(root, "port.x"));
	peers = chronik_toml_table_get(root, "peers");
	assert_int_equal(chronik_toml_type_of(peers), CHRONIK_TOML_ARRAY);
	assert_int_equal(chronik_toml_array_size(peers), 2);
	assert_int_equal(chronik_toml_get_int(chronik_toml_array_at(peers, 1),
					      "id", &i), 0);
	assert_int_equal(i, 2);
	assert_null(chronik_toml_array_at(peers, 2));
	assert_int_equal(chronik_toml_table_size(root), 6);
	v = chronik_toml_table_at(root, 4, &key, &line, &col);
	assert_string_equal(key, "bind");
	assert_int_equal(line, 5);
	assert_int_equal(col, 2);
	assert_int_equal(chronik_toml_type_of(v), CHRONIK_TOML_TABLE);
	assert_string_equal(chronik_toml_type_name(CHRONIK_TOML_BOOL),
			    "boolean");
	chronik_toml_free(root);
	chronik_toml_free(NULL);
}

/* Many keys in one table stay fast (hash index) and all are found. */
static void test_toml_big_table(void **state)
{
	size_t n = 50000, cap = n * 24, o = 0;
	char *doc = malloc(cap);
	chronik_toml_value *root;
	chronik_toml_error err;
	int64_t v;
	(void)state;

	assert_non_null(doc);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(doc + o, cap - o, "k%zu = %zu\n", i, i);
	assert_int_equal(chronik_toml_parse(&root, doc, o, "big", &err), 0);
	assert_int_equal(chronik_toml_table_size(root), n);
	for (size_t i = 0; i < n; i += 997) {
		char k[32];
		snprintf(k, sizeof k, "k%zu", i);
		assert_int_equal(chronik_toml_get_int(root, k, &v), 0);
		assert_int_equal(v, (int64_t)i);
	}
	chronik_toml_free(root);
	/* A duplicate at the end is still caught. */
	o += (size_t)snprintf(doc + o, cap - o, "k123 = 1\n");
	assert_int_equal(chronik_toml_parse(&root, doc, o, "big", &err),
			 CHRONIK_EMALFORMED);
	assert_non_null(strstr(err.message, "duplicate key 'k123'"));
	free(doc);
}

/* Deep nesting is refused cleanly instead of exhausting the stack. */
static void test_toml_depth_limit(void **state)
{
	char doc[4096];
	size_t o = 0;
	chronik_toml_value *root;
	chronik_toml_error err;
	(void)state;

	o += (size_t)snprintf(doc, sizeof doc, "a = ");
	for (int i = 0; i < 1000; i++)
		doc[o++] = '[';
	assert_int_equal(chronik_toml_parse(&root, doc, o, "deep", &err),
			 CHRONIK_EMALFORMED);
	assert_non_null(strstr(err.message, "nested deeper than 64"));
	o = 0;
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(doc + o, sizeof doc - o, "a.");
	o += (size_t)snprintf(doc + o, sizeof doc - o, "a = 1");
	assert_int_equal(chronik_toml_parse(&root, doc, o, "deep", &err),
			 CHRONIK_EMALFORMED);
	assert_non_null(strstr(err.message, "more than 64 parts"));
}

static void test_toml_parse_file(void **state)
{
	char path[] = "/tmp/chronik-toml-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	chronik_toml_value *root;
	chronik_toml_error err;
	(void)state;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("node_id = 1\nreplication_factor 3\n", f);
	fclose(f);
	assert_int_equal(chronik_toml_parse_file(&root, path, &err),
			 CHRONIK_EMALFORMED);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 20);
	assert_non_null(strstr(err.text, path));
	unlink(path);
	assert_int_equal(chronik_toml_parse_file(&root, path, &err),
			 -ENOENT);
	assert_non_null(strstr(err.text, "cannot read"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toml_valid_documents),
		cmocka_unit_test(test_toml_invalid_documents),
		cmocka_unit_test(test_toml_getters),
		cmocka_unit_test(test_toml_big_table),
		cmocka_unit_test(test_toml_depth_limit),
		cmocka_unit_test(test_toml_parse_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
