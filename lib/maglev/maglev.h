/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights.
 *
 * The table is a pure function of (backend keys, weights, table size,
 * seed): every mux that has the same configuration builds the same table
 * and so sends a given flow to the same backend. Pure C, no DPDK.
 */
#ifndef SLUICE_MAGLEV_MAGLEV_H
#define SLUICE_MAGLEV_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#define SL_MAGLEV_DEFAULT_SIZE 65537u
#define SL_MAGLEV_MAX_SIZE 1000003u
#define SL_MAGLEV_MAX_WEIGHT 65535u
#define SL_MAGLEV_NO_BACKEND UINT32_MAX

struct sl_maglev_backend {
	const void *key;  /* stable identity bytes (e.g. DIP address, port, host) */
	size_t key_len;
	uint32_t weight;  /* 0 = takes no slot */
};

struct sl_maglev {
	uint32_t size;       /* prime */
	uint32_t nb_backends;
	uint32_t slot[];     /* backend index per slot, or SL_MAGLEV_NO_BACKEND when none has weight */
};

/* True when n is prime (for validating configured sizes). */
int sl_maglev_is_prime(uint32_t n);

/*
 * Build a table of `size` slots (must be prime, > nb and <= SL_MAGLEV_MAX_SIZE)
 * over nb backends. Backend i with weight w_i receives a share of slots
 * proportional to w_i (within one slot per backend per "round").
 * Returns a malloc'd table (free with free()), or NULL with errno set
 * (EINVAL for bad size/weights, ENOMEM).
 */
struct sl_maglev *sl_maglev_build(const struct sl_maglev_backend *b, uint32_t nb, uint32_t size,
				  uint64_t seed);

/* A malloc'd copy of m (free with free()), or NULL with errno ENOMEM. A
 * rebuild copies the tables of VIPs whose DIPs did not change: copying is
 * some 100 times cheaper than populating. */
struct sl_maglev *sl_maglev_copy(const struct sl_maglev *m);

/* Slot for a flow hash. */
static inline uint32_t sl_maglev_lookup(const struct sl_maglev *m, uint32_t flow_hash)
{
	return m->slot[flow_hash % m->size];
}

/* 64-bit hash of arbitrary bytes with a seed; stable across builds and
 * machines (used for backend permutations and for flow hashing). */
uint64_t sl_hash64(const void *data, size_t len, uint64_t seed);

#endif
