/*
 * flowbench: measures the flow table candidates on one lcore.
 *
 *   sl_flow  - the Sluice flow table (rte_hash RW_CONCURRENCY_LF per shard,
 *              RCU-QSBR reclamation), bulk lookups of 32 and single lookups
 *   cds_lfht - liburcu's lock-free resizable hash table, urcu-qsbr flavour,
 *              fixed bucket count (no resize), nodes preallocated
 *
 * For each table size it reports ns per insert and ns per lookup for hits
 * and for misses. Keys arrive as a stream in random table order (like
 * packets, whose headers are already in cache); hashes are precomputed
 * for both tables (the CRC cost is reported on its own line).
 *
 * Usage: flowbench [EAL args] [-- flows...]
 *   default EAL args: --no-huge -m 1024 --no-pci --no-shconf
 *                     --file-prefix flowbench -l 0 --log-level=error
 *   default flows: 65536 1048576
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <urcu/urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "flow/flow.h"

#define BURST 32
#define LOOKUPS (4u << 20) /* per measurement */
#define REPEATS 3          /* best of */
#define MAX_SIZES 8

struct workload {
	uint32_t flows;
	struct sl_flow_key *keys;       /* [flows] present keys, insertion order */
	uint32_t *key_hashes;
	struct sl_flow_key *hit_stream; /* [LOOKUPS] present keys, random order */
	uint32_t *hit_hashes;
	struct sl_flow_key *miss_stream; /* [LOOKUPS] absent keys */
	uint32_t *miss_hashes;
};

struct result {
	double insert_ns, hit_ns, miss_ns;
};

/* ---- helpers ------------------------------------------------------------ */

/*
 * CPU time of this thread: on a shared machine wall time would also count
 * the time other processes held the core. Cache interference remains, hence
 * best of REPEATS.
 */
static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static uint64_t rng(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state >> 16;
}

static void *xmalloc(size_t bytes)
{
	void *p = malloc(bytes);

	if (p == NULL) {
		fprintf(stderr, "flowbench: out of memory (%zu bytes)\n", bytes);
		exit(EXIT_FAILURE);
	}
	return p;
}

/* Distinct random IPv4 TCP flows; `salt` separates the present and absent sets. */
static struct sl_flow_key random_key(uint64_t *state, uint32_t i, uint8_t salt)
{
	struct sl_flow_key k;

	memset(&k, 0, sizeof(k));
	k.src.v4 = (uint32_t)rng(state);
	k.dst.v4 = i; /* unique per key */
	k.sport = (uint16_t)rng(state);
	k.dport = (uint16_t)(salt << 8 | 80);
	k.proto = 6;
	k.family = SL_AF_INET;
	return k;
}

static void make_stream(struct sl_flow_key *out, uint32_t *hashes, const struct sl_flow_key *from,
			uint32_t n, uint64_t seed)
{
	uint64_t state = seed;

	for (uint32_t i = 0; i < LOOKUPS; i++) {
		out[i] = from[rng(&state) % n];
		hashes[i] = sl_flow_hash(&out[i]);
	}
}

static void workload_init(struct workload *w, uint32_t flows)
{
	uint64_t state = 0x5107ce5ull ^ flows;
	struct sl_flow_key *absent = xmalloc(flows * sizeof(*absent));

	w->flows = flows;
	w->keys = xmalloc(flows * sizeof(*w->keys));
	w->key_hashes = xmalloc(flows * sizeof(uint32_t));
	for (uint32_t i = 0; i < flows; i++) {
		w->keys[i] = random_key(&state, i, 1);
		w->key_hashes[i] = sl_flow_hash(&w->keys[i]);
		absent[i] = random_key(&state, i, 2);
	}
	w->hit_stream = xmalloc(LOOKUPS * sizeof(*w->hit_stream));
	w->hit_hashes = xmalloc(LOOKUPS * sizeof(uint32_t));
	w->miss_stream = xmalloc(LOOKUPS * sizeof(*w->miss_stream));
	w->miss_hashes = xmalloc(LOOKUPS * sizeof(uint32_t));
	make_stream(w->hit_stream, w->hit_hashes, w->keys, flows, 1);
	make_stream(w->miss_stream, w->miss_hashes, absent, flows, 2);
	free(absent);
}

static void workload_fini(struct workload *w)
{
	free(w->keys);
	free(w->key_hashes);
	free(w->hit_stream);
	free(w->hit_hashes);
	free(w->miss_stream);
	free(w->miss_hashes);
}

static double best_of(double a, double b)
{
	return a < b ? a : b;
}

/* ---- sl_flow ------------------------------------------------------------- */

static struct rte_rcu_qsbr *qsbr;
static unsigned table_seq;

static struct sl_flow_table *sl_table(uint32_t capacity)
{
	char name[16];

	snprintf(name, sizeof(name), "fb%u", table_seq++);
	struct sl_flow_params p = {
		.name = name, .capacity = capacity, .nb_shards = 1, .qsbr = qsbr,
		.socket_id = SOCKET_ID_ANY,
	};
	struct sl_flow_table *t = sl_flow_create(&p);

	if (t == NULL) {
		fprintf(stderr, "flowbench: sl_flow_create: %s\n", rte_strerror(rte_errno));
		exit(EXIT_FAILURE);
	}
	return t;
}

static double sl_insert_all(struct sl_flow_table *t, const struct workload *w)
{
	struct sl_flow_value v = {.id = 1};
	uint32_t stored = 0;
	double t0 = now_ns();

	for (uint32_t i = 0; i < w->flows; i++)
		stored += sl_flow_insert(t, 0, &w->keys[i], w->key_hashes[i], &v, 0) != NULL;
	double ns = (now_ns() - t0) / w->flows;

	if (stored != w->flows) {
		fprintf(stderr, "flowbench: sl_flow stored %u of %u\n", stored, w->flows);
		exit(EXIT_FAILURE);
	}
	return ns;
}

/* Bulk lookups, BURST keys per call; returns the hits, reading every value. */
static uint64_t sl_lookups_bulk(struct sl_flow_table *t, const struct sl_flow_key *stream,
				const uint32_t *hashes)
{
	const struct sl_flow_key *kp[BURST];
	const struct sl_flow_value *out[BURST];
	uint64_t hits = 0;

	for (uint32_t base = 0; base < LOOKUPS; base += BURST) {
		for (unsigned i = 0; i < BURST; i++)
			kp[i] = &stream[base + i];
		sl_flow_lookup_burst(t, 0, kp, &hashes[base], BURST, out, 1);
		for (unsigned i = 0; i < BURST; i++)
			hits += out[i] != NULL ? out[i]->id : 0;
		rte_rcu_qsbr_quiescent(qsbr, 0);
	}
	return hits;
}

/* Single-key lookups through the one-key API (lookup_any over one shard). */
static uint64_t sl_lookups_single(struct sl_flow_table *t, const struct sl_flow_key *stream,
				  const uint32_t *hashes)
{
	uint64_t hits = 0;

	for (uint32_t base = 0; base < LOOKUPS; base += BURST) {
		for (unsigned i = base; i < base + BURST; i++) {
			const struct sl_flow_value *v =
				sl_flow_lookup_any(t, 0, &stream[i], hashes[i], 1);

			hits += v != NULL ? v->id : 0;
		}
		rte_rcu_qsbr_quiescent(qsbr, 0);
	}
	return hits;
}

/* ns per lookup over the stream; checks the hit count (every value has id 1). */
static double sl_lookups(struct sl_flow_table *t, const struct sl_flow_key *stream,
			 const uint32_t *hashes, unsigned burst, uint32_t expect_hits)
{
	double t0 = now_ns();
	uint64_t hits = burst == 1 ? sl_lookups_single(t, stream, hashes)
				   : sl_lookups_bulk(t, stream, hashes);
	double ns = (now_ns() - t0) / LOOKUPS;

	if (hits != expect_hits) {
		fprintf(stderr, "flowbench: sl_flow %" PRIu64 " hits, expected %u\n", hits,
			expect_hits);
		exit(EXIT_FAILURE);
	}
	return ns;
}

/* capacity = flows fills the table to 100%; more leaves cuckoo headroom. */
static struct result run_sl_flow(const struct workload *w, unsigned burst, uint32_t capacity)
{
	struct result r = {1e18, 1e18, 1e18};

	for (int rep = 0; rep < REPEATS; rep++) {
		struct sl_flow_table *t = sl_table(capacity);

		r.insert_ns = best_of(r.insert_ns, sl_insert_all(t, w));
		r.hit_ns = best_of(r.hit_ns, sl_lookups(t, w->hit_stream, w->hit_hashes, burst,
							  LOOKUPS));
		r.miss_ns = best_of(r.miss_ns, sl_lookups(t, w->miss_stream, w->miss_hashes, burst,
							    0));
		sl_flow_free(t);
	}
	return r;
}

/* ---- cds_lfht ------------------------------------------------------------ */

struct lfht_entry {
	struct cds_lfht_node node;
	struct sl_flow_key key;
	struct sl_flow_value value;
};

static int lfht_match(struct cds_lfht_node *node, const void *key)
{
	const struct lfht_entry *e = caa_container_of(node, struct lfht_entry, node);

	return memcmp(&e->key, key, sizeof(e->key)) == 0;
}

static unsigned long pow2_at_least(unsigned long n)
{
	unsigned long p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static struct cds_lfht *lfht_table(uint32_t flows)
{
	unsigned long buckets = pow2_at_least(flows);
	/* init = min = max buckets and no CDS_LFHT_AUTO_RESIZE: a fixed table. */
	struct cds_lfht *ht = cds_lfht_new_flavor(buckets, buckets, buckets, 0, &urcu_qsbr_flavor,
						  NULL);

	if (ht == NULL) {
		fprintf(stderr, "flowbench: cds_lfht_new failed\n");
		exit(EXIT_FAILURE);
	}
	return ht;
}

static double lfht_insert_all(struct cds_lfht *ht, struct lfht_entry *nodes,
			      const struct workload *w)
{
	uint32_t stored = 0;
	double t0 = now_ns();

	for (uint32_t i = 0; i < w->flows; i++) {
		struct lfht_entry *e = &nodes[i];

		e->key = w->keys[i];
		e->value = (struct sl_flow_value){.id = 1};
		cds_lfht_node_init(&e->node);
		urcu_qsbr_read_lock();
		stored += cds_lfht_add_unique(ht, w->key_hashes[i], lfht_match, &e->key,
					      &e->node) == &e->node;
		urcu_qsbr_read_unlock();
	}
	double ns = (now_ns() - t0) / w->flows;

	if (stored != w->flows) {
		fprintf(stderr, "flowbench: cds_lfht stored %u of %u\n", stored, w->flows);
		exit(EXIT_FAILURE);
	}
	return ns;
}

static double lfht_lookups(struct cds_lfht *ht, const struct sl_flow_key *stream,
			   const uint32_t *hashes, uint32_t expect_hits)
{
	uint64_t hits = 0, sum = 0;
	double t0 = now_ns();

	for (uint32_t base = 0; base < LOOKUPS; base += BURST) {
		urcu_qsbr_read_lock();
		for (unsigned i = 0; i < BURST; i++) {
			struct cds_lfht_iter iter;

			cds_lfht_lookup(ht, hashes[base + i], lfht_match, &stream[base + i], &iter);
			struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);

			if (node != NULL) {
				hits++;
				sum += caa_container_of(node, struct lfht_entry, node)->value.id;
			}
		}
		urcu_qsbr_read_unlock();
		urcu_qsbr_quiescent_state();
	}
	double ns = (now_ns() - t0) / LOOKUPS;

	if (hits != expect_hits || sum != hits) {
		fprintf(stderr, "flowbench: cds_lfht %" PRIu64 " hits, expected %u\n", hits,
			expect_hits);
		exit(EXIT_FAILURE);
	}
	return ns;
}

/* Empty and destroy; the nodes are preallocated, so nothing waits for a grace period. */
static void lfht_drop(struct cds_lfht *ht)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_for_each(ht, &iter, node)
		cds_lfht_del(ht, node);
	/* destroy synchronises RCU, which a QSBR reader may only do offline. */
	urcu_qsbr_thread_offline();
	cds_lfht_destroy(ht, NULL);
	urcu_qsbr_thread_online();
}

static struct result run_lfht(const struct workload *w)
{
	struct result r = {1e18, 1e18, 1e18};
	struct lfht_entry *nodes = xmalloc(w->flows * sizeof(*nodes));

	for (int rep = 0; rep < REPEATS; rep++) {
		struct cds_lfht *ht = lfht_table(w->flows);

		r.insert_ns = best_of(r.insert_ns, lfht_insert_all(ht, nodes, w));
		r.hit_ns = best_of(r.hit_ns, lfht_lookups(ht, w->hit_stream, w->hit_hashes,
							    LOOKUPS));
		r.miss_ns = best_of(r.miss_ns, lfht_lookups(ht, w->miss_stream, w->miss_hashes, 0));
		lfht_drop(ht);
	}
	free(nodes);
	return r;
}

/* ---- main ------------------------------------------------------------------- */

static double crc_ns(const struct workload *w)
{
	uint32_t acc = 0;
	double t0 = now_ns();

	for (uint32_t i = 0; i < LOOKUPS; i++)
		acc += sl_flow_hash(&w->hit_stream[i]);
	double ns = (now_ns() - t0) / LOOKUPS;

	if (acc == 0x12345678u) /* keep the loop */
		printf(" ");
	return ns;
}

static void report(const char *name, uint32_t flows, const struct result *r)
{
	printf("%-22s %9u %10.1f %10.1f %10.1f\n", name, flows, r->insert_ns, r->hit_ns,
	       r->miss_ns);
}

static void bench_size(uint32_t flows)
{
	struct workload w;

	workload_init(&w, flows);
	struct result bulk = run_sl_flow(&w, BURST, flows);
	struct result roomy = run_sl_flow(&w, BURST, 2 * flows);
	struct result single = run_sl_flow(&w, 1, flows);
	struct result lfht = run_lfht(&w);

	report("sl_flow bulk32", flows, &bulk);
	report("sl_flow bulk32 2x cap", flows, &roomy);
	report("sl_flow single", flows, &single);
	report("cds_lfht single", flows, &lfht);
	printf("%-22s %9u %10s %10.1f\n", "crc32 hash (40 B)", flows, "-", crc_ns(&w));
	fflush(stdout);
	workload_fini(&w);
}

static int start_eal(int argc, char **argv, int *used)
{
	static char *defaults[] = {
		"flowbench", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf",
		"--file-prefix", "flowbench", "-l", "0", "--log-level=error", NULL,
	};

	if (argc > 1 && strcmp(argv[1], "--") != 0) {
		*used = rte_eal_init(argc, argv);
		return *used;
	}
	*used = argc > 1 ? 1 : 0; /* leave a leading "--" for the size list */
	return rte_eal_init((int)RTE_DIM(defaults) - 1, defaults);
}

static void start_rcu(void)
{
	qsbr = rte_zmalloc("flowbench_qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0) {
		fprintf(stderr, "flowbench: cannot set up QSBR\n");
		exit(EXIT_FAILURE);
	}
	rte_rcu_qsbr_thread_register(qsbr, 0);
	rte_rcu_qsbr_thread_online(qsbr, 0);
	urcu_qsbr_register_thread();
}

/* Table sizes after "--", or the defaults. */
static unsigned parse_sizes(int argc, char **argv, uint32_t *sizes)
{
	unsigned n = 0;

	for (int i = 0; i < argc && n < MAX_SIZES; i++) {
		if (strcmp(argv[i], "--") == 0)
			continue;
		sizes[n++] = (uint32_t)strtoul(argv[i], NULL, 0);
	}
	if (n == 0) {
		sizes[n++] = 65536;
		sizes[n++] = 1048576;
	}
	return n;
}

int main(int argc, char **argv)
{
	uint32_t sizes[MAX_SIZES];
	int used;

	if (start_eal(argc, argv, &used) < 0) {
		fprintf(stderr, "flowbench: EAL init failed: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	start_rcu();
	unsigned n = parse_sizes(argc - 1 - used, argv + 1 + used, sizes);

	printf("%u lookups per run, best of %d runs, thread CPU time, hashes precomputed\n",
	       LOOKUPS, REPEATS);
	printf("%-22s %9s %10s %10s %10s\n", "table", "flows", "insert ns", "hit ns",
	       "miss ns");
	for (unsigned i = 0; i < n; i++)
		bench_size(sizes[i]);
	urcu_qsbr_unregister_thread();
	rte_eal_cleanup();
	return EXIT_SUCCESS;
}
