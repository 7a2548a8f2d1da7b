/*
 * libFuzzer target for lib/packet.
 *
 * Each input is tried as an Ethernet frame (sl_pkt_parse) and as a bare
 * IPv4 and IPv6 packet (sl_pkt_parse_ip). Whatever parses is rewritten on
 * an exact-size heap copy (nat_dst, nat_src, dec_ttl) so ASan sees any
 * write out of bounds, and the result is checked for properties that must
 * hold for every input:
 *   - the rewritten packet still parses, with the same shape and the new
 *     addresses, ports and TTL (so the IPv4 header checksum was updated);
 *   - a TCP/UDP checksum that verified before still verifies, and one that
 *     did not still does not (the incremental update is exact);
 *   - an accepted bare IP packet, encapsulated in IPv4 and in IPv6, gives a
 *     frame that parses, with the inner packet where the outer says;
 *   - an ICMP error's quote lies inside the packet, and translating the
 *     error either way gives an error that parses to the same quote shape
 *     with the new address and port, and a valid ICMP checksum.
 *
 * Random bytes almost never carry a correct IPv4 header checksum, which
 * would hide everything behind BAD_IP_CHECKSUM, so every input is also
 * tried with its IPv4 header checksum and its TCP/UDP or ICMP checksum
 * repaired.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet/packet.h"
#include "require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NEW_DPORT 8080
#define NEW_SPORT 40000

static const union sl_addr new_dst4 = { .v6 = { 198, 51, 100, 7 } };
static const union sl_addr new_src4 = { .v6 = { 203, 0, 113, 250 } };
static const union sl_addr new_dst6 = { .v6 = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0xff, [15] = 0x01 } };
static const union sl_addr new_src6 = { .v6 = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 0x99 } };

static uint8_t *dup_exact(const uint8_t *p, uint32_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	if (!c)
		abort();
	if (len)
		memcpy(c, p, len);
	return c;
}

static enum sl_drop parse_as(const uint8_t *buf, uint32_t len, int family, struct sl_pkt_info *pi)
{
	return family == SL_AF_NONE ? sl_pkt_parse(buf, len, pi) : sl_pkt_parse_ip(buf, len, family, pi);
}

static uint8_t *l4_header(uint8_t *ip, const struct sl_pkt_info *pi)
{
	return ip + (pi->l4_off - pi->l3_off);
}

/* Verifiable, and the zero UDP checksum rule (which NAT must keep) is out of play. */
static bool checksum_comparable(uint8_t *ip, const struct sl_pkt_info *pi)
{
	if (!(pi->flags & SL_PKT_HAS_PORTS) || (pi->flags & SL_PKT_FRAGMENT))
		return false;
	if (pi->proto == SL_PROTO_UDP) {
		const uint8_t *udp = l4_header(ip, pi);

		return udp[6] != 0 || udp[7] != 0;
	}
	return pi->proto == SL_PROTO_TCP;
}

/*
 * Rewrite a copy of buf (parsed into *parsed as family) and check the
 * properties in the file comment. family SL_AF_NONE means an Ethernet frame.
 */
static void exercise_rewrites(const uint8_t *buf, uint32_t len, int family, const struct sl_pkt_info *parsed)
{
	uint8_t *copy = dup_exact(buf, len);
	uint8_t *ip = copy + parsed->l3_off;
	struct sl_pkt_info pi = *parsed, again;
	bool v4 = pi.family == SL_AF_INET;
	bool comparable = checksum_comparable(ip, &pi);
	int l4_ok = sl_pkt_l4_checksum_ok(ip, &pi);

	sl_pkt_nat_dst(ip, &pi, v4 ? &new_dst4 : &new_dst6, NEW_DPORT);
	sl_pkt_nat_src(ip, &pi, v4 ? &new_src4 : &new_src6, NEW_SPORT);
	REQUIRE(parse_as(copy, len, family, &again) == SL_DROP_NONE);
	REQUIRE(again.l3_off == parsed->l3_off && again.l4_off == parsed->l4_off && again.l3_len == parsed->l3_len);
	REQUIRE(again.proto == parsed->proto && again.flags == parsed->flags && again.ttl == parsed->ttl);
	REQUIRE(sl_addr_eq(&again.dst, v4 ? &new_dst4 : &new_dst6) && sl_addr_eq(&again.dst, &pi.dst));
	REQUIRE(sl_addr_eq(&again.src, v4 ? &new_src4 : &new_src6) && sl_addr_eq(&again.src, &pi.src));
	if (again.flags & SL_PKT_HAS_PORTS)
		REQUIRE(again.dport == NEW_DPORT && again.sport == NEW_SPORT && pi.dport == NEW_DPORT);
	if (comparable)
		REQUIRE(sl_pkt_l4_checksum_ok(ip, &pi) == l4_ok);
	else if (l4_ok)
		REQUIRE(sl_pkt_l4_checksum_ok(ip, &pi)); /* e.g. UDP/IPv4 without checksum stays valid */

	enum sl_drop ttl = sl_pkt_dec_ttl(ip, &pi);

	REQUIRE(parse_as(copy, len, family, &again) == SL_DROP_NONE);
	if (ttl == SL_DROP_NONE)
		REQUIRE(again.ttl == parsed->ttl - 1 && pi.ttl == again.ttl);
	else
		REQUIRE(ttl == SL_DROP_TTL_EXCEEDED && parsed->ttl <= 1 && again.ttl == parsed->ttl);
	free(copy);
}

/* Encapsulating an accepted inner packet gives a frame that parses back to it. */
static void exercise_encap(const uint8_t *inner, uint32_t inner_len, int inner_family)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	uint8_t proto = inner_family == SL_AF_INET ? SL_PROTO_IPIP : SL_PROTO_IPV6;

	for (int outer = 0; outer < 2; outer++) {
		uint32_t hlen = outer ? SL_IPV6_HLEN : SL_IPV4_HLEN;
		uint32_t len = SL_ETH_HLEN + hlen + inner_len;
		struct sl_pkt_info pi;

		if (hlen + inner_len > UINT16_MAX)
			continue;

		uint8_t *frame = malloc(len);

		if (!frame)
			abort();
		sl_pkt_write_eth(frame, mac, mac, outer ? SL_ETHERTYPE_IPV6 : SL_ETHERTYPE_IPV4);
		if (outer)
			sl_pkt_write_outer_ipv6(frame + SL_ETH_HLEN, new_src6.v6, new_dst6.v6, (uint16_t)inner_len, 0,
						inner_len * 2654435761u, 64, proto);
		else
			sl_pkt_write_outer_ipv4(frame + SL_ETH_HLEN, new_src4.v4, new_dst4.v4, (uint16_t)inner_len, 0, 64,
						proto);
		memcpy(frame + SL_ETH_HLEN + hlen, inner, inner_len);
		REQUIRE(sl_pkt_parse(frame, len, &pi) == SL_DROP_NONE);
		REQUIRE(pi.proto == proto && pi.l4_off == SL_ETH_HLEN + hlen && pi.l3_len == hlen + inner_len);
		REQUIRE(sl_pkt_parse_ip(frame + pi.l4_off, inner_len, inner_family, &pi) == SL_DROP_NONE);
		free(frame);
	}
}

/* Translate a copy of an ICMP error one way and check what comes out. */
static void exercise_icmp_nat(const uint8_t *buf, uint32_t len, int family, const struct sl_pkt_info *parsed,
			      const struct sl_icmp_quote *quoted, bool to_dip)
{
	uint8_t *copy = dup_exact(buf, len);
	uint8_t *ip = copy + parsed->l3_off;
	struct sl_pkt_info pi = *parsed, again;
	struct sl_icmp_quote q = *quoted, q2;
	bool v4 = pi.family == SL_AF_INET;
	const union sl_addr *a = v4 ? (to_dip ? &new_dst4 : &new_src4) : (to_dip ? &new_dst6 : &new_src6);
	uint16_t port = to_dip ? NEW_DPORT : NEW_SPORT;

	if (to_dip)
		sl_pkt_icmp_nat_to_dip(ip, &pi, &q, a, port);
	else
		sl_pkt_icmp_nat_to_client(ip, &pi, &q, a, port);
	REQUIRE(parse_as(copy, len, family, &again) == SL_DROP_NONE);
	REQUIRE(again.l4_off == parsed->l4_off && again.l3_len == parsed->l3_len && again.proto == parsed->proto);
	REQUIRE(sl_addr_eq(to_dip ? &again.dst : &again.src, a));
	REQUIRE(sl_pkt_parse_icmp_error(ip, &again, &q2) == SL_DROP_NONE);
	REQUIRE(q2.ip_off == quoted->ip_off && q2.l4_off == quoted->l4_off && q2.len == quoted->len);
	REQUIRE(sl_addr_eq(to_dip ? &q2.src : &q2.dst, a) && (to_dip ? q2.sport : q2.dport) == port);
	REQUIRE(sl_addr_eq(to_dip ? &q2.dst : &q2.src, to_dip ? &quoted->dst : &quoted->src));
	REQUIRE(sl_pkt_icmp_checksum_ok(ip, &again));
	free(copy);
}

static void exercise_icmp_error(const uint8_t *buf, uint32_t len, int family, const struct sl_pkt_info *pi)
{
	struct sl_icmp_quote q;
	const uint8_t *ip = buf + pi->l3_off;
	enum sl_drop r = sl_pkt_parse_icmp_error(ip, pi, &q);

	REQUIRE(r == SL_DROP_NONE || r == SL_DROP_UNSUPPORTED_L4 || r == SL_DROP_FRAGMENT ||
		r == SL_DROP_ICMP_BAD_QUOTE);
	if (r != SL_DROP_NONE)
		return;
	/* The quote, and 8 bytes of its transport header, lie inside the packet. */
	REQUIRE(q.ip_off + (uint32_t)q.len == pi->l3_len && q.l4_off > q.ip_off);
	REQUIRE(q.l4_off + 8u <= pi->l3_len);
	REQUIRE(q.proto == SL_PROTO_TCP || q.proto == SL_PROTO_UDP);
	if (!sl_pkt_icmp_checksum_ok(ip, pi))
		return;
	exercise_icmp_nat(buf, len, family, pi, &q, true);
	exercise_icmp_nat(buf, len, family, pi, &q, false);
}

static void exercise(const uint8_t *buf, uint32_t len, int family)
{
	struct sl_pkt_info pi;
	enum sl_drop r = parse_as(buf, len, family, &pi);

	REQUIRE(r < SL_DROP_MAX);
	if (r != SL_DROP_NONE)
		return;
	REQUIRE(pi.l3_off <= len);
	if (pi.family == SL_AF_NONE) {
		REQUIRE(pi.ethertype == SL_ETHERTYPE_ARP && len - pi.l3_off >= 28);
		return;
	}
	/* The parsed header chain and IP length lie inside the input. */
	REQUIRE(pi.l4_off <= pi.l3_off + pi.l3_len && pi.l3_off + (uint32_t)pi.l3_len <= len);
	exercise_rewrites(buf, len, family, &pi);
	exercise_icmp_error(buf, len, family, &pi);
	if (family != SL_AF_NONE)
		exercise_encap(buf, pi.l3_len, family);
}

/* ---------------------------------------------------------------- repairs */

static void write_checksum(uint8_t *field, uint32_t sum)
{
	uint16_t c = sl_csum_fold(sum);

	memcpy(field, &c, 2);
}

/* Make the IPv4 header at ip (avail bytes) carry a correct checksum. */
static void repair_ipv4_header(uint8_t *ip, uint32_t avail)
{
	if (avail < 20 || ip[0] >> 4 != 4)
		return;

	uint32_t hlen = (uint32_t)(ip[0] & 0x0f) * 4;

	if (hlen < 20 || hlen > avail)
		return;
	ip[10] = ip[11] = 0;
	write_checksum(ip + 10, sl_csum_partial(ip, hlen, 0));
}

/* Reference TCP/UDP checksum, computed from scratch (RFC 793, 768, 8200). */
static void repair_l4_checksum(uint8_t *ip, const struct sl_pkt_info *pi)
{
	if (!(pi->flags & SL_PKT_HAS_PORTS) || (pi->flags & SL_PKT_FRAGMENT))
		return;

	uint8_t *l4 = l4_header(ip, pi);
	uint32_t l4_len = pi->l3_len - (uint32_t)(pi->l4_off - pi->l3_off);
	uint8_t *field = l4 + (pi->proto == SL_PROTO_TCP ? 16 : 6);

	if (pi->proto == SL_PROTO_UDP) {
		uint32_t udp_len = (uint32_t)l4[4] << 8 | l4[5];

		if (udp_len < 8 || udp_len > l4_len)
			return;
		l4_len = udp_len;
	}

	const uint8_t tail[4] = { 0, pi->proto, (uint8_t)(l4_len >> 8), (uint8_t)l4_len };
	uint32_t sum = pi->family == SL_AF_INET ? sl_csum_partial(ip + 12, 8, 0) : sl_csum_partial(ip + 8, 32, 0);

	field[0] = field[1] = 0;
	sum = sl_csum_partial(tail, 4, sum);
	write_checksum(field, sl_csum_partial(l4, l4_len, sum));
	if (pi->proto == SL_PROTO_UDP && field[0] == 0 && field[1] == 0)
		field[0] = field[1] = 0xff;
	REQUIRE(sl_pkt_l4_checksum_ok(ip, pi));
}

/* Reference ICMP / ICMPv6 checksum over the whole message. */
static void repair_icmp_checksum(uint8_t *ip, const struct sl_pkt_info *pi)
{
	uint32_t l4_rel = (uint32_t)(pi->l4_off - pi->l3_off);
	uint32_t l4_len = pi->l3_len - l4_rel;
	uint8_t *icmp = ip + l4_rel;
	uint32_t sum = 0;

	if ((pi->flags & SL_PKT_FRAGMENT) || l4_len < 4)
		return;
	if (pi->family == SL_AF_INET6 && pi->proto == SL_PROTO_ICMPV6) {
		const uint8_t tail[8] = { (uint8_t)(l4_len >> 24), (uint8_t)(l4_len >> 16), (uint8_t)(l4_len >> 8),
					  (uint8_t)l4_len, 0, 0, 0, SL_PROTO_ICMPV6 };
		sum = sl_csum_partial(tail, sizeof(tail), sl_csum_partial(ip + 8, 32, 0));
	} else if (pi->family != SL_AF_INET || pi->proto != SL_PROTO_ICMP) {
		return;
	}
	icmp[2] = icmp[3] = 0;
	write_checksum(icmp + 2, sl_csum_partial(icmp, l4_len, sum));
	REQUIRE(sl_pkt_icmp_checksum_ok(ip, pi));
}

static void exercise_repaired(const uint8_t *data, uint32_t len, int family)
{
	uint8_t *fixed = dup_exact(data, len);
	uint32_t l3_off = 0;
	struct sl_pkt_info pi;

	if (family == SL_AF_NONE) {
		l3_off = len >= 14 && fixed[12] == 0x81 && fixed[13] == 0x00 ? 18 : 14;
		if (len < l3_off)
			l3_off = len;
	}
	repair_ipv4_header(fixed + l3_off, len - l3_off);
	if (parse_as(fixed, len, family, &pi) == SL_DROP_NONE && pi.family != SL_AF_NONE) {
		repair_l4_checksum(fixed + pi.l3_off, &pi);
		repair_icmp_checksum(fixed + pi.l3_off, &pi);
		exercise(fixed, len, family);
	}
	free(fixed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int families[] = { SL_AF_NONE, SL_AF_INET, SL_AF_INET6 };

	if (size > (1u << 20))
		return 0;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		/* The input buffer itself is read-only: libFuzzer flags any write. */
		exercise(data, (uint32_t)size, families[i]);
		exercise_repaired(data, (uint32_t)size, families[i]);
	}
	return 0;
}
