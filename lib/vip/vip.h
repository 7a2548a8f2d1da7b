/*
 * VIP index: (family, protocol, address, port) -> VIP number (the index
 * of the service in the data-plane spec), for the data path. Immutable once built; open
 * addressing over a power-of-two array so a lookup is one or two probes.
 * The lookups are inline (every VIP packet takes one); the layout below
 * is for them alone, only vip.c builds an index.
 */
#ifndef SLUICE_VIP_VIP_H
#define SLUICE_VIP_VIP_H

#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"

#define SL_VIP_NONE UINT32_MAX

/* Build over the services of spec, of every kind (numbers are indices
 * into spec->services): one index per snapshot serves every stage. NULL
 * on ENOMEM. */
struct sl_vip_index *sl_vip_index_build(const struct sl_spec *spec);
void sl_vip_index_free(struct sl_vip_index *x);

/* One slot per VIP (full key) and one per VIP address (port 0, proto 0),
 * both in the same table: the address-only entries answer
 * sl_vip_addr_known without a second structure. */
struct sl_vip_slot {
	union sl_addr addr;
	uint16_t port_be;
	uint8_t family;
	uint8_t proto;
	uint32_t vip; /* SL_VIP_NONE = empty */
};

struct sl_vip_index {
	uint32_t mask;
	struct sl_vip_slot slot[];
};

static inline uint32_t sl_vip_hash(int family, uint8_t proto, const union sl_addr *a, uint16_t port_be)
{
	uint64_t h = a->u64[0] * 0x9e3779b97f4a7c15ull ^ a->u64[1] * 0xc2b2ae3d27d4eb4full;
	h ^= ((uint64_t)port_be << 16 | (uint64_t)proto << 8 | (uint64_t)family) * 0x165667b19e3779f9ull;
	h ^= h >> 29;
	return (uint32_t)(h ^ h >> 32);
}

static inline bool sl_vip_slot_matches(const struct sl_vip_slot *s, int family, uint8_t proto,
				       const union sl_addr *a, uint16_t port_be)
{
	return s->family == family && s->proto == proto && s->port_be == port_be &&
	       sl_addr_eq(&s->addr, a);
}

static inline const struct sl_vip_slot *sl_vip_probe(const struct sl_vip_index *x, int family,
						     uint8_t proto, const union sl_addr *a,
						     uint16_t port_be)
{
	for (uint32_t i = sl_vip_hash(family, proto, a, port_be);; i++) {
		const struct sl_vip_slot *s = &x->slot[i & x->mask];
		if (s->vip == SL_VIP_NONE || sl_vip_slot_matches(s, family, proto, a, port_be))
			return s;
	}
}

/* port in network order, as on the wire. Returns the VIP number or SL_VIP_NONE. */
static inline uint32_t sl_vip_find(const struct sl_vip_index *x, int family, uint8_t proto,
				   const union sl_addr *addr, uint16_t port_be)
{
	if (proto == 0)
		return SL_VIP_NONE; /* proto 0 marks address-only entries */
	return sl_vip_probe(x, family, proto, addr, port_be)->vip;
}

/* True when addr is the address of some VIP (any protocol or port): tells
 * "unknown port" from "unknown VIP" in the drop counters. */
static inline bool sl_vip_addr_known(const struct sl_vip_index *x, int family,
				     const union sl_addr *addr)
{
	return sl_vip_probe(x, family, 0, addr, 0)->vip != SL_VIP_NONE;
}

#endif
