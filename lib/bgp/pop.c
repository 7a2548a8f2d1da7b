/* What the muxes of a PoP announce (bgp.h, "PoPs"). */
#include <stdlib.h>
#include <string.h>

#include "bgp/bgp.h"

const char *sl_pop_state_name(unsigned state)
{
	static const char *const names[SL_POP_NB_STATES] = {"active", "draining", "down"};
	return state < SL_POP_NB_STATES ? names[state] : NULL;
}

const char *sl_bgp_kind_name(enum sl_bgp_kind k)
{
	switch (k) {
	case SL_BGP_KIND_VIP: return "vip";
	case SL_BGP_KIND_UNICAST: return "unicast";
	case SL_BGP_KIND_ANYCAST: return "anycast";
	}
	return "unknown";
}

bool sl_prefix_covers(const struct sl_prefix *net, const struct sl_prefix *p)
{
	return net->family == p->family && p->len >= net->len &&
	       sl_prefix_contains(net->family, &net->addr, net->len, &p->addr);
}

const struct sl_pop *sl_pop_find(const struct sl_pop *pops, unsigned n, const char *name)
{
	for (unsigned i = 0; name != NULL && i < n; i++)
		if (strcmp(pops[i].name, name) == 0)
			return &pops[i];
	return NULL;
}

static bool in_list(const struct sl_prefix *list, unsigned n, const struct sl_prefix *p)
{
	for (unsigned i = 0; i < n; i++)
		if (sl_prefix_covers(&list[i], p))
			return true;
	return false;
}

static bool covered(const struct sl_pop *pops, unsigned n, const struct sl_prefix *p)
{
	for (unsigned i = 0; i < n; i++)
		if (in_list(pops[i].unicast, pops[i].nb_unicast, p) ||
		    in_list(pops[i].anycast, pops[i].nb_anycast, p))
			return true;
	return false;
}

unsigned sl_bgp_wanted(const struct sl_spec *spec, const struct sl_pop *pops, unsigned n,
		       const char *mine, struct sl_prefix *out, unsigned max)
{
	const struct sl_pop *me = sl_pop_find(pops, n, mine);
	unsigned extra = me != NULL ? me->nb_unicast + me->nb_anycast : 0;
	unsigned nb_vips = spec->nb_services > 0 ? spec->nb_services : 1;
	struct sl_prefix *all = malloc((nb_vips + extra) * sizeof(*all));
	if (all == NULL)
		return 0;
	unsigned got = sl_bgp_prefixes(spec, all, nb_vips), k = 0, u = 0;
	got = got < nb_vips ? got : nb_vips;
	for (unsigned i = 0; i < got; i++)
		if (!covered(pops, n, &all[i]))
			all[k++] = all[i];
	if (me != NULL && me->state == SL_POP_ACTIVE)
		for (unsigned i = 0; i < me->nb_unicast; i++)
			all[k++] = me->unicast[i];
	if (me != NULL && me->state != SL_POP_DOWN)
		for (unsigned i = 0; i < me->nb_anycast; i++)
			all[k++] = me->anycast[i];
	u = sl_bgp_sort_unique(all, k, out, max);
	free(all);
	return u;
}

enum sl_bgp_kind sl_bgp_kind_of(const struct sl_pop *mine, const struct sl_prefix *p)
{
	for (unsigned i = 0; mine != NULL && i < mine->nb_unicast; i++)
		if (sl_prefix_eq(&mine->unicast[i], p))
			return SL_BGP_KIND_UNICAST;
	for (unsigned i = 0; mine != NULL && i < mine->nb_anycast; i++)
		if (sl_prefix_eq(&mine->anycast[i], p))
			return SL_BGP_KIND_ANYCAST;
	return SL_BGP_KIND_VIP;
}
