/*
 * In-place header rewrites on a parsed IP packet: address/port translation
 * and TTL decrement. Checksums are patched incrementally (RFC 1624) rather
 * than recomputed, so the cost does not depend on the payload size.
 *
 * ip points at the IP header. Offsets in pi are used relative to
 * pi->l3_off, so pi may come from sl_pkt_parse (pass frame + l3_off) or
 * from sl_pkt_parse_ip without adjustment.
 */
#include <stdbool.h>

#include "packet/csum_inline.h"
#include "packet/packet.h"

#define IPV4_CSUM_OFF 10
#define IPV4_TTL_OFF 8
#define IPV4_SRC_OFF 12
#define IPV6_HOP_LIMIT_OFF 7
#define IPV6_SRC_OFF 8
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6

enum nat_side { NAT_SRC, NAT_DST };

/*
 * Port and TCP/UDP checksum. addr_diff carries the pseudo-header change
 * from the address rewrite so the checksum is patched once.
 */
static void rewrite_l4(uint8_t *ip, const struct sl_pkt_info *pi, enum nat_side side, uint16_t port,
		       uint32_t addr_diff)
{
	uint32_t l4_rel = (uint32_t)pi->l4_off - pi->l3_off;
	uint8_t *l4 = ip + l4_rel;
	uint8_t *port_field = l4 + (side == NAT_DST ? 2 : 0);
	const uint8_t new_port[2] = { (uint8_t)(port >> 8), (uint8_t)port };
	uint32_t diff = addr_diff + csum_word_diff(port_field, new_port, 2);

	memcpy(port_field, new_port, 2);
	uint32_t csum_off = pi->proto == SL_PROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF;
	/* A quote in an ICMP error may end before the checksum (l3_len then
	 * counts the bytes present); a whole segment always holds it. */
	if (l4_rel + csum_off + 2 > pi->l3_len)
		return;
	uint8_t *csum = l4 + csum_off;
	if (pi->proto == SL_PROTO_TCP) {
		csum_apply_diff(csum, diff);
		return;
	}

	/* Zero means "no checksum" over IPv4 and must stay so. */
	if (pi->family == SL_AF_INET && csum[0] == 0 && csum[1] == 0)
		return;
	/* A computed zero is sent as all ones (RFC 768, RFC 8200 8.1). */
	if (csum_apply_diff(csum, diff) == 0)
		memset(csum, 0xff, 2);
}

/* One body made per family (v4 a constant): the address length and
 * offsets are then fixed, and the checksum loops unrolled. */
static inline __attribute__((always_inline)) void nat_rewrite_family(uint8_t *ip, struct sl_pkt_info *pi,
								     enum nat_side side,
								     const union sl_addr *addr, uint16_t port,
								     const bool v4)
{
	/* Source and destination sit next to each other in both header formats. */
	unsigned alen = v4 ? 4 : 16;
	uint8_t *field = ip + (v4 ? IPV4_SRC_OFF : IPV6_SRC_OFF) + (side == NAT_DST ? alen : 0);
	union sl_addr *pi_addr = side == NAT_DST ? &pi->dst : &pi->src;
	uint32_t diff = csum_word_diff(field, addr->v6, alen);

	memcpy(field, addr->v6, alen);
	*pi_addr = *addr; /* whole words: sl_addr keeps unused bytes zero */
	if (v4)
		csum_apply_diff(ip + IPV4_CSUM_OFF, diff);

	/* Without a whole TCP/UDP header (ICMP, later fragments, ...) only the
	 * address changes; ICMPv4 has no pseudo-header so stays valid. A first
	 * fragment holds the checksum of the whole datagram, and the
	 * incremental update is right for it as well. */
	if (!(pi->flags & SL_PKT_HAS_PORTS) || (pi->proto != SL_PROTO_TCP && pi->proto != SL_PROTO_UDP))
		return;
	rewrite_l4(ip, pi, side, port, diff);
	if (side == NAT_DST)
		pi->dport = port;
	else
		pi->sport = port;
}

static void nat_rewrite(uint8_t *ip, struct sl_pkt_info *pi, enum nat_side side, const union sl_addr *addr,
			uint16_t port)
{
	if (pi->family == SL_AF_INET)
		nat_rewrite_family(ip, pi, side, addr, port, true);
	else if (pi->family == SL_AF_INET6)
		nat_rewrite_family(ip, pi, side, addr, port, false);
}

void sl_pkt_nat_dst(uint8_t *ip, struct sl_pkt_info *pi, const union sl_addr *addr, uint16_t port)
{
	nat_rewrite(ip, pi, NAT_DST, addr, port);
}

void sl_pkt_nat_src(uint8_t *ip, struct sl_pkt_info *pi, const union sl_addr *addr, uint16_t port)
{
	nat_rewrite(ip, pi, NAT_SRC, addr, port);
}

enum sl_drop sl_pkt_dec_ttl(uint8_t *ip, struct sl_pkt_info *pi)
{
	uint8_t *ttl;

	if (pi->family == SL_AF_INET)
		ttl = ip + IPV4_TTL_OFF;
	else if (pi->family == SL_AF_INET6)
		ttl = ip + IPV6_HOP_LIMIT_OFF;
	else
		return SL_DROP_NON_IP;
	if (*ttl <= 1)
		return SL_DROP_TTL_EXCEEDED;

	if (pi->family == SL_AF_INET) {
		/* TTL is the high byte of a checksummed 16-bit word (with the
		 * protocol): ~m + m' is 0xffff - 0x0100 whatever the TTL, so RFC
		 * 1624's HC' = ~(~HC + ~m + m') adds a constant. */
		uint8_t minus_one[2] = { 0xfe, 0xff }; /* 0xfeff as network-order bytes */
		uint16_t diff;

		memcpy(&diff, minus_one, 2);
		ttl[0]--;
		csum_apply_diff(ip + IPV4_CSUM_OFF, diff);
	} else {
		ttl[0]--;
	}
	pi->ttl = ttl[0];
	return SL_DROP_NONE;
}

/* ------------------------------------------------------------ ICMP errors */

#define ICMP_CSUM_OFF 2

/* The quoted packet as a parsed packet of its own (l3_len: the bytes present). */
static struct sl_pkt_info quote_info(const struct sl_pkt_info *outer, const struct sl_icmp_quote *q)
{
	return (struct sl_pkt_info){
		.l3_off = 0, .l4_off = (uint16_t)(q->l4_off - q->ip_off), .l3_len = q->len,
		.family = outer->family, .proto = q->proto, .flags = SL_PKT_HAS_PORTS,
		.sport = q->sport, .dport = q->dport, .src = q->src, .dst = q->dst,
	};
}

static void icmp_checksum_set(uint8_t *ip, const struct sl_pkt_info *pi)
{
	uint32_t l4_rel = (uint32_t)pi->l4_off - pi->l3_off;
	uint32_t l4_len = pi->l3_len - l4_rel;
	uint8_t *icmp = ip + l4_rel;
	uint64_t sum = pi->family == SL_AF_INET6 ? csum_pseudo(ip, pi->family, pi->proto, l4_len) : 0;

	memset(icmp + ICMP_CSUM_OFF, 0, 2);
	uint16_t c = (uint16_t)~csum_fold64(csum_raw(icmp, l4_len, sum));
	memcpy(icmp + ICMP_CSUM_OFF, &c, 2);
}

/* outer_side of the outer header and the opposite side of the quote. */
static void icmp_nat(uint8_t *ip, struct sl_pkt_info *pi, struct sl_icmp_quote *q, enum nat_side outer_side,
		     const union sl_addr *addr, uint16_t port)
{
	struct sl_pkt_info qi = quote_info(pi, q);
	enum nat_side quote_side = outer_side == NAT_DST ? NAT_SRC : NAT_DST;

	nat_rewrite(ip, pi, outer_side, addr, 0); /* ICMP: the address only */
	nat_rewrite(ip + q->ip_off, &qi, quote_side, addr, port);
	q->src = qi.src;
	q->dst = qi.dst;
	q->sport = qi.sport;
	q->dport = qi.dport;
	icmp_checksum_set(ip, pi);
}

void sl_pkt_icmp_nat_to_dip(uint8_t *ip, struct sl_pkt_info *pi, struct sl_icmp_quote *q,
			    const union sl_addr *addr, uint16_t port)
{
	icmp_nat(ip, pi, q, NAT_DST, addr, port);
}

void sl_pkt_icmp_nat_to_client(uint8_t *ip, struct sl_pkt_info *pi, struct sl_icmp_quote *q,
			       const union sl_addr *addr, uint16_t port)
{
	icmp_nat(ip, pi, q, NAT_SRC, addr, port);
}
