/*
 * Flow table: one lock-free rte_hash per worker shard plus a
 * position-indexed array of 64-byte {key, value} lines.
 *
 * Concurrency (see flow.h): only the owning lcore writes a shard; any
 * thread registered with the table's QSBR variable may read any shard.
 *
 * - Publication. rte_hash makes a key visible to readers inside
 *   rte_hash_add_key_with_hash, before the caller knows the position and
 *   can fill the line. So an insert adds the key with a NULL data pointer
 *   (readers treat NULL as a miss), fills the line, then sets the data
 *   pointer to the line with rte_hash_add_key_with_hash_data, which
 *   release-stores it; readers acquire-load it in the *_data lookups. A
 *   reader thus never sees a line before its contents.
 * - Reuse. Deleted positions go to the rte_hash RCU defer queue and come
 *   back only after every registered reader has reported a quiescent
 *   state, so a line a reader found stays intact until that reader's next
 *   quiescent state. Lines are never written after publication. Owners
 *   must be registered readers too: an owner may expire an entry it
 *   looked up earlier in the same loop iteration.
 * - Idle time. last_seen[] is refreshed by any reader with relaxed
 *   atomics, written only when it changes so hot flows do not bounce the
 *   cache line between cores every packet. A sweep racing with a refresh
 *   may delete a flow just used; the reader still holds a valid line.
 */
#include "flow/flow.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#define MIN_CAPACITY 64u
/*
 * rte_hash derives ring and memzone names from the shard name; the
 * longest, "RG_HASH_RCU_<name>" for the RCU defer queue, must fit in
 * RTE_MEMZONE_NAMESIZE (32 with the NUL), leaving 19 characters.
 */
#define SHARD_NAME_MAX 19

struct flow_line {
	struct sl_flow_key key;
	struct sl_flow_value value;
};

_Static_assert(sizeof(struct sl_flow_key) == 40, "flow key is hashed as 40 bytes");
_Static_assert(sizeof(struct flow_line) == RTE_CACHE_LINE_SIZE, "one line per entry");

struct flow_shard {
	struct rte_hash *hash;
	struct flow_line *lines; /* [positions], indexed by rte_hash position */
	uint32_t *last_seen;     /* [positions], ms clock, relaxed atomics */
	uint64_t *live;          /* bitmap of published positions; owner only */
	uint32_t positions;      /* rte_hash_max_key_id() */
	uint32_t cursor;         /* next position the sweep examines; owner only */
	uint32_t count;          /* live entries; owner writes, anyone reads */
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

/* ---- per-position state ----------------------------------------------- */

static bool is_live(const struct flow_shard *s, uint32_t pos)
{
	return (s->live[pos / 64] >> (pos % 64)) & 1;
}

static void mark_live(struct flow_shard *s, uint32_t pos)
{
	s->live[pos / 64] |= 1ull << (pos % 64);
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
}

static void mark_dead(struct flow_shard *s, uint32_t pos)
{
	s->live[pos / 64] &= ~(1ull << (pos % 64));
	__atomic_store_n(&s->count, s->count - 1, __ATOMIC_RELAXED);
}

static void touch(struct flow_shard *s, const struct flow_line *line, uint32_t now)
{
	uint32_t *seen = &s->last_seen[line - s->lines];

	if (__atomic_load_n(seen, __ATOMIC_RELAXED) != now)
		__atomic_store_n(seen, now, __ATOMIC_RELAXED);
}

/* ---- create / free ------------------------------------------------------ */

/* Key compare for rte_hash: 0 when equal, like memcmp. */
static int flow_key_differs(const void *a, const void *b, size_t len)
{
	const uint64_t *x = a, *y = b;
	(void)len; /* always sizeof(struct sl_flow_key) */
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) != 0;
}

static struct rte_hash *create_hash(const struct sl_flow_params *p, unsigned shard)
{
	char name[SHARD_NAME_MAX + 1];
	int len = snprintf(name, sizeof(name), "%s.%u", p->name, shard);

	if (len < 0 || len > SHARD_NAME_MAX) {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}
	/*
	 * EXT_TABLE: without overflow buckets cuckoo placement can fail before
	 * `entries` keys are stored; with them, exactly `capacity` always fit.
	 * No MULTI_WRITER: one writer per shard needs no lock.
	 */
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = p->capacity,
		.key_len = sizeof(struct sl_flow_key),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = SL_FLOW_HASH_INIT,
		.socket_id = p->socket_id,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash *h = rte_hash_create(&hp);

	if (h == NULL)
		return NULL;
	/* rte_hash has vector compares for 16/32/48/64... byte keys only; 40
	 * would go to libc memcmp, a visible share of per-packet time. */
	rte_hash_set_cmp_func(h, flow_key_differs);
	/* Defer-queue mode: deletes never block; slots return after a grace period. */
	struct rte_hash_rcu_config rc = {
		.v = p->qsbr,
		.mode = RTE_HASH_QSBR_MODE_DQ,
	};
	if (rte_hash_rcu_qsbr_add(h, &rc) != 0) {
		rte_hash_free(h);
		return NULL;
	}
	return h;
}

static void *zalloc(const char *what, size_t bytes, int socket)
{
	return rte_zmalloc_socket(what, bytes, RTE_CACHE_LINE_SIZE, socket);
}

static bool shard_init(struct flow_shard *s, const struct sl_flow_params *p, unsigned shard)
{
	s->hash = create_hash(p, shard);
	if (s->hash == NULL)
		return false;
	/* Positions run from 0 to rte_hash_max_key_id() - 1. */
	s->positions = (uint32_t)rte_hash_max_key_id(s->hash);
	s->lines = zalloc("sl_flow_lines", (size_t)s->positions * sizeof(*s->lines), p->socket_id);
	s->last_seen = zalloc("sl_flow_seen", (size_t)s->positions * sizeof(uint32_t), p->socket_id);
	s->live = zalloc("sl_flow_live", ((size_t)s->positions + 63) / 64 * sizeof(uint64_t),
			 p->socket_id);
	if (s->lines == NULL || s->last_seen == NULL || s->live == NULL) {
		rte_errno = ENOMEM;
		return false;
	}
	return true;
}

static void shard_fini(struct flow_shard *s)
{
	/* Pending deletes are reclaimed here if readers have been quiescent. */
	rte_hash_free(s->hash);
	rte_free(s->lines);
	rte_free(s->last_seen);
	rte_free(s->live);
}

static bool params_valid(const struct sl_flow_params *p)
{
	return p != NULL && p->name != NULL && p->qsbr != NULL && p->nb_shards > 0 &&
	       p->capacity >= MIN_CAPACITY && p->capacity <= RTE_HASH_ENTRIES_MAX;
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

/* ---- lookups ------------------------------------------------------------ */

/* A NULL data pointer marks a key whose line is still being filled. */
static const struct sl_flow_value *hit(struct flow_shard *s, void *data, uint32_t now)
{
	struct flow_line *line = data;

	if (line == NULL)
		return NULL;
	touch(s, line, now);
	return &line->value;
}

/*
 * Start every hit's line and idle stamp loading before the first is used,
 * so their cache misses overlap instead of queueing one after another.
 */
static void prefetch_hits(const struct flow_shard *s, void *const *data, uint64_t mask)
{
	for (; mask != 0; mask &= mask - 1) {
		const struct flow_line *line = data[rte_bsf64(mask)];

		if (line != NULL) {
			rte_prefetch0(line);
			rte_prefetch0(&s->last_seen[line - s->lines]);
		}
	}
}

static unsigned lookup_chunk(struct flow_shard *s, const struct sl_flow_key *const *keys,
			     const uint32_t *hashes, unsigned n, const struct sl_flow_value **out,
			     uint32_t now)
{
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t mask = 0;
	unsigned hits = 0;

	/* rte_hash only reads keys and hashes; its prototype lacks the consts. */
	rte_hash_lookup_with_hash_bulk_data(s->hash, (const void **)(uintptr_t)keys,
					    (hash_sig_t *)(uintptr_t)hashes, n, &mask, data);
	prefetch_hits(s, data, mask);
	for (unsigned i = 0; i < n; i++) {
		out[i] = (mask >> i) & 1 ? hit(s, data[i], now) : NULL;
		hits += out[i] != NULL;
	}
	return hits;
}

unsigned sl_flow_lookup_burst(struct sl_flow_table *t, unsigned shard,
			      const struct sl_flow_key *const *keys, const uint32_t *hashes,
			      unsigned n, const struct sl_flow_value **out, uint32_t now)
{
	unsigned hits = 0;

	for (unsigned done = 0; done < n;) {
		unsigned chunk = RTE_MIN(n - done, (unsigned)RTE_HASH_LOOKUP_BULK_MAX);

		hits += lookup_chunk(&t->shard[shard], keys + done, hashes + done, chunk,
				     out + done, now);
		done += chunk;
	}
	return hits;
}

static const struct sl_flow_value *lookup_one(struct flow_shard *s, const struct sl_flow_key *k,
					      uint32_t hash, uint32_t now)
{
	void *data = NULL;

	if (rte_hash_lookup_with_hash_data(s->hash, k, hash, &data) < 0)
		return NULL;
	return hit(s, data, now);
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

/* ---- owner-side writes ------------------------------------------------- */

const struct sl_flow_value *sl_flow_insert(struct sl_flow_table *t, unsigned shard,
					   const struct sl_flow_key *k, uint32_t hash,
					   const struct sl_flow_value *v, uint32_t now)
{
	struct flow_shard *s = &t->shard[shard];
	const struct sl_flow_value *existing = lookup_one(s, k, hash, now);

	if (existing != NULL)
		return existing;
	if (s->count >= t->capacity)
		return NULL;
	/* Fails (-ENOSPC) while freed positions still wait for a grace period. */
	int32_t pos = rte_hash_add_key_with_hash(s->hash, k, hash);

	if (pos < 0)
		return NULL;
	struct flow_line *line = &s->lines[pos];

	line->key = *k;
	line->value = *v;
	__atomic_store_n(&s->last_seen[pos], now, __ATOMIC_RELAXED);
	mark_live(s, (uint32_t)pos);
	/* Publish: release-stores the data pointer of the key just added. */
	rte_hash_add_key_with_hash_data(s->hash, k, hash, line);
	return &line->value;
}

static bool idle_for_longer(uint32_t now, uint32_t last, uint32_t idle_ms)
{
	/* Wrap-safe; a reader's clock slightly ahead of ours reads as not idle. */
	return (int32_t)(now - last) > (int32_t)RTE_MIN(idle_ms, (uint32_t)INT32_MAX);
}

static void delete_position(struct flow_shard *s, uint32_t pos)
{
	const struct sl_flow_key *k = &s->lines[pos].key;

	/* The position enters the RCU defer queue; the line stays readable. */
	rte_hash_del_key_with_hash(s->hash, k, sl_flow_hash(k));
	mark_dead(s, pos);
}

unsigned sl_flow_expire(struct sl_flow_table *t, unsigned shard, uint32_t now, uint32_t idle_ms,
			unsigned budget)
{
	struct flow_shard *s = &t->shard[shard];
	unsigned deleted = 0;

	for (unsigned examined = 0; examined < budget; examined++) {
		uint32_t pos = s->cursor;

		s->cursor = pos + 1 == s->positions ? 0 : pos + 1;
		if (!is_live(s, pos))
			continue;
		uint32_t last = __atomic_load_n(&s->last_seen[pos], __ATOMIC_RELAXED);

		if (idle_for_longer(now, last, idle_ms)) {
			delete_position(s, pos);
			deleted++;
		}
	}
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
