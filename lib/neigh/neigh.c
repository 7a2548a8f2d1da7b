/*
 * The control thread's neighbour cache and the immutable table built from it.
 *
 * The cache is a dense array of entries (cheap to sweep for solicitations
 * and ageing) with an open-addressed index on the address (cheap to find
 * the entry an ARP/ND frame talks about). Removing entries is rare (ageing,
 * eviction when full), so removal compacts the array and rebuilds the index
 * instead of maintaining deletion marks.
 */
#include <stdlib.h>
#include <string.h>

#include "neigh/neigh_internal.h"

#define NEIGH_RETRY_MS 1000u            /* unresolved next hops */
#define NEIGH_AGE_MS (10u * 60u * 1000u) /* learned entries nobody wants */
#define NEIGH_SWEEP_MS 1000u             /* how often ageing runs */
#define NEIGH_INDEX_SLOTS (2u * SL_NEIGH_MAX_ENTRIES) /* load <= 50% */
#define NEIGH_TABLE_MIN_SLOTS 16u

_Static_assert((NEIGH_INDEX_SLOTS & (NEIGH_INDEX_SLOTS - 1)) == 0, "index size must be a power of two");
_Static_assert(SL_NEIGH_MAX_ENTRIES < UINT16_MAX, "index stores entry numbers in 16 bits");
_Static_assert(sizeof(struct neigh_slot) == 32, "two table slots per cache line");

enum neigh_flags {
	NE_STATIC = 1,    /* configured MAC: never solicited, aged or overwritten */
	NE_WANTED = 2,    /* a next hop the data path needs: resolve and refresh */
	NE_RESOLVED = 4,  /* mac and port are valid */
	NE_SOLICITED = 8, /* at least one request went out (solicit_ms is meaningful) */
};

struct neigh_entry {
	union sl_addr addr;
	uint8_t family;
	uint8_t flags;
	uint16_t port;
	uint8_t mac[6];
	uint32_t seen_ms;    /* last learned or confirmed: ages unwanted entries */
	uint32_t solicit_ms; /* last request or confirmation: schedules the next request */
};

struct sl_neigh_cache {
	struct sl_local local;
	struct neigh_prefixes prefixes;
	unsigned nb_entries;
	unsigned cursor; /* where the next sl_neigh_solicit resumes, so every entry gets its turn */
	uint32_t last_sweep_ms;
	struct neigh_entry entries[SL_NEIGH_MAX_ENTRIES];
	uint16_t index[NEIGH_INDEX_SLOTS]; /* entry number + 1; 0 = empty */
};

/* Wrap-safe "now is at or past deadline" for 32-bit millisecond clocks. */
static bool time_reached(uint32_t now, uint32_t deadline)
{
	return (int32_t)(now - deadline) >= 0;
}

/* ---- addresses we own ---- */

bool neigh_port_owns(const struct sl_local *l, uint16_t port, int family, const union sl_addr *addr)
{
	if (port >= l->nb_ports)
		return false;
	const struct sl_local_port *lp = &l->port[port];
	for (unsigned i = 0; i < lp->nb_addrs && i < SL_NEIGH_MAX_ADDRS; i++)
		if (lp->family[i] == family && sl_addr_eq(&lp->addr[i], addr))
			return true;
	return false;
}

bool sl_local_owns(const struct sl_local *l, int family, const union sl_addr *addr, uint16_t *port)
{
	for (uint16_t p = 0; p < l->nb_ports && p < SL_NEIGH_MAX_PORTS; p++) {
		if (neigh_port_owns(l, p, family, addr)) {
			if (port)
				*port = p;
			return true;
		}
	}
	return false;
}

bool neigh_addr_is_multicast(int family, const union sl_addr *a)
{
	if (family == SL_AF_INET6)
		return a->v6[0] == 0xff;
	/* 224.0.0.0/4 and the limited broadcast */
	return (a->v6[0] & 0xf0) == 0xe0 || a->v4 == UINT32_MAX;
}

/* ---- connected prefixes ---- */

static void prefix_mask(int family, uint8_t plen, union sl_addr *mask)
{
	unsigned bits = plen;

	memset(mask, 0, sizeof(*mask));
	/* IPv4 occupies the first 4 bytes of the union, in network order like IPv6 */
	for (unsigned i = 0; i < (family == SL_AF_INET ? 4u : 16u) && bits > 0; i++) {
		unsigned take = bits < 8 ? bits : 8;
		mask->v6[i] = (uint8_t)(0xff00u >> take);
		bits -= take;
	}
}

static void prefix_init(struct neigh_prefix *np, const struct sl_local_port *lp, unsigned i, uint16_t port)
{
	np->family = lp->family[i];
	np->plen = lp->plen[i];
	np->port = port;
	np->local = lp->addr[i];
	prefix_mask(np->family, np->plen, &np->mask);
	np->net.u64[0] = np->local.u64[0] & np->mask.u64[0];
	np->net.u64[1] = np->local.u64[1] & np->mask.u64[1];
}

static bool prefix_valid(const struct sl_local_port *lp, unsigned i)
{
	int family = lp->family[i];
	return neigh_family_ok(family) && lp->plen[i] <= (family == SL_AF_INET ? 32 : 128) &&
	       !sl_addr_is_zero(&lp->addr[i]);
}

static int prefix_longer_first(const void *a, const void *b)
{
	const struct neigh_prefix *x = a, *y = b;
	if (x->plen != y->plen)
		return x->plen > y->plen ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port; /* stable across builds */
}

void neigh_prefixes_build(struct neigh_prefixes *ps, const struct sl_local *l)
{
	ps->n = 0;
	for (uint16_t p = 0; p < l->nb_ports && p < SL_NEIGH_MAX_PORTS; p++) {
		const struct sl_local_port *lp = &l->port[p];
		for (unsigned i = 0; i < lp->nb_addrs && i < SL_NEIGH_MAX_ADDRS; i++)
			if (prefix_valid(lp, i))
				prefix_init(&ps->p[ps->n++], lp, i, p);
	}
	/* longest first, so the first match is the longest match */
	qsort(ps->p, ps->n, sizeof(ps->p[0]), prefix_longer_first);
}

static bool on_link_of_port(const struct sl_neigh_cache *c, uint16_t port, int family,
			    const union sl_addr *addr)
{
	const struct neigh_prefix *np = neigh_prefixes_match(&c->prefixes, family, addr);
	return np && np->port == port;
}

/* ---- the cache index ---- */

static bool entry_is(const struct neigh_entry *e, int family, const union sl_addr *addr)
{
	return e->family == family && sl_addr_eq(&e->addr, addr);
}

/* The index slot holding addr, or the empty slot where it would go. */
static uint16_t *index_slot(struct sl_neigh_cache *c, int family, const union sl_addr *addr)
{
	uint32_t i = neigh_hash(family, addr) & (NEIGH_INDEX_SLOTS - 1);

	while (c->index[i] != 0 && !entry_is(&c->entries[c->index[i] - 1], family, addr))
		i = (i + 1) & (NEIGH_INDEX_SLOTS - 1);
	return &c->index[i];
}

static struct neigh_entry *cache_find(struct sl_neigh_cache *c, int family, const union sl_addr *addr)
{
	uint16_t slot = *index_slot(c, family, addr);
	return slot ? &c->entries[slot - 1] : NULL;
}

static void index_rebuild(struct sl_neigh_cache *c)
{
	memset(c->index, 0, sizeof(c->index));
	for (unsigned i = 0; i < c->nb_entries; i++) {
		const struct neigh_entry *e = &c->entries[i];
		*index_slot(c, e->family, &e->addr) = (uint16_t)(i + 1);
	}
}

/* Learned, resolved and nobody needs it: the only kind that may go. */
static bool entry_disposable(const struct neigh_entry *e)
{
	return (e->flags & (NE_STATIC | NE_WANTED | NE_RESOLVED)) == NE_RESOLVED;
}

static bool entry_expired(const struct neigh_entry *e, uint32_t now_ms)
{
	return entry_disposable(e) && time_reached(now_ms, e->seen_ms + NEIGH_AGE_MS);
}

/* Make room by dropping the least recently confirmed disposable entry. */
static bool cache_evict_one(struct sl_neigh_cache *c)
{
	struct neigh_entry *victim = NULL;

	for (unsigned i = 0; i < c->nb_entries; i++) {
		struct neigh_entry *e = &c->entries[i];
		if (entry_disposable(e) && (!victim || (int32_t)(e->seen_ms - victim->seen_ms) < 0))
			victim = e;
	}
	if (!victim)
		return false;
	*victim = c->entries[--c->nb_entries];
	c->cursor = 0;
	index_rebuild(c);
	return true;
}

static struct neigh_entry *cache_insert(struct sl_neigh_cache *c, int family, const union sl_addr *addr,
					uint16_t port)
{
	if (c->nb_entries == SL_NEIGH_MAX_ENTRIES && !cache_evict_one(c))
		return NULL;
	struct neigh_entry *e = &c->entries[c->nb_entries];
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	e->family = (uint8_t)family;
	e->port = port;
	*index_slot(c, family, addr) = (uint16_t)(++c->nb_entries);
	return e;
}

/* ---- learning ---- */

static bool learn_acceptable(const struct sl_neigh_cache *c, uint16_t port, int family,
			     const union sl_addr *addr, const uint8_t mac[6])
{
	return neigh_family_ok(family) && neigh_mac_is_unicast(mac) && neigh_addr_is_unicast(family, addr) &&
	       on_link_of_port(c, port, family, addr) && !sl_local_owns(&c->local, family, addr, NULL);
}

bool neigh_learn(struct sl_neigh_cache *c, uint16_t port, int family, const union sl_addr *addr,
		 const uint8_t mac[6], enum neigh_learn_mode mode, bool override, uint32_t now_ms)
{
	if (!learn_acceptable(c, port, family, addr, mac))
		return false;
	struct neigh_entry *e = cache_find(c, family, addr);
	if (!e && mode == NEIGH_LEARN_UPDATE_ONLY)
		return false;
	if (!e && !(e = cache_insert(c, family, addr, port)))
		return false;
	if (e->flags & NE_STATIC)
		return false;

	bool resolved = e->flags & NE_RESOLVED;
	bool same = resolved && e->port == port && memcmp(e->mac, mac, 6) == 0;
	if (resolved && !same && !override)
		return false;
	/* a confirmation: postpones ageing and the next refresh */
	e->seen_ms = now_ms;
	e->solicit_ms = now_ms;
	if (same)
		return false;
	memcpy(e->mac, mac, 6);
	e->port = port;
	e->flags |= NE_RESOLVED;
	return true;
}

const struct sl_local *neigh_cache_local(const struct sl_neigh_cache *c)
{
	return &c->local;
}

/* ---- creation ---- */

static void add_static_entries(struct sl_neigh_cache *c, uint16_t port)
{
	const struct sl_local_port *lp = &c->local.port[port];

	for (unsigned i = 0; i < lp->nb_static && i < SL_NEIGH_MAX_STATIC; i++) {
		int family = lp->static_family[i];
		const union sl_addr *addr = &lp->static_addr[i];
		if (!neigh_family_ok(family) || sl_addr_is_zero(addr) || cache_find(c, family, addr))
			continue;
		struct neigh_entry *e = cache_insert(c, family, addr, port);
		if (!e)
			return;
		memcpy(e->mac, lp->static_mac[i], 6);
		e->flags = NE_STATIC | NE_RESOLVED;
	}
}

static void want_gateways(struct sl_neigh_cache *c)
{
	for (uint16_t p = 0; p < c->local.nb_ports; p++) {
		const struct sl_local_port *lp = &c->local.port[p];
		if (!sl_addr_is_zero(&lp->gateway4))
			sl_neigh_want(c, SL_AF_INET, &lp->gateway4);
		if (!sl_addr_is_zero(&lp->gateway6))
			sl_neigh_want(c, SL_AF_INET6, &lp->gateway6);
	}
}

struct sl_neigh_cache *sl_neigh_cache_create(const struct sl_local *local)
{
	if (!local || local->nb_ports > SL_NEIGH_MAX_PORTS)
		return NULL;
	struct sl_neigh_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->local = *local;
	neigh_prefixes_build(&c->prefixes, &c->local);
	for (uint16_t p = 0; p < c->local.nb_ports; p++)
		add_static_entries(c, p);
	/* gateways are next hops by definition: resolve them before any traffic asks */
	want_gateways(c);
	return c;
}

void sl_neigh_cache_free(struct sl_neigh_cache *c)
{
	free(c);
}

/* ---- input ---- */

/* Locate the ARP body or the ICMP message inside the frame; false if absent. */
static bool rx_locate(struct neigh_rx *rx, uint32_t len)
{
	const struct sl_pkt_info *pi = rx->pi;

	if (pi->l3_off >= len)
		return false;
	rx->l3 = rx->frame + pi->l3_off;
	if (pi->ethertype == SL_ETHERTYPE_ARP) {
		rx->l3_len = len - pi->l3_off;
		return true;
	}
	bool icmp = (pi->family == SL_AF_INET && pi->proto == SL_PROTO_ICMP) ||
		    (pi->family == SL_AF_INET6 && pi->proto == SL_PROTO_ICMPV6);
	/* never trust the parser's offsets further than the frame itself */
	if (!icmp || pi->l4_off < pi->l3_off || (uint32_t)pi->l3_off + pi->l3_len > len ||
	    pi->l4_off > pi->l3_off + pi->l3_len)
		return false;
	rx->l3_len = pi->l3_len;
	rx->l4 = rx->frame + pi->l4_off;
	rx->l4_len = pi->l3_len - (uint32_t)(pi->l4_off - pi->l3_off);
	return true;
}

static bool rx_is_nd(const struct neigh_rx *rx)
{
	return rx->pi->family == SL_AF_INET6 && rx->l4_len > 0 &&
	       (rx->l4[0] == ICMP6_NS || rx->l4[0] == ICMP6_NA);
}

uint32_t sl_neigh_input(struct sl_neigh_cache *c, uint16_t port, const uint8_t *frame, uint32_t len,
			uint8_t *out, bool *changed, uint32_t now_ms)
{
	bool dummy;
	if (!changed)
		changed = &dummy;
	*changed = false;
	if (!c || !frame || !out || port >= c->local.nb_ports)
		return 0;

	struct sl_pkt_info pi;
	/* a tagged frame belongs to a segment our ports are not configured on */
	if (sl_pkt_parse(frame, len, &pi) != SL_DROP_NONE || pi.vlan != 0)
		return 0;
	struct neigh_rx rx = { .cache = c, .port = port, .frame = frame, .pi = &pi, .now_ms = now_ms };
	if (!rx_locate(&rx, len))
		return 0;
	if (pi.ethertype == SL_ETHERTYPE_ARP)
		return neigh_arp_input(&rx, out, changed);
	if (rx_is_nd(&rx))
		return neigh_nd_input(&rx, out, changed);
	return neigh_echo_input(&rx, out);
}

/* ---- resolution requests ---- */

void sl_neigh_want(struct sl_neigh_cache *c, int family, const union sl_addr *addr)
{
	if (!c || !addr || !neigh_family_ok(family) || !neigh_addr_is_unicast(family, addr))
		return;
	struct neigh_entry *e = cache_find(c, family, addr);
	if (e) {
		e->flags |= NE_WANTED;
		return;
	}
	/* only on-link addresses can be next hops; we could not solicit the others */
	const struct neigh_prefix *np = neigh_prefixes_match(&c->prefixes, family, addr);
	if (!np || sl_local_owns(&c->local, family, addr, NULL))
		return;
	e = cache_insert(c, family, addr, np->port);
	if (e)
		e->flags = NE_WANTED;
}

static bool solicit_due(const struct neigh_entry *e, uint32_t now_ms, uint32_t refresh_ms)
{
	if ((e->flags & (NE_WANTED | NE_STATIC)) != NE_WANTED)
		return false;
	if (!(e->flags & NE_RESOLVED))
		return !(e->flags & NE_SOLICITED) || time_reached(now_ms, e->solicit_ms + NEIGH_RETRY_MS);
	return time_reached(now_ms, e->solicit_ms + refresh_ms);
}

static uint32_t build_solicitation(const struct sl_neigh_cache *c, const struct neigh_entry *e, uint8_t *out,
				   uint16_t *port)
{
	const struct neigh_prefix *np = neigh_prefixes_match(&c->prefixes, e->family, &e->addr);
	if (!np)
		return 0;
	const uint8_t *mac = c->local.port[np->port].mac;
	*port = np->port;
	if (e->family == SL_AF_INET)
		return neigh_arp_build_request(out, mac, &np->local, &e->addr);
	return neigh_nd_build_ns(out, mac, &np->local, &e->addr);
}

/* Drop expired entries, keeping the others in order. */
static void age_entries(struct sl_neigh_cache *c, uint32_t now_ms)
{
	if (!time_reached(now_ms, c->last_sweep_ms + NEIGH_SWEEP_MS))
		return;
	c->last_sweep_ms = now_ms;
	unsigned kept = 0;
	for (unsigned i = 0; i < c->nb_entries; i++)
		if (!entry_expired(&c->entries[i], now_ms))
			c->entries[kept++] = c->entries[i];
	if (kept == c->nb_entries)
		return;
	c->nb_entries = kept;
	c->cursor = 0;
	index_rebuild(c);
}

uint32_t sl_neigh_solicit(struct sl_neigh_cache *c, uint8_t *out, uint16_t *port, uint32_t now_ms,
			  uint32_t refresh_ms)
{
	if (!c || !out || !port)
		return 0;
	age_entries(c, now_ms);
	/* a refresh more frequent than the retry of unresolved entries buys nothing,
	 * and a zero period would make "call in a loop" never end */
	if (refresh_ms < NEIGH_RETRY_MS)
		refresh_ms = NEIGH_RETRY_MS;
	for (unsigned k = 0; k < c->nb_entries; k++) {
		unsigned i = (c->cursor + k) % c->nb_entries;
		struct neigh_entry *e = &c->entries[i];
		if (!solicit_due(e, now_ms, refresh_ms))
			continue;
		/* mark it sent even if no frame can be built, so the loop ends */
		e->flags |= NE_SOLICITED;
		e->solicit_ms = now_ms;
		c->cursor = i + 1;
		uint32_t len = build_solicitation(c, e, out, port);
		if (len)
			return len;
	}
	return 0;
}

/* ---- the immutable table ---- */

static uint32_t table_slots_for(unsigned count)
{
	uint32_t n = NEIGH_TABLE_MIN_SLOTS;
	while (n < 2u * count)
		n <<= 1;
	return n;
}

static void table_insert(struct sl_neigh_table *t, const struct neigh_entry *e, const uint8_t src_mac[6])
{
	uint32_t i = neigh_hash(e->family, &e->addr) & t->mask;

	while (t->slots[i].family != SL_AF_NONE)
		i = (i + 1) & t->mask;
	struct neigh_slot *s = &t->slots[i];
	s->addr = e->addr;
	s->family = e->family;
	s->eg.port = e->port;
	memcpy(s->eg.dst_mac, e->mac, 6);
	memcpy(s->eg.src_mac, src_mac, 6);
	t->count++;
}

/* The gateway of each family: the first port that has one. */
static void table_set_gateways(struct sl_neigh_table *t, const struct sl_local *l)
{
	for (uint16_t p = 0; p < l->nb_ports; p++) {
		const struct sl_local_port *lp = &l->port[p];
		if (sl_addr_is_zero(&t->gateway[0]))
			t->gateway[0] = lp->gateway4;
		if (sl_addr_is_zero(&t->gateway[1]))
			t->gateway[1] = lp->gateway6;
	}
	/* precomputed so routed traffic costs no second hash lookup */
	for (unsigned f = 0; f < 2; f++)
		if (!sl_addr_is_zero(&t->gateway[f]))
			t->gateway_egress[f] = neigh_table_find(t, f ? SL_AF_INET6 : SL_AF_INET, &t->gateway[f]);
}

static unsigned count_resolved(const struct sl_neigh_cache *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nb_entries; i++)
		n += (c->entries[i].flags & NE_RESOLVED) != 0;
	return n;
}

struct sl_neigh_table *sl_neigh_table_build(const struct sl_neigh_cache *c)
{
	if (!c)
		return NULL;
	struct sl_neigh_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	uint32_t nslots = table_slots_for(count_resolved(c));
	size_t bytes = (size_t)nslots * sizeof(struct neigh_slot);
	t->slots = aligned_alloc(64, bytes);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	memset(t->slots, 0, bytes);
	t->mask = nslots - 1;
	for (unsigned i = 0; i < c->nb_entries; i++) {
		const struct neigh_entry *e = &c->entries[i];
		if (e->flags & NE_RESOLVED)
			table_insert(t, e, c->local.port[e->port].mac);
	}
	t->prefixes = c->prefixes;
	table_set_gateways(t, &c->local);
	return t;
}

void sl_neigh_table_free(struct sl_neigh_table *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

unsigned sl_neigh_table_size(const struct sl_neigh_table *t)
{
	return t ? t->count : 0;
}
