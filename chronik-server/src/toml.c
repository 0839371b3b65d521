/* SPDX-License-Identifier: Apache-2.0 */
#include "toml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chronik/common.h"

/* How a table came to be; decides whether it may be reopened. */
enum tab_origin {
	TAB_IMPLICIT,  /* created as the parent of a [header] */
	TAB_HEADER,    /* defined by [header] or [[header]] */
	TAB_DOTTED,    /* created by a dotted key */
	TAB_INLINE     /* { ... }: closed once written */
};

typedef struct kv {
	char *key;
	size_t key_len;
	chronik_toml_value *val;
	int line, col;
} kv;

struct chronik_toml_value {
	chronik_toml_type type;
	int line, col;
	union {
		struct {
			char *s;
			size_t len;
		} str;
		int64_t i;
		double f;
		bool b;
		struct {
			chronik_toml_value **items;
			size_t n, cap;
			/* Made by [[header]]: only those may be appended to. */
			bool of_tables;
		} arr;
		struct {
			kv *items;
			size_t n, cap;
			/* Open-addressing index into items (slot = i + 1),
			 * built once a table grows, so big tables stay
			 * linear to fill. */
			uint32_t *index;
			size_t index_cap;
			enum tab_origin origin;
		} tab;
	} u;
};

typedef struct parser {
	const char *p, *end;
	const char *file;
	int line, col;
	int depth;
	chronik_toml_error *err;
	chronik_toml_value *root;
	chronik_toml_value *cur;
	char cur_name[128]; /* "a.b" of the last [header], for messages */
	int oom;
} parser;

/* ---- errors ---------------------------------------------------------- */

static int fail_at(parser *ps, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(parser *ps, int line, int col, const char *fmt, ...)
{
	va_list ap;
	chronik_toml_error *e = ps->err;

	if (!e)
		return CHRONIK_EMALFORMED;
	e->line = line;
	e->column = col;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	snprintf(e->text, sizeof e->text, "%s:%d:%d: %s", ps->file, line, col,
		 e->message);
	return CHRONIK_EMALFORMED;
}

#define FAIL(ps, ...) fail_at((ps), (ps)->line, (ps)->col, __VA_ARGS__)

static int oom(parser *ps)
{
	ps->oom = 1;
	fail_at(ps, ps->line, ps->col, "out of memory");
	return CHRONIK_ENOMEM;
}

/* Quote a key or token for a message, escaping what would not print. */
static const char *show(char *buf, size_t cap, const char *s, size_t len)
{
	size_t o = 0;
	const size_t max = 40;

	for (size_t i = 0; i < len && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == max) {
			o += (size_t)snprintf(buf + o, cap - o, "...");
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* The whole UTF-8 character at the cursor, quoted for a message (the
 * input was validated, so the sequence is complete). */
static const char *show_char(char *buf, size_t cap, const parser *ps)
{
	unsigned char c = (unsigned char)*ps->p;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	if (n > (size_t)(ps->end - ps->p))
		n = 1;
	return show(buf, cap, ps->p, n);
}

/* ---- input ----------------------------------------------------------- */

static int peek(const parser *ps)
{
	return ps->p < ps->end ? (unsigned char)*ps->p : -1;
}

static int peek_at(const parser *ps, size_t k)
{
	return (size_t)(ps->end - ps->p) > k ? (unsigned char)ps->p[k] : -1;
}

/* Every byte is consumed here, so line and column stay right; columns
 * count UTF-8 characters, not bytes. */
static void adv(parser *ps)
{
	unsigned char c = (unsigned char)*ps->p++;

	if (c == '\n') {
		ps->line++;
		ps->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		ps->col++;
	}
}

static void adv_n(parser *ps, size_t n)
{
	while (n--)
		adv(ps);
}

static bool starts(const parser *ps, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static void skip_ws(parser *ps)
{
	while (peek(ps) == ' ' || peek(ps) == '\t')
		adv(ps);
}

/* Newline: LF or CRLF (a lone CR was refused by check_input). */
static bool at_newline(const parser *ps)
{
	return peek(ps) == '\n' || peek(ps) == '\r';
}

static void skip_newline(parser *ps)
{
	if (peek(ps) == '\r')
		adv(ps);
	if (peek(ps) == '\n')
		adv(ps);
}

static void skip_comment(parser *ps)
{
	if (peek(ps) != '#')
		return;
	while (ps->p < ps->end && !at_newline(ps))
		adv(ps);
}

/* Whitespace, newlines and comments (inside arrays). */
static void skip_ws_nl(parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (peek(ps) == '#')
			skip_comment(ps);
		else if (at_newline(ps))
			skip_newline(ps);
		else
			return;
	}
}

/* Valid UTF-8, no control characters but tab, LF, CRLF: checked once
 * up front, so the rest of the parser can rely on it in every context
 * (strings, comments, keys). */
static int check_input(parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->p;
	size_t n = (size_t)(ps->end - ps->p);
	int line = 1, col = 1;

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			    c == 0x7f)
				return fail_at(ps, line, col,
					       "control character U+%04X is "
					       "not allowed", c);
			if (c == '\r' && (i + 1 >= n || s[i + 1] != '\n'))
				return fail_at(ps, line, col,
					       "carriage return must be "
					       "followed by a line feed");
			if (c == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (n - i <= k)
			goto bad;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += k + 1;
		col++;
		continue;
bad:
		return fail_at(ps, line, col, "invalid UTF-8 byte 0x%02x", c);
	}
	return 0;
}

/* ---- DOM ------------------------------------------------------------- */

static chronik_toml_value *new_value(parser *ps, chronik_toml_type t,
				     int line, int col)
{
	chronik_toml_value *v = calloc(1, sizeof *v);

	if (!v) {
		oom(ps);
		return NULL;
	}
	v->type = t;
	v->line = line;
	v->col = col;
	return v;
}

static void free_value(chronik_toml_value *v)
{
	if (!v)
		return;
	switch (v->type) {
	case CHRONIK_TOML_STRING:
		free(v->u.str.s);
		break;
	case CHRONIK_TOML_ARRAY:
		for (size_t i = 0; i < v->u.arr.n; i++)
			free_value(v->u.arr.items[i]);
		free(v->u.arr.items);
		break;
	case CHRONIK_TOML_TABLE:
		for (size_t i = 0; i < v->u.tab.n; i++) {
			free(v->u.tab.items[i].key);
			free_value(v->u.tab.items[i].val);
		}
		free(v->u.tab.items);
		free(v->u.tab.index);
		break;
	default:
		break;
	}
	free(v);
}

void chronik_toml_free(chronik_toml_value *root)
{
	free_value(root);
}

static uint32_t hash_key(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static int index_rebuild(chronik_toml_value *t)
{
	size_t cap = 16;
	uint32_t *ix;

	while (cap < t->u.tab.n * 2 + 2)
		cap *= 2;
	ix = calloc(cap, sizeof *ix);
	if (!ix)
		return CHRONIK_ENOMEM;
	for (size_t i = 0; i < t->u.tab.n; i++) {
		kv *e = &t->u.tab.items[i];
		size_t h = hash_key(e->key, e->key_len) & (cap - 1);
		while (ix[h])
			h = (h + 1) & (cap - 1);
		ix[h] = (uint32_t)(i + 1);
	}
	free(t->u.tab.index);
	t->u.tab.index = ix;
	t->u.tab.index_cap = cap;
	return 0;
}

static kv *tab_find(const chronik_toml_value *t, const char *key,
		    size_t len)
{
	if (t->u.tab.index) {
		size_t m = t->u.tab.index_cap - 1;
		size_t h = hash_key(key, len) & m;
		uint32_t slot;
		while ((slot = t->u.tab.index[h]) != 0) {
			kv *e = &t->u.tab.items[slot - 1];
			if (e->key_len == len && memcmp(e->key, key, len) == 0)
				return e;
			h = (h + 1) & m;
		}
		return NULL;
	}
	for (size_t i = 0; i < t->u.tab.n; i++) {
		kv *e = &t->u.tab.items[i];
		if (e->key_len == len && memcmp(e->key, key, len) == 0)
			return e;
	}
	return NULL;
}

/* Add key -> val (the key must be new). Takes ownership of val, also on
 * failure. */
static int tab_add(parser *ps, chronik_toml_value *t, const char *key,
		   size_t len, int line, int col, chronik_toml_value *val)
{
	kv *e;

	if (t->u.tab.n == t->u.tab.cap) {
		size_t cap = t->u.tab.cap ? t->u.tab.cap * 2 : 8;
		kv *items = realloc(t->u.tab.items, cap * sizeof *items);
		if (!items) {
			free_value(val);
			return oom(ps);
		}
		t->u.tab.items = items;
		t->u.tab.cap = cap;
	}
	e = &t->u.tab.items[t->u.tab.n];
	e->key = malloc(len + 1);
	if (!e->key) {
		free_value(val);
		return oom(ps);
	}
	memcpy(e->key, key, len);
	e->key[len] = '\0';
	e->key_len = len;
	e->val = val;
	e->line = line;
	e->col = col;
	t->u.tab.n++;
	if (t->u.tab.n > 8 &&
	    (!t->u.tab.index || t->u.tab.n * 2 > t->u.tab.index_cap)) {
		if (index_rebuild(t) != 0)
			return oom(ps);
	} else if (t->u.tab.index) {
		size_t m = t->u.tab.index_cap - 1;
		size_t h = hash_key(key, len) & m;
		while (t->u.tab.index[h])
			h = (h + 1) & m;
		t->u.tab.index[h] = (uint32_t)t->u.tab.n;
	}
	return 0;
}

static int arr_push(parser *ps, chronik_toml_value *a, chronik_toml_value *v)
{
	if (a->u.arr.n == a->u.arr.cap) {
		size_t cap = a->u.arr.cap ? a->u.arr.cap * 2 : 4;
		chronik_toml_value **items =
			realloc(a->u.arr.items, cap * sizeof *items);
		if (!items) {
			free_value(v);
			return oom(ps);
		}
		a->u.arr.items = items;
		a->u.arr.cap = cap;
	}
	a->u.arr.items[a->u.arr.n++] = v;
	return 0;
}

/* ---- growable byte buffer -------------------------------------------- */

typedef struct sbuf {
	char *s;
	size_t n, cap;
} sbuf;

static int sb_put(parser *ps, sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		char *ns;
		while (cap < b->n + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns)
			return oom(ps);
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
	return 0;
}

static int sb_putc(parser *ps, sbuf *b, char c)
{
	return sb_put(ps, b, &c, 1);
}

static int sb_put_utf8(parser *ps, sbuf *b, uint32_t cp)
{
	char o[4];
	size_t n;

	if (cp < 0x80) {
		o[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return sb_put(ps, b, o, n);
}

/* ---- strings --------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* At the backslash of an escape in a basic string. */
static int parse_escape(parser *ps, sbuf *b, bool multiline)
{
	int line = ps->line, col = ps->col;
	int c = peek_at(ps, 1);
	char ch;

	switch (c) {
	case 'b': ch = '\b'; break;
	case 't': ch = '\t'; break;
	case 'n': ch = '\n'; break;
	case 'f': ch = '\f'; break;
	case 'r': ch = '\r'; break;
	case '"': ch = '"'; break;
	case '\\': ch = '\\'; break;
	case 'u':
	case 'U': {
		size_t digits = c == 'u' ? 4 : 8;
		uint32_t cp = 0;
		for (size_t i = 0; i < digits; i++) {
			int h = hexval(peek_at(ps, 2 + i));
			if (h < 0)
				return fail_at(ps, line, col,
					       "expected %zu hex digits after "
					       "'\\%c'", digits, c);
			cp = (cp << 4) | (uint32_t)h;
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return fail_at(ps, line, col,
				       "escape '\\%c' is not a Unicode scalar "
				       "value (U+%04X)", c, cp);
		adv_n(ps, 2 + digits);
		return sb_put_utf8(ps, b, cp);
	}
	default:
		if (multiline) {
			/* Line-ending backslash: trim whitespace and
			 * newlines up to the next visible character. */
			size_t k = 1;
			int d;
			while ((d = peek_at(ps, k)) == ' ' || d == '\t')
				k++;
			if (d == '\n' || d == '\r') {
				adv_n(ps, k);
				while (peek(ps) == ' ' || peek(ps) == '\t' ||
				       at_newline(ps))
					adv(ps);
				return 0;
			}
		}
		if (c < 0)
			return fail_at(ps, line, col,
				       "unterminated string");
		if (c < 0x20 || c >= 0x7f)
			return fail_at(ps, line, col, "invalid escape");
		return fail_at(ps, line, col,
			       "invalid escape '\\%c' (expected one of "
			       "\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX "
			       "\\UXXXXXXXX)", c);
	}
	adv_n(ps, 2);
	return sb_putc(ps, b, ch);
}

/* Parse any of the four string forms at the opening quote. Single-line
 * only when `key` (keys cannot be multi-line). */
static int parse_string(parser *ps, sbuf *b, bool key)
{
	int line = ps->line, col = ps->col;
	char q = (char)peek(ps);
	bool basic = q == '"';
	bool ml = !key && (basic ? starts(ps, "\"\"\"") : starts(ps, "'''"));
	int rc;

	if (sb_put(ps, b, "", 0) != 0) /* never leave b->s NULL */
		return CHRONIK_ENOMEM;
	if (ml) {
		adv_n(ps, 3);
		/* A newline right after the delimiter is trimmed. */
		if (at_newline(ps))
			skip_newline(ps);
	} else {
		adv(ps);
	}
	for (;;) {
		int c = peek(ps);
		if (c < 0)
			return fail_at(ps, line, col,
				       "unterminated string (expected a "
				       "closing %s)",
				       ml ? (basic ? "'\"\"\"'" : "\"'''\"")
					  : (basic ? "'\"'" : "\"'\""));
		if (c == q) {
			if (!ml) {
				adv(ps);
				return 0;
			}
			size_t run = 0;
			while (peek_at(ps, run) == q)
				run++;
			if (run >= 3) {
				if (run > 5)
					return FAIL(ps,
						    "too many quotes at the "
						    "end of a multi-line "
						    "string");
				for (size_t i = 3; i < run; i++)
					if ((rc = sb_putc(ps, b, q)) != 0)
						return rc;
				adv_n(ps, run);
				return 0;
			}
			for (size_t i = 0; i < run; i++) {
				if ((rc = sb_putc(ps, b, q)) != 0)
					return rc;
				adv(ps);
			}
			continue;
		}
		if (at_newline(ps)) {
			if (!ml)
				return FAIL(ps, "newline in a single-line "
						"string (expected the "
						"closing quote)");
			skip_newline(ps);
			if ((rc = sb_putc(ps, b, '\n')) != 0)
				return rc;
			continue;
		}
		if (c == '\\' && basic) {
			if ((rc = parse_escape(ps, b, ml)) != 0)
				return rc;
			continue;
		}
		if ((rc = sb_putc(ps, b, (char)c)) != 0)
			return rc;
		adv(ps);
	}
}

/* ---- keys ------------------------------------------------------------ */

typedef struct keypart {
	char *s;
	size_t len;
	int line, col;
} keypart;

typedef struct keypath {
	keypart parts[CHRONIK_TOML_MAX_DEPTH];
	size_t n;
} keypath;

static void keypath_clear(keypath *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->parts[i].s);
	k->n = 0;
}

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* key = simple-key *( ws '.' ws simple-key ). `what` says where the key
 * is, for messages. */
static int parse_key(parser *ps, keypath *k, const char *what)
{
	int rc;

	k->n = 0;
	for (;;) {
		keypart *kp;
		sbuf b = {0};
		int c = peek(ps);

		if (k->n == CHRONIK_TOML_MAX_DEPTH)
			return FAIL(ps, "key has more than %d parts",
				    CHRONIK_TOML_MAX_DEPTH);
		kp = &k->parts[k->n];
		kp->line = ps->line;
		kp->col = ps->col;
		if (c == '"' || c == '\'') {
			if ((rc = parse_string(ps, &b, true)) != 0) {
				free(b.s);
				return rc;
			}
			if (strlen(b.s) != b.n) {
				free(b.s);
				return fail_at(ps, kp->line, kp->col,
					       "key contains a NUL "
					       "character");
			}
		} else if (is_bare(c)) {
			const char *s = ps->p;
			while (is_bare(peek(ps)))
				adv(ps);
			if (sb_put(ps, &b, s, (size_t)(ps->p - s)) != 0)
				return CHRONIK_ENOMEM;
		} else {
			char t[16];
			if (c < 0 || at_newline(ps))
				return FAIL(ps, "expected a key%s, found "
						"end of line", what);
			return FAIL(ps, "expected a key%s, found '%s'",
				    what, show_char(t, sizeof t, ps));
		}
		kp->s = b.s;
		kp->len = b.n;
		k->n++;
		skip_ws(ps);
		if (peek(ps) != '.')
			return 0;
		adv(ps);
		skip_ws(ps);
		what = " after '.'";
	}
}

/* "a.b.c" for messages, quoting parts that are not bare. */
static const char *key_str(char *buf, size_t cap, const char *prefix,
			   const keypath *k, size_t upto)
{
	size_t o = (size_t)snprintf(buf, cap, "%s", prefix);

	if (o >= cap)
		o = cap - 1;
	for (size_t i = 0; i < upto && o + 1 < cap; i++) {
		char t[64];
		bool bare = k->parts[i].len > 0;
		for (size_t j = 0; j < k->parts[i].len; j++)
			if (!is_bare((unsigned char)k->parts[i].s[j]))
				bare = false;
		show(t, sizeof t, k->parts[i].s, k->parts[i].len);
		o += (size_t)snprintf(buf + o, cap - o, bare ? "%s%s"
				      : "%s\"%s\"", i || o ? "." : "", t);
		if (o >= cap)
			o = cap - 1;
	}
	return buf;
}

/* ---- numbers and other scalars ------------------------------------- */

/* Digits of base `base` with '_' only between two digits. */
static bool digits_ok(const char *s, size_t n, int base)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		int d = hexval(c);
		if (c == '_') {
			if (i == 0 || i + 1 == n || s[i + 1] == '_')
				return false;
			continue;
		}
		if (d < 0 || d >= base)
			return false;
	}
	return true;
}

static int parse_int_token(parser *ps, const char *s, size_t n, int line,
			   int col, int64_t *out)
{
	char t[64];
	bool neg = false, sign = false;
	int base = 10;
	size_t i = 0;
	uint64_t acc = 0, lim;

	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		sign = true;
		i = 1;
	}
	if (n - i >= 2 && s[i] == '0' &&
	    (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
		base = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
		if (sign)
			return fail_at(ps, line, col,
				       "a sign is not allowed on a "
				       "hexadecimal, octal or binary "
				       "integer");
		i += 2;
	} else if (n - i > 1 && s[i] == '0') {
		return fail_at(ps, line, col,
			       "leading zeros are not allowed in '%s'",
			       show(t, sizeof t, s, n));
	}
	if (!digits_ok(s + i, n - i, base))
		return fail_at(ps, line, col,
			       "invalid %s integer '%s'",
			       base == 16 ? "hexadecimal" :
			       base == 8 ? "octal" :
			       base == 2 ? "binary" : "decimal",
			       show(t, sizeof t, s, n));
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		uint64_t d;
		if (s[i] == '_')
			continue;
		d = (uint64_t)hexval((unsigned char)s[i]);
		if (acc > (lim - d) / (uint64_t)base)
			return fail_at(ps, line, col,
				       "integer '%s' does not fit in 64 bits",
				       show(t, sizeof t, s, n));
		acc = acc * (uint64_t)base + d;
	}
	if (neg)
		*out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN
						      : -(int64_t)acc;
	else
		*out = (int64_t)acc;
	return 0;
}

static int parse_float_token(parser *ps, const char *s, size_t n, int line,
			     int col, double *out)
{
	char t[64];
	char clean[128];
	size_t i = 0, o = 0, intlen, start;
	double v;
	char *endp;

	if (s[0] == '+' || s[0] == '-')
		i = 1;
	if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 ||
			   memcmp(s + i, "nan", 3) == 0)) {
		v = s[i] == 'i' ? INFINITY : NAN;
		*out = s[0] == '-' ? -v : v;
		return 0;
	}
	if (n >= sizeof clean)
		return fail_at(ps, line, col, "float '%s' is too long",
			       show(t, sizeof t, s, n));
	/* Integer part: decimal digits, no leading zero. */
	start = i;
	while (i < n && s[i] != '.' && s[i] != 'e' && s[i] != 'E')
		i++;
	intlen = i - start;
	if (!digits_ok(s + start, intlen, 10) ||
	    (intlen > 1 && s[start] == '0'))
		goto bad;
	if (i < n && s[i] == '.') {
		size_t f = ++i;
		while (i < n && s[i] != 'e' && s[i] != 'E')
			i++;
		if (!digits_ok(s + f, i - f, 10))
			goto bad;
	}
	if (i < n) { /* exponent */
		size_t e = ++i;
		if (e < n && (s[e] == '+' || s[e] == '-'))
			e++;
		if (!digits_ok(s + e, n - e, 10))
			goto bad;
	}
	for (i = 0; i < n; i++)
		if (s[i] != '_')
			clean[o++] = s[i];
	clean[o] = '\0';
	errno = 0;
	v = strtod(clean, &endp);
	if (*endp != '\0')
		goto bad;
	if (errno == ERANGE && isinf(v))
		return fail_at(ps, line, col, "float '%s' is out of range",
			       show(t, sizeof t, s, n));
	*out = v;
	return 0;
bad:
	return fail_at(ps, line, col, "invalid float '%s'",
		       show(t, sizeof t, s, n));
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int parse_scalar(parser *ps, chronik_toml_value **out)
{
	int line = ps->line, col = ps->col;
	const char *s = ps->p;
	size_t n = 0;
	char t[64];
	chronik_toml_value *v;
	int rc;

	/* The token: everything that can belong to a number, boolean,
	 * inf/nan or (refused) date-time. */
	while (s + n < ps->end &&
	       (is_bare((unsigned char)s[n]) || s[n] == '+' || s[n] == '.' ||
		s[n] == ':'))
		n++;
	if (n == 0) {
		int c = peek(ps);
		if (c < 0 || at_newline(ps) || c == '#')
			return FAIL(ps, "expected a value, found end of "
					"line");
		return FAIL(ps, "expected a value (string, number, "
				"boolean, array or inline table), found "
				"'%s'", show_char(t, sizeof t, ps));
	}
	if ((n == 4 && memcmp(s, "true", 4) == 0) ||
	    (n == 5 && memcmp(s, "false", 5) == 0)) {
		if (!(v = new_value(ps, CHRONIK_TOML_BOOL, line, col)))
			return CHRONIK_ENOMEM;
		v->u.b = n == 4;
		adv_n(ps, n);
		*out = v;
		return 0;
	}
	if ((n >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) &&
	     is_digit(s[3]) && s[4] == '-') ||
	    (n >= 3 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':'))
		return fail_at(ps, line, col,
			       "date and time values are not supported "
			       "(use a string)");
	{
		size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
		bool is_float = false, hex = false;
		if (n - i > 1 && s[i] == '0' && s[i + 1] == 'x')
			hex = true;
		if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 ||
				   memcmp(s + i, "nan", 3) == 0))
			is_float = true;
		else if (i < n && (is_digit(s[i]) || s[i] == '.'))
			for (size_t j = i; j < n && !hex; j++)
				if (s[j] == '.' || s[j] == 'e' || s[j] == 'E')
					is_float = true;
		if (i == n || !(is_digit(s[i]) || is_float))
			return fail_at(ps, line, col,
				       "expected a value, found '%s' (strings "
				       "need quotes)", show(t, sizeof t, s, n));
		if (is_float) {
			double d = 0;
			if ((rc = parse_float_token(ps, s, n, line, col,
						    &d)) != 0)
				return rc;
			if (!(v = new_value(ps, CHRONIK_TOML_FLOAT, line, col)))
				return CHRONIK_ENOMEM;
			v->u.f = d;
		} else {
			int64_t x = 0;
			if ((rc = parse_int_token(ps, s, n, line, col, &x)) !=
			    0)
				return rc;
			if (!(v = new_value(ps, CHRONIK_TOML_INTEGER, line,
					    col)))
				return CHRONIK_ENOMEM;
			v->u.i = x;
		}
	}
	adv_n(ps, n);
	*out = v;
	return 0;
}

/* ---- values, arrays, inline tables ----------------------------------- */

static int parse_value(parser *ps, chronik_toml_value **out);
static int parse_keyval(parser *ps, chronik_toml_value *table,
			const char *pfx);

static int parse_array(parser *ps, chronik_toml_value **out)
{
	chronik_toml_value *a;
	int rc;

	if (!(a = new_value(ps, CHRONIK_TOML_ARRAY, ps->line, ps->col)))
		return CHRONIK_ENOMEM;
	adv(ps); /* '[' */
	for (;;) {
		chronik_toml_value *v = NULL;
		skip_ws_nl(ps);
		if (peek(ps) == ']')
			break;
		if ((rc = parse_value(ps, &v)) != 0)
			goto err;
		if ((rc = arr_push(ps, a, v)) != 0)
			goto err;
		skip_ws_nl(ps);
		if (peek(ps) == ',') {
			adv(ps);
			continue;
		}
		if (peek(ps) == ']')
			break;
		rc = FAIL(ps, peek(ps) < 0 ? "unterminated array (expected "
					     "',' or ']')"
					   : "expected ',' or ']' in array");
		goto err;
	}
	adv(ps);
	*out = a;
	return 0;
err:
	free_value(a);
	return rc;
}

static int parse_inline_table(parser *ps, chronik_toml_value **out)
{
	chronik_toml_value *t;
	int rc;

	if (!(t = new_value(ps, CHRONIK_TOML_TABLE, ps->line, ps->col)))
		return CHRONIK_ENOMEM;
	t->u.tab.origin = TAB_DOTTED; /* open while it is being written */
	adv(ps); /* '{' */
	skip_ws(ps);
	if (peek(ps) == '}') {
		adv(ps);
		goto done;
	}
	for (;;) {
		skip_ws(ps);
		if ((rc = parse_keyval(ps, t, "")) != 0)
			goto err;
		skip_ws(ps);
		if (peek(ps) == ',') {
			adv(ps);
			skip_ws(ps);
			if (peek(ps) == '}') {
				rc = FAIL(ps, "trailing comma is not allowed "
					      "in an inline table");
				goto err;
			}
			continue;
		}
		if (peek(ps) == '}') {
			adv(ps);
			break;
		}
		rc = FAIL(ps, at_newline(ps) || peek(ps) < 0
			      ? "expected ',' or '}' (inline tables must "
				"be on one line)"
			      : "expected ',' or '}' in inline table");
		goto err;
	}
done:
	/* Closed from now on. Tables its dotted keys made need no mark:
	 * every way to them goes through this one. */
	t->u.tab.origin = TAB_INLINE;
	*out = t;
	return 0;
err:
	free_value(t);
	return rc;
}

static int parse_value(parser *ps, chronik_toml_value **out)
{
	int c = peek(ps);
	int rc;

	*out = NULL;
	if (c == '"' || c == '\'') {
		sbuf b = {0};
		chronik_toml_value *v;
		int line = ps->line, col = ps->col;
		if ((rc = parse_string(ps, &b, false)) != 0) {
			free(b.s);
			return rc;
		}
		if (!(v = new_value(ps, CHRONIK_TOML_STRING, line, col))) {
			free(b.s);
			return CHRONIK_ENOMEM;
		}
		v->u.str.s = b.s;
		v->u.str.len = b.n;
		*out = v;
		return 0;
	}
	if (c == '[' || c == '{') {
		if (ps->depth >= CHRONIK_TOML_MAX_DEPTH)
			return FAIL(ps, "arrays and inline tables nested "
					"deeper than %d",
				    CHRONIK_TOML_MAX_DEPTH);
		ps->depth++;
		rc = c == '[' ? parse_array(ps, out)
			      : parse_inline_table(ps, out);
		ps->depth--;
		return rc;
	}
	return parse_scalar(ps, out);
}

/* key = value into `table`. Dotted keys walk or create tables made by
 * dotted keys in this same table; they cannot reopen [headers] or inline
 * tables. */
static int parse_keyval(parser *ps, chronik_toml_value *table,
			const char *pfx)
{
	keypath k;
	char kb[160];
	chronik_toml_value *t = table, *v = NULL;
	kv *e;
	int rc;

	if ((rc = parse_key(ps, &k, "")) != 0)
		goto out;
	if (peek(ps) != '=') {
		rc = FAIL(ps, "expected '=' after key '%s'",
			  key_str(kb, sizeof kb, "", &k, k.n));
		goto out;
	}
	adv(ps);
	skip_ws(ps);
	for (size_t i = 0; i + 1 < k.n; i++) {
		keypart *kp = &k.parts[i];
		e = tab_find(t, kp->s, kp->len);
		if (!e) {
			chronik_toml_value *nt = new_value(
				ps, CHRONIK_TOML_TABLE, kp->line, kp->col);
			if (!nt) {
				rc = CHRONIK_ENOMEM;
				goto out;
			}
			nt->u.tab.origin = TAB_DOTTED;
			if ((rc = tab_add(ps, t, kp->s, kp->len, kp->line,
					  kp->col, nt)) != 0)
				goto out;
			t = nt;
			continue;
		}
		if (e->val->type != CHRONIK_TOML_TABLE ||
		    e->val->u.tab.origin != TAB_DOTTED) {
			rc = fail_at(ps, kp->line, kp->col,
				     "cannot add keys to '%s' with a dotted "
				     "key: it is %s defined at %d:%d",
				     key_str(kb, sizeof kb, pfx, &k, i + 1),
				     e->val->type != CHRONIK_TOML_TABLE
				     ? "a value"
				     : e->val->u.tab.origin == TAB_INLINE
				     ? "an inline table" : "a table",
				     e->line, e->col);
			goto out;
		}
		t = e->val;
	}
	{
		keypart *last = &k.parts[k.n - 1];
		if ((e = tab_find(t, last->s, last->len)) != NULL) {
			rc = fail_at(ps, last->line, last->col,
				     "duplicate key '%s' (first defined at "
				     "%d:%d)",
				     key_str(kb, sizeof kb, pfx, &k, k.n),
				     e->line, e->col);
			goto out;
		}
		if ((rc = parse_value(ps, &v)) != 0)
			goto out;
		/* The entry's position is where its whole key starts. */
		rc = tab_add(ps, t, last->s, last->len, k.parts[0].line,
			     k.parts[0].col, v);
	}
out:
	keypath_clear(&k);
	return rc;
}

/* ---- [table] and [[array of tables]] --------------------------------- */

static int parse_header(parser *ps)
{
	int line = ps->line, col = ps->col;
	bool aot = starts(ps, "[[");
	keypath k;
	char kb[160], kb2[160];
	const char *pfx = "";
	chronik_toml_value *t = ps->root;
	kv *e;
	int rc;

	k.n = 0;
	adv_n(ps, aot ? 2 : 1);
	skip_ws(ps);
	if ((rc = parse_key(ps, &k, aot ? " after '[['" : " after '['")) != 0)
		goto out;
	if (aot ? !starts(ps, "]]") : peek(ps) != ']') {
		rc = FAIL(ps, "expected '%s' after table name '%s'",
			  aot ? "]]" : "]",
			  key_str(kb, sizeof kb, pfx, &k, k.n));
		goto out;
	}
	adv_n(ps, aot ? 2 : 1);
	for (size_t i = 0; i + 1 < k.n; i++) {
		keypart *kp = &k.parts[i];
		e = tab_find(t, kp->s, kp->len);
		if (!e) {
			chronik_toml_value *nt = new_value(
				ps, CHRONIK_TOML_TABLE, kp->line, kp->col);
			if (!nt) {
				rc = CHRONIK_ENOMEM;
				goto out;
			}
			nt->u.tab.origin = TAB_IMPLICIT;
			if ((rc = tab_add(ps, t, kp->s, kp->len, kp->line,
					  kp->col, nt)) != 0)
				goto out;
			t = nt;
			continue;
		}
		if (e->val->type == CHRONIK_TOML_ARRAY &&
		    e->val->u.arr.of_tables) {
			chronik_toml_value *a = e->val;
			t = a->u.arr.items[a->u.arr.n - 1];
			continue;
		}
		if (e->val->type != CHRONIK_TOML_TABLE ||
		    e->val->u.tab.origin == TAB_INLINE) {
			rc = fail_at(ps, kp->line, kp->col,
				     "cannot open table '%s': '%s' is %s "
				     "defined at %d:%d",
				     key_str(kb, sizeof kb, pfx, &k, k.n),
				     key_str(kb2, sizeof kb2, "", &k, i + 1),
				     e->val->type == CHRONIK_TOML_TABLE
				     ? "an inline table"
				     : e->val->type == CHRONIK_TOML_ARRAY
				     ? "an array" : "a value",
				     e->line, e->col);
			goto out;
		}
		t = e->val;
	}
	{
		keypart *last = &k.parts[k.n - 1];
		chronik_toml_value *nt;
		e = tab_find(t, last->s, last->len);
		if (aot) {
			chronik_toml_value *a;
			if (e && !(e->val->type == CHRONIK_TOML_ARRAY &&
				   e->val->u.arr.of_tables)) {
				rc = fail_at(ps, last->line, last->col,
					     "cannot define array of tables "
					     "'%s': already defined as %s at "
					     "%d:%d",
					     key_str(kb, sizeof kb, pfx,
						     &k, k.n),
					     e->val->type ==
					     CHRONIK_TOML_ARRAY ? "an array"
					     : e->val->type ==
					     CHRONIK_TOML_TABLE ? "a table"
					     : "a value", e->line, e->col);
				goto out;
			}
			if (!(nt = new_value(ps, CHRONIK_TOML_TABLE, line,
					     col))) {
				rc = CHRONIK_ENOMEM;
				goto out;
			}
			nt->u.tab.origin = TAB_HEADER;
			if (e) {
				a = e->val;
			} else {
				if (!(a = new_value(ps, CHRONIK_TOML_ARRAY,
						    last->line, last->col))) {
					free_value(nt);
					rc = CHRONIK_ENOMEM;
					goto out;
				}
				a->u.arr.of_tables = true;
				if ((rc = tab_add(ps, t, last->s, last->len,
						  last->line, last->col,
						  a)) != 0) {
					free_value(nt);
					goto out;
				}
			}
			if ((rc = arr_push(ps, a, nt)) != 0)
				goto out;
			ps->cur = nt;
			goto out;
		}
		if (e) {
			if (e->val->type == CHRONIK_TOML_TABLE &&
			    e->val->u.tab.origin == TAB_IMPLICIT) {
				e->val->u.tab.origin = TAB_HEADER;
				ps->cur = e->val;
				goto out;
			}
			rc = fail_at(ps, last->line, last->col,
				     "table '%s' is already defined at %d:%d",
				     key_str(kb, sizeof kb, pfx, &k, k.n),
				     e->line, e->col);
			goto out;
		}
		if (!(nt = new_value(ps, CHRONIK_TOML_TABLE, line, col))) {
			rc = CHRONIK_ENOMEM;
			goto out;
		}
		nt->u.tab.origin = TAB_HEADER;
		if ((rc = tab_add(ps, t, last->s, last->len, last->line,
				  last->col, nt)) != 0)
			goto out;
		ps->cur = nt;
	}
out:
	if (rc == 0)
		key_str(ps->cur_name, sizeof ps->cur_name, "", &k, k.n);
	keypath_clear(&k);
	return rc;
}

/* ---- document -------------------------------------------------------- */

int chronik_toml_parse(chronik_toml_value **out, const char *data,
		       size_t len, const char *filename,
		       chronik_toml_error *err)
{
	parser ps;
	int rc;

	*out = NULL;
	memset(&ps, 0, sizeof ps);
	ps.p = data;
	ps.end = data + len;
	ps.file = filename ? filename : "<input>";
	ps.line = 1;
	ps.col = 1;
	ps.err = err;
	if (err)
		memset(err, 0, sizeof *err);
	if (len > CHRONIK_TOML_MAX_INPUT) {
		fail_at(&ps, 1, 1, "input is larger than %u bytes",
			CHRONIK_TOML_MAX_INPUT);
		return CHRONIK_ETOOBIG;
	}
	if ((rc = check_input(&ps)) != 0)
		return rc;
	if (starts(&ps, "\xef\xbb\xbf")) { /* byte order mark */
		ps.p += 3;
	}
	if (!(ps.root = new_value(&ps, CHRONIK_TOML_TABLE, 1, 1)))
		return CHRONIK_ENOMEM;
	ps.root->u.tab.origin = TAB_HEADER;
	ps.cur = ps.root;
	while (ps.p < ps.end) {
		rc = 0;
		skip_ws(&ps);
		if (peek(&ps) == '[')
			rc = parse_header(&ps);
		else if (peek(&ps) != '#' && !at_newline(&ps) &&
			 peek(&ps) >= 0)
			rc = parse_keyval(&ps, ps.cur, ps.cur_name);
		if (rc != 0)
			goto fail;
		skip_ws(&ps);
		skip_comment(&ps);
		if (peek(&ps) >= 0 && !at_newline(&ps)) {
			char t[16];
			rc = FAIL(&ps, "expected a newline or a comment, "
				       "found '%s'",
				  show_char(t, sizeof t, &ps));
			goto fail;
		}
		skip_newline(&ps);
	}
	*out = ps.root;
	return 0;
fail:
	free_value(ps.root);
	return ps.oom ? CHRONIK_ENOMEM : rc;
}

int chronik_toml_parse_file(chronik_toml_value **out, const char *path,
			    chronik_toml_error *err)
{
	FILE *f;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof *err);
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		goto io_err;
	}
	for (;;) {
		size_t got;
		if (n == cap) {
			char *nb;
			cap = cap ? cap * 2 : 4096;
			if (cap > CHRONIK_TOML_MAX_INPUT + 1)
				cap = CHRONIK_TOML_MAX_INPUT + 1;
			if (n == cap) { /* hit the limit */
				fclose(f);
				free(buf);
				if (err)
					snprintf(err->text, sizeof err->text,
						 "%s: file is larger than %u "
						 "bytes", path,
						 CHRONIK_TOML_MAX_INPUT);
				return CHRONIK_ETOOBIG;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return CHRONIK_ENOMEM;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		fclose(f);
		free(buf);
		goto io_err;
	}
	fclose(f);
	rc = chronik_toml_parse(out, buf ? buf : "", n, path, err);
	free(buf);
	return rc;
io_err:
	if (err)
		snprintf(err->text, sizeof err->text, "%s: cannot read: %s",
			 path, chronik_strerror(rc));
	return rc;
}

/* ---- accessors ------------------------------------------------------- */

chronik_toml_type chronik_toml_type_of(const chronik_toml_value *v)
{
	return v->type;
}

const char *chronik_toml_type_name(chronik_toml_type t)
{
	switch (t) {
	case CHRONIK_TOML_STRING: return "string";
	case CHRONIK_TOML_INTEGER: return "integer";
	case CHRONIK_TOML_FLOAT: return "float";
	case CHRONIK_TOML_BOOL: return "boolean";
	case CHRONIK_TOML_ARRAY: return "array";
	case CHRONIK_TOML_TABLE: return "table";
	}
	return "unknown";
}

int chronik_toml_line(const chronik_toml_value *v)
{
	return v ? v->line : 0;
}

int chronik_toml_column(const chronik_toml_value *v)
{
	return v ? v->col : 0;
}

size_t chronik_toml_table_size(const chronik_toml_value *t)
{
	return t && t->type == CHRONIK_TOML_TABLE ? t->u.tab.n : 0;
}

const chronik_toml_value *chronik_toml_table_at(
	const chronik_toml_value *t, size_t i, const char **key_out,
	int *key_line, int *key_column)
{
	const kv *e;

	if (!t || t->type != CHRONIK_TOML_TABLE || i >= t->u.tab.n)
		return NULL;
	e = &t->u.tab.items[i];
	if (key_out)
		*key_out = e->key;
	if (key_line)
		*key_line = e->line;
	if (key_column)
		*key_column = e->col;
	return e->val;
}

const chronik_toml_value *chronik_toml_table_get(
	const chronik_toml_value *t, const char *key)
{
	kv *e;

	if (!t || t->type != CHRONIK_TOML_TABLE || !key)
		return NULL;
	e = tab_find(t, key, strlen(key));
	return e ? e->val : NULL;
}

const chronik_toml_value *chronik_toml_get_path(
	const chronik_toml_value *t, const char *path)
{
	while (t && path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		kv *e;
		if (t->type != CHRONIK_TOML_TABLE)
			return NULL;
		e = tab_find(t, path, len);
		if (!e)
			return NULL;
		t = e->val;
		path = dot ? dot + 1 : NULL;
	}
	return t;
}

size_t chronik_toml_array_size(const chronik_toml_value *a)
{
	return a && a->type == CHRONIK_TOML_ARRAY ? a->u.arr.n : 0;
}

const chronik_toml_value *chronik_toml_array_at(
	const chronik_toml_value *a, size_t i)
{
	if (!a || a->type != CHRONIK_TOML_ARRAY || i >= a->u.arr.n)
		return NULL;
	return a->u.arr.items[i];
}

int chronik_toml_as_string(const chronik_toml_value *v, const char **out,
			   size_t *len_out)
{
	if (!v || v->type != CHRONIK_TOML_STRING)
		return CHRONIK_EARG;
	*out = v->u.str.s;
	if (len_out)
		*len_out = v->u.str.len;
	return 0;
}

int chronik_toml_as_int(const chronik_toml_value *v, int64_t *out)
{
	if (!v || v->type != CHRONIK_TOML_INTEGER)
		return CHRONIK_EARG;
	*out = v->u.i;
	return 0;
}

int chronik_toml_as_float(const chronik_toml_value *v, double *out)
{
	if (!v || v->type != CHRONIK_TOML_FLOAT)
		return CHRONIK_EARG;
	*out = v->u.f;
	return 0;
}

int chronik_toml_as_bool(const chronik_toml_value *v, bool *out)
{
	if (!v || v->type != CHRONIK_TOML_BOOL)
		return CHRONIK_EARG;
	*out = v->u.b;
	return 0;
}

#define GETTER(name, ctype, as)                                           \
	int chronik_toml_get_##name(const chronik_toml_value *t,          \
				    const char *key, ctype *out)          \
	{                                                                 \
		const chronik_toml_value *v = chronik_toml_table_get(t, key); \
		if (!v)                                                   \
			return CHRONIK_ENOTFOUND;                         \
		return as;                                                \
	}

GETTER(string, const char *, chronik_toml_as_string(v, out, NULL))
GETTER(int, int64_t, chronik_toml_as_int(v, out))
GETTER(float, double, chronik_toml_as_float(v, out))
GETTER(bool, bool, chronik_toml_as_bool(v, out))

bool chronik_toml_equal(const chronik_toml_value *a,
			const chronik_toml_value *b)
{
	if (!a || !b || a->type != b->type)
		return a == b;
	switch (a->type) {
	case CHRONIK_TOML_STRING:
		return a->u.str.len == b->u.str.len &&
		       memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
	case CHRONIK_TOML_INTEGER:
		return a->u.i == b->u.i;
	case CHRONIK_TOML_FLOAT:
		if (isnan(a->u.f) || isnan(b->u.f))
			return isnan(a->u.f) && isnan(b->u.f);
		return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
	case CHRONIK_TOML_BOOL:
		return a->u.b == b->u.b;
	case CHRONIK_TOML_ARRAY:
		if (a->u.arr.n != b->u.arr.n)
			return false;
		for (size_t i = 0; i < a->u.arr.n; i++)
			if (!chronik_toml_equal(a->u.arr.items[i],
						b->u.arr.items[i]))
				return false;
		return true;
	case CHRONIK_TOML_TABLE:
		if (a->u.tab.n != b->u.tab.n)
			return false;
		for (size_t i = 0; i < a->u.tab.n; i++) {
			const kv *x = &a->u.tab.items[i];
			const kv *y = tab_find(b, x->key, x->key_len);
			if (!y || !chronik_toml_equal(x->val, y->val))
				return false;
		}
		return true;
	}
	return false;
}

/* ---- dump ------------------------------------------------------------ */

static int dump_str(parser *ps, sbuf *b, const char *s, size_t n)
{
	int rc = sb_putc(ps, b, '"');

	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[12];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = sb_put(ps, b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			rc = sb_put(ps, b, esc, 6);
		} else {
			rc = sb_putc(ps, b, (char)c);
		}
	}
	return rc ? rc : sb_putc(ps, b, '"');
}

static int dump_value(parser *ps, sbuf *b, const chronik_toml_value *v)
{
	char num[64];
	int rc = 0;

	switch (v->type) {
	case CHRONIK_TOML_STRING:
		return dump_str(ps, b, v->u.str.s, v->u.str.len);
	case CHRONIK_TOML_INTEGER:
		snprintf(num, sizeof num, "%lld", (long long)v->u.i);
		return sb_put(ps, b, num, strlen(num));
	case CHRONIK_TOML_FLOAT:
		if (isnan(v->u.f))
			snprintf(num, sizeof num, "nan");
		else if (isinf(v->u.f))
			snprintf(num, sizeof num, "%sinf",
				 v->u.f < 0 ? "-" : "");
		else {
			snprintf(num, sizeof num, "%.17g", v->u.f);
			/* Keep it a float: 1 -> 1.0, 1e+300 stays. */
			if (!strpbrk(num, ".eEn"))
				strcat(num, ".0");
		}
		return sb_put(ps, b, num, strlen(num));
	case CHRONIK_TOML_BOOL:
		return sb_put(ps, b, v->u.b ? "true" : "false",
			      v->u.b ? 4 : 5);
	case CHRONIK_TOML_ARRAY:
		rc = sb_putc(ps, b, '[');
		for (size_t i = 0; i < v->u.arr.n && rc == 0; i++) {
			if (i)
				rc = sb_put(ps, b, ", ", 2);
			if (rc == 0)
				rc = dump_value(ps, b, v->u.arr.items[i]);
		}
		return rc ? rc : sb_putc(ps, b, ']');
	case CHRONIK_TOML_TABLE:
		rc = sb_putc(ps, b, '{');
		for (size_t i = 0; i < v->u.tab.n && rc == 0; i++) {
			const kv *e = &v->u.tab.items[i];
			if (i)
				rc = sb_put(ps, b, ", ", 2);
			if (rc == 0)
				rc = dump_str(ps, b, e->key, e->key_len);
			if (rc == 0)
				rc = sb_put(ps, b, " = ", 3);
			if (rc == 0)
				rc = dump_value(ps, b, e->val);
		}
		return rc ? rc : sb_putc(ps, b, '}');
	}
	return 0;
}

int chronik_toml_dump(char **out, const chronik_toml_value *root)
{
	parser ps;
	sbuf b = {0};
	int rc;

	memset(&ps, 0, sizeof ps);
	*out = NULL;
	rc = sb_put(&ps, &b, "", 0);
	for (size_t i = 0; rc == 0 && i < chronik_toml_table_size(root); i++) {
		const kv *e = &root->u.tab.items[i];
		rc = dump_str(&ps, &b, e->key, e->key_len);
		if (rc == 0)
			rc = sb_put(&ps, &b, " = ", 3);
		if (rc == 0)
			rc = dump_value(&ps, &b, e->val);
		if (rc == 0)
			rc = sb_putc(&ps, &b, '\n');
	}
	if (rc != 0) {
		free(b.s);
		return CHRONIK_ENOMEM;
	}
	*out = b.s;
	return 0;
}
