#include <arpa/inet.h>
#include <stdlib.h>

#include "vip/vip.h"

/* One slot per VIP (full key) and one per VIP address (port 0, proto 0),
 * both in the same table: the address-only entries answer
 * sl_vip_addr_known without a second structure. */
struct vip_slot {
	union sl_addr addr;
	uint16_t port_be;
	uint8_t family;
	uint8_t proto;
	uint32_t vip; /* SL_VIP_NONE = empty */
};

struct sl_vip_index {
	uint32_t mask;
	struct vip_slot slot[];
};

static uint32_t vip_hash(int family, uint8_t proto, const union sl_addr *a, uint16_t port_be)
{
	uint64_t h = a->u64[0] * 0x9e3779b97f4a7c15ull ^ a->u64[1] * 0xc2b2ae3d27d4eb4full;
	h ^= ((uint64_t)port_be << 16 | (uint64_t)proto << 8 | (uint64_t)family) * 0x165667b19e3779f9ull;
	h ^= h >> 29;
	return (uint32_t)(h ^ h >> 32);
}

static bool slot_matches(const struct vip_slot *s, int family, uint8_t proto,
			 const union sl_addr *a, uint16_t port_be)
{
	return s->family == family && s->proto == proto && s->port_be == port_be &&
	       sl_addr_eq(&s->addr, a);
}

static const struct vip_slot *probe(const struct sl_vip_index *x, int family, uint8_t proto,
				    const union sl_addr *a, uint16_t port_be)
{
	for (uint32_t i = vip_hash(family, proto, a, port_be);; i++) {
		const struct vip_slot *s = &x->slot[i & x->mask];
		if (s->vip == SL_VIP_NONE || slot_matches(s, family, proto, a, port_be))
			return s;
	}
}

static void insert(struct sl_vip_index *x, int family, uint8_t proto, const union sl_addr *a,
		   uint16_t port_be, uint32_t vip)
{
	struct vip_slot *s = (struct vip_slot *)probe(x, family, proto, a, port_be);
	if (s->vip != SL_VIP_NONE)
		return; /* address-only entry already present */
	*s = (struct vip_slot){ .addr = *a, .port_be = port_be, .family = (uint8_t)family,
				.proto = proto, .vip = vip };
}

struct sl_vip_index *sl_vip_index_build(const struct sl_spec *spec)
{
	uint32_t size = 16;
	while (size < 4u * (spec->nb_services + 1)) /* load factor <= 50% with both kinds of entry */
		size <<= 1;
	struct sl_vip_index *x = malloc(sizeof(*x) + size * sizeof(x->slot[0]));
	if (x == NULL)
		return NULL;
	x->mask = size - 1;
	for (uint32_t i = 0; i < size; i++)
		x->slot[i] = (struct vip_slot){ .vip = SL_VIP_NONE };
	for (uint32_t v = 0; v < spec->nb_services; v++) {
		const struct sl_spec_service *svc = &spec->services[v];
		insert(x, svc->family, svc->proto, &svc->addr, htons(svc->port), v);
		insert(x, svc->family, 0, &svc->addr, 0, v);
	}
	return x;
}

void sl_vip_index_free(struct sl_vip_index *x)
{
	free(x);
}

uint32_t sl_vip_find(const struct sl_vip_index *x, int family, uint8_t proto,
		     const union sl_addr *addr, uint16_t port_be)
{
	if (proto == 0)
		return SL_VIP_NONE; /* proto 0 marks address-only entries */
	return probe(x, family, proto, addr, port_be)->vip;
}

bool sl_vip_addr_known(const struct sl_vip_index *x, int family, const union sl_addr *addr)
{
	return probe(x, family, 0, addr, 0)->vip != SL_VIP_NONE;
}
