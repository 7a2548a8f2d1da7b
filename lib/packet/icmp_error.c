/*
 * ICMP "fragmentation needed" (RFC 792, RFC 1191) and ICMPv6 "packet too
 * big" (RFC 4443): how a node that cannot forward a packet without
 * fragmenting it tells the sender the size that fits, so path-MTU
 * discovery works through an encapsulating mux instead of black-holing.
 */
#include <arpa/inet.h>
#include <string.h>

#include "packet/packet.h"

#define ICMP_HLEN 8
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMPV6_PACKET_TOO_BIG 2
#define IPV6_MIN_MTU 1280

static void put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

static uint32_t too_big_v4(uint8_t *out, const uint8_t *orig, uint32_t orig_len,
			   const union sl_addr *sender, const union sl_addr *from, uint16_t mtu)
{
	/* The offending header and the first 8 bytes of its payload (RFC 792). */
	uint32_t quote = (uint32_t)(orig[0] & 0x0f) * 4 + 8;
	if (quote > orig_len)
		quote = orig_len;
	uint16_t total = (uint16_t)(SL_IPV4_HLEN + ICMP_HLEN + quote);
	uint8_t *icmp = out + SL_IPV4_HLEN;

	memset(out, 0, SL_IPV4_HLEN + ICMP_HLEN);
	out[0] = 0x45;
	put16(out + 2, total);
	out[8] = 64;
	out[9] = SL_PROTO_ICMP;
	memcpy(out + 12, &from->v4, 4);
	memcpy(out + 16, &sender->v4, 4);
	uint16_t c = sl_csum_fold(sl_csum_partial(out, SL_IPV4_HLEN, 0));
	memcpy(out + 10, &c, 2);

	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_FRAG_NEEDED;
	put16(icmp + 6, mtu); /* next-hop MTU (RFC 1191) */
	memcpy(icmp + ICMP_HLEN, orig, quote);
	c = sl_csum_fold(sl_csum_partial(icmp, ICMP_HLEN + quote, 0));
	memcpy(icmp + 2, &c, 2);
	return total;
}

static uint32_t too_big_v6(uint8_t *out, const uint8_t *orig, uint32_t orig_len,
			   const union sl_addr *sender, const union sl_addr *from, uint16_t mtu)
{
	/* As much of the packet as keeps the error within the minimum MTU. */
	uint32_t quote = IPV6_MIN_MTU - SL_IPV6_HLEN - ICMP_HLEN;
	if (quote > orig_len)
		quote = orig_len;
	uint16_t plen = (uint16_t)(ICMP_HLEN + quote);
	uint8_t *icmp = out + SL_IPV6_HLEN;

	memset(out, 0, SL_IPV6_HLEN + ICMP_HLEN);
	out[0] = 0x60;
	put16(out + 4, plen);
	out[6] = SL_PROTO_ICMPV6;
	out[7] = 64;
	memcpy(out + 8, from->v6, 16);
	memcpy(out + 24, sender->v6, 16);

	icmp[0] = ICMPV6_PACKET_TOO_BIG;
	uint32_t mtu32 = htonl(mtu < IPV6_MIN_MTU ? IPV6_MIN_MTU : mtu);
	memcpy(icmp + 4, &mtu32, 4);
	memcpy(icmp + ICMP_HLEN, orig, quote);
	/* Pseudo-header: addresses, upper-layer length, next header. */
	uint8_t tail[8] = { 0, 0, (uint8_t)(plen >> 8), (uint8_t)plen, 0, 0, 0, SL_PROTO_ICMPV6 };
	uint32_t sum = sl_csum_partial(out + 8, 32, 0);
	sum = sl_csum_partial(tail, sizeof(tail), sum);
	uint16_t c = sl_csum_fold(sl_csum_partial(icmp, plen, sum));
	memcpy(icmp + 2, &c, 2);
	return SL_IPV6_HLEN + plen;
}

uint32_t sl_pkt_icmp_too_big(uint8_t *out, const uint8_t *orig, uint32_t orig_len, int family,
			     const union sl_addr *sender, const union sl_addr *from, uint16_t mtu)
{
	if (family == SL_AF_INET && orig_len >= SL_IPV4_HLEN)
		return too_big_v4(out, orig, orig_len, sender, from, mtu);
	if (family == SL_AF_INET6 && orig_len >= SL_IPV6_HLEN)
		return too_big_v6(out, orig, orig_len, sender, from, mtu);
	return 0;
}
