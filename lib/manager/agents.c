/*
 * The host-agent key map (agents.h): open addressing with linear probing,
 * deletion by backward shift, so that the churn of VIPs coming and going
 * leaves no tombstones to slow later look-ups.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "manager/agents.h"

struct sl_mgr_agents {
	struct sl_mgr_holding *slot; /* family 0: free */
	uint32_t mask;               /* slots - 1; slots a power of two, or none */
	uint32_t count;
};

/* At most 3/4 full, so probe runs stay short. */
static bool fits(uint64_t count, uint64_t slots)
{
	return count * 4 <= slots * 3;
}

static bool key_eq(const struct sl_mgr_agent_key *a, const struct sl_mgr_agent_key *b)
{
	return a->family == b->family && a->proto == b->proto && a->port == b->port &&
	       sl_addr_eq(&a->addr, &b->addr) && sl_addr_eq(&a->host, &b->host);
}

static uint32_t key_hash(const struct sl_mgr_agent_key *k)
{
	uint64_t h = (uint64_t)k->family << 56 | (uint64_t)k->proto << 48 | k->port;
	const uint64_t w[4] = {k->addr.u64[0], k->addr.u64[1], k->host.u64[0], k->host.u64[1]};
	for (unsigned i = 0; i < 4; i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h >> 32);
}

struct sl_mgr_agents *sl_mgr_agents_new(void)
{
	return calloc(1, sizeof(struct sl_mgr_agents));
}

void sl_mgr_agents_free(struct sl_mgr_agents *a)
{
	if (a == NULL)
		return;
	free(a->slot);
	free(a);
}

/* key's slot, or the free slot where it would go. */
static uint32_t probe(const struct sl_mgr_agents *a, const struct sl_mgr_agent_key *key)
{
	uint32_t i = key_hash(key) & a->mask;
	while (a->slot[i].key.family != 0 && !key_eq(&a->slot[i].key, key))
		i = (i + 1) & a->mask;
	return i;
}

const struct sl_mgr_holding *sl_mgr_agents_find(const struct sl_mgr_agents *a,
						const struct sl_mgr_agent_key *key)
{
	if (a->count == 0)
		return NULL;
	uint32_t i = probe(a, key);
	return a->slot[i].key.family != 0 ? &a->slot[i] : NULL;
}

static void put(struct sl_mgr_agents *a, const struct sl_mgr_holding *h)
{
	uint32_t i = probe(a, &h->key);
	if (a->slot[i].key.family == 0)
		a->count++;
	a->slot[i] = *h;
}

int sl_mgr_agents_reserve(struct sl_mgr_agents *a, uint32_t n)
{
	uint64_t want = (uint64_t)a->count + n, slots = a->slot != NULL ? (uint64_t)a->mask + 1 : 0;
	if (a->slot != NULL && fits(want, slots))
		return 0;
	for (slots = slots ? slots : 64; !fits(want, slots); slots *= 2)
		;
	if (slots > UINT32_MAX)
		return -1;
	struct sl_mgr_agents grown = {.slot = calloc(slots, sizeof(*grown.slot)),
				      .mask = (uint32_t)(slots - 1)};
	if (grown.slot == NULL)
		return -1;
	for (uint32_t i = 0; a->slot != NULL && i <= a->mask; i++)
		if (a->slot[i].key.family != 0)
			put(&grown, &a->slot[i]);
	free(a->slot);
	*a = grown;
	return 0;
}

void sl_mgr_agents_set(struct sl_mgr_agents *a, const struct sl_mgr_holding *h)
{
	/* Without the room reserved a commit could not keep the map whole:
	 * a bug, not a condition to handle. */
	if (a->slot == NULL || !fits((uint64_t)a->count + 1, (uint64_t)a->mask + 1))
		abort();
	put(a, h);
}

/* May the entry at j, whose home slot is home, move back to the hole at i? */
static bool may_fill(uint32_t i, uint32_t j, uint32_t home, uint32_t mask)
{
	/* It may unless its home lies cyclically in (i, j]: then it would sit
	 * before its home, where probes never look. */
	return ((j - home) & mask) >= ((j - i) & mask);
}

void sl_mgr_agents_remove(struct sl_mgr_agents *a, const struct sl_mgr_agent_key *key)
{
	if (a->count == 0)
		return;
	uint32_t i = probe(a, key);
	if (a->slot[i].key.family == 0)
		return;
	for (uint32_t j = (i + 1) & a->mask; a->slot[j].key.family != 0; j = (j + 1) & a->mask)
		if (may_fill(i, j, key_hash(&a->slot[j].key) & a->mask, a->mask)) {
			a->slot[i] = a->slot[j];
			i = j;
		}
	a->slot[i].key.family = 0;
	a->count--;
}
