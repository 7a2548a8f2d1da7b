/*
 * Flow table: 5-tuple -> 24-byte decision, with idle timeouts and a fixed
 * capacity.
 *
 * Sharded by worker: shard i is written (insert, expire) only by worker
 * lcore i, so writers never contend and take no lock. Any registered
 * thread may read any shard lock-free (the host agent sees a connection's
 * two directions on different ports, hence possibly different lcores).
 * Each shard is an rte_hash with RW_CONCURRENCY_LF; freed key slots are
 * reclaimed through the shared rte_rcu_qsbr after every reader has passed
 * a quiescent state. Entries live in a position-indexed array of 64-byte
 * lines, so a lookup costs one hash probe and one line.
 *
 * Time is a caller-supplied 32-bit millisecond clock ("now"); comparisons
 * are wrap-safe.
 */
#ifndef SLUICE_FLOW_FLOW_H
#define SLUICE_FLOW_FLOW_H

#include <stdint.h>
#include <string.h>

#include "packet/addr.h"

struct rte_rcu_qsbr;

/* 40 bytes; padding must be zero (it is hashed and compared). */
struct sl_flow_key {
	union sl_addr src;
	union sl_addr dst;
	uint16_t sport; /* network order, as on the wire */
	uint16_t dport;
	uint8_t proto;
	uint8_t family;
	uint8_t pad[2];
};

/* 24 bytes of decision; meaning belongs to the user (mux or host agent). */
struct sl_flow_value {
	union sl_addr addr;
	uint16_t port;
	uint16_t flags;
	uint32_t id;
};

struct sl_flow_table;

struct sl_flow_params {
	const char *name;          /* unique per process (rte_hash names) */
	uint32_t capacity;         /* entries per shard, >= 64 */
	unsigned nb_shards;        /* one per worker lcore */
	struct rte_rcu_qsbr *qsbr; /* readers' QSBR variable (required) */
	int socket_id;
};

struct sl_flow_table *sl_flow_create(const struct sl_flow_params *p);
void sl_flow_free(struct sl_flow_table *t);

/* CRC32-C of the key's 40 bytes from this seed (rte_hash_crc's result). */
#define SL_FLOW_HASH_INIT 0x5f10c0deu

uint32_t sl_flow_hash_portable(const struct sl_flow_key *k);

/*
 * Hash used for the table itself (not for Maglev): CRC32-C of the key, as
 * rte_hash_crc computes it. Inline where SSE4.2 is there at compile time
 * (DPDK's x86 builds ask for it): five crc32q of the key as it lies in
 * the caller's registers or stack, no call and no CPU-flag test per word.
 */
static inline uint32_t sl_flow_hash(const struct sl_flow_key *k)
{
#if defined(__x86_64__) && defined(__SSE4_2__)
	uint64_t w[5];
	uint64_t crc = SL_FLOW_HASH_INIT;
	memcpy(w, k, sizeof(w));
	for (unsigned i = 0; i < 5; i++)
		crc = __builtin_ia32_crc32di(crc, w[i]);
	return (uint32_t)crc;
#else
	return sl_flow_hash_portable(k);
#endif
}

/*
 * Look up n keys in shard `shard` (64 at a time). out[i] points to the stored
 * value or is NULL on a miss. Hits refresh their idle timer to `now`.
 * Returns the number of hits.
 */
unsigned sl_flow_lookup_burst(struct sl_flow_table *t, unsigned shard,
			      const struct sl_flow_key *const *keys, const uint32_t *hashes,
			      unsigned n, const struct sl_flow_value **out, uint32_t now);

/* Start loading the line a lookup of hash in shard `shard` reads first:
 * issued while a burst is still being prepared, its miss overlaps that
 * work instead of queueing behind the burst's other misses. */
void sl_flow_prefetch(const struct sl_flow_table *t, unsigned shard, uint32_t hash);

/* Look up one key in every shard, `first` first. NULL on a miss. */
const struct sl_flow_value *sl_flow_lookup_any(struct sl_flow_table *t, unsigned first,
					       const struct sl_flow_key *k, uint32_t hash,
					       uint32_t now);

/* Look up one key in every shard but own: after a miss there (the burst
 * lookups), a flow's other direction or its first packets may have come
 * in on another worker. NULL on a miss; with one shard, at once. */
const struct sl_flow_value *sl_flow_lookup_others(struct sl_flow_table *t, unsigned own,
						  const struct sl_flow_key *k, uint32_t hash,
						  uint32_t now);

/*
 * Insert into shard `shard` (call only from that shard's owner). Returns
 * the stored value, the existing one if the key is present, or NULL when
 * the shard is full.
 */
const struct sl_flow_value *sl_flow_insert(struct sl_flow_table *t, unsigned shard,
					   const struct sl_flow_key *k, uint32_t hash,
					   const struct sl_flow_value *v, uint32_t now);

/*
 * Owner-side incremental sweep: examine up to `budget` entry positions of
 * shard `shard` and delete those idle for more than idle_ms. Returns the
 * number deleted. Call it regularly (e.g. on each TSC drain tick).
 */
unsigned sl_flow_expire(struct sl_flow_table *t, unsigned shard, uint32_t now, uint32_t idle_ms,
			unsigned budget);

uint32_t sl_flow_count(const struct sl_flow_table *t, unsigned shard);
uint32_t sl_flow_capacity(const struct sl_flow_table *t);

#endif
