/*
 * Weighted Maglev table (Eisenbud et al., NSDI 2016, section 3.4).
 *
 * Each backend walks its own permutation of the slots,
 *   slot_j = (offset + j * skip) mod M,  offset = h1 mod M,  skip = h2 mod (M-1) + 1,
 * which visits every slot because M is prime. sl_maglev_size_for() picks M
 * from the backend count (docs/maglev.md). Backends take turns claiming
 * the next free slot of their permutation until the table is full.
 *
 * Weights use a credit scheme: every round each backend adds its weight to
 * a credit and claims one slot whenever the credit reaches the largest
 * weight. The heaviest backend claims once per round, one of half its
 * weight every other round, so shares follow the weights to within about
 * one slot per backend. The k-th claim of a backend with weight w falls in
 * round ceil(k * wmax / w); a min-heap ordered by (round, canonical order)
 * replays exactly that round-robin while skipping rounds in which a light
 * backend would do nothing, so a skewed weight set costs no more than an
 * even one.
 *
 * Turns within a round follow a canonical order (seeded hash of the key,
 * then the key bytes), never the caller's array order, so every mux builds
 * the same table whatever order its configuration lists backends in.
 */
#include "maglev/maglev.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "spec/limits.h"

_Static_assert(SL_MAX_DIPS_PER_VIP <= SL_MAGLEV_MAX_BACKENDS, "every DIP of a VIP fits a slot");
_Static_assert((uint64_t)SL_MAX_DIPS_PER_VIP * SL_MAGLEV_SLOTS_PER_BACKEND <= SL_MAGLEV_MAX_SIZE,
	       "the ladder gives the largest VIP 100 slots per DIP");

/* Seeds that turn one configured seed into independent hash functions. */
#define SEED_OFFSET 0x6f66667365742d31ull /* "offset-1" */
#define SEED_SKIP 0x736b69702d2d2d32ull   /* "skip---2" */
#define SEED_ORDER 0x6f726465722d2d33ull  /* "order--3" */

/* ---- hashing ---------------------------------------------------------- */

/* splitmix64 finaliser (Stafford's "Mix13"): a bijection with full avalanche. */
static uint64_t mix64(uint64_t z)
{
	z ^= z >> 30;
	z *= 0xbf58476d1ce4e5b9ull;
	z ^= z >> 27;
	z *= 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z;
}

/* Little-endian load of n <= 8 bytes, so results do not depend on the host's byte order. */
static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * Each 8-byte chunk is folded in with a full bijective mix, so two inputs
 * of the same length that differ anywhere keep different states to the end
 * (no collisions at equal length); the length is mixed in first so that a
 * zero-padded tail cannot collide with a longer input.
 */
uint64_t sl_hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = mix64(seed ^ mix64((uint64_t)len + 0x9e3779b97f4a7c15ull));

	for (; len >= 8; len -= 8, p += 8)
		h = mix64(h ^ load_le(p, 8));
	if (len > 0)
		h = mix64(h ^ load_le(p, len) ^ 0x8000000000000000ull);
	return mix64(h + 0x9e3779b97f4a7c15ull);
}

/* ---- validation ------------------------------------------------------- */

int sl_maglev_is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	if (n < 4)
		return 1;
	if (n % 2 == 0 || n % 3 == 0)
		return 0;
	for (uint64_t d = 5; d * d <= n; d += 6)
		if (n % d == 0 || n % (d + 2) == 0)
			return 0;
	return 1;
}

/*
 * Table sizes the rule chooses from: primes, each about twice the last, so
 * a VIP has 100 to ~200 slots per backend (the last rung: 100 at 10000).
 * Fixed, because every mux must size a VIP alike; changing it changes
 * every mux's tables and must be done on all at once.
 */
static const uint32_t ladder[] = {251,   509,    1021,   2039,   4093,   8191,   16381,
				  32749, 65521,  131071, 262139, 524287, SL_MAGLEV_MAX_SIZE};

uint32_t sl_maglev_size_for(uint32_t nb, uint32_t fixed_size)
{
	const size_t rungs = sizeof(ladder) / sizeof(ladder[0]);
	uint64_t want = (uint64_t)nb * SL_MAGLEV_SLOTS_PER_BACKEND;

	if (fixed_size != SL_MAGLEV_AUTO)
		return fixed_size;
	for (size_t i = 0; i < rungs; i++)
		if (ladder[i] >= want)
			return ladder[i];
	return ladder[rungs - 1];
}

static bool params_valid(const struct sl_maglev_backend *b, uint32_t nb, uint32_t size)
{
	if (nb > SL_MAGLEV_MAX_BACKENDS)
		return false;
	if (size > SL_MAGLEV_MAX_SIZE || size <= nb || !sl_maglev_is_prime(size))
		return false;
	if (nb > 0 && b == NULL)
		return false;
	for (uint32_t i = 0; i < nb; i++) {
		if (b[i].weight > SL_MAGLEV_MAX_WEIGHT)
			return false;
		if (b[i].key == NULL && b[i].key_len > 0)
			return false;
	}
	return true;
}

/* ---- canonical order -------------------------------------------------- */

struct ordered {
	uint64_t rank; /* seeded hash of the key */
	const struct sl_maglev_backend *b;
	uint32_t index; /* position in the caller's array */
};

static int compare_keys(const struct sl_maglev_backend *x, const struct sl_maglev_backend *y)
{
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = n > 0 ? memcmp(x->key, y->key, n) : 0;

	if (c != 0)
		return c;
	return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static int compare_ordered(const void *pa, const void *pb)
{
	const struct ordered *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return compare_keys(a->b, b->b);
}

/*
 * Sort backends into the canonical order. Fails (EINVAL) on two identical
 * keys: their permutations would coincide and only the caller's order
 * could tell them apart.
 */
static bool canonical_order(const struct sl_maglev_backend *b, uint32_t nb, uint64_t seed,
			    struct ordered *out)
{
	for (uint32_t i = 0; i < nb; i++)
		out[i] = (struct ordered){
			.rank = sl_hash64(b[i].key, b[i].key_len, seed ^ SEED_ORDER),
			.b = &b[i],
			.index = i,
		};
	qsort(out, nb, sizeof(*out), compare_ordered);
	for (uint32_t i = 1; i < nb; i++)
		if (compare_ordered(&out[i - 1], &out[i]) == 0)
			return false;
	return true;
}

/* ---- population ------------------------------------------------------- */

struct walker {
	uint64_t next_round; /* round of this backend's next claim */
	uint32_t order;      /* canonical position: breaks ties within a round */
	uint32_t index;      /* caller's index, written into the table */
	uint32_t pos;        /* current slot of its permutation */
	uint32_t skip;
	uint32_t weight;
	uint32_t claims;     /* slots claimed so far */
};

static bool walker_before(const struct walker *a, const struct walker *b)
{
	if (a->next_round != b->next_round)
		return a->next_round < b->next_round;
	return a->order < b->order;
}

/* Restore the heap property below heap[i]. */
static void sift_down(struct walker **heap, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t least = i, l = 2 * i + 1, r = l + 1;

		if (l < n && walker_before(heap[l], heap[least]))
			least = l;
		if (r < n && walker_before(heap[r], heap[least]))
			least = r;
		if (least == i)
			return;
		struct walker *t = heap[i];
		heap[i] = heap[least];
		heap[least] = t;
		i = least;
	}
}

static void heapify(struct walker **heap, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		sift_down(heap, n, i);
}

/* Round in which a backend makes its k-th claim (k >= 1). */
static uint64_t claim_round(uint64_t k, uint32_t weight, uint32_t wmax)
{
	return (k * wmax + weight - 1) / weight;
}

static void walker_init(struct walker *w, const struct ordered *o, uint32_t order, uint32_t size,
			uint64_t seed, uint32_t wmax)
{
	const struct sl_maglev_backend *b = o->b;

	w->order = order;
	w->index = o->index;
	w->weight = b->weight;
	w->pos = (uint32_t)(sl_hash64(b->key, b->key_len, seed ^ SEED_OFFSET) % size);
	w->skip = (uint32_t)(sl_hash64(b->key, b->key_len, seed ^ SEED_SKIP) % (size - 1)) + 1;
	w->claims = 0;
	w->next_round = claim_round(1, w->weight, wmax);
}

/*
 * Which slots are taken, one bit each: the probes (about M ln M in all)
 * hit random slots, and the bitmap stays in L1/L2 where the slot array
 * (16 times larger) would not.
 */
struct taken {
	uint64_t *bits;
};

static bool slot_taken(const struct taken *t, uint32_t pos)
{
	return (t->bits[pos / 64] >> (pos % 64)) & 1;
}

static void take_slot(struct taken *t, uint32_t pos)
{
	t->bits[pos / 64] |= 1ull << (pos % 64);
}

/* Claim the next free slot on w's permutation; at least one slot is free. */
static void walker_claim(struct walker *w, struct taken *t, uint16_t *slot, uint32_t size,
			 uint32_t wmax)
{
	while (slot_taken(t, w->pos)) {
		w->pos += w->skip;
		if (w->pos >= size)
			w->pos -= size;
	}
	take_slot(t, w->pos);
	slot[w->pos] = (uint16_t)w->index; /* < SL_MAGLEV_MAX_BACKENDS: params_valid() */
	w->claims++;
	w->next_round = claim_round((uint64_t)w->claims + 1, w->weight, wmax);
}

static bool populate(struct sl_maglev *m, struct walker **heap, uint32_t n, uint32_t wmax)
{
	struct taken t = {.bits = calloc((m->size + 63) / 64, sizeof(uint64_t))};

	if (t.bits == NULL)
		return false;
	heapify(heap, n);
	for (uint32_t filled = 0; filled < m->size; filled++) {
		walker_claim(heap[0], &t, m->slot, m->size, wmax);
		sift_down(heap, n, 0);
	}
	free(t.bits);
	return true;
}

static uint32_t max_weight(const struct sl_maglev_backend *b, uint32_t nb)
{
	uint32_t wmax = 0;

	for (uint32_t i = 0; i < nb; i++)
		if (b[i].weight > wmax)
			wmax = b[i].weight;
	return wmax;
}

/* Set up one walker per weighted backend, in canonical order; returns how many. */
static uint32_t init_walkers(const struct ordered *ord, uint32_t nb, uint32_t size, uint64_t seed,
			     uint32_t wmax, struct walker *walkers, struct walker **heap)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < nb; i++) {
		if (ord[i].b->weight == 0)
			continue;
		walker_init(&walkers[n], &ord[i], i, size, seed, wmax);
		heap[n] = &walkers[n];
		n++;
	}
	return n;
}

static struct sl_maglev *table_alloc(uint32_t nb, uint32_t size)
{
	struct sl_maglev *m = malloc(sizeof(*m) + (size_t)size * sizeof(m->slot[0]));

	if (m == NULL)
		return NULL;
	m->size = size;
	m->nb_backends = nb;
	for (uint32_t i = 0; i < size; i++)
		m->slot[i] = SL_MAGLEV_SLOT_NONE;
	return m;
}

/* Fill m from the backends; false (errno set) on duplicate keys or no memory. */
static bool fill_table(struct sl_maglev *m, const struct sl_maglev_backend *b, uint32_t nb,
		       uint64_t seed)
{
	uint32_t wmax = max_weight(b, nb);
	/* One block holds the three scratch arrays; nb >= 1 here. */
	size_t bytes = (size_t)nb * (sizeof(struct ordered) + sizeof(struct walker) +
				      sizeof(struct walker *));
	struct ordered *ord = malloc(bytes);
	bool ok = false;

	if (ord == NULL) {
		errno = ENOMEM;
		return false;
	}
	struct walker *walkers = (struct walker *)(ord + nb);
	struct walker **heap = (struct walker **)(walkers + nb);

	if (!canonical_order(b, nb, seed, ord)) {
		errno = EINVAL;
	} else {
		uint32_t n = init_walkers(ord, nb, m->size, seed, wmax, walkers, heap);

		ok = n == 0 || populate(m, heap, n, wmax);
		if (!ok)
			errno = ENOMEM;
	}
	free(ord);
	return ok;
}

struct sl_maglev *sl_maglev_build(const struct sl_maglev_backend *b, uint32_t nb, uint32_t size,
				  uint64_t seed)
{
	if (!params_valid(b, nb, size)) {
		errno = EINVAL;
		return NULL;
	}
	struct sl_maglev *m = table_alloc(nb, size);

	if (m == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (nb > 0 && !fill_table(m, b, nb, seed)) {
		int saved = errno;

		free(m);
		errno = saved;
		return NULL;
	}
	return m;
}

