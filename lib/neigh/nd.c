/*
 * IPv6 neighbour discovery (RFC 4861): neighbour solicitations and
 * advertisements only (no router discovery, no redirects).
 *
 * We answer solicitations for our addresses (and defend them against
 * duplicate address detection), learn solicitors from their source
 * link-layer option and advertisers from their target link-layer option.
 * Both messages share one layout here: 24-byte header plus exactly one
 * link-layer address option, so one builder serves both.
 */
#include "neigh/neigh_internal.h"

#define ND_HDR_LEN 24
#define ND_HOP_LIMIT 255 /* proves the sender is on-link (RFC 4861 7.1) */
#define ND_OPT_SOURCE_LL 1
#define ND_OPT_TARGET_LL 2
#define NA_FLAG_ROUTER 0x80 /* never set: the appliance is a host, not a router, on its links */
#define NA_FLAG_SOLICITED 0x40
#define NA_FLAG_OVERRIDE 0x20

struct nd_msg {
	uint8_t type;
	uint8_t flags; /* NA: R, S and O, first byte after the checksum */
	union sl_addr target;
	const uint8_t *lladdr; /* source (NS) or target (NA) link-layer address option, or NULL */
};

/* ---- addresses ---- */

/* 33:33 followed by the low 32 bits of the group (RFC 2464 section 7). */
static void nd_multicast_mac(const union sl_addr *group, uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, group->v6 + 12, 4);
}

/* ff02::1:ffXX:XXXX with the low 24 bits of the target (RFC 4291 2.7.1). */
static void nd_solicited_node(const union sl_addr *target, union sl_addr *group)
{
	static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff };

	memcpy(group->v6, prefix, sizeof(prefix));
	memcpy(group->v6 + 13, target->v6 + 13, 3);
}

static void nd_all_nodes(union sl_addr *group)
{
	memset(group, 0, sizeof(*group));
	group->v6[0] = 0xff;
	group->v6[1] = 0x02;
	group->v6[15] = 0x01;
}

/* ---- building ---- */

static uint32_t nd_build(uint8_t *out, uint8_t type, uint8_t flags, const uint8_t eth_dst[6],
			 const uint8_t mac[6], const union sl_addr *src, const union sl_addr *dst,
			 const union sl_addr *target)
{
	uint8_t *ip = out + SL_ETH_HLEN;
	uint8_t *msg = ip + SL_IPV6_HLEN;

	sl_pkt_write_eth(out, eth_dst, mac, SL_ETHERTYPE_IPV6);
	neigh_write_ip(SL_AF_INET6, ip, src, dst, NEIGH_ND_MSG_LEN, ND_HOP_LIMIT);
	memset(msg, 0, NEIGH_ND_MSG_LEN);
	msg[0] = type;
	msg[4] = flags;
	memcpy(msg + 8, target->v6, 16);
	msg[ND_HDR_LEN] = type == ICMP6_NS ? ND_OPT_SOURCE_LL : ND_OPT_TARGET_LL;
	msg[ND_HDR_LEN + 1] = 1; /* in units of 8 bytes */
	memcpy(msg + ND_HDR_LEN + 2, mac, 6);
	neigh_icmp_set_csum(SL_AF_INET6, src, dst, msg, NEIGH_ND_MSG_LEN);
	return NEIGH_ND_FRAME_LEN;
}

uint32_t neigh_nd_build_ns(uint8_t *out, const uint8_t mac[6], const union sl_addr *src,
			   const union sl_addr *target)
{
	union sl_addr group;
	uint8_t group_mac[6];

	nd_solicited_node(target, &group);
	nd_multicast_mac(&group, group_mac);
	return nd_build(out, ICMP6_NS, 0, group_mac, mac, src, &group, target);
}

/* ---- parsing ---- */

/* Walk the options; any zero-length or overrunning option voids the message (RFC 4861 4.6). */
static bool nd_parse_options(const uint8_t *opt, uint32_t len, uint8_t wanted, const uint8_t **lladdr)
{
	*lladdr = NULL;
	while (len > 0) {
		if (len < 2 || opt[1] == 0 || opt[1] * 8u > len)
			return false;
		/* at least 8 bytes long, so the 6-byte Ethernet address fits */
		if (opt[0] == wanted)
			*lladdr = opt + 2;
		len -= opt[1] * 8u;
		opt += opt[1] * 8u;
	}
	return true;
}

static bool nd_parse(const struct neigh_rx *rx, struct nd_msg *m)
{
	const struct sl_pkt_info *pi = rx->pi;
	const uint8_t *icmp = rx->l4;

	if (pi->ttl != ND_HOP_LIMIT || (pi->flags & SL_PKT_FRAGMENT) || rx->l4_len < ND_HDR_LEN || icmp[1] != 0 ||
	    neigh_icmp_csum(SL_AF_INET6, &pi->src, &pi->dst, icmp, rx->l4_len) != 0)
		return false;
	m->type = icmp[0];
	m->flags = icmp[4];
	memcpy(m->target.v6, icmp + 8, 16);
	if (neigh_addr_is_multicast(SL_AF_INET6, &m->target))
		return false;
	uint8_t wanted = m->type == ICMP6_NS ? ND_OPT_SOURCE_LL : ND_OPT_TARGET_LL;
	return nd_parse_options(icmp + ND_HDR_LEN, rx->l4_len - ND_HDR_LEN, wanted, &m->lladdr) &&
	       (!m->lladdr || neigh_mac_is_unicast(m->lladdr));
}

/* ---- solicitations ---- */

/* Someone runs duplicate address detection on our address: tell everyone it is taken. */
static uint32_t nd_defend(const struct neigh_rx *rx, const struct nd_msg *m, uint8_t *out)
{
	const uint8_t *mac = neigh_cache_local(rx->cache)->port[rx->port].mac;
	union sl_addr all_nodes;
	uint8_t all_nodes_mac[6];

	nd_all_nodes(&all_nodes);
	nd_multicast_mac(&all_nodes, all_nodes_mac);
	return nd_build(out, ICMP6_NA, NA_FLAG_OVERRIDE, all_nodes_mac, mac, &m->target, &all_nodes, &m->target);
}

static uint32_t nd_solicitation(const struct neigh_rx *rx, const struct nd_msg *m, uint8_t *out, bool *changed)
{
	const struct sl_pkt_info *pi = rx->pi;
	const uint8_t *mac = neigh_cache_local(rx->cache)->port[rx->port].mac;
	union sl_addr group;

	if (!neigh_port_owns(neigh_cache_local(rx->cache), rx->port, SL_AF_INET6, &m->target))
		return 0;
	nd_solicited_node(&m->target, &group);
	bool to_group = sl_addr_eq(&pi->dst, &group);
	if (!to_group && !sl_addr_eq(&pi->dst, &m->target))
		return 0;
	if (sl_addr_is_zero(&pi->src))
		return to_group && !m->lladdr ? nd_defend(rx, m, out) : 0;
	/* a multicast solicitation must say where to answer (RFC 4861 7.1.1) */
	if (!neigh_addr_is_unicast(SL_AF_INET6, &pi->src) || (to_group && !m->lladdr))
		return 0;
	const uint8_t *reply_mac = m->lladdr ? m->lladdr : rx->frame + 6;
	if (!neigh_mac_is_unicast(reply_mac))
		return 0;
	if (m->lladdr)
		*changed = neigh_learn(rx->cache, rx->port, SL_AF_INET6, &pi->src, m->lladdr, NEIGH_LEARN_CREATE,
				       true, rx->now_ms);
	return nd_build(out, ICMP6_NA, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE, reply_mac, mac, &m->target, &pi->src,
			&m->target);
}

/* ---- advertisements ---- */

static void nd_advertisement(const struct neigh_rx *rx, const struct nd_msg *m, bool *changed)
{
	const struct sl_pkt_info *pi = rx->pi;
	bool solicited = m->flags & NA_FLAG_SOLICITED;
	bool to_group = neigh_addr_is_multicast(SL_AF_INET6, &pi->dst);

	/* RFC 4861 7.1.2: a multicast advertisement cannot be solicited */
	if ((solicited && to_group) || !m->lladdr)
		return;
	if (!to_group && !neigh_port_owns(neigh_cache_local(rx->cache), rx->port, SL_AF_INET6, &pi->dst))
		return;
	/* an answer to us may create an entry; unsolicited news only updates one */
	enum neigh_learn_mode mode = solicited ? NEIGH_LEARN_CREATE : NEIGH_LEARN_UPDATE_ONLY;
	*changed = neigh_learn(rx->cache, rx->port, SL_AF_INET6, &m->target, m->lladdr, mode,
			       m->flags & NA_FLAG_OVERRIDE, rx->now_ms);
}

uint32_t neigh_nd_input(const struct neigh_rx *rx, uint8_t *out, bool *changed)
{
	struct nd_msg m;

	if (!nd_parse(rx, &m))
		return 0;
	if (m.type == ICMP6_NS)
		return nd_solicitation(rx, &m, out, changed);
	nd_advertisement(rx, &m, changed);
	return 0;
}
