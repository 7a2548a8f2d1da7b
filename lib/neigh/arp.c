/*
 * ARP for IPv4 over Ethernet (RFC 826), with the probe handling of
 * RFC 5227: we answer requests for our addresses, learn from requests and
 * replies addressed to us, and let gratuitous or overheard ARP only update
 * neighbours we already know (so a stranger cannot fill the cache).
 */
#include "neigh/neigh_internal.h"

#define ARP_BODY_LEN 28
#define ARP_HTYPE_ETHERNET 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct arp_msg {
	uint16_t op;
	const uint8_t *sha; /* sender hardware address */
	union sl_addr spa;  /* sender protocol address */
	union sl_addr tpa;  /* target protocol address */
};

static bool arp_parse(const uint8_t *p, uint32_t len, struct arp_msg *m)
{
	if (len < ARP_BODY_LEN || neigh_rd16(p) != ARP_HTYPE_ETHERNET || neigh_rd16(p + 2) != SL_ETHERTYPE_IPV4 ||
	    p[4] != 6 || p[5] != 4)
		return false;
	m->op = neigh_rd16(p + 6);
	if (m->op != ARP_OP_REQUEST && m->op != ARP_OP_REPLY)
		return false;
	m->sha = p + 8;
	memset(&m->spa, 0, sizeof(m->spa));
	memset(&m->tpa, 0, sizeof(m->tpa));
	memcpy(&m->spa.v4, p + 14, 4);
	memcpy(&m->tpa.v4, p + 24, 4);
	/* answers go to sha: never to a group address */
	return neigh_mac_is_unicast(m->sha);
}

/* One builder for requests and replies: they differ only in their fields. */
static uint32_t arp_build(uint8_t *out, uint16_t op, const uint8_t eth_dst[6], const uint8_t sha[6],
			  const union sl_addr *spa, const uint8_t tha[6], const union sl_addr *tpa)
{
	uint8_t *a = out + SL_ETH_HLEN;

	sl_pkt_write_eth(out, eth_dst, sha, SL_ETHERTYPE_ARP);
	neigh_wr16(a, ARP_HTYPE_ETHERNET);
	neigh_wr16(a + 2, SL_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	neigh_wr16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa->v4, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &tpa->v4, 4);
	return NEIGH_ARP_FRAME_LEN;
}

uint32_t neigh_arp_build_request(uint8_t *out, const uint8_t mac[6], const union sl_addr *src,
				 const union sl_addr *target)
{
	static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t unknown[6];

	return arp_build(out, ARP_OP_REQUEST, broadcast, mac, src, unknown, target);
}

/* Reply to a request (or a probe, whose sender address 0 comes back as target). */
static uint32_t arp_answer(const struct neigh_rx *rx, const struct arp_msg *m, uint8_t *out)
{
	const uint8_t *mac = neigh_cache_local(rx->cache)->port[rx->port].mac;

	return arp_build(out, ARP_OP_REPLY, m->sha, mac, &m->tpa, m->sha, &m->spa);
}

uint32_t neigh_arp_input(const struct neigh_rx *rx, uint8_t *out, bool *changed)
{
	struct arp_msg m;

	if (!arp_parse(rx->l3, rx->l3_len, &m))
		return 0;
	bool for_us = neigh_port_owns(neigh_cache_local(rx->cache), rx->port, SL_AF_INET, &m.tpa);
	bool is_request = m.op == ARP_OP_REQUEST;

	/* a probe (RFC 5227) has no sender address to learn; answering defends ours */
	if (sl_addr_is_zero(&m.spa))
		return for_us && is_request ? arp_answer(rx, &m, out) : 0;
	/* gratuitous (sender announces itself) or overheard: update, never create */
	bool gratuitous = sl_addr_eq(&m.spa, &m.tpa);
	enum neigh_learn_mode mode = for_us && !gratuitous ? NEIGH_LEARN_CREATE : NEIGH_LEARN_UPDATE_ONLY;
	*changed = neigh_learn(rx->cache, rx->port, SL_AF_INET, &m.spa, m.sha, mode, true, rx->now_ms);
	return for_us && is_request && !gratuitous ? arp_answer(rx, &m, out) : 0;
}
