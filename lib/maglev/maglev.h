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
/* Size argument of sl_maglev_size_for(): choose by the backend count. */
#define SL_MAGLEV_AUTO 0u
/* Slots hold 16-bit backend indices; the all-ones value means "none". */
#define SL_MAGLEV_SLOT_NONE UINT16_MAX
#define SL_MAGLEV_MAX_BACKENDS (SL_MAGLEV_SLOT_NONE - 1u)
/* The rule's promise: table size >= this many slots per backend. */
#define SL_MAGLEV_SLOTS_PER_BACKEND 100u

struct sl_maglev_backend {
	const void *key;  /* stable identity bytes (e.g. DIP address, port, host) */
	size_t key_len;
	uint32_t weight;  /* 0 = takes no slot */
};

struct sl_maglev {
	uint32_t size;       /* prime */
	uint32_t nb_backends;
	/* Backend index per slot, or SL_MAGLEV_SLOT_NONE when none has weight.
	 * Two bytes, not four: tables are most of a mux's memory with many
	 * VIPs; read them through sl_maglev_slot(). */
	uint16_t slot[];
};

/* True when n is prime (for validating configured sizes). */
int sl_maglev_is_prime(uint32_t n);

/*
 * The table size for a VIP of nb backends (every backend counted, weight 0
 * too, so draining one does not resize): fixed_size when it is not
 * SL_MAGLEV_AUTO, else the smallest prime of a fixed, roughly doubling
 * ladder (251 .. 1000003) holding at least SL_MAGLEV_SLOTS_PER_BACKEND
 * slots per backend, or the largest rung above 10000 backends. A pure
 * function of its arguments, so every mux sizes a VIP alike
 * (docs/maglev.md has the rule and why it keeps shares within 1 %).
 */
uint32_t sl_maglev_size_for(uint32_t nb, uint32_t fixed_size);

/*
 * Build a table of `size` slots (must be prime, > nb and <= SL_MAGLEV_MAX_SIZE)
 * over nb <= SL_MAGLEV_MAX_BACKENDS backends. Backend i with weight w_i receives a share of slots
 * proportional to w_i (within one slot per backend per "round").
 * Returns a malloc'd table (free with free()), or NULL with errno set
 * (EINVAL for bad size/weights, ENOMEM).
 */
struct sl_maglev *sl_maglev_build(const struct sl_maglev_backend *b, uint32_t nb, uint32_t size,
				  uint64_t seed);

/* Backend index in slot s (< m->size), or SL_MAGLEV_NO_BACKEND. */
static inline uint32_t sl_maglev_slot(const struct sl_maglev *m, uint32_t s)
{
	uint32_t b = m->slot[s];

	return b == SL_MAGLEV_SLOT_NONE ? SL_MAGLEV_NO_BACKEND : b;
}

/* Backend index for a flow hash, or SL_MAGLEV_NO_BACKEND. */
static inline uint32_t sl_maglev_lookup(const struct sl_maglev *m, uint32_t flow_hash)
{
	return sl_maglev_slot(m, flow_hash % m->size);
}

/* 64-bit hash of arbitrary bytes with a seed; stable across builds and
 * machines (used for backend permutations and for flow hashing). */
uint64_t sl_hash64(const void *data, size_t len, uint64_t seed);

#endif
