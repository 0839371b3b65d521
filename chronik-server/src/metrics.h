/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-server's metrics registry: counters, gauges and histograms with
 * labels, exposed in the Prometheus text format 0.0.4 (GET /metrics).
 *
 * A metric *family* has a name, a help text, a type and a fixed list of
 * label names. A *series* is one family plus one tuple of label values;
 * its handle (chronik_counter *, chronik_gauge *, chronik_histogram *) is
 * obtained once, on a slow path that takes the registry's mutex, and
 * stays valid until the registry is freed. Updating a handle is a relaxed
 * atomic operation: no lock, no lookup, no allocation, so the produce
 * path can keep handles in its own structures and just bump them.
 *
 * Thread-safety: every function may be called from any thread at once,
 * except chronik_metrics_free() (no other call may be running). A scrape
 * reads each atomic once; values of different series are not a snapshot
 * of one instant, which Prometheus does not require.
 *
 * docs/http.md lists the broker's metrics (chronik_broker_metrics below).
 */
#ifndef CHRONIK_SERVER_METRICS_H
#define CHRONIK_SERVER_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct chronik_metrics chronik_metrics;
typedef struct chronik_metric_family chronik_metric_family;

/* Longest metric or label name; longest label value. */
#define CHRONIK_METRICS_NAME_MAX 128
#define CHRONIK_METRICS_VALUE_MAX 256
/* Most labels per family, buckets per histogram, collectors. */
#define CHRONIK_METRICS_MAX_LABELS 8
#define CHRONIK_METRICS_MAX_BUCKETS 32
#define CHRONIK_METRICS_MAX_COLLECTORS 32

/* A monotonically increasing count. */
typedef struct chronik_counter {
	_Atomic uint64_t value;
} chronik_counter;

/* A value that goes up and down; a double kept as its bit pattern. */
typedef struct chronik_gauge {
	_Atomic uint64_t bits;
} chronik_gauge;

/* Observations counted in fixed buckets. counts[i] counts observations
 * v <= bounds[i] (and > bounds[i-1]); counts[nbounds] the rest (+Inf).
 * Buckets are made cumulative when rendered. */
typedef struct chronik_histogram {
	const double *bounds; /* owned by the family */
	size_t nbounds;
	_Atomic uint64_t sum_bits; /* double */
	_Atomic uint64_t counts[];
} chronik_histogram;

/* Bucket bounds for the common cases (upper bounds, increasing). */
/* Latencies in seconds: 100 us ... 10 s. */
extern const double chronik_metrics_seconds_buckets[];
extern const size_t chronik_metrics_seconds_nbuckets;
/* Sizes in bytes: 64 B ... 64 MiB, by powers of 4. */
extern const double chronik_metrics_bytes_buckets[];
extern const size_t chronik_metrics_bytes_nbuckets;
/* Counts of items (records per batch): 1 ... 100000. */
extern const double chronik_metrics_count_buckets[];
extern const size_t chronik_metrics_count_nbuckets;

/* ---- hot path: lock-free, inline -------------------------------------- */

static inline void chronik_counter_add(chronik_counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

static inline void chronik_counter_inc(chronik_counter *c)
{
	chronik_counter_add(c, 1);
}

static inline uint64_t chronik_counter_get(const chronik_counter *c)
{
	return atomic_load_explicit(&((chronik_counter *)c)->value,
				    memory_order_relaxed);
}

static inline uint64_t chronik_metrics__dbits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof u);
	return u;
}

static inline double chronik_metrics__bitsd(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof d);
	return d;
}

static inline void chronik_gauge_set(chronik_gauge *g, double v)
{
	atomic_store_explicit(&g->bits, chronik_metrics__dbits(v),
			      memory_order_relaxed);
}

static inline double chronik_gauge_get(const chronik_gauge *g)
{
	return chronik_metrics__bitsd(atomic_load_explicit(
		&((chronik_gauge *)g)->bits, memory_order_relaxed));
}

/* Lock-free (compare-and-swap loop): doubles have no atomic add. */
static inline void chronik_gauge_add(chronik_gauge *g, double d)
{
	uint64_t old = atomic_load_explicit(&g->bits, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(
		&g->bits, &old,
		chronik_metrics__dbits(chronik_metrics__bitsd(old) + d),
		memory_order_relaxed, memory_order_relaxed))
		;
}

static inline void chronik_gauge_inc(chronik_gauge *g)
{
	chronik_gauge_add(g, 1.0);
}

static inline void chronik_gauge_dec(chronik_gauge *g)
{
	chronik_gauge_add(g, -1.0);
}

/* Count one observation (lock-free). NaN is ignored. */
void chronik_histogram_observe(chronik_histogram *h, double v);

/* Total number of observations (sum of the buckets). */
uint64_t chronik_histogram_count(const chronik_histogram *h);
double chronik_histogram_sum(const chronik_histogram *h);

/* ---- registry (slow path) ---------------------------------------------- */

/* 0 or CHRONIK_ENOMEM / -errno. */
int chronik_metrics_new(chronik_metrics **out);
/* Frees every family, series and handle. NULL is fine. */
void chronik_metrics_free(chronik_metrics *reg);

/*
 * Register a family. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * names [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"; "le" is reserved
 * for histograms), at most CHRONIK_METRICS_MAX_LABELS of them. `help` is
 * free text (escaped on output). Histograms take `nbounds` finite,
 * strictly increasing upper bounds (copied; +Inf is implicit).
 * Families are rendered in registration order.
 * Returns 0, CHRONIK_EARG (bad name, labels or bounds), CHRONIK_EEXIST
 * (a family of that name exists) or CHRONIK_ENOMEM. *out is borrowed:
 * it lives as long as the registry.
 */
int chronik_metrics_counter_family(chronik_metric_family **out,
				   chronik_metrics *reg, const char *name,
				   const char *help, size_t nlabels,
				   const char *const *label_names);
int chronik_metrics_gauge_family(chronik_metric_family **out,
				 chronik_metrics *reg, const char *name,
				 const char *help, size_t nlabels,
				 const char *const *label_names);
int chronik_metrics_histogram_family(chronik_metric_family **out,
				     chronik_metrics *reg, const char *name,
				     const char *help, size_t nlabels,
				     const char *const *label_names,
				     const double *bounds, size_t nbounds);

/*
 * Get or create the series of `family` with these label values (one per
 * label name, any UTF-8 text up to CHRONIK_METRICS_VALUE_MAX bytes; NULL
 * when the family has no labels). The same values always give the same
 * handle. Series are rendered in creation order. Takes the registry
 * mutex: call it at start-up or on rare paths and keep the handle.
 * Returns 0, CHRONIK_EARG (wrong family type, value too long) or
 * CHRONIK_ENOMEM.
 */
int chronik_metric_counter(chronik_counter **out,
			   chronik_metric_family *family,
			   const char *const *label_values);
int chronik_metric_gauge(chronik_gauge **out, chronik_metric_family *family,
			 const char *const *label_values);
int chronik_metric_histogram(chronik_histogram **out,
			     chronik_metric_family *family,
			     const char *const *label_values);

/* Shorthands: a family without labels and its only series. */
int chronik_metrics_counter(chronik_counter **out, chronik_metrics *reg,
			    const char *name, const char *help);
int chronik_metrics_gauge(chronik_gauge **out, chronik_metrics *reg,
			  const char *name, const char *help);
int chronik_metrics_histogram(chronik_histogram **out, chronik_metrics *reg,
			      const char *name, const char *help,
			      const double *bounds, size_t nbounds);

/*
 * A collector runs at the start of every scrape, on the scraping thread
 * (the HTTP server's), before anything is rendered and without the
 * registry mutex held, so it may create series. It typically copies
 * values that live elsewhere (WAL statistics, partition counts) into
 * gauges. It must be thread-safe with respect to the broker and quick.
 * Returns 0, CHRONIK_ETOOBIG (CHRONIK_METRICS_MAX_COLLECTORS reached).
 */
typedef void (*chronik_metrics_collector_fn)(chronik_metrics *reg,
					     void *userdata);
int chronik_metrics_add_collector(chronik_metrics *reg,
				  chronik_metrics_collector_fn fn,
				  void *userdata);

/*
 * Run the collectors, then render every family in the Prometheus text
 * exposition format 0.0.4. *out is NUL-terminated, malloc'd and owned by
 * the caller (free()); *len_out (optional) gets its length.
 * Returns 0 or CHRONIK_ENOMEM.
 */
int chronik_metrics_render(char **out, size_t *len_out,
			   chronik_metrics *reg);

/* ---- the broker's metric set ------------------------------------------ */

/* Kafka API keys below this get a pre-registered series each. */
#define CHRONIK_METRICS_MAX_API 128
/* Kafka error codes -1 .. CHRONIK_METRICS_MAX_ERROR-2 are cached. */
#define CHRONIK_METRICS_MAX_ERROR 128

/*
 * Every metric the broker reports (docs/http.md). Handles are public:
 * the broker updates them directly (chronik_counter_add(
 * bm->bytes_received, n)). Requests go through
 * chronik_broker_metrics_request().
 */
typedef struct chronik_broker_metrics {
	chronik_metrics *reg; /* borrowed */
	chronik_metric_family *requests;          /* {api,error} */
	chronik_metric_family *request_duration;  /* {api} */
	/* Per API key: its name (NULL: not added), its error="NONE"
	 * counter, its latency histogram. */
	char *api_names[CHRONIK_METRICS_MAX_API];
	chronik_counter *requests_ok[CHRONIK_METRICS_MAX_API];
	chronik_histogram *duration[CHRONIK_METRICS_MAX_API];
	/* Requests whose API key was not added (api="unknown"). */
	chronik_counter *requests_unknown;
	chronik_histogram *duration_unknown;
	/* [api][error + 1], filled lazily on the first such error. */
	_Atomic(chronik_counter *) (*requests_err)[CHRONIK_METRICS_MAX_ERROR];

	chronik_counter *bytes_received, *bytes_sent;
	chronik_gauge *connections;
	chronik_counter *connections_accepted;
	chronik_gauge *partitions;
	chronik_gauge *under_replicated_partitions;
	chronik_counter *wal_syncs;
	chronik_histogram *wal_sync_records;
	chronik_histogram *wal_sync_seconds;
	chronik_gauge *start_time, *uptime, *resident_memory;
	double start_mono; /* CLOCK_MONOTONIC seconds at init */
} chronik_broker_metrics;

/*
 * Register the broker's metric set in `reg` and a collector that fills
 * the process gauges (uptime, resident memory) at scrape time.
 * `version` labels chronik_build_info. bm must stay at the same address
 * until the registry is freed (the collector points to it).
 * Returns 0, CHRONIK_EEXIST (already registered) or CHRONIK_ENOMEM.
 */
int chronik_broker_metrics_init(chronik_broker_metrics *bm,
				chronik_metrics *reg, const char *version);
/* Free what init allocated (not the registry). NULL is fine. */
void chronik_broker_metrics_free(chronik_broker_metrics *bm);

/*
 * Declare Kafka API `api_key` (0 .. CHRONIK_METRICS_MAX_API-1) under
 * `name` ("Produce"), so its series exist from the start (rates work
 * before the first request). Call at start-up, once per supported API.
 * Returns 0, CHRONIK_EARG, CHRONIK_EEXIST or CHRONIK_ENOMEM.
 */
int chronik_broker_metrics_add_api(chronik_broker_metrics *bm, int api_key,
				   const char *name);

/*
 * Count one finished request: requests_total{api,error} and its latency.
 * error_code is the Kafka error code of the response as a whole (0: none)
 * and error_name its name ("NOT_LEADER_OR_FOLLOWER"; NULL: the number).
 * Lock-free for added APIs once each (api, error) pair has been seen;
 * the first occurrence of a pair registers it under the mutex.
 */
void chronik_broker_metrics_request(chronik_broker_metrics *bm, int api_key,
				    int error_code, const char *error_name,
				    double seconds);

#endif /* CHRONIK_SERVER_METRICS_H */
