/* Unit tests for the weighted Maglev table and sl_hash64. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maglev/maglev.h"

#define M SL_MAGLEV_DEFAULT_SIZE
#define MAX_DIPS 1000
#define SEED 0x5eed5eed12345678ull

/*
 * Collateral movement bounds for removing one DIP (fraction of the slots
 * the removed DIP did not hold). Measured over 4 seeds x 5 removed DIPs:
 * 10 DIPs mean 0.26% worst 0.34%, 100 DIPs mean 0.55% worst 0.58%,
 * 1000 DIPs mean 0.58% worst 0.65% (docs/maglev.md); the bounds leave
 * ~1.5x headroom.
 */
#define REMOVE10_MEAN 0.004
#define REMOVE10_WORST 0.005
#define REMOVE100_MEAN 0.008
#define REMOVE100_WORST 0.009
#define REMOVE1000_MEAN 0.009
#define REMOVE1000_WORST 0.010

/* sl_hash64 outputs, cross-checked against an independent Python model. */
#define HASH_KAT_EMPTY 0x568a9b0b1a2c05ecull
#define HASH_KAT_3 0x53e00d8a6ceedbeaull
#define HASH_KAT_8 0xfe5ee12dd52e98beull
#define HASH_KAT_36 0xf723bd287c76eeadull

/* A DIP identity as the mux would key it: address, port, host. */
struct dip_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t host[6];
};

/* Keys for up to a VIP's most DIPs (the sizing tests); other tests use MAX_DIPS. */
#define KEYS 4096
static struct dip_key keys[KEYS];

static void make_keys(void)
{
	for (unsigned i = 0; i < KEYS; i++) {
		memset(&keys[i], 0, sizeof(keys[i]));
		keys[i].addr[0] = 10;
		keys[i].addr[1] = (uint8_t)(i >> 16);
		keys[i].addr[2] = (uint8_t)(i >> 8);
		keys[i].addr[3] = (uint8_t)i;
		keys[i].port = 8080;
		keys[i].host[5] = (uint8_t)(i % 7);
	}
}

/* Backend i of the result uses key key_ids[i] with weight weights[i] (NULL = all 1). */
static void make_backends(struct sl_maglev_backend *b, const unsigned *key_ids,
			  const uint32_t *weights, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (struct sl_maglev_backend){
			.key = &keys[key_ids ? key_ids[i] : i],
			.key_len = sizeof(struct dip_key),
			.weight = weights ? weights[i] : 1,
		};
}

static struct sl_maglev *build(const struct sl_maglev_backend *b, unsigned n, uint32_t size,
			       uint64_t seed)
{
	struct sl_maglev *m = sl_maglev_build(b, n, size, seed);

	ck_assert_msg(m != NULL, "build failed: errno %d", errno);
	ck_assert_uint_eq(m->size, size);
	ck_assert_uint_eq(m->nb_backends, n);
	return m;
}

/*
 * Loops over slots assert once at the end: in fork mode every passing
 * ck_assert also reports its location to the parent, too slow per slot.
 */
static void count_slots(const struct sl_maglev *m, uint32_t *count, unsigned n)
{
	uint32_t invalid = 0;

	memset(count, 0, n * sizeof(*count));
	for (uint32_t s = 0; s < m->size; s++) {
		if (sl_maglev_slot(m, s) < n)
			count[sl_maglev_slot(m, s)]++;
		else
			invalid++;
	}
	ck_assert_uint_eq(invalid, 0);
}

static uint32_t slots_equal_to(const struct sl_maglev *m, uint32_t backend)
{
	uint32_t n = 0;

	for (uint32_t s = 0; s < m->size; s++)
		n += sl_maglev_slot(m, s) == backend;
	return n;
}

/* Key id held by each slot, through the backend array's key_ids mapping. */
static void slots_to_key_ids(const struct sl_maglev *m, const unsigned *key_ids, unsigned *out)
{
	for (uint32_t s = 0; s < m->size; s++)
		out[s] = sl_maglev_slot(m, s) == SL_MAGLEV_NO_BACKEND ? UINT32_MAX
								      : key_ids[sl_maglev_slot(m, s)];
}

static void identity_ids(unsigned *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ids[i] = i;
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* ---- (1) balance ------------------------------------------------------ */

START_TEST(equal_weights_balance_within_one_percent)
{
	static struct sl_maglev_backend b[100];
	uint32_t count[100], lo = UINT32_MAX, hi = 0;

	make_backends(b, NULL, NULL, 100);
	struct sl_maglev *m = build(b, 100, M, SEED);

	count_slots(m, count, 100);
	for (unsigned i = 0; i < 100; i++) {
		lo = count[i] < lo ? count[i] : lo;
		hi = count[i] > hi ? count[i] : hi;
	}
	double spread = (double)(hi - lo) / ((double)M / 100);
	printf("maglev balance: 100 DIPs, %u slots: min %u max %u (max-min)/mean %.4f%%\n", M, lo,
	       hi, spread * 100);
	ck_assert_double_le(spread, 0.01);
	free(m);
}
END_TEST

START_TEST(uniform_weight_scale_gives_same_table)
{
	static struct sl_maglev_backend b1[50], b7[50];
	uint32_t w7[50];

	for (unsigned i = 0; i < 50; i++)
		w7[i] = 7;
	make_backends(b1, NULL, NULL, 50);
	make_backends(b7, NULL, w7, 50);
	struct sl_maglev *m1 = build(b1, 50, M, SEED), *m7 = build(b7, 50, M, SEED);

	ck_assert_int_eq(memcmp(m1->slot, m7->slot, M * sizeof(m1->slot[0])), 0);
	free(m1);
	free(m7);
}
END_TEST

/* ---- (2) weights ------------------------------------------------------ */

/*
 * Every backend's share is within 1% (relative) of weight / total weight,
 * or within one slot for shares under 100 slots, where 1% is below the
 * table's granularity.
 */
/* Build over keys 0..n-1 with these weights, count each backend's slots;
 * returns the total weight. */
static uint64_t build_and_count(const uint32_t *weights, unsigned n, uint32_t size,
				uint32_t *count)
{
	static struct sl_maglev_backend b[KEYS];
	uint64_t total = 0;

	for (unsigned i = 0; i < n; i++)
		total += weights[i];
	make_backends(b, NULL, weights, n);
	struct sl_maglev *m = build(b, n, size, SEED);

	count_slots(m, count, n);
	free(m);
	return total;
}

static void check_weighted_shares(const uint32_t *weights, unsigned n, uint32_t size)
{
	static uint32_t count[MAX_DIPS];
	uint64_t total = build_and_count(weights, n, size, count);
	double worst = 0;

	for (unsigned i = 0; i < n; i++) {
		double expect = (double)size * weights[i] / (double)total;
		double off = count[i] > expect ? count[i] - expect : expect - count[i];
		double allowed = expect * 0.01 > 1.0 ? expect * 0.01 : 1.0;

		worst = off / expect > worst ? off / expect : worst;
		ck_assert_msg(off <= allowed,
			      "backend %u weight %u: %u slots, expected %.1f", i, weights[i],
			      count[i], expect);
	}
	printf("maglev weights: %u backends, worst relative share error %.4f%%\n", n, worst * 100);
}

START_TEST(weights_1_2_3_4)
{
	const uint32_t w[] = {1, 2, 3, 4};

	check_weighted_shares(w, 4, M);
}
END_TEST

START_TEST(weights_100_and_50)
{
	uint32_t w[100];

	for (unsigned i = 0; i < 100; i++)
		w[i] = i % 2 ? 100 : 50;
	check_weighted_shares(w, 100, M);
}
END_TEST

START_TEST(weights_mixed_wide_range)
{
	/* Shares from 0.1% to 3% of the table, the smallest about 70 slots. */
	uint32_t w[60];

	for (unsigned i = 0; i < 60; i++)
		w[i] = 10 + (i * 37) % 300;
	check_weighted_shares(w, 60, M);
}
END_TEST

START_TEST(zero_weight_takes_nothing_and_equals_removal)
{
	static struct sl_maglev_backend with[10], without[9];
	uint32_t w[10] = {1, 1, 1, 0, 1, 1, 1, 1, 1, 1};
	unsigned ids_with[10], ids_without[9];
	static unsigned a[M], c[M];

	identity_ids(ids_with, 10);
	for (unsigned i = 0, j = 0; i < 10; i++)
		if (i != 3)
			ids_without[j++] = i;
	make_backends(with, ids_with, w, 10);
	make_backends(without, ids_without, NULL, 9);
	struct sl_maglev *m1 = build(with, 10, M, SEED), *m2 = build(without, 9, M, SEED);

	slots_to_key_ids(m1, ids_with, a);
	slots_to_key_ids(m2, ids_without, c);
	ck_assert_uint_eq(slots_equal_to(m1, 3), 0);
	ck_assert_int_eq(memcmp(a, c, sizeof(a)), 0);
	free(m1);
	free(m2);
}
END_TEST

START_TEST(all_zero_weights_give_no_backend)
{
	static struct sl_maglev_backend b[5];
	uint32_t w[5] = {0, 0, 0, 0, 0};

	make_backends(b, NULL, w, 5);
	struct sl_maglev *m = build(b, 5, 7, SEED);

	ck_assert_uint_eq(slots_equal_to(m, SL_MAGLEV_NO_BACKEND), 7);
	free(m);
}
END_TEST

/* ---- (3) determinism -------------------------------------------------- */

START_TEST(same_inputs_same_table)
{
	static struct sl_maglev_backend b[100];

	make_backends(b, NULL, NULL, 100);
	struct sl_maglev *m1 = build(b, 100, M, SEED), *m2 = build(b, 100, M, SEED);

	ck_assert_int_eq(memcmp(m1->slot, m2->slot, M * sizeof(m1->slot[0])), 0);
	free(m1);
	free(m2);
}
END_TEST

START_TEST(different_seed_different_table)
{
	static struct sl_maglev_backend b[100];
	uint32_t differ = 0;

	make_backends(b, NULL, NULL, 100);
	struct sl_maglev *m1 = build(b, 100, M, SEED), *m2 = build(b, 100, M, SEED + 1);

	for (uint32_t s = 0; s < M; s++)
		differ += m1->slot[s] != m2->slot[s];
	/* Independent tables agree on about 1/100 of the slots. */
	ck_assert_uint_gt(differ, M * 95 / 100);
	free(m1);
	free(m2);
}
END_TEST

/* Fisher-Yates with a fixed LCG so the permutation is reproducible. */
static void shuffle(unsigned *ids, unsigned n, uint64_t state)
{
	for (unsigned i = n - 1; i > 0; i--) {
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		unsigned j = (unsigned)((state >> 33) % (i + 1));
		unsigned t = ids[i];

		ids[i] = ids[j];
		ids[j] = t;
	}
}

START_TEST(input_order_does_not_matter)
{
	static struct sl_maglev_backend b1[200], b2[200];
	static unsigned ids1[200], ids2[200], a[M], c[M];
	uint32_t w1[200], w2[200];

	identity_ids(ids1, 200);
	identity_ids(ids2, 200);
	shuffle(ids2, 200, 42);
	for (unsigned i = 0; i < 200; i++) {
		w1[i] = 1 + ids1[i] % 5; /* weight follows the key, not the position */
		w2[i] = 1 + ids2[i] % 5;
	}
	make_backends(b1, ids1, w1, 200);
	make_backends(b2, ids2, w2, 200);
	struct sl_maglev *m1 = build(b1, 200, M, SEED), *m2 = build(b2, 200, M, SEED);

	slots_to_key_ids(m1, ids1, a);
	slots_to_key_ids(m2, ids2, c);
	ck_assert_int_eq(memcmp(a, c, sizeof(a)), 0);
	free(m1);
	free(m2);
}
END_TEST

/* ---- (4) removal ------------------------------------------------------ */

/*
 * Remove key `gone` from n DIPs. Every slot it held must move to a live DIP;
 * returns the fraction of the other slots that moved anyway (collateral).
 */
static double removal_collateral(unsigned n, unsigned gone, uint64_t seed, uint32_t size)
{
	static struct sl_maglev_backend before_b[MAX_DIPS], after_b[MAX_DIPS];
	static unsigned ids_before[MAX_DIPS], ids_after[MAX_DIPS], before[M], after[M];
	uint32_t held = 0, moved_other = 0, to_gone = 0, unassigned = 0;

	identity_ids(ids_before, n);
	for (unsigned i = 0, j = 0; i < n; i++)
		if (i != gone)
			ids_after[j++] = i;
	make_backends(before_b, ids_before, NULL, n);
	make_backends(after_b, ids_after, NULL, n - 1);
	struct sl_maglev *m1 = build(before_b, n, size, seed);
	struct sl_maglev *m2 = build(after_b, n - 1, size, seed);

	slots_to_key_ids(m1, ids_before, before);
	slots_to_key_ids(m2, ids_after, after);
	for (uint32_t s = 0; s < size; s++) {
		to_gone += after[s] == gone;
		unassigned += after[s] >= n;
		if (before[s] == gone)
			held++;
		else
			moved_other += before[s] != after[s];
	}
	ck_assert_uint_eq(to_gone, 0);
	ck_assert_uint_eq(unassigned, 0);
	ck_assert_uint_gt(held, 0);
	free(m1);
	free(m2);
	return (double)moved_other / (double)(size - held);
}

/*
 * Collateral over several removed DIPs and seeds. Bounds are about 1.5x the
 * worst value measured (docs/maglev.md): far below the ~50% a rebuilt
 * (non-consistent) table would move, loose enough not to be seed-fragile.
 */
static void check_removal(unsigned n, double mean_bound, double worst_bound)
{
	double sum = 0, worst = 0;
	unsigned runs = 0;

	for (uint64_t seed = 1; seed <= 4; seed++) {
		for (unsigned gone = 0; gone < n; gone += (n + 4) / 5) {
			double c = removal_collateral(n, gone, seed * SEED, M);

			sum += c;
			worst = c > worst ? c : worst;
			runs++;
		}
	}
	printf("maglev removal: %u DIPs, %u runs: collateral mean %.3f%% worst %.3f%% of other slots\n",
	       n, runs, 100 * sum / runs, 100 * worst);
	ck_assert_double_le(sum / runs, mean_bound);
	ck_assert_double_le(worst, worst_bound);
}

START_TEST(removal_of_one_in_10)
{
	check_removal(10, REMOVE10_MEAN, REMOVE10_WORST);
}
END_TEST

START_TEST(removal_of_one_in_100)
{
	check_removal(100, REMOVE100_MEAN, REMOVE100_WORST);
}
END_TEST

START_TEST(removal_of_one_in_1000)
{
	check_removal(1000, REMOVE1000_MEAN, REMOVE1000_WORST);
}
END_TEST

/* ---- (5) size by DIP count (sl_maglev_size_for) ------------------------ */

START_TEST(size_rule_is_the_smallest_rung)
{
	uint32_t prev = 0, below = 0; /* the rung before the current one */
	unsigned bad = 0;

	for (uint32_t n = 0; n <= 10001; n++) {
		uint32_t size = sl_maglev_size_for(n, SL_MAGLEV_AUTO);

		if (size != prev) {
			below = prev;
			prev = size;
		}
		/* prime, more slots than backends, >= 100 per backend (up to
		 * 10000), and the rung below would have too few */
		bad += !sl_maglev_is_prime(size) || size <= n || size > SL_MAGLEV_MAX_SIZE;
		bad += n <= 10000 && size < 100 * n;
		bad += below != 0 && below >= 100 * n;
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(sl_maglev_size_for(0, SL_MAGLEV_AUTO), 251);
	ck_assert_uint_eq(sl_maglev_size_for(8, SL_MAGLEV_AUTO), 1021);
	ck_assert_uint_eq(sl_maglev_size_for(4096, SL_MAGLEV_AUTO), 524287);
	ck_assert_uint_eq(sl_maglev_size_for(20000, SL_MAGLEV_AUTO), SL_MAGLEV_MAX_SIZE);
	/* an explicit size wins, whatever the count */
	ck_assert_uint_eq(sl_maglev_size_for(8, 65537), 65537);
	ck_assert_uint_eq(sl_maglev_size_for(4096, 251), 251);
}
END_TEST

/* Worst distance, in slots, of any backend's slot count from its target
 * M*w/sum(w), with the table sized by the rule. */
static double worst_slot_error(unsigned n, const uint32_t *weights, uint32_t *size)
{
	static uint32_t count[KEYS];
	double worst = 0;

	*size = sl_maglev_size_for(n, SL_MAGLEV_AUTO);
	uint64_t total = build_and_count(weights, n, *size, count);

	for (unsigned i = 0; i < n; i++) {
		double expect = (double)*size * weights[i] / (double)total;
		double off = count[i] > expect ? count[i] - expect : expect - count[i];

		worst = off > worst ? off : worst;
	}
	return worst;
}

/* DIP counts at both edges of rungs (100 n just below and above a prime). */
static const unsigned rule_counts[] = {1,   2,   3,   5,   8,    10,   11,   64,   100,
				       163, 164, 327, 655, 656, 1000, 1310, 2621, 4096};
#define NB_RULE_COUNTS (sizeof(rule_counts) / sizeof(rule_counts[0]))

START_TEST(auto_size_equal_weights_within_one_percent)
{
	static uint32_t w[KEYS];
	double worst = 0;

	for (unsigned i = 0; i < KEYS; i++)
		w[i] = 100;
	for (size_t c = 0; c < NB_RULE_COUNTS; c++) {
		uint32_t size;
		double off = worst_slot_error(rule_counts[c], w, &size);
		double rel = off / ((double)size / rule_counts[c]); /* of the fair share */

		worst = rel > worst ? rel : worst;
	}
	printf("maglev auto size, equal weights: worst share error %.4f%% (1..4096 DIPs)\n",
	       worst * 100);
	ck_assert_double_le(worst, 0.01);
}
END_TEST

/* Weights 1 and 2 alternating; a spread of 1..64. */
static void weight_pattern(unsigned pattern, uint32_t *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		w[i] = pattern == 0 ? 1 + i % 2 : 1 + (i * 37) % 64;
}

/*
 * With unequal weights the credit scheme leaves each backend within two
 * slots of its target (docs/maglev.md), which the rule's >= 100 slots per
 * backend make <= 2 % of the mean share.
 */
START_TEST(auto_size_weighted_within_two_slots)
{
	static uint32_t w[KEYS];
	double worst = 0, worst_rel = 0;

	for (unsigned p = 0; p < 2; p++) {
		for (size_t c = 0; c < NB_RULE_COUNTS; c++) {
			uint32_t size;

			weight_pattern(p, w, rule_counts[c]);
			double off = worst_slot_error(rule_counts[c], w, &size);
			double rel = off / ((double)size / rule_counts[c]);

			worst = off > worst ? off : worst;
			worst_rel = rel > worst_rel ? rel : worst_rel;
		}
	}
	printf("maglev auto size, weighted: worst %.2f slots = %.3f%% of the mean share\n", worst,
	       worst_rel * 100);
	ck_assert_double_le(worst, 2.0);
}
END_TEST

/*
 * 8 and 7 DIPs share a 1021-slot table, so removing one is a consistent
 * change. Collateral is larger than in 65537 slots (fewer slots per DIP;
 * docs/maglev.md): measured mean 2.6 %, worst 3.8 % over these runs;
 * the bounds leave ~1.5x.
 */
START_TEST(auto_size_change_within_a_rung_is_consistent)
{
	uint32_t size = sl_maglev_size_for(8, SL_MAGLEV_AUTO);
	double sum = 0, worst = 0;
	unsigned runs = 0;

	ck_assert_uint_eq(size, sl_maglev_size_for(7, SL_MAGLEV_AUTO));
	for (uint64_t seed = 1; seed <= 4; seed++) {
		for (unsigned gone = 0; gone < 8; gone += 2) {
			double c = removal_collateral(8, gone, seed * SEED, size);

			sum += c;
			worst = c > worst ? c : worst;
			runs++;
		}
	}
	printf("maglev auto size: removing 1 of 8 DIPs (%u slots), %u runs: collateral mean "
	       "%.3f%% worst %.3f%%\n", size, runs, 100 * sum / runs, 100 * worst);
	ck_assert_double_le(sum / runs, 0.04);
	ck_assert_double_le(worst, 0.06);
}
END_TEST

/* ---- (6) edge cases --------------------------------------------------- */

static void expect_einval(const struct sl_maglev_backend *b, uint32_t nb, uint32_t size)
{
	errno = 0;
	ck_assert_ptr_null(sl_maglev_build(b, nb, size, SEED));
	ck_assert_int_eq(errno, EINVAL);
}

START_TEST(rejects_bad_sizes)
{
	static struct sl_maglev_backend b[10];

	make_backends(b, NULL, NULL, 10);
	expect_einval(b, 10, 65536);                   /* not prime */
	expect_einval(b, 10, 1);                       /* not prime */
	expect_einval(b, 10, 7);                       /* prime but <= nb */
	expect_einval(b, 10, 0);
	expect_einval(b, 10, 1000033);                 /* prime but > SL_MAGLEV_MAX_SIZE */
	ck_assert(sl_maglev_is_prime(SL_MAGLEV_MAX_SIZE));
	struct sl_maglev *m = build(b, 10, 11, SEED); /* smallest valid */
	free(m);
}
END_TEST

START_TEST(rejects_bad_backends)
{
	static struct sl_maglev_backend b[3];

	make_backends(b, NULL, NULL, 3);
	b[1].weight = SL_MAGLEV_MAX_WEIGHT + 1;
	expect_einval(b, 3, 13);
	make_backends(b, NULL, NULL, 3);
	b[2].key = b[0].key; /* duplicate identity */
	expect_einval(b, 3, 13);
	make_backends(b, NULL, NULL, 3);
	b[1].key = NULL;
	expect_einval(b, 3, 13);
	expect_einval(NULL, 3, 13);
}
END_TEST

START_TEST(no_backends_gives_empty_table)
{
	struct sl_maglev *m = build(NULL, 0, 13, SEED);

	ck_assert_uint_eq(slots_equal_to(m, SL_MAGLEV_NO_BACKEND), 13);
	ck_assert_uint_eq(sl_maglev_lookup(m, 12345), SL_MAGLEV_NO_BACKEND);
	free(m);
}
END_TEST

START_TEST(single_backend_takes_every_slot)
{
	static struct sl_maglev_backend b[1];

	make_backends(b, NULL, NULL, 1);
	struct sl_maglev *m = build(b, 1, M, SEED);

	ck_assert_uint_eq(slots_equal_to(m, 0), M);
	free(m);
}
END_TEST

START_TEST(primality)
{
	const uint32_t primes[] = {2, 3, 5, 7, 11, 13, 65537, 1000003, 4294967291u};
	const uint32_t composites[] = {0, 1, 4, 9, 25, 49, 65535, 65536, 1000001, 4294967295u};

	for (size_t i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		ck_assert_msg(sl_maglev_is_prime(primes[i]), "%u", primes[i]);
	for (size_t i = 0; i < sizeof(composites) / sizeof(composites[0]); i++)
		ck_assert_msg(!sl_maglev_is_prime(composites[i]), "%u", composites[i]);
}
END_TEST

/* ---- speed -------------------------------------------------------------- */

/* Builds must stay cheap enough to redo on every configuration change. */
static double build_ms(const uint32_t *weights, unsigned n, uint32_t size)
{
	static struct sl_maglev_backend b[MAX_DIPS];
	struct timespec t0, t1;

	make_backends(b, NULL, weights, n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct sl_maglev *m = build(b, n, size, SEED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(m);
	return elapsed_ms(&t0, &t1);
}

START_TEST(build_is_fast)
{
	static uint32_t skewed[MAX_DIPS];

	for (unsigned i = 0; i < MAX_DIPS; i++)
		skewed[i] = i == 0 ? SL_MAGLEV_MAX_WEIGHT : 1;
	double even = build_ms(NULL, MAX_DIPS, M);
	double skew = build_ms(skewed, MAX_DIPS, M);
	double big = build_ms(NULL, MAX_DIPS, SL_MAGLEV_MAX_SIZE);

	printf("maglev build: 1000 DIPs x %u slots %.2f ms (weights 65535,1,1.. %.2f ms); "
	       "x %u slots %.2f ms\n", M, even, skew, SL_MAGLEV_MAX_SIZE, big);
	/* Generous: sanitizer builds run several times slower than release. */
	ck_assert_double_lt(even, 250);
	ck_assert_double_lt(skew, 250);
}
END_TEST

/* ---- sl_hash64 ---------------------------------------------------------- */

START_TEST(hash_known_answers)
{
	/* Pinned outputs: every mux of every version must hash alike. */
	const uint8_t bytes[] = "0123456789abcdefghijklmnopqrstuvwxyz";

	ck_assert_uint_eq(sl_hash64("", 0, 0), HASH_KAT_EMPTY);
	ck_assert_uint_eq(sl_hash64(bytes, 3, 0), HASH_KAT_3);
	ck_assert_uint_eq(sl_hash64(bytes, 8, 1), HASH_KAT_8);
	ck_assert_uint_eq(sl_hash64(bytes, 36, 0xdeadbeefull), HASH_KAT_36);
}
END_TEST

START_TEST(hash_length_and_seed_matter)
{
	const uint8_t zeros[16] = {0};

	for (size_t a = 0; a < 16; a++) {
		for (size_t b = a + 1; b <= 16; b++)
			ck_assert_uint_ne(sl_hash64(zeros, a, 7), sl_hash64(zeros, b, 7));
		ck_assert_uint_ne(sl_hash64(zeros, a, 7), sl_hash64(zeros, a, 8));
	}
}
END_TEST

START_TEST(hash_avalanche)
{
	/* Flipping any one input bit flips each output bit with probability ~1/2. */
	uint8_t buf[40];
	uint64_t state = 1;
	unsigned flips[64] = {0}, trials = 0;

	for (unsigned round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			state = state * 6364136223846793005ull + 1442695040888963407ull;
			buf[i] = (uint8_t)(state >> 56);
		}
		uint64_t h = sl_hash64(buf, sizeof(buf), 99);

		for (unsigned bit = 0; bit < 8 * sizeof(buf); bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			uint64_t d = h ^ sl_hash64(buf, sizeof(buf), 99);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			for (unsigned o = 0; o < 64; o++)
				flips[o] += (d >> o) & 1;
			trials++;
		}
	}
	for (unsigned o = 0; o < 64; o++) {
		double p = (double)flips[o] / trials;
		ck_assert_msg(p > 0.45 && p < 0.55, "output bit %u flips with p=%.3f", o, p);
	}
}
END_TEST

static Suite *maglev_suite(void)
{
	Suite *s = suite_create("maglev");
	TCase *balance = tcase_create("balance");
	TCase *determinism = tcase_create("determinism");
	TCase *removal = tcase_create("removal");
	TCase *edges = tcase_create("edges");
	TCase *hash = tcase_create("hash");
	TCase *sizing = tcase_create("sizing");

	tcase_add_test(balance, equal_weights_balance_within_one_percent);
	tcase_add_test(balance, uniform_weight_scale_gives_same_table);
	tcase_add_test(balance, weights_1_2_3_4);
	tcase_add_test(balance, weights_100_and_50);
	tcase_add_test(balance, weights_mixed_wide_range);
	tcase_add_test(balance, zero_weight_takes_nothing_and_equals_removal);
	tcase_add_test(balance, all_zero_weights_give_no_backend);
	tcase_add_test(determinism, same_inputs_same_table);
	tcase_add_test(determinism, different_seed_different_table);
	tcase_add_test(determinism, input_order_does_not_matter);
	tcase_add_test(removal, removal_of_one_in_10);
	tcase_add_test(removal, removal_of_one_in_100);
	tcase_add_test(removal, removal_of_one_in_1000);
	tcase_set_timeout(removal, 120);
	tcase_add_test(edges, rejects_bad_sizes);
	tcase_add_test(edges, rejects_bad_backends);
	tcase_add_test(edges, no_backends_gives_empty_table);
	tcase_add_test(edges, single_backend_takes_every_slot);
	tcase_add_test(edges, primality);
	tcase_add_test(edges, build_is_fast);
	tcase_add_test(hash, hash_known_answers);
	tcase_add_test(hash, hash_length_and_seed_matter);
	tcase_add_test(hash, hash_avalanche);
	suite_add_tcase(s, balance);
	suite_add_tcase(s, determinism);
	suite_add_tcase(s, removal);
	suite_add_tcase(s, edges);
	suite_add_tcase(s, hash);
	tcase_add_test(sizing, size_rule_is_the_smallest_rung);
	tcase_add_test(sizing, auto_size_equal_weights_within_one_percent);
	tcase_add_test(sizing, auto_size_weighted_within_two_slots);
	tcase_add_test(sizing, auto_size_change_within_a_rung_is_consistent);
	tcase_set_timeout(sizing, 120);
	suite_add_tcase(s, sizing);
	return s;
}

int main(void)
{
	make_keys();
	SRunner *sr = srunner_create(maglev_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);

	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
