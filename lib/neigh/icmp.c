/*
 * ICMP and ICMPv6 echo for the appliance's own addresses, plus the
 * checksum and IP header helpers the ND code shares.
 *
 * Echo is answered from whichever of our addresses was pinged (weak host
 * model: the address may sit on another port), out of the port it came in
 * on, to the Ethernet source of the request.
 */
#include "neigh/neigh_internal.h"

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_HLEN 8
#define REPLY_HOP_LIMIT 64

uint16_t neigh_icmp_csum(int family, const union sl_addr *src, const union sl_addr *dst,
			 const uint8_t *msg, uint32_t len)
{
	uint32_t sum = 0;

	if (family == SL_AF_INET6) {
		/* RFC 8200 8.1: source, destination, upper-layer length, next header */
		uint8_t pseudo[40] = { 0 };
		memcpy(pseudo, src->v6, 16);
		memcpy(pseudo + 16, dst->v6, 16);
		neigh_wr16(pseudo + 32, (uint16_t)(len >> 16));
		neigh_wr16(pseudo + 34, (uint16_t)len);
		pseudo[39] = SL_PROTO_ICMPV6;
		sum = sl_csum_partial(pseudo, sizeof(pseudo), 0);
	}
	return sl_csum_fold(sl_csum_partial(msg, len, sum));
}

void neigh_icmp_set_csum(int family, const union sl_addr *src, const union sl_addr *dst, uint8_t *msg,
			 uint32_t len)
{
	msg[2] = msg[3] = 0;
	uint16_t csum = neigh_icmp_csum(family, src, dst, msg, len);
	/* sl_csum_fold yields the checksum in memory order, ready to store as is */
	memcpy(msg + 2, &csum, 2);
}

uint32_t neigh_write_ip(int family, uint8_t *hdr, const union sl_addr *src, const union sl_addr *dst,
			uint16_t payload_len, uint8_t hop_limit)
{
	if (family == SL_AF_INET) {
		sl_pkt_write_outer_ipv4(hdr, src->v4, dst->v4, payload_len, 0, hop_limit, SL_PROTO_ICMP);
		return SL_IPV4_HLEN;
	}
	sl_pkt_write_outer_ipv6(hdr, src->v6, dst->v6, payload_len, 0, 0, hop_limit, SL_PROTO_ICMPV6);
	return SL_IPV6_HLEN;
}

struct echo_kind {
	uint8_t request, reply;
	uint16_t ethertype;
	uint32_t ip_hlen;
};

static const struct echo_kind *echo_kind_of(int family)
{
	static const struct echo_kind v4 = { ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY, SL_ETHERTYPE_IPV4, SL_IPV4_HLEN };
	static const struct echo_kind v6 = { ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY, SL_ETHERTYPE_IPV6, SL_IPV6_HLEN };

	return family == SL_AF_INET ? &v4 : &v6;
}

static bool echo_request_valid(const struct neigh_rx *rx, const struct echo_kind *k)
{
	const struct sl_pkt_info *pi = rx->pi;
	const uint8_t *eth_src = rx->frame + 6;

	return !(pi->flags & SL_PKT_FRAGMENT) && rx->l4_len >= ICMP_ECHO_HLEN && rx->l4[0] == k->request &&
	       rx->l4[1] == 0 && sl_local_owns(neigh_cache_local(rx->cache), pi->family, &pi->dst, NULL) &&
	       neigh_addr_is_unicast(pi->family, &pi->src) && neigh_mac_is_unicast(eth_src) &&
	       SL_ETH_HLEN + k->ip_hlen + rx->l4_len <= SL_FRAME_MAX &&
	       neigh_icmp_csum(pi->family, &pi->src, &pi->dst, rx->l4, rx->l4_len) == 0;
}

uint32_t neigh_echo_input(const struct neigh_rx *rx, uint8_t *out)
{
	const struct sl_pkt_info *pi = rx->pi; /* ICMP over IPv4 or ICMPv6: sl_neigh_input checked */
	const struct echo_kind *k = echo_kind_of(pi->family);
	if (!echo_request_valid(rx, k))
		return 0;

	const uint8_t *mac = neigh_cache_local(rx->cache)->port[rx->port].mac;
	sl_pkt_write_eth(out, rx->frame + 6, mac, k->ethertype);
	/* IP options and extension headers of the request are not echoed */
	uint8_t *icmp = out + SL_ETH_HLEN +
			neigh_write_ip(pi->family, out + SL_ETH_HLEN, &pi->dst, &pi->src, (uint16_t)rx->l4_len,
				       REPLY_HOP_LIMIT);
	memcpy(icmp, rx->l4, rx->l4_len);
	icmp[0] = k->reply;
	neigh_icmp_set_csum(pi->family, &pi->dst, &pi->src, icmp, rx->l4_len);
	return (uint32_t)(icmp - out) + rx->l4_len;
}
