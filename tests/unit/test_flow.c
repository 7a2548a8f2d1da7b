/* Unit tests for the sharded lock-free flow table. */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "flow/flow.h"

#define MAX_READERS 4
#define MAIN_READER 0 /* QSBR thread id of the test's own thread */
#define IDLE 1000u

static struct rte_rcu_qsbr *qsbr;

/* A bijection on 32 bits (xorshift-multiply), so keys look like real traffic. */
static uint32_t scramble(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/*
 * Key i: a TCP flow from a scrambled client address to 192.0.2.1:80, zero
 * padded as required. Scrambled, not sequential: sequential keys fill
 * cuckoo buckets more evenly than real traffic and can hide overflow.
 */
static struct sl_flow_key make_key(uint32_t i)
{
	struct sl_flow_key k;

	memset(&k, 0, sizeof(k));
	k.src.v4 = scramble(i);
	k.dst.v4 = __builtin_bswap32(0xc0000201u);
	k.sport = __builtin_bswap16((uint16_t)(1024 + (i & 0x3fff)));
	k.dport = __builtin_bswap16(80);
	k.proto = 6;
	k.family = SL_AF_INET;
	return k;
}

static struct sl_flow_value make_value(uint32_t i)
{
	struct sl_flow_value v;

	memset(&v, 0, sizeof(v));
	v.addr.v4 = i * 2654435761u;
	v.port = (uint16_t)i;
	v.id = i;
	return v;
}

static struct sl_flow_table *create(const char *name, uint32_t capacity, unsigned shards)
{
	struct sl_flow_params p = {
		.name = name,
		.capacity = capacity,
		.nb_shards = shards,
		.qsbr = qsbr,
		.socket_id = SOCKET_ID_ANY,
	};
	struct sl_flow_table *t = sl_flow_create(&p);

	ck_assert_msg(t != NULL, "sl_flow_create(%s): %s", name, rte_strerror(rte_errno));
	return t;
}

/* Report a quiescent state, then free: lets pending deletes be reclaimed. */
static void destroy(struct sl_flow_table *t)
{
	rte_rcu_qsbr_quiescent(qsbr, MAIN_READER);
	sl_flow_free(t);
}

static const struct sl_flow_value *insert(struct sl_flow_table *t, unsigned shard, uint32_t i,
					  uint32_t now)
{
	struct sl_flow_key k = make_key(i);
	struct sl_flow_value v = make_value(i);

	return sl_flow_insert(t, shard, &k, sl_flow_hash(&k), &v, now);
}

static const struct sl_flow_value *lookup(struct sl_flow_table *t, unsigned shard, uint32_t i,
					  uint32_t now)
{
	struct sl_flow_key k = make_key(i);
	const struct sl_flow_key *kp = &k;
	uint32_t h = sl_flow_hash(&k);
	const struct sl_flow_value *out = NULL;

	sl_flow_lookup_burst(t, shard, &kp, &h, 1, &out, now);
	return out;
}

/* Insert keys [from, to) into shard; returns how many were stored. */
static uint32_t fill(struct sl_flow_table *t, unsigned shard, uint32_t from, uint32_t to,
		     uint32_t now)
{
	uint32_t stored = 0;

	for (uint32_t i = from; i < to; i++)
		stored += insert(t, shard, i, now) != NULL;
	return stored;
}

/* ---- basics ----------------------------------------------------------- */

START_TEST(insert_lookup_miss)
{
	struct sl_flow_table *t = create("basic", 1024, 2);
	const struct sl_flow_value *v = insert(t, 0, 7, 100);

	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(v->id, 7);
	ck_assert_ptr_eq(lookup(t, 0, 7, 101), v);
	ck_assert_ptr_null(lookup(t, 0, 8, 101)); /* other key */
	ck_assert_ptr_null(lookup(t, 1, 7, 101)); /* other shard */
	ck_assert_uint_eq(sl_flow_count(t, 0), 1);
	ck_assert_uint_eq(sl_flow_count(t, 1), 0);
	ck_assert_uint_eq(sl_flow_capacity(t), 1024);

	/* A second insert of the key keeps and returns the first decision. */
	struct sl_flow_key k = make_key(7);
	struct sl_flow_value other = make_value(99);
	ck_assert_ptr_eq(sl_flow_insert(t, 0, &k, sl_flow_hash(&k), &other, 102), v);
	ck_assert_uint_eq(v->id, 7);
	ck_assert_uint_eq(sl_flow_count(t, 0), 1);
	destroy(t);
}
END_TEST

START_TEST(burst_mixed_hits_and_misses)
{
	enum { N = 64 };
	struct sl_flow_table *t = create("burst", 4096, 1);
	struct sl_flow_key keys[N];
	const struct sl_flow_key *kp[N];
	uint32_t hashes[N];
	const struct sl_flow_value *out[N];

	for (uint32_t i = 0; i < N; i++) {
		if (i % 3 == 0)
			ck_assert_ptr_nonnull(insert(t, 0, i, 5));
		keys[i] = make_key(i);
		kp[i] = &keys[i];
		hashes[i] = sl_flow_hash(&keys[i]);
	}
	ck_assert_uint_eq(sl_flow_lookup_burst(t, 0, kp, hashes, N, out, 6), (N + 2) / 3);
	for (uint32_t i = 0; i < N; i++) {
		if (i % 3 == 0) {
			ck_assert_ptr_nonnull(out[i]);
			ck_assert_uint_eq(out[i]->id, i);
			ck_assert_uint_eq(out[i]->port, (uint16_t)i);
		} else {
			ck_assert_ptr_null(out[i]);
		}
	}
	destroy(t);
}
END_TEST

START_TEST(lookup_any_searches_every_shard)
{
	struct sl_flow_table *t = create("any", 256, 4);
	struct sl_flow_key k = make_key(42), absent = make_key(43);

	ck_assert_ptr_nonnull(insert(t, 2, 42, 1));
	for (unsigned first = 0; first < 4; first++) {
		const struct sl_flow_value *v = sl_flow_lookup_any(t, first, &k, sl_flow_hash(&k), 2);

		ck_assert_ptr_nonnull(v);
		ck_assert_uint_eq(v->id, 42);
		ck_assert_ptr_null(sl_flow_lookup_any(t, first, &absent, sl_flow_hash(&absent), 2));
	}
	destroy(t);
}
END_TEST

START_TEST(lookup_others_skips_only_its_own_shard)
{
	struct sl_flow_table *t = create("others", 256, 4);
	struct sl_flow_key k = make_key(42);

	ck_assert_ptr_nonnull(insert(t, 2, 42, 1));
	for (unsigned own = 0; own < 4; own++) {
		const struct sl_flow_value *v = sl_flow_lookup_others(t, own, &k, sl_flow_hash(&k), 2);
		if (own == 2)
			ck_assert_ptr_null(v);
		else
			ck_assert(v != NULL && v->id == 42);
	}
	destroy(t);
}
END_TEST

START_TEST(zero_padding_is_part_of_the_key)
{
	/*
	 * The whole 40-byte key is hashed and compared: callers must zero the
	 * pad bytes and the 12 unused bytes of an IPv4 sl_addr, or the same
	 * 5-tuple becomes a different flow.
	 */
	struct sl_flow_table *t = create("pad", 256, 1);
	struct sl_flow_key clean = make_key(5), dirty_pad = clean, dirty_addr = clean;

	dirty_pad.pad[1] = 1;
	dirty_addr.src.v6[15] = 1;
	ck_assert_ptr_nonnull(insert(t, 0, 5, 1));
	ck_assert_ptr_null(sl_flow_lookup_any(t, 0, &dirty_pad, sl_flow_hash(&dirty_pad), 1));
	ck_assert_ptr_null(sl_flow_lookup_any(t, 0, &dirty_addr, sl_flow_hash(&dirty_addr), 1));
	ck_assert_uint_ne(sl_flow_hash(&clean), sl_flow_hash(&dirty_pad));
	destroy(t);
}
END_TEST

START_TEST(inline_hash_is_rte_hash_crc)
{
	/* sl_flow_hash is inlined with crc32q where it can be; the values must
	 * stay those of rte_hash_crc (IPv6 flow labels and rte_hash signatures
	 * come from them). */
	for (uint32_t i = 0; i < 1000; i++) {
		struct sl_flow_key k = make_key(i);

		k.src.v6[15] = (uint8_t)i; /* IPv6-like keys too */
		k.dst.u64[1] = (uint64_t)i * 0x9e3779b97f4a7c15ull;
		ck_assert_uint_eq(sl_flow_hash(&k), rte_hash_crc(&k, sizeof(k), SL_FLOW_HASH_INIT));
		ck_assert_uint_eq(sl_flow_hash(&k), sl_flow_hash_portable(&k));
	}
}
END_TEST

START_TEST(create_rejects_bad_params)
{
	struct sl_flow_params p = {
		.name = "bad", .capacity = 1024, .nb_shards = 1, .qsbr = qsbr,
		.socket_id = SOCKET_ID_ANY,
	};
	struct sl_flow_params q;

	q = p, q.capacity = 63;
	ck_assert_ptr_null(sl_flow_create(&q));
	q = p, q.nb_shards = 0;
	ck_assert_ptr_null(sl_flow_create(&q));
	q = p, q.qsbr = NULL;
	ck_assert_ptr_null(sl_flow_create(&q));
	q = p, q.name = NULL;
	ck_assert_ptr_null(sl_flow_create(&q));
	q = p, q.name = "a-name-much-too-long-for-rte";
	ck_assert_ptr_null(sl_flow_create(&q));
	ck_assert_int_eq(rte_errno, ENAMETOOLONG);

	struct sl_flow_table *t = create("dup", 256, 1);
	q = p, q.name = "dup";
	ck_assert_ptr_null(sl_flow_create(&q)); /* names are unique per process */
	destroy(t);
}
END_TEST

/* ---- capacity and reclamation ------------------------------------------ */

static void check_exact_capacity(const char *name, uint32_t capacity)
{
	struct sl_flow_table *t = create(name, capacity, 1);

	ck_assert_uint_eq(fill(t, 0, 0, capacity, 10), capacity);
	ck_assert_uint_eq(sl_flow_count(t, 0), capacity);
	ck_assert_ptr_null(insert(t, 0, capacity, 10));
	/* Every stored key is still found with its own value. */
	uint32_t wrong = 0;
	for (uint32_t i = 0; i < capacity; i++) {
		const struct sl_flow_value *v = lookup(t, 0, i, 11);

		wrong += v == NULL || v->id != i;
	}
	ck_assert_uint_eq(wrong, 0);
	destroy(t);
}

START_TEST(exactly_capacity_fits_power_of_two)
{
	check_exact_capacity("cap2", 65536);
}
END_TEST

START_TEST(exactly_capacity_fits_other_sizes)
{
	check_exact_capacity("cap64", 64);
	check_exact_capacity("cap1000", 1000);
	check_exact_capacity("cap40000", 40000);
}
END_TEST

START_TEST(full_shard_recovers_after_expiry_and_grace_period)
{
	enum { CAP = 4096 };
	struct sl_flow_table *t = create("full", CAP, 1);

	ck_assert_uint_eq(fill(t, 0, 0, CAP, 1000), CAP);
	ck_assert_ptr_null(insert(t, 0, CAP, 1000));

	/* A reader holds a value across the expiry... */
	const struct sl_flow_value *held = lookup(t, 0, 17, 1000);
	ck_assert_ptr_nonnull(held);
	ck_assert_uint_eq(sl_flow_expire(t, 0, 1000 + IDLE + 1, IDLE, CAP), CAP);
	ck_assert_uint_eq(sl_flow_count(t, 0), 0);
	ck_assert_ptr_null(lookup(t, 0, 17, 1000 + IDLE + 1));

	/* ...so until it reports a quiescent state no position is reused. */
	ck_assert_uint_eq(fill(t, 0, CAP, CAP + 64, 3000), 0);
	ck_assert_uint_eq(held->id, 17);

	rte_rcu_qsbr_quiescent(qsbr, MAIN_READER);
	ck_assert_uint_eq(fill(t, 0, CAP, 2 * CAP, 3000), CAP);
	ck_assert_uint_eq(sl_flow_count(t, 0), CAP);
	ck_assert_ptr_null(insert(t, 0, 2 * CAP, 3000));
	destroy(t);
}
END_TEST

/* ---- idle expiry -------------------------------------------------------- */

START_TEST(expiry_respects_idle_time_and_refresh)
{
	struct sl_flow_table *t = create("idle", 256, 1);

	ck_assert_ptr_nonnull(insert(t, 0, 1, 1000));
	ck_assert_ptr_nonnull(insert(t, 0, 2, 1000));
	ck_assert_ptr_nonnull(lookup(t, 0, 1, 1000 + IDLE / 2)); /* refresh flow 1 */

	/* Idle for exactly IDLE is not "more than" IDLE. */
	ck_assert_uint_eq(sl_flow_expire(t, 0, 1000 + IDLE, IDLE, 256), 0);
	ck_assert_uint_eq(sl_flow_expire(t, 0, 1000 + IDLE + 1, IDLE, 256), 1);
	ck_assert_ptr_null(lookup(t, 0, 2, 1000 + IDLE + 1));
	ck_assert_ptr_nonnull(lookup(t, 0, 1, 1000 + IDLE / 2)); /* same time: no refresh */

	ck_assert_uint_eq(sl_flow_expire(t, 0, 1000 + IDLE / 2 + IDLE, IDLE, 256), 0);
	ck_assert_uint_eq(sl_flow_expire(t, 0, 1000 + IDLE / 2 + IDLE + 1, IDLE, 256), 1);
	ck_assert_uint_eq(sl_flow_count(t, 0), 0);
	destroy(t);
}
END_TEST

START_TEST(expiry_is_budgeted_and_resumes)
{
	struct sl_flow_table *t = create("budget", 1024, 1);
	uint32_t deleted = 0;

	ck_assert_uint_eq(fill(t, 0, 0, 1024, 0), 1024);
	/* Each call examines at most `budget` positions; the cursor carries on. */
	for (unsigned call = 0; call < 1024 / 100 + 1; call++) {
		unsigned d = sl_flow_expire(t, 0, IDLE + 1, IDLE, 100);

		ck_assert_uint_le(d, 100);
		deleted += d;
	}
	ck_assert_uint_eq(deleted, 1024);
	ck_assert_uint_eq(sl_flow_count(t, 0), 0);
	destroy(t);
}
END_TEST

START_TEST(expiry_survives_clock_wrap)
{
	struct sl_flow_table *t = create("wrap", 256, 1);
	const uint32_t start = UINT32_MAX - 100;

	ck_assert_ptr_nonnull(insert(t, 0, 1, start));
	ck_assert_ptr_nonnull(insert(t, 0, 2, start));
	/* 300 ms later the clock has wrapped: not idle yet. */
	ck_assert_uint_eq(sl_flow_expire(t, 0, start + 300, IDLE, 256), 0);
	ck_assert_ptr_nonnull(lookup(t, 0, 1, start + 300)); /* refresh across the wrap */
	ck_assert_uint_eq(sl_flow_expire(t, 0, start + IDLE + 1, IDLE, 256), 1);
	ck_assert_ptr_nonnull(lookup(t, 0, 1, start + IDLE + 1));
	ck_assert_ptr_null(lookup(t, 0, 2, start + IDLE + 1));
	/* A reader whose clock is ahead of the sweeper's does not look idle. */
	ck_assert_uint_eq(sl_flow_expire(t, 0, start + 300, IDLE, 256), 0);
	destroy(t);
}
END_TEST

/* ---- concurrent reader --------------------------------------------------- */

struct reader_args {
	struct sl_flow_table *t;
	unsigned qsbr_id;
	uint32_t current; /* atomic: key the writer is inserting */
	bool stop;        /* atomic */
	uint64_t hits, lookups, wrong;
};

#define RACE_STRIDE 7u

/*
 * From another thread, looks up the key the writer is inserting right now
 * (the window where an unpublished line could leak) and the one before it
 * (normally present): every hit must carry its own key's value, never the
 * previous occupant's of that position.
 */
static void *reader_main(void *arg)
{
	struct reader_args *a = arg;

	rte_rcu_qsbr_thread_register(qsbr, a->qsbr_id);
	rte_rcu_qsbr_thread_online(qsbr, a->qsbr_id);
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < 64; i++) {
			uint32_t id = __atomic_load_n(&a->current, __ATOMIC_RELAXED) -
				      (i & 1) * RACE_STRIDE;
			struct sl_flow_key k = make_key(id);
			const struct sl_flow_value *v =
				sl_flow_lookup_any(a->t, 0, &k, sl_flow_hash(&k), 0);

			__atomic_fetch_add(&a->lookups, 1, __ATOMIC_RELAXED);
			if (v != NULL) {
				__atomic_fetch_add(&a->hits, 1, __ATOMIC_RELAXED);
				__atomic_fetch_add(&a->wrong, v->id != id || v->port != (uint16_t)id,
						   __ATOMIC_RELAXED);
			}
		}
		rte_rcu_qsbr_quiescent(qsbr, a->qsbr_id);
	}
	rte_rcu_qsbr_thread_offline(qsbr, a->qsbr_id);
	rte_rcu_qsbr_thread_unregister(qsbr, a->qsbr_id);
	return NULL;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * EAL pinned this thread to lcore 0 and a new thread inherits that; the
 * reader must run on another CPU to race with the writer for real.
 */
static int start_unpinned(pthread_t *th, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	cpu_set_t all;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&all);
	for (long c = 0; c < ncpu && c < CPU_SETSIZE; c++)
		CPU_SET((int)c, &all);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(all), &all);
	int rc = pthread_create(th, &attr, fn, arg);

	pthread_attr_destroy(&attr);
	return rc;
}

START_TEST(concurrent_reader_never_sees_foreign_value)
{
	/* The owner churns a small table (insert, expire, reuse positions) under a reader. */
	enum { CAP = 512, SPACE = 4096 };
	struct sl_flow_table *t = create("race", CAP, 1);
	struct reader_args a = {.t = t, .qsbr_id = 1};
	pthread_t th;
	struct timespec t0;
	uint32_t now = 0, next = RACE_STRIDE, inserted = 0;

	ck_assert_int_eq(start_unpinned(&th, reader_main, &a), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* At least 1 s, and on a loaded machine until the reader has really
	 * raced (it may not be scheduled at once); bounded at 10 s. */
	while (seconds_since(&t0) < 1.0 ||
	       (__atomic_load_n(&a.hits, __ATOMIC_RELAXED) < 1000 && seconds_since(&t0) < 10.0)) {
		for (int i = 0; i < 256; i++, next = next % SPACE + RACE_STRIDE) {
			__atomic_store_n(&a.current, next, __ATOMIC_RELAXED);
			inserted += insert(t, 0, next, now) != NULL;
		}
		now += 10;
		sl_flow_expire(t, 0, now, 5, CAP);
		rte_rcu_qsbr_quiescent(qsbr, MAIN_READER);
	}
	__atomic_store_n(&a.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	printf("flow race: %u inserts, reader %lu lookups %lu hits %lu wrong\n", inserted,
	       (unsigned long)a.lookups, (unsigned long)a.hits, (unsigned long)a.wrong);
	ck_assert_uint_gt(inserted, CAP);
	ck_assert_uint_gt(a.hits, 0);
	ck_assert_uint_eq(a.wrong, 0);
	destroy(t);
}
END_TEST

static Suite *flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *basic = tcase_create("basic");
	TCase *capacity = tcase_create("capacity");
	TCase *expiry = tcase_create("expiry");
	TCase *concurrency = tcase_create("concurrency");

	tcase_add_test(basic, insert_lookup_miss);
	tcase_add_test(basic, burst_mixed_hits_and_misses);
	tcase_add_test(basic, lookup_any_searches_every_shard);
	tcase_add_test(basic, lookup_others_skips_only_its_own_shard);
	tcase_add_test(basic, zero_padding_is_part_of_the_key);
	tcase_add_test(basic, inline_hash_is_rte_hash_crc);
	tcase_add_test(basic, create_rejects_bad_params);
	tcase_add_test(capacity, exactly_capacity_fits_power_of_two);
	tcase_add_test(capacity, exactly_capacity_fits_other_sizes);
	tcase_add_test(capacity, full_shard_recovers_after_expiry_and_grace_period);
	tcase_add_test(expiry, expiry_respects_idle_time_and_refresh);
	tcase_add_test(expiry, expiry_is_budgeted_and_resumes);
	tcase_add_test(expiry, expiry_survives_clock_wrap);
	tcase_add_test(concurrency, concurrent_reader_never_sees_foreign_value);
	tcase_set_timeout(capacity, 120);
	tcase_set_timeout(concurrency, 60);
	suite_add_tcase(s, basic);
	suite_add_tcase(s, capacity);
	suite_add_tcase(s, expiry);
	suite_add_tcase(s, concurrency);
	return s;
}

static int start_eal(void)
{
	char *argv[] = {
		"test_flow", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
		"--file-prefix", "test_flow", "-l", "0", "--log-level=error", NULL,
	};

	return rte_eal_init((int)RTE_DIM(argv) - 1, argv);
}

/* One QSBR variable for all tests; this thread is reader MAIN_READER. */
static int start_qsbr(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(MAX_READERS);

	qsbr = rte_zmalloc("test_flow_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, MAX_READERS) != 0)
		return -1;
	rte_rcu_qsbr_thread_register(qsbr, MAIN_READER);
	rte_rcu_qsbr_thread_online(qsbr, MAIN_READER);
	return 0;
}

int main(void)
{
	if (start_eal() < 0 || start_qsbr() < 0) {
		fprintf(stderr, "test_flow: cannot start EAL: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(flow_suite());

	/* EAL threads and memory do not belong in forked children. */
	srunner_set_fork_status(sr, CK_NOFORK);

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);

	srunner_free(sr);
	rte_eal_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
