/* What a mux announces, and when (bgp.h). */
#include <stdlib.h>
#include <string.h>

#include "bgp/bgp.h"

const char *sl_bgp_reason_name(enum sl_bgp_reason r)
{
	switch (r) {
	case SL_BGP_STARTING: return "starting";
	case SL_BGP_SERVING: return "serving";
	case SL_BGP_DRAINING: return "draining";
	case SL_BGP_WATCHDOG: return "watchdog";
	case SL_BGP_NOT_MUX: return "not-mux";
	}
	return "unknown";
}

bool sl_bgp_decide(const struct sl_bgp_inputs *in, enum sl_bgp_reason *why)
{
	/* The most lasting reason first: a draining mux stays withdrawn when
	 * its workers recover; a stalled one withdraws before it is ready. */
	if (!in->mux)
		*why = SL_BGP_NOT_MUX;
	else if (in->draining)
		*why = SL_BGP_DRAINING;
	else if (in->stalled)
		*why = SL_BGP_WATCHDOG;
	else if (!in->tables_loaded)
		*why = SL_BGP_STARTING;
	else
		*why = SL_BGP_SERVING;
	return *why == SL_BGP_SERVING;
}

bool sl_bgp_stalled(const uint32_t *last_poll_ms, unsigned n, uint32_t now_ms, uint32_t bound_ms,
		    uint32_t *worst)
{
	uint32_t max = 0;
	for (unsigned i = 0; i < n; i++) {
		/* Unsigned difference: right across the clock's wrap. A worker
		 * that polled after now was sampled is not silent at all. */
		uint32_t silent = now_ms - last_poll_ms[i];
		if (silent < UINT32_MAX / 2 && silent > max)
			max = silent;
	}
	if (worst != NULL)
		*worst = max;
	return max > bound_ms;
}

int sl_bgp_prefix_cmp(const struct sl_prefix *a, const struct sl_prefix *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	int c = memcmp(a->addr.v6, b->addr.v6, sizeof(a->addr.v6));
	if (c != 0)
		return c;
	return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

static int cmp_void(const void *a, const void *b)
{
	return sl_bgp_prefix_cmp(a, b);
}

static bool usable(const struct sl_spec_service *s)
{
	for (uint32_t i = 0; i < s->nb_backends; i++)
		if (s->backends[i].weight > 0)
			return true;
	return false;
}

unsigned sl_bgp_prefixes(const struct sl_spec *spec, struct sl_prefix *out, unsigned max)
{
	/* Collected, sorted, then made unique: a VIP address with several
	 * ports is one route. */
	struct sl_prefix *all = spec->nb_services > 0 ? malloc(spec->nb_services * sizeof(*all)) : NULL;
	unsigned n = 0, u = 0;
	if (all == NULL)
		return 0;
	for (uint32_t i = 0; i < spec->nb_services; i++) {
		const struct sl_spec_service *s = &spec->services[i];
		if (!usable(s))
			continue;
		memset(&all[n], 0, sizeof(all[n]));
		all[n].addr = s->addr;
		all[n].family = s->family;
		all[n].len = s->family == SL_AF_INET6 ? 128 : 32;
		n++;
	}
	u = sl_bgp_sort_unique(all, n, out, max);
	free(all);
	return u;
}

unsigned sl_bgp_sort_unique(struct sl_prefix *all, unsigned n, struct sl_prefix *out, unsigned max)
{
	unsigned u = 0;
	qsort(all, n, sizeof(*all), cmp_void);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0 && sl_bgp_prefix_cmp(&all[i - 1], &all[i]) == 0)
			continue;
		if (u < max)
			out[u] = all[i];
		u++;
	}
	return u;
}

void sl_bgp_diff(const struct sl_prefix *cur, unsigned nb_cur, const struct sl_prefix *want,
		 unsigned nb_want, struct sl_prefix *add, unsigned *nb_add, struct sl_prefix *del,
		 unsigned *nb_del)
{
	unsigned i = 0, j = 0;
	*nb_add = *nb_del = 0;
	while (i < nb_cur || j < nb_want) {
		int c = i == nb_cur ? 1 : j == nb_want ? -1 : sl_bgp_prefix_cmp(&cur[i], &want[j]);
		if (c < 0)
			del[(*nb_del)++] = cur[i++];
		else if (c > 0)
			add[(*nb_add)++] = want[j++];
		else
			i++, j++;
	}
}
