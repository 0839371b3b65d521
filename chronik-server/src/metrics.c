/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "chronik/common.h"

const double chronik_metrics_seconds_buckets[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
const size_t chronik_metrics_seconds_nbuckets =
	sizeof chronik_metrics_seconds_buckets /
	sizeof chronik_metrics_seconds_buckets[0];

const double chronik_metrics_bytes_buckets[] = {
	64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
	16777216, 67108864
};
const size_t chronik_metrics_bytes_nbuckets =
	sizeof chronik_metrics_bytes_buckets /
	sizeof chronik_metrics_bytes_buckets[0];

const double chronik_metrics_count_buckets[] = {
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
	100000
};
const size_t chronik_metrics_count_nbuckets =
	sizeof chronik_metrics_count_buckets /
	sizeof chronik_metrics_count_buckets[0];

/* Series payloads are cache-line aligned and padded so two hot counters
 * never share a line between cores. */
#define CACHE_LINE 64

typedef enum metric_type {
	TYPE_COUNTER,
	TYPE_GAUGE,
	TYPE_HISTOGRAM
} metric_type;

typedef struct series {
	struct series *next;
	char **values; /* nlabels raw values, for lookups */
	/* Escaped label pairs without braces, 'a="x",b="y"' ("" if none),
	 * rendered once at creation. */
	char *labels;
	void *metric; /* chronik_counter / _gauge / _histogram */
} series;

struct chronik_metric_family {
	struct chronik_metric_family *next;
	chronik_metrics *reg;
	metric_type type;
	char *name;
	char *help;
	size_t nlabels;
	char *label_names[CHRONIK_METRICS_MAX_LABELS];
	double *bounds;
	size_t nbounds;
	series *first, **tail;
};

typedef struct collector {
	chronik_metrics_collector_fn fn;
	void *userdata;
} collector;

struct chronik_metrics {
	/* Guards the lists below; never taken by handle updates. */
	pthread_mutex_t lock;
	chronik_metric_family *first, **tail;
	collector collectors[CHRONIK_METRICS_MAX_COLLECTORS];
	size_t ncollectors;
};

/* ---- histograms ------------------------------------------------------- */

void chronik_histogram_observe(chronik_histogram *h, double v)
{
	size_t lo = 0, hi = h->nbounds;
	uint64_t old;

	if (isnan(v))
		return;
	/* First bound >= v; nbounds (the +Inf bucket) if none. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v <= h->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	atomic_fetch_add_explicit(&h->counts[lo], 1, memory_order_relaxed);
	old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(
		&h->sum_bits, &old,
		chronik_metrics__dbits(chronik_metrics__bitsd(old) + v),
		memory_order_relaxed, memory_order_relaxed))
		;
}

uint64_t chronik_histogram_count(const chronik_histogram *h)
{
	chronik_histogram *m = (chronik_histogram *)h;
	uint64_t n = 0;

	for (size_t i = 0; i <= h->nbounds; i++)
		n += atomic_load_explicit(&m->counts[i],
					  memory_order_relaxed);
	return n;
}

double chronik_histogram_sum(const chronik_histogram *h)
{
	chronik_histogram *m = (chronik_histogram *)h;

	return chronik_metrics__bitsd(
		atomic_load_explicit(&m->sum_bits, memory_order_relaxed));
}

/* ---- registry --------------------------------------------------------- */

int chronik_metrics_new(chronik_metrics **out)
{
	chronik_metrics *reg = calloc(1, sizeof *reg);
	int rc;

	*out = NULL;
	if (!reg)
		return CHRONIK_ENOMEM;
	rc = pthread_mutex_init(&reg->lock, NULL);
	if (rc != 0) {
		free(reg);
		return -rc;
	}
	reg->tail = &reg->first;
	*out = reg;
	return 0;
}

static void series_free(series *s, size_t nlabels)
{
	if (!s)
		return;
	if (s->values) {
		for (size_t i = 0; i < nlabels; i++)
			free(s->values[i]);
		free(s->values);
	}
	free(s->labels);
	free(s->metric);
	free(s);
}

static void family_free(chronik_metric_family *f)
{
	series *s, *next;

	if (!f)
		return;
	for (s = f->first; s; s = next) {
		next = s->next;
		series_free(s, f->nlabels);
	}
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->label_names[i]);
	free(f->name);
	free(f->help);
	free(f->bounds);
	free(f);
}

void chronik_metrics_free(chronik_metrics *reg)
{
	chronik_metric_family *f, *next;

	if (!reg)
		return;
	for (f = reg->first; f; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

static bool name_valid(const char *s, bool colon)
{
	size_t n = strlen(s);

	if (n == 0 || n > CHRONIK_METRICS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  c == '_' || (colon && c == ':') ||
			  (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return false;
	}
	return true;
}

static int family_new(chronik_metric_family **out, chronik_metrics *reg,
		      metric_type type, const char *name, const char *help,
		      size_t nlabels, const char *const *label_names,
		      const double *bounds, size_t nbounds)
{
	chronik_metric_family *f, *it;
	int rc = 0;

	*out = NULL;
	if (!name || !name_valid(name, true) ||
	    nlabels > CHRONIK_METRICS_MAX_LABELS ||
	    (nlabels > 0 && !label_names))
		return CHRONIK_EARG;
	for (size_t i = 0; i < nlabels; i++) {
		const char *l = label_names[i];

		if (!l || !name_valid(l, false) || strncmp(l, "__", 2) == 0 ||
		    (type == TYPE_HISTOGRAM && strcmp(l, "le") == 0))
			return CHRONIK_EARG;
		for (size_t j = 0; j < i; j++)
			if (strcmp(l, label_names[j]) == 0)
				return CHRONIK_EARG;
	}
	if (type == TYPE_HISTOGRAM) {
		if (nbounds > CHRONIK_METRICS_MAX_BUCKETS ||
		    (nbounds > 0 && !bounds))
			return CHRONIK_EARG;
		for (size_t i = 0; i < nbounds; i++)
			if (!isfinite(bounds[i]) ||
			    (i > 0 && bounds[i] <= bounds[i - 1]))
				return CHRONIK_EARG;
	}
	f = calloc(1, sizeof *f);
	if (!f)
		return CHRONIK_ENOMEM;
	f->type = type;
	f->reg = reg;
	f->tail = &f->first;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (!f->name || !f->help)
		goto nomem;
	for (size_t i = 0; i < nlabels; i++) {
		f->label_names[i] = strdup(label_names[i]);
		if (!f->label_names[i])
			goto nomem;
		f->nlabels = i + 1;
	}
	if (type == TYPE_HISTOGRAM && nbounds > 0) {
		f->bounds = malloc(nbounds * sizeof *f->bounds);
		if (!f->bounds)
			goto nomem;
		memcpy(f->bounds, bounds, nbounds * sizeof *f->bounds);
	}
	f->nbounds = type == TYPE_HISTOGRAM ? nbounds : 0;

	pthread_mutex_lock(&reg->lock);
	for (it = reg->first; it; it = it->next)
		if (strcmp(it->name, name) == 0)
			rc = CHRONIK_EEXIST;
	if (rc == 0) {
		*reg->tail = f;
		reg->tail = &f->next;
	}
	pthread_mutex_unlock(&reg->lock);
	if (rc != 0) {
		family_free(f);
		return rc;
	}
	*out = f;
	return 0;
nomem:
	family_free(f);
	return CHRONIK_ENOMEM;
}

int chronik_metrics_counter_family(chronik_metric_family **out,
				   chronik_metrics *reg, const char *name,
				   const char *help, size_t nlabels,
				   const char *const *label_names)
{
	return family_new(out, reg, TYPE_COUNTER, name, help, nlabels,
			  label_names, NULL, 0);
}

int chronik_metrics_gauge_family(chronik_metric_family **out,
				 chronik_metrics *reg, const char *name,
				 const char *help, size_t nlabels,
				 const char *const *label_names)
{
	return family_new(out, reg, TYPE_GAUGE, name, help, nlabels,
			  label_names, NULL, 0);
}

int chronik_metrics_histogram_family(chronik_metric_family **out,
				     chronik_metrics *reg, const char *name,
				     const char *help, size_t nlabels,
				     const char *const *label_names,
				     const double *bounds, size_t nbounds)
{
	return family_new(out, reg, TYPE_HISTOGRAM, name, help, nlabels,
			  label_names, bounds, nbounds);
}

/* ---- text building ----------------------------------------------------- */

typedef struct strbuf {
	char *p;
	size_t len, cap;
	bool oom;
} strbuf;

static void sb_reserve(strbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom || b->len + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_putn(strbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(strbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putc(strbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

/* Exposition 0.0.4 escapes \ and newline in HELP, and also " in label
 * values. */
static void sb_escaped(strbuf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_puts(b, "\\\\");
		else if (*s == '\n')
			sb_puts(b, "\\n");
		else if (quote && *s == '"')
			sb_puts(b, "\\\"");
		else
			sb_putc(b, *s);
	}
}

/* Shortest text that reads back as the same double; Prometheus' spelling
 * of the special values. */
static void sb_double(strbuf *b, double v)
{
	char tmp[40];

	if (isnan(v)) {
		sb_puts(b, "NaN");
		return;
	}
	if (isinf(v)) {
		sb_puts(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers (byte bounds, counts) without an exponent. */
	if (v == trunc(v) && fabs(v) < 1e15) {
		snprintf(tmp, sizeof tmp, "%.0f", v);
		sb_puts(b, strcmp(tmp, "-0") == 0 ? "0" : tmp);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	sb_puts(b, tmp);
}

static void sb_u64(strbuf *b, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof tmp, "%" PRIu64, v);
	sb_puts(b, tmp);
}

/* ---- series ------------------------------------------------------------ */

static size_t metric_size(const chronik_metric_family *f)
{
	size_t n;

	switch (f->type) {
	case TYPE_COUNTER:
		n = sizeof(chronik_counter);
		break;
	case TYPE_GAUGE:
		n = sizeof(chronik_gauge);
		break;
	default:
		n = sizeof(chronik_histogram) +
		    (f->nbounds + 1) * sizeof(_Atomic uint64_t);
		break;
	}
	return (n + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
}

static series *series_new(chronik_metric_family *f,
			  const char *const *values)
{
	series *s = calloc(1, sizeof *s);
	strbuf b = { 0 };
	size_t size = metric_size(f);

	if (!s)
		return NULL;
	s->values = calloc(f->nlabels ? f->nlabels : 1, sizeof *s->values);
	if (!s->values)
		goto fail;
	for (size_t i = 0; i < f->nlabels; i++) {
		s->values[i] = strdup(values[i]);
		if (!s->values[i])
			goto fail;
		if (i > 0)
			sb_putc(&b, ',');
		sb_puts(&b, f->label_names[i]);
		sb_puts(&b, "=\"");
		sb_escaped(&b, values[i], true);
		sb_putc(&b, '"');
	}
	if (!b.p)
		sb_puts(&b, "");
	if (b.oom)
		goto fail;
	s->labels = b.p;
	b.p = NULL;
	s->metric = aligned_alloc(CACHE_LINE, size);
	if (!s->metric)
		goto fail;
	memset(s->metric, 0, size);
	if (f->type == TYPE_COUNTER) {
		atomic_init(&((chronik_counter *)s->metric)->value, 0);
	} else if (f->type == TYPE_GAUGE) {
		atomic_init(&((chronik_gauge *)s->metric)->bits,
			    chronik_metrics__dbits(0.0));
	} else {
		chronik_histogram *h = s->metric;

		h->bounds = f->bounds;
		h->nbounds = f->nbounds;
		atomic_init(&h->sum_bits, chronik_metrics__dbits(0.0));
		for (size_t i = 0; i <= f->nbounds; i++)
			atomic_init(&h->counts[i], 0);
	}
	return s;
fail:
	free(b.p);
	series_free(s, f->nlabels);
	return NULL;
}

static int series_get(void **out, chronik_metric_family *f,
		      metric_type type, const char *const *values)
{
	chronik_metrics *reg = f->reg;
	series *s;
	int rc = 0;

	*out = NULL;
	if (f->type != type || (f->nlabels > 0 && !values))
		return CHRONIK_EARG;
	for (size_t i = 0; i < f->nlabels; i++)
		if (!values[i] ||
		    strlen(values[i]) > CHRONIK_METRICS_VALUE_MAX)
			return CHRONIK_EARG;
	pthread_mutex_lock(&reg->lock);
	for (s = f->first; s; s = s->next) {
		size_t i = 0;

		while (i < f->nlabels && strcmp(s->values[i], values[i]) == 0)
			i++;
		if (i == f->nlabels)
			break;
	}
	if (!s) {
		/* Allocating under the lock keeps "same values, same
		 * handle" simple; this is the slow path. */
		s = series_new(f, values);
		if (s) {
			*f->tail = s;
			f->tail = &s->next;
		} else {
			rc = CHRONIK_ENOMEM;
		}
	}
	pthread_mutex_unlock(&reg->lock);
	if (s)
		*out = s->metric;
	return rc;
}

int chronik_metric_counter(chronik_counter **out,
			   chronik_metric_family *family,
			   const char *const *label_values)
{
	void *m;
	int rc = series_get(&m, family, TYPE_COUNTER, label_values);

	*out = m;
	return rc;
}

int chronik_metric_gauge(chronik_gauge **out, chronik_metric_family *family,
			 const char *const *label_values)
{
	void *m;
	int rc = series_get(&m, family, TYPE_GAUGE, label_values);

	*out = m;
	return rc;
}

int chronik_metric_histogram(chronik_histogram **out,
			     chronik_metric_family *family,
			     const char *const *label_values)
{
	void *m;
	int rc = series_get(&m, family, TYPE_HISTOGRAM, label_values);

	*out = m;
	return rc;
}

int chronik_metrics_counter(chronik_counter **out, chronik_metrics *reg,
			    const char *name, const char *help)
{
	chronik_metric_family *f;
	int rc;

	*out = NULL;
	rc = chronik_metrics_counter_family(&f, reg, name, help, 0, NULL);
	return rc ? rc : chronik_metric_counter(out, f, NULL);
}

int chronik_metrics_gauge(chronik_gauge **out, chronik_metrics *reg,
			  const char *name, const char *help)
{
	chronik_metric_family *f;
	int rc;

	*out = NULL;
	rc = chronik_metrics_gauge_family(&f, reg, name, help, 0, NULL);
	return rc ? rc : chronik_metric_gauge(out, f, NULL);
}

int chronik_metrics_histogram(chronik_histogram **out, chronik_metrics *reg,
			      const char *name, const char *help,
			      const double *bounds, size_t nbounds)
{
	chronik_metric_family *f;
	int rc;

	*out = NULL;
	rc = chronik_metrics_histogram_family(&f, reg, name, help, 0, NULL,
					      bounds, nbounds);
	return rc ? rc : chronik_metric_histogram(out, f, NULL);
}

int chronik_metrics_add_collector(chronik_metrics *reg,
				  chronik_metrics_collector_fn fn,
				  void *userdata)
{
	int rc = 0;

	if (!fn)
		return CHRONIK_EARG;
	pthread_mutex_lock(&reg->lock);
	if (reg->ncollectors == CHRONIK_METRICS_MAX_COLLECTORS) {
		rc = CHRONIK_ETOOBIG;
	} else {
		reg->collectors[reg->ncollectors].fn = fn;
		reg->collectors[reg->ncollectors].userdata = userdata;
		reg->ncollectors++;
	}
	pthread_mutex_unlock(&reg->lock);
	return rc;
}

/* ---- exposition ------------------------------------------------------- */

static const char *type_name(metric_type t)
{
	switch (t) {
	case TYPE_COUNTER: return "counter";
	case TYPE_GAUGE: return "gauge";
	default: return "histogram";
	}
}

/* name{labels[,extra]} or name{extra} or name */
static void sb_sample_name(strbuf *b, const char *name, const char *suffix,
			   const char *labels, const char *extra)
{
	sb_puts(b, name);
	sb_puts(b, suffix);
	if (labels[0] == '\0' && !extra)
		return;
	sb_putc(b, '{');
	sb_puts(b, labels);
	if (extra) {
		if (labels[0] != '\0')
			sb_putc(b, ',');
		sb_puts(b, extra);
	}
	sb_putc(b, '}');
}

static void render_histogram(strbuf *b, const chronik_metric_family *f,
			     const series *s)
{
	chronik_histogram *h = s->metric;
	uint64_t cum = 0;
	strbuf le = { 0 };

	for (size_t i = 0; i <= f->nbounds; i++) {
		cum += atomic_load_explicit(&h->counts[i],
					    memory_order_relaxed);
		le.len = 0;
		sb_puts(&le, "le=\"");
		if (i < f->nbounds)
			sb_double(&le, f->bounds[i]);
		else
			sb_puts(&le, "+Inf");
		sb_putc(&le, '"');
		if (le.oom) {
			b->oom = true;
			break;
		}
		sb_sample_name(b, f->name, "_bucket", s->labels, le.p);
		sb_putc(b, ' ');
		sb_u64(b, cum);
		sb_putc(b, '\n');
	}
	free(le.p);
	sb_sample_name(b, f->name, "_sum", s->labels, NULL);
	sb_putc(b, ' ');
	sb_double(b, chronik_histogram_sum(h));
	sb_putc(b, '\n');
	/* _count is the +Inf bucket, so the two always agree. */
	sb_sample_name(b, f->name, "_count", s->labels, NULL);
	sb_putc(b, ' ');
	sb_u64(b, cum);
	sb_putc(b, '\n');
}

int chronik_metrics_render(char **out, size_t *len_out,
			   chronik_metrics *reg)
{
	collector cs[CHRONIK_METRICS_MAX_COLLECTORS];
	size_t ncs;
	strbuf b = { 0 };

	*out = NULL;
	if (len_out)
		*len_out = 0;
	/* Collectors run unlocked (they may create series). */
	pthread_mutex_lock(&reg->lock);
	ncs = reg->ncollectors;
	memcpy(cs, reg->collectors, ncs * sizeof cs[0]);
	pthread_mutex_unlock(&reg->lock);
	for (size_t i = 0; i < ncs; i++)
		cs[i].fn(reg, cs[i].userdata);

	sb_reserve(&b, 4096);
	sb_puts(&b, "");
	pthread_mutex_lock(&reg->lock);
	for (const chronik_metric_family *f = reg->first; f; f = f->next) {
		sb_puts(&b, "# HELP ");
		sb_puts(&b, f->name);
		sb_putc(&b, ' ');
		sb_escaped(&b, f->help, false);
		sb_puts(&b, "\n# TYPE ");
		sb_puts(&b, f->name);
		sb_putc(&b, ' ');
		sb_puts(&b, type_name(f->type));
		sb_putc(&b, '\n');
		for (const series *s = f->first; s; s = s->next) {
			if (f->type == TYPE_HISTOGRAM) {
				render_histogram(&b, f, s);
				continue;
			}
			sb_sample_name(&b, f->name, "", s->labels, NULL);
			sb_putc(&b, ' ');
			if (f->type == TYPE_COUNTER)
				sb_u64(&b, chronik_counter_get(s->metric));
			else
				sb_double(&b, chronik_gauge_get(s->metric));
			sb_putc(&b, '\n');
		}
	}
	pthread_mutex_unlock(&reg->lock);
	if (b.oom) {
		free(b.p);
		return CHRONIK_ENOMEM;
	}
	*out = b.p;
	if (len_out)
		*len_out = b.len;
	return 0;
}

/* ---- the broker's metric set ------------------------------------------ */

static double clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size from /proc/self/statm (second field, in pages);
 * -1 when unavailable. */
static double resident_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long size, rss;
	long page = sysconf(_SC_PAGESIZE);
	int n;

	if (!fp)
		return -1;
	n = fscanf(fp, "%lu %lu", &size, &rss);
	fclose(fp);
	if (n != 2 || page <= 0)
		return -1;
	return (double)rss * (double)page;
}

static void process_collector(chronik_metrics *reg, void *userdata)
{
	chronik_broker_metrics *bm = userdata;
	double rss = resident_bytes();

	chronik_gauge_set(bm->uptime,
			  clock_seconds(CLOCK_MONOTONIC) - bm->start_mono);
	if (rss >= 0)
		chronik_gauge_set(bm->resident_memory, rss);
}

static const char *const api_labels[] = { "api", "error" };

int chronik_broker_metrics_init(chronik_broker_metrics *bm,
				chronik_metrics *reg, const char *version)
{
	chronik_metric_family *f;
	chronik_gauge *info;
	const char *vlabel[] = { "version" };
	const char *vvalue[] = { version ? version : "unknown" };
	const char *unknown_err[] = { "unknown", "NONE" };
	const char *unknown_api[] = { "unknown" };
	int rc;

	memset(bm, 0, sizeof *bm);
	bm->reg = reg;
	bm->requests_err = calloc(CHRONIK_METRICS_MAX_API,
				  sizeof *bm->requests_err);
	if (!bm->requests_err)
		return CHRONIK_ENOMEM;
	for (size_t i = 0; i < CHRONIK_METRICS_MAX_API; i++)
		for (size_t j = 0; j < CHRONIK_METRICS_MAX_ERROR; j++)
			atomic_init(&bm->requests_err[i][j], NULL);

#define TRY(call)                  \
	do {                       \
		rc = (call);       \
		if (rc != 0)       \
			goto fail; \
	} while (0)
	TRY(chronik_metrics_gauge_family(&f, reg, "chronik_build_info",
					 "Always 1; the version is a label.", 1,
					 vlabel));
	TRY(chronik_metric_gauge(&info, f, vvalue));
	chronik_gauge_set(info, 1);
	TRY(chronik_metrics_gauge(&bm->start_time, reg,
				  "process_start_time_seconds",
				  "Start time of the process since the Unix "
				  "epoch, in seconds."));
	TRY(chronik_metrics_gauge(&bm->uptime, reg, "chronik_uptime_seconds",
				  "Seconds since the broker started."));
	TRY(chronik_metrics_gauge(&bm->resident_memory, reg,
				  "process_resident_memory_bytes",
				  "Resident memory size in bytes."));
	TRY(chronik_metrics_counter_family(
		&bm->requests, reg, "chronik_requests_total",
		"Kafka requests handled, by API and response error code.", 2,
		api_labels));
	TRY(chronik_metrics_histogram_family(
		&bm->request_duration, reg,
		"chronik_request_duration_seconds",
		"Time from a Kafka request's arrival to its response being "
		"queued, by API.",
		1, api_labels, chronik_metrics_seconds_buckets,
		chronik_metrics_seconds_nbuckets));
	TRY(chronik_metric_counter(&bm->requests_unknown, bm->requests,
				   unknown_err));
	TRY(chronik_metric_histogram(&bm->duration_unknown,
				     bm->request_duration, unknown_api));
	TRY(chronik_metrics_counter(&bm->bytes_received, reg,
				    "chronik_network_bytes_received_total",
				    "Bytes received from Kafka clients."));
	TRY(chronik_metrics_counter(&bm->bytes_sent, reg,
				    "chronik_network_bytes_sent_total",
				    "Bytes sent to Kafka clients."));
	TRY(chronik_metrics_gauge(&bm->connections, reg,
				  "chronik_connections",
				  "Open Kafka client connections."));
	TRY(chronik_metrics_counter(&bm->connections_accepted, reg,
				    "chronik_connections_accepted_total",
				    "Kafka client connections accepted."));
	TRY(chronik_metrics_gauge(&bm->partitions, reg, "chronik_partitions",
				  "Partitions hosted by this broker."));
	TRY(chronik_metrics_gauge(&bm->under_replicated_partitions, reg,
				  "chronik_under_replicated_partitions",
				  "Partitions led by this broker with fewer "
				  "in-sync replicas than replicas (always 0 "
				  "standalone)."));
	TRY(chronik_metrics_counter(&bm->wal_syncs, reg,
				    "chronik_wal_syncs_total",
				    "Write-ahead log group commits (fsyncs)."));
	/* The WAL counts batches in power-of-two buckets [2^i, 2^(i+1));
	 * these bounds (2^(i+1) - 1) match them exactly. */
	static const double wal_bounds[] = {
		1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047, 4095, 8191,
		16383, 32767, 65535
	};
	TRY(chronik_metrics_histogram(&bm->wal_sync_records, reg,
				      "chronik_wal_sync_records",
				      "Records made durable per write-ahead "
				      "log sync.", wal_bounds,
				      sizeof wal_bounds / sizeof *wal_bounds));
	/* Sync times are counted in microsecond buckets [2^i, 2^(i+1)). */
	static const double sync_bounds[] = {
		1e-6, 3e-6, 7e-6, 15e-6, 31e-6, 63e-6, 127e-6, 255e-6,
		511e-6, 1023e-6, 2047e-6, 4095e-6, 8191e-6, 16383e-6,
		32767e-6, 65535e-6, 131071e-6, 262143e-6, 524287e-6,
		1048575e-6
	};
	TRY(chronik_metrics_histogram(&bm->wal_sync_seconds, reg,
				      "chronik_wal_sync_seconds",
				      "Time of each write-ahead log sync "
				      "(fdatasync).", sync_bounds,
				      sizeof sync_bounds / sizeof *sync_bounds));
#undef TRY
	bm->start_mono = clock_seconds(CLOCK_MONOTONIC);
	chronik_gauge_set(bm->start_time, clock_seconds(CLOCK_REALTIME));
	rc = chronik_metrics_add_collector(reg, process_collector, bm);
	if (rc != 0)
		goto fail;
	process_collector(reg, bm);
	return 0;
fail:
	chronik_broker_metrics_free(bm);
	return rc;
}

void chronik_broker_metrics_free(chronik_broker_metrics *bm)
{
	if (!bm)
		return;
	for (size_t i = 0; i < CHRONIK_METRICS_MAX_API; i++) {
		free(bm->api_names[i]);
		bm->api_names[i] = NULL;
	}
	free(bm->requests_err);
	bm->requests_err = NULL;
}

int chronik_broker_metrics_add_api(chronik_broker_metrics *bm, int api_key,
				   const char *name)
{
	const char *values[] = { name, "NONE" }; /* api, error */
	int rc;

	if (api_key < 0 || api_key >= CHRONIK_METRICS_MAX_API || !name ||
	    !*name)
		return CHRONIK_EARG;
	if (bm->api_names[api_key])
		return CHRONIK_EEXIST;
	rc = chronik_metric_counter(&bm->requests_ok[api_key], bm->requests,
				    values);
	if (rc == 0)
		rc = chronik_metric_histogram(&bm->duration[api_key],
					      bm->request_duration,
					      values); /* api only */
	if (rc != 0)
		return rc;
	bm->api_names[api_key] = strdup(name);
	return bm->api_names[api_key] ? 0 : CHRONIK_ENOMEM;
}

/* The (api, error) counter, registered on first use; NULL when out of
 * memory (the request then goes uncounted rather than failing). */
static chronik_counter *error_counter(chronik_broker_metrics *bm,
				      const char *api, int error_code,
				      const char *error_name)
{
	char num[16];
	const char *values[2];
	chronik_counter *c;

	if (!error_name) {
		snprintf(num, sizeof num, "%d", error_code);
		error_name = num;
	}
	values[0] = api;
	values[1] = error_name;
	return chronik_metric_counter(&c, bm->requests, values) == 0 ? c
								     : NULL;
}

void chronik_broker_metrics_request(chronik_broker_metrics *bm, int api_key,
				    int error_code, const char *error_name,
				    double seconds)
{
	bool known = api_key >= 0 && api_key < CHRONIK_METRICS_MAX_API &&
		     bm->api_names[api_key];
	chronik_counter *c;

	if (!known) {
		if (error_code == 0)
			c = bm->requests_unknown;
		else
			c = error_counter(bm, "unknown", error_code,
					  error_name);
		chronik_histogram_observe(bm->duration_unknown, seconds);
	} else if (error_code == 0) {
		c = bm->requests_ok[api_key];
		chronik_histogram_observe(bm->duration[api_key], seconds);
	} else {
		int slot = error_code + 1; /* -1 UNKNOWN_SERVER_ERROR */

		chronik_histogram_observe(bm->duration[api_key], seconds);
		if (slot < 0 || slot >= CHRONIK_METRICS_MAX_ERROR) {
			c = error_counter(bm, bm->api_names[api_key],
					  error_code, error_name);
		} else {
			_Atomic(chronik_counter *) *p =
				&bm->requests_err[api_key][slot];

			c = atomic_load_explicit(p, memory_order_acquire);
			if (!c) {
				/* Racing threads get the same handle from
				 * the registry; storing it twice is fine. */
				c = error_counter(bm, bm->api_names[api_key],
						  error_code, error_name);
				atomic_store_explicit(p, c,
						      memory_order_release);
			}
		}
	}
	if (c)
		chronik_counter_inc(c);
}
