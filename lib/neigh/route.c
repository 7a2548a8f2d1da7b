/*
 * Data-path lookups on the immutable table: connected prefixes, gateways,
 * neighbour MACs. Called per packet, so: no allocation, no system calls,
 * no locks, and nothing but reads of the table.
 */
#include "neigh/neigh_internal.h"

static bool prefix_holds(const struct neigh_prefix *np, int family, const union sl_addr *addr)
{
	return np->family == family && (addr->u64[0] & np->mask.u64[0]) == np->net.u64[0] &&
	       (addr->u64[1] & np->mask.u64[1]) == np->net.u64[1];
}

const struct neigh_prefix *neigh_prefixes_match(const struct neigh_prefixes *ps, int family,
						const union sl_addr *addr)
{
	/* sorted longest first: the first hit is the longest match */
	for (unsigned i = 0; i < ps->n; i++)
		if (prefix_holds(&ps->p[i], family, addr))
			return &ps->p[i];
	return NULL;
}

const struct sl_egress *neigh_table_find(const struct sl_neigh_table *t, int family,
					 const union sl_addr *addr)
{
	/* at most half full, so an empty slot always ends the probe */
	for (uint32_t i = neigh_hash(family, addr) & t->mask;; i = (i + 1) & t->mask) {
		const struct neigh_slot *s = &t->slots[i];
		if (s->family == SL_AF_NONE)
			return NULL;
		if (s->family == family && sl_addr_eq(&s->addr, addr))
			return &s->eg;
	}
}

const struct sl_egress *sl_route_lookup(const struct sl_neigh_table *t, int family,
					const union sl_addr *dst, union sl_addr *nexthop)
{
	static const union sl_addr none;
	const union sl_addr *hop = &none;
	const struct sl_egress *eg = NULL;

	if (t && dst && neigh_family_ok(family)) {
		unsigned f = neigh_family_index(family);
		if (neigh_prefixes_match(&t->prefixes, family, dst)) {
			hop = dst;
			eg = neigh_table_find(t, family, dst);
		} else if (!sl_addr_is_zero(&t->gateway[f])) {
			hop = &t->gateway[f];
			eg = t->gateway_egress[f];
		}
	}
	if (nexthop)
		*nexthop = *hop; /* zero when there is no route: nothing to ask for */
	return eg;
}
