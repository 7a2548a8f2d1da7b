/*
 * Flow table: per worker shard, an open-addressing index of 64-byte
 * buckets over a pool of 64-byte {key, value} entries.
 *
 * Layout. A bucket holds seven slots: the keys' 32-bit hashes side by
 * side (compared with the key's in two SSE instructions) and their entry
 * numbers + 1 (0: empty). A key's home bucket is hash & mask;
 * when it is full the insert walks on to the next buckets and counts,
 * in each bucket it passes, one more entry living beyond it ("overflow",
 * as in Folly's F14). A lookup stops at the first bucket whose overflow
 * is zero, so a hit costs one bucket line and one entry line, a miss one
 * bucket line, unless a bucket overflowed. Buckets are at most ~60 % full
 * at capacity (buckets_for), so walks are rare and short.
 *
 * Concurrency (see flow.h): only the owning lcore writes a shard; any
 * thread registered with the table's QSBR variable may read any shard.
 * - Publication. An insert fills the entry, raises the overflow counts on
 *   its walk, writes the slot's hash, then release-stores its entry
 *   number; readers acquire-load numbers. A reader thus never sees a
 *   number before its entry. A hash and a number read at different
 *   moments may belong to different occupants: the key compare decides,
 *   and every entry a reader can reach holds a whole key.
 * - Reuse. An expired entry's slot is cleared at once (the slot may take
 *   another entry), but its number goes to a FIFO with an rte_rcu_qsbr
 *   token and comes back only after every registered reader has reported
 *   a quiescent state, so an entry a reader found stays intact until that
 *   reader's next quiescent state. Entries are never written while
 *   published. Owners must be registered readers too.
 * - Idle time. last_seen[] is refreshed by any reader with relaxed
 *   atomics, written only when it changes so hot flows do not bounce the
 *   cache line between cores every packet. A sweep racing with a refresh
 *   may delete a flow just used; the reader still holds a valid entry.
 *
 * Why not rte_hash (the first version): its lock-free bulk lookup of a
 * 40-byte key, through a compare callback, took ~38 ns per packet with
 * every line in cache (tools/bench mux ablation, docs/flowtable.md); this
 * one reads the same two lines a hit needs and compares inline.
 */
#include "flow/flow.h"

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_memzone.h>
#include <sys/mman.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MIN_CAPACITY 64u
#define MAX_CAPACITY (1u << 24) /* lib/config's flow_capacity bound */
/* The shard's memzone is "SLF_<name>.<shard>"; RTE_MEMZONE_NAMESIZE is 32
 * with the NUL. 19, as with rte_hash before, so configurations stay valid. */
#define SHARD_NAME_MAX 19
#define SLOTS 7

struct flow_entry {
	struct sl_flow_key key;
	struct sl_flow_value value;
};

struct bucket {
	uint32_t hash[SLOTS];  /* meaningful while entry[] says the slot is full */
	uint32_t overflow;     /* entries whose walk passed this bucket; lane 8 of hash[] */
	uint32_t entry[SLOTS]; /* entry number + 1; 0: empty */
	uint32_t pad;
} __rte_aligned(RTE_CACHE_LINE_SIZE);

_Static_assert(sizeof(struct sl_flow_key) == 40, "flow key is hashed as 40 bytes");
_Static_assert(sizeof(struct flow_entry) == RTE_CACHE_LINE_SIZE, "one line per entry");
_Static_assert(sizeof(struct bucket) == RTE_CACHE_LINE_SIZE, "one line per bucket");
_Static_assert(offsetof(struct bucket, overflow) == SLOTS * sizeof(uint32_t), "hash[] and overflow: two SSE loads");

/* Freed entries waiting for a grace period, oldest first (owner only). */
struct retired {
	uint64_t token;
	uint32_t entry;
};

struct flow_shard {
	const struct rte_memzone *mz; /* the buckets; its name keeps shard names unique */
	struct bucket *buckets;
	uint32_t mask;                /* buckets - 1 */
	struct flow_entry *entries;   /* [positions] */
	uint32_t *last_seen;          /* [positions], ms clock, relaxed atomics */
	uint64_t *live;               /* bitmap of published entries; owner only */
	uint32_t *free;               /* stack of free entry numbers; owner only */
	uint32_t nb_free;
	struct retired *retired;      /* FIFO of [positions]; owner only */
	uint32_t retired_head, nb_retired;
	uint32_t positions;           /* = capacity */
	uint32_t cursor;              /* next entry the sweep examines; owner only */
	uint32_t count;               /* live entries; owner writes, anyone reads */
	struct rte_rcu_qsbr *qsbr;
} __rte_cache_aligned;

struct sl_flow_table {
	uint32_t capacity;
	unsigned nb_shards;
	struct flow_shard shard[];
};

_Static_assert(sizeof(struct sl_flow_key) == 5 * sizeof(uint64_t), "sl_flow_hash takes five words");

uint32_t sl_flow_hash_portable(const struct sl_flow_key *k)
{
	return rte_hash_crc(k, sizeof(*k), SL_FLOW_HASH_INIT);
}

/* ---- slots and keys ------------------------------------------------------ */

/* Bit i set: slot i's hash is `hash` (its entry still to be checked). */
static inline unsigned hash_matches(const struct bucket *b, uint32_t hash)
{
#if defined(__SSE2__)
	__m128i want = _mm_set1_epi32((int)hash);
	__m128i lo = _mm_load_si128((const __m128i *)(const void *)&b->hash[0]);
	__m128i hi = _mm_load_si128((const __m128i *)(const void *)&b->hash[4]);
	unsigned m = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, want))) |
		     (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, want))) << 4;
	return m & ((1u << SLOTS) - 1); /* lane 8 is the overflow count */
#else
	unsigned m = 0;
	for (unsigned i = 0; i < SLOTS; i++)
		m |= (unsigned)(__atomic_load_n(&b->hash[i], __ATOMIC_RELAXED) == hash) << i;
	return m;
#endif
}

/* Slot i's entry number, or UINT32_MAX when empty. */
static inline uint32_t slot_entry(const struct bucket *b, unsigned i)
{
	return __atomic_load_n(&b->entry[i], __ATOMIC_ACQUIRE) - 1;
}

static inline bool same_key(const struct sl_flow_key *a, const struct sl_flow_key *b)
{
	const uint64_t *x = (const uint64_t *)(const void *)a, *y = (const uint64_t *)(const void *)b;
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

static inline struct bucket *home(const struct flow_shard *s, uint32_t hash)
{
	return &s->buckets[hash & s->mask];
}

static inline struct bucket *next_bucket(const struct flow_shard *s, const struct bucket *b)
{
	return &s->buckets[(uint32_t)(b - s->buckets + 1) & s->mask];
}

/* ---- per-entry state ----------------------------------------------------- */

static bool is_live(const struct flow_shard *s, uint32_t e)
{
	return (s->live[e / 64] >> (e % 64)) & 1;
}

static void mark_live(struct flow_shard *s, uint32_t e)
{
	s->live[e / 64] |= 1ull << (e % 64);
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
}

static void mark_dead(struct flow_shard *s, uint32_t e)
{
	s->live[e / 64] &= ~(1ull << (e % 64));
	__atomic_store_n(&s->count, s->count - 1, __ATOMIC_RELAXED);
}

static inline void touch(struct flow_shard *s, uint32_t e, uint32_t now)
{
	uint32_t *seen = &s->last_seen[e];

	if (__atomic_load_n(seen, __ATOMIC_RELAXED) != now)
		__atomic_store_n(seen, now, __ATOMIC_RELAXED);
}

/* ---- create / free ------------------------------------------------------- */

static void *zalloc(const char *what, size_t bytes, int socket)
{
	return rte_zmalloc_socket(what, bytes, RTE_CACHE_LINE_SIZE, socket);
}

#define HUGE_2M (2u << 20)

/*
 * The arrays every lookup touches at random (buckets, entries, last-seen
 * times). DPDK's memory is in huge pages when EAL has them; without
 * (--no-huge), it is in 4 KiB pages and a lookup would take a TLB miss
 * per array, so there these come from anonymous memory the kernel may
 * back with transparent huge pages (MADV_HUGEPAGE). Zeroed either way.
 */
static void *hot_zalloc(const char *what, size_t bytes, int socket)
{
	if (rte_eal_has_hugepages())
		return zalloc(what, bytes, socket);
	size_t len = RTE_ALIGN_CEIL(bytes, HUGE_2M);
	uint8_t *raw = mmap(NULL, len + HUGE_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	/* 2 MiB-aligned, so that every part of it can be a huge page */
	uint8_t *p = RTE_PTR_ALIGN_CEIL(raw, HUGE_2M);
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	munmap(p + len, (size_t)(raw + HUGE_2M - p));
	/* Advice only (without THP these stay 4 KiB pages); not for a small
	 * table, whose first touch would then take a whole 2 MiB. */
	if (bytes >= HUGE_2M)
		madvise(p, len, MADV_HUGEPAGE);
	return p;
}

static void hot_free(void *p, size_t bytes)
{
	if (p == NULL)
		return;
	if (rte_eal_has_hugepages())
		rte_free(p);
	else
		munmap(p, RTE_ALIGN_CEIL(bytes, HUGE_2M));
}

/* A power of two with capacity entries filling at most ~60 % of the slots. */
static uint32_t buckets_for(uint32_t capacity)
{
	uint64_t want = ((uint64_t)capacity * 5 / 3 + SLOTS - 1) / SLOTS;
	uint32_t n = 1;

	while (n < want)
		n <<= 1;
	return n;
}

static bool reserve_buckets(struct flow_shard *s, const struct sl_flow_params *p, unsigned shard)
{
	char name[RTE_MEMZONE_NAMESIZE], shard_name[SHARD_NAME_MAX + 2];
	int len = snprintf(shard_name, sizeof(shard_name), "%s.%u", p->name, shard);

	if (len < 0 || len > SHARD_NAME_MAX) {
		rte_errno = ENAMETOOLONG;
		return false;
	}
	snprintf(name, sizeof(name), "SLF_%s", shard_name);
	uint32_t n = buckets_for(p->capacity);
	size_t bytes = (size_t)n * sizeof(struct bucket);
	bool in_zone = rte_eal_has_hugepages(); /* else the zone only holds the name (hot_zalloc) */
	/* Fails with EEXIST on a name in use: shard names are unique per process. */
	s->mz = rte_memzone_reserve_aligned(name, in_zone ? bytes : RTE_CACHE_LINE_SIZE, p->socket_id, 0,
					    RTE_CACHE_LINE_SIZE);
	if (s->mz == NULL)
		return false;
	s->buckets = in_zone ? s->mz->addr : hot_zalloc(name, bytes, p->socket_id);
	if (s->buckets == NULL) {
		rte_errno = ENOMEM;
		return false;
	}
	s->mask = n - 1;
	if (in_zone)
		memset(s->buckets, 0, bytes);
	return true;
}

static bool shard_init(struct flow_shard *s, const struct sl_flow_params *p, unsigned shard)
{
	if (!reserve_buckets(s, p, shard))
		return false;
	s->qsbr = p->qsbr;
	s->positions = p->capacity;
	s->entries = hot_zalloc("sl_flow_entries", (size_t)s->positions * sizeof(*s->entries), p->socket_id);
	s->last_seen = hot_zalloc("sl_flow_seen", (size_t)s->positions * sizeof(uint32_t), p->socket_id);
	s->live = zalloc("sl_flow_live", ((size_t)s->positions + 63) / 64 * sizeof(uint64_t), p->socket_id);
	s->free = zalloc("sl_flow_free", (size_t)s->positions * sizeof(uint32_t), p->socket_id);
	s->retired = zalloc("sl_flow_retired", (size_t)s->positions * sizeof(*s->retired), p->socket_id);
	if (s->entries == NULL || s->last_seen == NULL || s->live == NULL || s->free == NULL ||
	    s->retired == NULL) {
		rte_errno = ENOMEM;
		return false;
	}
	/* Lowest numbers first, so a small table's entries stay together. */
	for (uint32_t e = 0; e < s->positions; e++)
		s->free[e] = s->positions - 1 - e;
	s->nb_free = s->positions;
	return true;
}

static void shard_fini(struct flow_shard *s)
{
	if (!rte_eal_has_hugepages() && s->mz != NULL)
		hot_free(s->buckets, (size_t)(s->mask + 1) * sizeof(struct bucket));
	rte_memzone_free(s->mz);
	hot_free(s->entries, (size_t)s->positions * sizeof(*s->entries));
	hot_free(s->last_seen, (size_t)s->positions * sizeof(uint32_t));
	rte_free(s->live);
	rte_free(s->free);
	rte_free(s->retired);
}

static bool params_valid(const struct sl_flow_params *p)
{
	return p != NULL && p->name != NULL && p->qsbr != NULL && p->nb_shards > 0 &&
	       p->capacity >= MIN_CAPACITY && p->capacity <= MAX_CAPACITY;
}

struct sl_flow_table *sl_flow_create(const struct sl_flow_params *p)
{
	if (!params_valid(p)) {
		rte_errno = EINVAL;
		return NULL;
	}
	struct sl_flow_table *t = zalloc("sl_flow", sizeof(*t) + p->nb_shards * sizeof(t->shard[0]),
					 p->socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->capacity = p->capacity;
	t->nb_shards = p->nb_shards;
	for (unsigned i = 0; i < p->nb_shards; i++) {
		if (!shard_init(&t->shard[i], p, i)) {
			int err = rte_errno;

			sl_flow_free(t);
			rte_errno = err;
			return NULL;
		}
	}
	return t;
}

void sl_flow_free(struct sl_flow_table *t)
{
	if (t == NULL)
		return;
	for (unsigned i = 0; i < t->nb_shards; i++)
		shard_fini(&t->shard[i]);
	rte_free(t);
}

/* ---- lookups ------------------------------------------------------------- */

/* The entry of k in slots of b, or UINT32_MAX. */
static inline uint32_t find_in_bucket(const struct flow_shard *s, const struct bucket *b,
				      const struct sl_flow_key *k, uint32_t hash)
{
	for (unsigned m = hash_matches(b, hash); m != 0; m &= m - 1) {
		uint32_t e = slot_entry(b, (unsigned)__builtin_ctz(m));

		if (e != UINT32_MAX && same_key(&s->entries[e].key, k))
			return e;
	}
	return UINT32_MAX;
}

static inline bool overflowed(const struct bucket *b)
{
	return __atomic_load_n(&b->overflow, __ATOMIC_ACQUIRE) != 0;
}

/* Walk from k's home bucket while buckets say entries live beyond them. */
static uint32_t find(const struct flow_shard *s, const struct sl_flow_key *k, uint32_t hash)
{
	const struct bucket *b = home(s, hash);

	for (uint32_t walked = 0; walked <= s->mask; walked++, b = next_bucket(s, b)) {
		uint32_t e = find_in_bucket(s, b, k, hash);

		if (e != UINT32_MAX)
			return e;
		if (!overflowed(b))
			break;
	}
	return UINT32_MAX;
}

static const struct sl_flow_value *hit(struct flow_shard *s, uint32_t e, uint32_t now)
{
	touch(s, e, now);
	return &s->entries[e].value;
}

static const struct sl_flow_value *lookup_one(struct flow_shard *s, const struct sl_flow_key *k,
					      uint32_t hash, uint32_t now)
{
	uint32_t e = find(s, k, hash);

	return e == UINT32_MAX ? NULL : hit(s, e, now);
}

/* The first slot of b whose hash is k's (its entry prefetched), or UINT32_MAX. */
static inline uint32_t candidate(const struct flow_shard *s, const struct bucket *b, uint32_t hash)
{
	for (unsigned m = hash_matches(b, hash); m != 0; m &= m - 1) {
		uint32_t e = slot_entry(b, (unsigned)__builtin_ctz(m));

		if (e != UINT32_MAX) {
			rte_prefetch0(&s->entries[e]);
			return e;
		}
	}
	return UINT32_MAX;
}

/*
 * In three passes, so the cache misses of a burst overlap: every home
 * bucket is requested, then every first candidate's entry (and idle
 * stamp), then keys are compared. A wrong first candidate (two keys with
 * the same 32-bit hash) or an overflowed bucket takes the full walk.
 */
#define CHUNK 64 /* flow.h's bound on n; more is taken in chunks */

static unsigned lookup_chunk(struct flow_shard *s, const struct sl_flow_key *const *keys,
			     const uint32_t *hashes, unsigned n, const struct sl_flow_value **out,
			     uint32_t now)
{
	uint32_t cand[CHUNK];
	unsigned hits = 0;

	for (unsigned i = 0; i < n; i++)
		rte_prefetch0(home(s, hashes[i]));
	for (unsigned i = 0; i < n; i++) {
		cand[i] = candidate(s, home(s, hashes[i]), hashes[i]);
		if (cand[i] != UINT32_MAX)
			rte_prefetch0(&s->last_seen[cand[i]]);
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t e = cand[i];

		if (e == UINT32_MAX || !same_key(&s->entries[e].key, keys[i]))
			e = e == UINT32_MAX && !overflowed(home(s, hashes[i])) ? UINT32_MAX
										 : find(s, keys[i], hashes[i]);
		out[i] = e == UINT32_MAX ? NULL : hit(s, e, now);
		hits += out[i] != NULL;
	}
	return hits;
}

unsigned sl_flow_lookup_burst(struct sl_flow_table *t, unsigned shard,
			      const struct sl_flow_key *const *keys, const uint32_t *hashes,
			      unsigned n, const struct sl_flow_value **out, uint32_t now)
{
	unsigned hits = 0;

	for (unsigned done = 0; done < n; done += CHUNK) {
		unsigned k = RTE_MIN(n - done, (unsigned)CHUNK);

		hits += lookup_chunk(&t->shard[shard], keys + done, hashes + done, k, out + done, now);
	}
	return hits;
}

void sl_flow_prefetch(const struct sl_flow_table *t, unsigned shard, uint32_t hash)
{
	rte_prefetch0(home(&t->shard[shard], hash));
}

/* Shards first+from, first+from+1, ... (mod the count), to the last. */
static const struct sl_flow_value *lookup_from(struct sl_flow_table *t, unsigned first, unsigned from,
					       const struct sl_flow_key *k, uint32_t hash, uint32_t now)
{
	for (unsigned i = from; i < t->nb_shards; i++) {
		const struct sl_flow_value *v =
			lookup_one(&t->shard[(first + i) % t->nb_shards], k, hash, now);

		if (v != NULL)
			return v;
	}
	return NULL;
}

const struct sl_flow_value *sl_flow_lookup_any(struct sl_flow_table *t, unsigned first,
					       const struct sl_flow_key *k, uint32_t hash,
					       uint32_t now)
{
	return lookup_from(t, first, 0, k, hash, now);
}

const struct sl_flow_value *sl_flow_lookup_others(struct sl_flow_table *t, unsigned own,
						  const struct sl_flow_key *k, uint32_t hash,
						  uint32_t now)
{
	return lookup_from(t, own, 1, k, hash, now);
}

/* ---- owner-side writes --------------------------------------------------- */

/* The i-th oldest entry waiting for its grace period (i <= nb_retired). */
static struct retired *retired_at(struct flow_shard *s, uint32_t i)
{
	uint32_t at = s->retired_head + i;

	return &s->retired[at >= s->positions ? at - s->positions : at];
}

/* Entries whose grace period is over go back to the free stack. */
static void reclaim(struct flow_shard *s)
{
	while (s->nb_retired > 0) {
		const struct retired *r = retired_at(s, 0);

		if (rte_rcu_qsbr_check(s->qsbr, r->token, false) != 1)
			return;
		s->free[s->nb_free++] = r->entry;
		s->retired_head = s->retired_head + 1 == s->positions ? 0 : s->retired_head + 1;
		s->nb_retired--;
	}
}

static bool take_entry(struct flow_shard *s, uint32_t *e)
{
	if (s->nb_free == 0)
		reclaim(s);
	if (s->nb_free == 0)
		return false; /* every free entry still waits for a grace period */
	*e = s->free[--s->nb_free];
	return true;
}

/* Publish entry e in the first free slot from its home bucket on. */
static void place(struct flow_shard *s, uint32_t e, uint32_t hash)
{
	struct bucket *b = home(s, hash);

	/* Bounded by the bucket count; there are more slots than entries. */
	for (uint32_t walked = 0; walked <= s->mask; walked++) {
		for (unsigned i = 0; i < SLOTS; i++)
			if (b->entry[i] == 0) {
				__atomic_store_n(&b->hash[i], hash, __ATOMIC_RELAXED);
				__atomic_store_n(&b->entry[i], e + 1, __ATOMIC_RELEASE);
				return;
			}
		/* Raised before the slot is published: a reader that finds the
		 * entry beyond this bucket always gets there. */
		__atomic_store_n(&b->overflow, b->overflow + 1, __ATOMIC_RELEASE);
		b = next_bucket(s, b);
	}
}

const struct sl_flow_value *sl_flow_insert(struct sl_flow_table *t, unsigned shard,
					   const struct sl_flow_key *k, uint32_t hash,
					   const struct sl_flow_value *v, uint32_t now)
{
	struct flow_shard *s = &t->shard[shard];
	const struct sl_flow_value *existing = lookup_one(s, k, hash, now);
	uint32_t e;

	if (existing != NULL)
		return existing;
	if (s->count >= t->capacity || !take_entry(s, &e))
		return NULL;
	s->entries[e].key = *k;
	s->entries[e].value = *v;
	__atomic_store_n(&s->last_seen[e], now, __ATOMIC_RELAXED);
	mark_live(s, e);
	place(s, e, hash); /* fewer entries than slots: always finds one */
	return &s->entries[e].value;
}

static bool idle_for_longer(uint32_t now, uint32_t last, uint32_t idle_ms)
{
	/* Wrap-safe; a reader's clock slightly ahead of ours reads as not idle. */
	return (int32_t)(now - last) > (int32_t)RTE_MIN(idle_ms, (uint32_t)INT32_MAX);
}

/* Clear e's slot and lower the overflow counts its walk raised. */
static void unpublish(struct flow_shard *s, uint32_t e)
{
	uint32_t hash = sl_flow_hash(&s->entries[e].key);
	struct bucket *b = home(s, hash);

	/* Bounded by the bucket count; a live entry is always found. */
	for (uint32_t walked = 0; walked <= s->mask; walked++) {
		for (unsigned i = 0; i < SLOTS; i++)
			if (b->entry[i] == e + 1) {
				__atomic_store_n(&b->entry[i], 0, __ATOMIC_RELEASE);
				return;
			}
		__atomic_store_n(&b->overflow, b->overflow - 1, __ATOMIC_RELEASE);
		b = next_bucket(s, b);
	}
}

static void retire(struct flow_shard *s, uint32_t e, uint64_t token)
{
	*retired_at(s, s->nb_retired) = (struct retired){ token, e };
	s->nb_retired++;
}

unsigned sl_flow_expire(struct sl_flow_table *t, unsigned shard, uint32_t now, uint32_t idle_ms,
			unsigned budget)
{
	struct flow_shard *s = &t->shard[shard];
	uint32_t first = s->nb_retired;
	unsigned deleted = 0;

	for (unsigned examined = 0; examined < budget; examined++) {
		uint32_t e = s->cursor;

		s->cursor = e + 1 == s->positions ? 0 : e + 1;
		if (!is_live(s, e) ||
		    !idle_for_longer(now, __atomic_load_n(&s->last_seen[e], __ATOMIC_RELAXED), idle_ms))
			continue;
		unpublish(s, e);
		mark_dead(s, e);
		retire(s, e, 0);
		deleted++;
	}
	if (deleted == 0)
		return 0;
	/* One grace period for the whole sweep, begun after its last slot was
	 * cleared: readers that saw any of them have loaded it by now. */
	uint64_t token = rte_rcu_qsbr_start(s->qsbr);
	for (uint32_t i = first; i < s->nb_retired; i++)
		retired_at(s, i)->token = token;
	return deleted;
}

uint32_t sl_flow_count(const struct sl_flow_table *t, unsigned shard)
{
	return __atomic_load_n(&t->shard[shard].count, __ATOMIC_RELAXED);
}

uint32_t sl_flow_capacity(const struct sl_flow_table *t)
{
	return t->capacity;
}
