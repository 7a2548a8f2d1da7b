/*
 * lib/packet against scapy-built vectors (packet_vectors.h, generated at
 * build time by gen_packet_vectors.py) plus crafted edge cases.
 *
 * Every frame handed to the code under test is first copied into a heap
 * buffer of exactly its length, so ASan reports any read past the end.
 */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet/addr.h"
#include "packet/packet.h"
#include "packet_vectors.h"

/* Exact-size heap copy (malloc(0) is a valid zero-byte block under ASan). */
static uint8_t *dup_exact(const uint8_t *p, uint32_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(c);
	if (len)
		memcpy(c, p, len);
	return c;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Parse a vector's frame the way the vector says (Ethernet or bare IP). */
static enum sl_drop parse_vector(const struct pv_parse *v, const uint8_t *frame, struct sl_pkt_info *pi)
{
	if (v->ip_family < 0)
		return sl_pkt_parse(frame, v->len, pi);
	return sl_pkt_parse_ip(frame, v->len, v->ip_family, pi);
}

/* ---------------------------------------------------------------- parse */

START_TEST(parse_matches_scapy)
{
	const struct pv_parse *v = &pv_parse[_i];
	uint8_t *frame = dup_exact(v->frame, v->len);
	struct sl_pkt_info pi;
	enum sl_drop r;

	memset(&pi, 0xa5, sizeof(pi)); /* stale garbage must not leak through */
	r = parse_vector(v, frame, &pi);
	ck_assert_msg(r == v->drop, "%s: drop %s, want %s", v->name, sl_drop_name(r), sl_drop_name(v->drop));
	if (v->drop == SL_DROP_NONE) {
		ck_assert_msg(pi.ethertype == v->ethertype, "%s: ethertype %#x", v->name, pi.ethertype);
		ck_assert_msg(pi.vlan == v->vlan, "%s: vlan %u", v->name, pi.vlan);
		ck_assert_msg(pi.l3_off == v->l3_off, "%s: l3_off %u", v->name, pi.l3_off);
		ck_assert_msg(pi.family == v->family, "%s: family %u", v->name, pi.family);
	}
	if (v->drop == SL_DROP_NONE && v->family != SL_AF_NONE) {
		ck_assert_msg(pi.l4_off == v->l4_off, "%s: l4_off %u want %u", v->name, pi.l4_off, v->l4_off);
		ck_assert_msg(pi.l3_len == v->l3_len, "%s: l3_len %u want %u", v->name, pi.l3_len, v->l3_len);
		ck_assert_msg(pi.proto == v->proto, "%s: proto %u", v->name, pi.proto);
		ck_assert_msg(pi.ttl == v->ttl, "%s: ttl %u", v->name, pi.ttl);
		ck_assert_msg(pi.flags == v->flags, "%s: flags %#x want %#x", v->name, pi.flags, v->flags);
		if (v->flags & SL_PKT_HAS_PORTS) {
			ck_assert_msg(pi.sport == v->sport, "%s: sport %u", v->name, pi.sport);
			ck_assert_msg(pi.dport == v->dport, "%s: dport %u", v->name, pi.dport);
		}
		ck_assert_mem_eq(pi.src.v6, v->src, 16);
		ck_assert_mem_eq(pi.dst.v6, v->dst, 16);
	}
	free(frame);
}
END_TEST

/*
 * The parser has a short path for plain IPv4 frames and a general one for
 * the rest; a priority tag (802.1Q, VLAN ID 0) always takes the general
 * one. Every vector's frame must parse the same both ways, the tag's four
 * bytes apart.
 */
START_TEST(parse_short_path_matches_general_path)
{
	const struct pv_parse *v = &pv_parse[_i];
	if (v->ip_family >= 0 || v->len < SL_ETH_HLEN || be16(v->frame + 12) == SL_ETHERTYPE_VLAN)
		return; /* bare IP, or already tagged */
	uint8_t *plain = dup_exact(v->frame, v->len), *tagged = malloc(v->len + SL_VLAN_HLEN);
	ck_assert_ptr_nonnull(tagged);
	memcpy(tagged, v->frame, 12);
	tagged[12] = 0x81, tagged[13] = 0x00, tagged[14] = 0, tagged[15] = 0;
	memcpy(tagged + 16, v->frame + 12, v->len - 12);
	struct sl_pkt_info a, b;
	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	enum sl_drop ra = sl_pkt_parse(plain, v->len, &a), rb = sl_pkt_parse(tagged, v->len + SL_VLAN_HLEN, &b);
	ck_assert_msg(ra == rb, "%s: %s untagged, %s tagged", v->name, sl_drop_name(ra), sl_drop_name(rb));
	if (ra == SL_DROP_NONE && a.family != SL_AF_NONE) {
		ck_assert_msg(a.l3_off + SL_VLAN_HLEN == b.l3_off && a.l4_off + SL_VLAN_HLEN == b.l4_off,
			      "%s: offsets", v->name);
		a.l3_off = b.l3_off, a.l4_off = b.l4_off;
		ck_assert_msg(memcmp(&a, &b, offsetof(struct sl_pkt_info, dport) + sizeof(a.dport)) == 0,
			      "%s: parsed differently untagged and priority-tagged", v->name);
	}
	/* The same short path serves bare IPv4 (a tunnel's inner packet). */
	struct sl_pkt_info c;
	memset(&c, 0x3c, sizeof(c));
	if (ra == SL_DROP_NONE && a.family == SL_AF_INET &&
	    sl_pkt_parse_ip(plain + SL_ETH_HLEN, v->len - SL_ETH_HLEN, SL_AF_INET, &c) == SL_DROP_NONE) {
		c.l3_off = b.l3_off, c.l4_off = (uint16_t)(c.l4_off + b.l3_off);
		ck_assert_msg(memcmp(&c, &b, offsetof(struct sl_pkt_info, dport) + sizeof(c.dport)) == 0,
			      "%s: parsed differently as bare IP", v->name);
	}
	free(plain);
	free(tagged);
}
END_TEST

/* The vector set is only a test of every drop reason if it contains one. */
START_TEST(parse_vectors_cover_every_parse_drop)
{
	static const enum sl_drop needed[] = { SL_DROP_NONE, SL_DROP_TRUNCATED, SL_DROP_NON_IP,
					       SL_DROP_BAD_VERSION, SL_DROP_BAD_IHL, SL_DROP_BAD_LENGTH,
					       SL_DROP_BAD_IP_CHECKSUM, SL_DROP_BAD_EXT_HEADER };

	for (size_t n = 0; n < sizeof(needed) / sizeof(needed[0]); n++) {
		int seen = 0;

		for (int i = 0; i < PV_PARSE_COUNT; i++)
			seen += pv_parse[i].drop == needed[n];
		ck_assert_msg(seen > 0, "no vector for %s", sl_drop_name(needed[n]));
	}
}
END_TEST

/*
 * A complete frame cut at every length: never a crash, never success
 * (the IP length then exceeds the frame, or a header is cut short).
 */
START_TEST(parse_truncated_at_every_length)
{
	const struct pv_frame *f = &pv_truncation[_i];
	struct sl_pkt_info pi;

	for (uint32_t len = 0; len <= f->len; len++) {
		uint8_t *frame = dup_exact(f->frame, len);
		enum sl_drop r = sl_pkt_parse(frame, len, &pi);

		if (len == f->len)
			ck_assert_msg(r == SL_DROP_NONE, "full frame: %s", sl_drop_name(r));
		else
			ck_assert_msg(r == SL_DROP_TRUNCATED || r == SL_DROP_BAD_LENGTH, "len %u: %s", len,
				      sl_drop_name(r));
		free(frame);
	}
}
END_TEST

/* The same through sl_pkt_parse_ip on the IP packet inside the frame. */
START_TEST(parse_ip_truncated_at_every_length)
{
	const struct pv_frame *f = &pv_truncation[_i];
	struct sl_pkt_info pi;

	ck_assert_int_eq(sl_pkt_parse(f->frame, f->len, &pi), SL_DROP_NONE);

	const uint8_t *ip = f->frame + pi.l3_off;
	uint32_t ip_len = f->len - pi.l3_off;
	int family = pi.family;

	for (uint32_t len = 0; len <= ip_len; len++) {
		uint8_t *pkt = dup_exact(ip, len);
		enum sl_drop r = sl_pkt_parse_ip(pkt, len, family, &pi);

		if (len == ip_len)
			ck_assert_msg(r == SL_DROP_NONE, "full packet: %s", sl_drop_name(r));
		else
			ck_assert_msg(r == SL_DROP_TRUNCATED || r == SL_DROP_BAD_LENGTH, "len %u: %s", len,
				      sl_drop_name(r));
		free(pkt);
	}
}
END_TEST

/* Single-field mutations of the good TCP/IPv4 frame, one per drop reason. */
struct mutation {
	const char *what;
	uint32_t off;
	uint8_t value;
	int fix_ip_checksum;
	enum sl_drop want;
};

static void fix_ipv4_checksum(uint8_t *ip)
{
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = sl_csum_fold(sl_csum_partial(ip, (uint32_t)(ip[0] & 0x0f) * 4, 0));
	memcpy(ip + 10, &c, 2);
}

START_TEST(parse_mutated_tcp4)
{
	static const struct mutation m[] = {
		{ "ethertype", 12, 0x88, 0, SL_DROP_NON_IP },
		{ "version 7", 14, 0x75, 1, SL_DROP_BAD_VERSION },
		{ "ihl 3", 14, 0x43, 1, SL_DROP_BAD_IHL },
		{ "ihl 15 past frame", 14, 0x4f, 0, SL_DROP_TRUNCATED },
		{ "total length high byte", 16, 0x10, 1, SL_DROP_BAD_LENGTH },
		{ "ttl without checksum fix", 22, 0x01, 0, SL_DROP_BAD_IP_CHECKSUM },
		{ "tcp data offset 2", 14 + 20 + 12, 0x20, 0, SL_DROP_TRUNCATED },
		{ "tcp data offset 15", 14 + 20 + 12, 0xf0, 0, SL_DROP_TRUNCATED },
		{ "ttl with checksum fix", 22, 0x01, 1, SL_DROP_NONE },
	};
	const struct pv_frame *f = &pv_truncation[0]; /* tcp4 */

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		uint8_t *frame = dup_exact(f->frame, f->len);
		struct sl_pkt_info pi;
		enum sl_drop r;

		frame[m[i].off] = m[i].value;
		if (m[i].fix_ip_checksum)
			fix_ipv4_checksum(frame + SL_ETH_HLEN);
		r = sl_pkt_parse(frame, f->len, &pi);
		ck_assert_msg(r == m[i].want, "%s: %s, want %s", m[i].what, sl_drop_name(r), sl_drop_name(m[i].want));
		free(frame);
	}
}
END_TEST

/* ---------------------------------------------------------------- NAT */

static void nat_apply(const struct pv_nat *v, uint8_t *ip, struct sl_pkt_info *pi)
{
	union sl_addr a;

	memcpy(a.v6, v->addr, 16);
	if (v->dst)
		sl_pkt_nat_dst(ip, pi, &a, v->port);
	else
		sl_pkt_nat_src(ip, pi, &a, v->port);
}

/* pi after translation must match a fresh parse of the expected output. */
static void assert_info_matches_reparse(const char *name, const struct sl_pkt_info *pi, const uint8_t *frame,
					uint32_t len)
{
	struct sl_pkt_info fresh;

	ck_assert_int_eq(sl_pkt_parse(frame, len, &fresh), SL_DROP_NONE);
	ck_assert_msg(sl_addr_eq(&pi->src, &fresh.src) && sl_addr_eq(&pi->dst, &fresh.dst), "%s: addresses", name);
	ck_assert_msg(pi->sport == fresh.sport && pi->dport == fresh.dport, "%s: ports %u %u vs %u %u", name,
		      pi->sport, pi->dport, fresh.sport, fresh.dport);
	ck_assert_msg(pi->ttl == fresh.ttl && pi->flags == fresh.flags, "%s: ttl/flags", name);
}

/* Frame in, sl_pkt_parse, translate at frame + l3_off (offsets as parsed). */
START_TEST(nat_on_frame_matches_scapy)
{
	const struct pv_nat *v = &pv_nat[_i];
	uint8_t *frame = dup_exact(v->in, v->len);
	struct sl_pkt_info pi;

	ck_assert_int_eq(sl_pkt_parse(frame, v->len, &pi), SL_DROP_NONE);
	nat_apply(v, frame + pi.l3_off, &pi);
	ck_assert_msg(memcmp(frame, v->out, v->len) == 0, "%s: output differs from scapy", v->name);
	assert_info_matches_reparse(v->name, &pi, v->out, v->len);
	free(frame);
}
END_TEST

/* Bare IP packet in, sl_pkt_parse_ip (offsets relative to the IP header). */
START_TEST(nat_on_bare_ip_matches_scapy)
{
	const struct pv_nat *v = &pv_nat[_i];
	struct sl_pkt_info pi;

	ck_assert_int_eq(sl_pkt_parse(v->in, v->len, &pi), SL_DROP_NONE);

	uint32_t l3_off = pi.l3_off;
	uint32_t ip_len = v->len - l3_off;
	uint8_t *ip = dup_exact(v->in + l3_off, ip_len);

	ck_assert_int_eq(sl_pkt_parse_ip(ip, ip_len, pi.family, &pi), SL_DROP_NONE);
	ck_assert_int_eq(pi.l3_off, 0);
	nat_apply(v, ip, &pi);
	ck_assert_msg(memcmp(ip, v->out + l3_off, ip_len) == 0, "%s: output differs from scapy", v->name);
	free(ip);
}
END_TEST

/* Checksums valid before translation stay valid after it. */
START_TEST(nat_keeps_l4_checksum_valid)
{
	const struct pv_nat *v = &pv_nat[_i];
	uint8_t *frame = dup_exact(v->in, v->len);
	struct sl_pkt_info pi;

	ck_assert_int_eq(sl_pkt_parse(frame, v->len, &pi), SL_DROP_NONE);

	int before = sl_pkt_l4_checksum_ok(frame + pi.l3_off, &pi);
	int verifiable = (pi.flags & SL_PKT_HAS_PORTS) && !(pi.flags & SL_PKT_FRAGMENT);

	ck_assert_int_eq(before, verifiable);
	nat_apply(v, frame + pi.l3_off, &pi);
	ck_assert_int_eq(sl_pkt_l4_checksum_ok(frame + pi.l3_off, &pi), before);
	free(frame);
}
END_TEST

/* ---------------------------------------------------------------- TTL */

START_TEST(dec_ttl_matches_scapy)
{
	const struct pv_ttl *v = &pv_ttl[_i];
	uint8_t *frame = dup_exact(v->in, v->len);
	struct sl_pkt_info pi;
	uint8_t ttl_before;
	enum sl_drop r;

	ck_assert_int_eq(sl_pkt_parse(frame, v->len, &pi), SL_DROP_NONE);
	ttl_before = pi.ttl;
	r = sl_pkt_dec_ttl(frame + pi.l3_off, &pi);
	ck_assert_msg(r == v->drop, "%s: %s", v->name, sl_drop_name(r));
	ck_assert_msg(memcmp(frame, v->out, v->len) == 0, "%s: output differs from scapy", v->name);
	ck_assert_int_eq(pi.ttl, r == SL_DROP_NONE ? ttl_before - 1 : ttl_before);
	ck_assert_int_eq(sl_pkt_parse(frame, v->len, &pi), SL_DROP_NONE); /* IPv4 checksum still right */
	free(frame);
}
END_TEST

START_TEST(dec_ttl_non_ip)
{
	struct sl_pkt_info pi;
	uint8_t body[28] = { 0 };

	memset(&pi, 0, sizeof(pi));
	pi.family = SL_AF_NONE;
	ck_assert_int_eq(sl_pkt_dec_ttl(body, &pi), SL_DROP_NON_IP);
}
END_TEST

/* ---------------------------------------------------------------- L4 checksum */

START_TEST(l4_checksum_vectors)
{
	const struct pv_l4csum *v = &pv_l4csum[_i];
	uint8_t *frame = dup_exact(v->frame, v->len);
	struct sl_pkt_info pi;

	ck_assert_int_eq(sl_pkt_parse(frame, v->len, &pi), SL_DROP_NONE);
	ck_assert_msg(sl_pkt_l4_checksum_ok(frame + pi.l3_off, &pi) == v->ok, "%s: want %d", v->name, v->ok);
	/* Same answer from a bare-IP parse. */
	ck_assert_int_eq(sl_pkt_parse_ip(frame + pi.l3_off, v->len - pi.l3_off, pi.family, &pi), SL_DROP_NONE);
	ck_assert_msg(sl_pkt_l4_checksum_ok(frame + SL_ETH_HLEN, &pi) == v->ok, "%s (bare): want %d", v->name,
		      v->ok);
	free(frame);
}
END_TEST

/* ---------------------------------------------------------------- forwarding checks */

/* What every forwarding stage refuses: a foreign VLAN tag, martian
 * addresses, a packet from its own destination (issue 9). */
START_TEST(forward_checks_match_vectors)
{
	const struct pv_forward *v = &pv_forward[_i];
	uint8_t *frame = dup_exact(v->frame, v->len);
	struct sl_pkt_info pi;

	ck_assert_msg(sl_pkt_parse(frame, v->len, &pi) == SL_DROP_NONE, "%s: does not parse", v->name);
	enum sl_drop got = sl_pkt_vlan_ok(&pi, v->port_vlan) ? sl_pkt_martian(&pi) : SL_DROP_WRONG_VLAN;
	ck_assert_msg(got == v->drop, "%s: got %s, want %s", v->name, sl_drop_name(got), sl_drop_name(v->drop));
	free(frame);
}
END_TEST

/* ---------------------------------------------------------------- checksum helpers */

/* Straightforward RFC 1071 reference: big-endian words, host arithmetic. */
static uint16_t reference_checksum(const uint8_t *p, uint32_t len)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The checksum as it would appear on the wire (big-endian bytes). */
static uint16_t wire_checksum(const uint8_t *p, uint32_t len)
{
	uint16_t c = sl_csum_fold(sl_csum_partial(p, len, 0));
	uint8_t b[2];

	memcpy(b, &c, 2);
	return be16(b);
}

START_TEST(csum_rfc1071_example)
{
	/* RFC 1071 section 3: the sum of these words is ddf2, checksum 220d. */
	static const uint8_t data[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	ck_assert_uint_eq(wire_checksum(data, 8), 0x220d);
	ck_assert_uint_eq(wire_checksum(data, 0), 0xffff);
}
END_TEST

START_TEST(csum_matches_reference)
{
	uint8_t buf[1600];
	unsigned seed = 12345;

	for (int round = 0; round < 400; round++) {
		uint32_t len = (uint32_t)(round * 7 % (int)sizeof(buf));

		for (uint32_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* Mostly 0xff bytes in some rounds to provoke carries. */
			buf[i] = (round & 3) == 0 ? 0xff : (uint8_t)(seed >> 16);
		}
		ck_assert_msg(wire_checksum(buf, len) == reference_checksum(buf, len), "len %u", len);
	}
}
END_TEST

START_TEST(csum_partial_chains)
{
	uint8_t buf[301];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (uint32_t cut = 0; cut <= sizeof(buf); cut += 2) {
		uint32_t s = sl_csum_partial(buf, cut, 0);

		s = sl_csum_partial(buf + cut, (uint32_t)sizeof(buf) - cut, s);
		ck_assert_uint_eq(sl_csum_fold(s), sl_csum_fold(sl_csum_partial(buf, sizeof(buf), 0)));
	}
	/* A large incoming sum must not overflow. */
	ck_assert_uint_eq(sl_csum_fold(sl_csum_partial(buf, 0, 0xffffffffu)), sl_csum_fold(0xffffffffu));
	ck_assert_uint_eq(sl_csum_fold(0x0001fffeu), 0x0000);
}
END_TEST

/* ---------------------------------------------------------------- encapsulation */

START_TEST(encap_matches_scapy)
{
	const struct pv_encap *v = &pv_encap[_i];
	uint8_t *frame = dup_exact(v->frame, v->frame_len); /* overwritten below */
	uint32_t outer_len = v->outer_family == SL_AF_INET ? SL_IPV4_HLEN : SL_IPV6_HLEN;
	const uint8_t *in = v->inner;
	int inner_v4 = in[0] >> 4 == 4;
	uint8_t proto = inner_v4 ? SL_PROTO_IPIP : SL_PROTO_IPV6;
	/* The mux copies the inner DSCP/ECN byte to the outer header. */
	uint8_t tos = inner_v4 ? in[1] : (uint8_t)((in[0] & 0x0f) << 4 | in[1] >> 4);

	ck_assert_uint_eq(tos, v->tos);
	ck_assert_uint_eq(SL_ETH_HLEN + outer_len + v->inner_len, v->frame_len);
	memset(frame, 0xee, v->frame_len);
	sl_pkt_write_eth(frame, pv_mac_b, pv_mac_a,
			 v->outer_family == SL_AF_INET ? SL_ETHERTYPE_IPV4 : SL_ETHERTYPE_IPV6);
	if (v->outer_family == SL_AF_INET) {
		uint32_t src, dst;

		memcpy(&src, v->src, 4);
		memcpy(&dst, v->dst, 4);
		sl_pkt_write_outer_ipv4(frame + SL_ETH_HLEN, src, dst, (uint16_t)v->inner_len, tos, v->ttl, proto);
	} else {
		sl_pkt_write_outer_ipv6(frame + SL_ETH_HLEN, v->src, v->dst, (uint16_t)v->inner_len, tos,
					PV_ENCAP_FLOW_HASH, v->ttl, proto);
	}
	memcpy(frame + SL_ETH_HLEN + outer_len, v->inner, v->inner_len);
	ck_assert_msg(memcmp(frame, v->frame, v->frame_len) == 0, "%s: output differs from scapy", v->name);

	/* And it reads back: outer parses, the inner parses at l4_off. */
	struct sl_pkt_info pi;

	ck_assert_int_eq(sl_pkt_parse(frame, v->frame_len, &pi), SL_DROP_NONE);
	ck_assert_uint_eq(pi.proto, proto);
	ck_assert_int_eq(sl_pkt_parse_ip(frame + pi.l4_off, v->frame_len - pi.l4_off,
					 inner_v4 ? SL_AF_INET : SL_AF_INET6, &pi),
			 SL_DROP_NONE);
	free(frame);
}
END_TEST

/* ---------------------------------------------------------------- addresses */

START_TEST(addr_parse_good)
{
	union sl_addr a;
	static const uint8_t v4[4] = { 192, 0, 2, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, [12] = 192, [13] = 0, [14] = 2, [15] = 1 };

	memset(&a, 0xcc, sizeof(a));
	ck_assert_int_eq(sl_addr_parse("192.0.2.1", &a), SL_AF_INET);
	ck_assert_mem_eq(a.v6, v4, 4);
	ck_assert(a.u64[1] == 0 && a.v6[4] == 0 && a.v6[7] == 0); /* rest zeroed */
	ck_assert_int_eq(sl_addr_parse("2001:db8::1", &a), SL_AF_INET6);
	ck_assert_mem_eq(a.v6, v6, 16);
	ck_assert_int_eq(sl_addr_parse("::ffff:192.0.2.1", &a), SL_AF_INET6);
	ck_assert_mem_eq(a.v6, mapped, 16);
	ck_assert_int_eq(sl_addr_parse("::", &a), SL_AF_INET6);
	ck_assert(sl_addr_is_zero(&a));
	ck_assert_int_eq(sl_addr_parse("0.0.0.0", &a), SL_AF_INET);
	ck_assert_int_eq(sl_addr_parse("255.255.255.255", &a), SL_AF_INET);
	ck_assert_uint_eq(a.v4, 0xffffffffu);
}
END_TEST

START_TEST(addr_parse_bad)
{
	static const char *bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/24", "01.2.3.4",
		"1.2.3.-4", "a.b.c.d", "2001:db8::1::2", "2001:db8::g", "2001:db8:::1", ":::", "12345::1",
		"1:2:3:4:5:6:7:8:9", "2001:db8::1%eth0", "[2001:db8::1]", "0x7f.0.0.1", "localhost",
	};
	union sl_addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0xcc, sizeof(a));
		ck_assert_msg(sl_addr_parse(bad[i], &a) == SL_AF_NONE, "accepted \"%s\"", bad[i]);
		ck_assert_msg(sl_addr_is_zero(&a), "\"%s\" left output set", bad[i]);
	}
	ck_assert_int_eq(sl_addr_parse(NULL, &a), SL_AF_NONE);
}
END_TEST

START_TEST(prefix_parse_good)
{
	static const struct {
		const char *text;
		int family;
		uint8_t len;
	} good[] = {
		{ "192.0.2.0/24", SL_AF_INET, 24 },   { "192.0.2.1/24", SL_AF_INET, 24 },
		{ "0.0.0.0/0", SL_AF_INET, 0 },       { "10.0.0.1/32", SL_AF_INET, 32 },
		{ "198.18.0.0/15", SL_AF_INET, 15 },  { "2001:db8::/32", SL_AF_INET6, 32 },
		{ "::/0", SL_AF_INET6, 0 },           { "2001:db8::1/128", SL_AF_INET6, 128 },
		{ "2001:db8::/65", SL_AF_INET6, 65 },
	};
	union sl_addr a, want;
	uint8_t len;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char addr_only[64];

		ck_assert_msg(sl_prefix_parse(good[i].text, &a, &len) == good[i].family, "%s", good[i].text);
		ck_assert_uint_eq(len, good[i].len);
		snprintf(addr_only, sizeof(addr_only), "%s", good[i].text);
		*strchr(addr_only, '/') = '\0';
		ck_assert_int_eq(sl_addr_parse(addr_only, &want), good[i].family);
		ck_assert(sl_addr_eq(&a, &want)); /* host bits kept as written */
	}
}
END_TEST

START_TEST(prefix_parse_bad)
{
	static const char *bad[] = {
		"192.0.2.0/33", "::/129", "192.0.2.0/", "192.0.2.0/8x", "192.0.2.0/-1", "192.0.2.0/+8",
		"/8", "192.0.2.0/8/8", "192.0.2.0 /8", "192.0.2.0/ 8", "192.0.2.0", "2001:db8::", "192.0.2/24",
		"192.0.2.0/024", "192.0.2.0/1000", "::/999", "garbage/8", "",
		"1111111111111111111111111111111111111111111111111111111111111111111111/8",
	};
	union sl_addr a;
	uint8_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = 99;
		ck_assert_msg(sl_prefix_parse(bad[i], &a, &len) == SL_AF_NONE, "accepted \"%s\"", bad[i]);
		ck_assert_uint_eq(len, 0);
	}
	ck_assert_int_eq(sl_prefix_parse(NULL, &a, &len), SL_AF_NONE);
}
END_TEST

START_TEST(addr_format_round_trip)
{
	static const char *texts[] = { "192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::",
				       "2001:db8:0:1:2:3:4:5", "fe80::1:2", "::ffff:192.0.2.1" };
	char buf[64];
	union sl_addr a;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		int family = sl_addr_parse(texts[i], &a);

		ck_assert_int_ne(family, SL_AF_NONE);
		ck_assert_ptr_eq(sl_addr_format(family, &a, buf, sizeof(buf)), buf);
		ck_assert_str_eq(buf, texts[i]);
	}
	/* Canonical form: zeros compressed, lower case. */
	sl_addr_parse("2001:DB8:0:0:0:0:0:1", &a);
	ck_assert_str_eq(sl_addr_format(SL_AF_INET6, &a, buf, sizeof(buf)), "2001:db8::1");
	/* Longest v6 text fits the documented 46 bytes. */
	sl_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a);
	ck_assert_str_eq(sl_addr_format(SL_AF_INET6, &a, buf, 46), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	/* Unknown family or too small a buffer: still a terminated string. */
	ck_assert_str_eq(sl_addr_format(SL_AF_NONE, &a, buf, sizeof(buf)), "?");
	sl_addr_parse("192.0.2.1", &a);
	ck_assert_str_eq(sl_addr_format(SL_AF_INET, &a, buf, 4), "?");
}
END_TEST

static bool contains(const char *prefix, const char *addr)
{
	union sl_addr p, a;
	uint8_t len;
	int family = sl_prefix_parse(prefix, &p, &len);

	ck_assert_msg(family != SL_AF_NONE, "bad prefix %s", prefix);
	ck_assert_msg(sl_addr_parse(addr, &a) == family, "bad address %s", addr);
	return sl_prefix_contains(family, &p, len, &a);
}

START_TEST(prefix_contains)
{
	ck_assert(contains("192.0.2.0/24", "192.0.2.255"));
	ck_assert(!contains("192.0.2.0/24", "192.0.3.0"));
	ck_assert(contains("192.0.2.77/24", "192.0.2.1")); /* host bits in the prefix ignored */
	ck_assert(contains("0.0.0.0/0", "203.0.113.9"));
	ck_assert(contains("198.18.0.0/15", "198.19.255.255"));
	ck_assert(!contains("198.18.0.0/15", "198.20.0.0"));
	ck_assert(!contains("198.18.0.0/15", "198.17.255.255"));
	ck_assert(contains("192.0.2.1/32", "192.0.2.1"));
	ck_assert(!contains("192.0.2.1/32", "192.0.2.0"));
	ck_assert(contains("192.0.2.0/23", "192.0.3.1"));
	ck_assert(contains("128.0.0.0/1", "255.0.0.0"));
	ck_assert(!contains("128.0.0.0/1", "127.255.255.255"));
	ck_assert(contains("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!contains("2001:db8::/32", "2001:db9::"));
	ck_assert(contains("::/0", "ffff::1"));
	ck_assert(contains("2001:db8::/127", "2001:db8::1"));
	ck_assert(!contains("2001:db8::/127", "2001:db8::2"));
	ck_assert(contains("2001:db8:0:0:8000::/65", "2001:db8::ffff:0:0:1"));
	ck_assert(!contains("2001:db8:0:0:8000::/65", "2001:db8::7fff:0:0:1"));
	ck_assert(contains("2001:db8::1/128", "2001:db8::1"));
	ck_assert(!contains("2001:db8::1/128", "2001:db8::"));

	union sl_addr p, a;

	sl_addr_parse("192.0.2.0", &p);
	sl_addr_parse("192.0.2.1", &a);
	ck_assert(!sl_prefix_contains(SL_AF_INET, &p, 33, &a)); /* impossible lengths never match */
	ck_assert(!sl_prefix_contains(SL_AF_NONE, &p, 0, &a));
	sl_addr_parse("2001:db8::", &p);
	sl_addr_parse("2001:db8::1", &a);
	ck_assert(!sl_prefix_contains(SL_AF_INET6, &p, 129, &a));
	ck_assert(sl_prefix_contains(SL_AF_INET6, &p, 120, &a));
}
END_TEST

/* ---------------------------------------------------------------- ICMP errors */

static void dump_diff(const char *name, const uint8_t *got, const uint8_t *want, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (got[i] != want[i]) {
			fprintf(stderr, "%s: first difference at byte %u: %#04x, want %#04x\n", name, i, got[i],
				want[i]);
			return;
		}
}

static int icmp_family(const uint8_t *ip)
{
	return ip[0] >> 4 == 4 ? SL_AF_INET : SL_AF_INET6;
}

/* Which packets are errors about a flow, and what they quote. */
START_TEST(icmp_error_parse_matches_scapy)
{
	const struct pv_icmp *v = &pv_icmp[_i];
	uint8_t *ip = dup_exact(v->in, v->len);
	struct sl_pkt_info pi;
	struct sl_icmp_quote q;

	ck_assert_msg(sl_pkt_parse_ip(ip, v->len, icmp_family(ip), &pi) == SL_DROP_NONE, "%s: no IP", v->name);
	enum sl_drop r = sl_pkt_parse_icmp_error(ip, &pi, &q);
	ck_assert_msg(r == v->drop, "%s: %s, want %s", v->name, sl_drop_name(r), sl_drop_name(v->drop));
	if (r == SL_DROP_NONE) {
		ck_assert_msg(q.proto == v->qproto && q.sport == v->qsport && q.dport == v->qdport,
			      "%s: quote proto %u ports %u %u", v->name, q.proto, q.sport, q.dport);
		ck_assert_msg(memcmp(q.src.v6, v->qsrc, 16) == 0 && memcmp(q.dst.v6, v->qdst, 16) == 0,
			      "%s: quote addresses", v->name);
		ck_assert_msg(q.ip_off == v->q_ip_off && q.l4_off == v->q_l4_off && q.len == v->q_len,
			      "%s: quote offsets %u %u len %u", v->name, q.ip_off, q.l4_off, q.len);
		ck_assert_msg(sl_pkt_icmp_checksum_ok(ip, &pi), "%s: scapy's checksum refused", v->name);
	}
	free(ip);
}
END_TEST

/* Translation gives exactly the error scapy builds from the translated
 * packet: outer header, quoted header and quoted transport checksum, and
 * the ICMP checksum (with ICMPv6's pseudo-header). */
START_TEST(icmp_error_nat_matches_scapy)
{
	const struct pv_icmp *v = &pv_icmp[_i];
	if (v->drop != SL_DROP_NONE)
		return;
	uint8_t *ip = dup_exact(v->in, v->len);
	struct sl_pkt_info pi;
	struct sl_icmp_quote q;
	union sl_addr a;

	memcpy(a.v6, v->addr, 16);
	ck_assert_int_eq(sl_pkt_parse_ip(ip, v->len, icmp_family(ip), &pi), SL_DROP_NONE);
	ck_assert_int_eq(sl_pkt_parse_icmp_error(ip, &pi, &q), SL_DROP_NONE);
	if (v->to_dip)
		sl_pkt_icmp_nat_to_dip(ip, &pi, &q, &a, v->port);
	else
		sl_pkt_icmp_nat_to_client(ip, &pi, &q, &a, v->port);
	if (memcmp(ip, v->out, v->len) != 0)
		dump_diff(v->name, ip, v->out, v->len);
	ck_assert_msg(memcmp(ip, v->out, v->len) == 0, "%s: bytes differ from scapy's", v->name);
	ck_assert_msg(sl_addr_eq(v->to_dip ? &pi.dst : &pi.src, &a), "%s: pi not updated", v->name);
	ck_assert_msg(sl_addr_eq(v->to_dip ? &q.src : &q.dst, &a) && (v->to_dip ? q.sport : q.dport) == v->port,
		      "%s: quote not updated", v->name);
	ck_assert(sl_pkt_icmp_checksum_ok(ip, &pi));
	free(ip);
}
END_TEST

/* A flipped bit anywhere in the ICMP message fails its checksum. */
START_TEST(icmp_checksum_catches_corruption)
{
	const struct pv_icmp *v = &pv_icmp[_i];
	if (v->drop != SL_DROP_NONE)
		return;
	uint8_t *ip = dup_exact(v->in, v->len);
	struct sl_pkt_info pi;

	ck_assert_int_eq(sl_pkt_parse_ip(ip, v->len, icmp_family(ip), &pi), SL_DROP_NONE);
	ip[v->len - 1] ^= 0x10;
	ck_assert_msg(!sl_pkt_icmp_checksum_ok(ip, &pi), "%s: corrupt payload passed", v->name);
	free(ip);
}
END_TEST

/* Every cut of an error parses or is refused without reading past the cut. */
START_TEST(icmp_error_truncated_at_every_length)
{
	const struct pv_icmp *v = &pv_icmp[_i];
	for (uint32_t len = 0; len < v->len; len++) {
		uint8_t *ip = dup_exact(v->in, len);
		struct sl_pkt_info pi;
		struct sl_icmp_quote q;
		int family = v->len > 0 ? icmp_family(v->in) : SL_AF_INET;
		/* The IP length field must match the cut for the packet to parse. */
		if (len >= 4 && family == SL_AF_INET) {
			ip[2] = (uint8_t)(len >> 8), ip[3] = (uint8_t)len;
		} else if (len >= 6 && family == SL_AF_INET6 && len >= SL_IPV6_HLEN) {
			ip[4] = (uint8_t)((len - SL_IPV6_HLEN) >> 8), ip[5] = (uint8_t)(len - SL_IPV6_HLEN);
		}
		if (sl_pkt_parse_ip(ip, len, family, &pi) == SL_DROP_NONE)
			(void)sl_pkt_parse_icmp_error(ip, &pi, &q);
		free(ip);
	}
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *packet_suite(void)
{
	Suite *s = suite_create("packet");
	TCase *parse = tcase_create("parse");
	TCase *rewrite = tcase_create("rewrite");
	TCase *csum = tcase_create("checksum");
	TCase *addr = tcase_create("addr");

	tcase_add_loop_test(parse, parse_matches_scapy, 0, PV_PARSE_COUNT);
	tcase_add_loop_test(parse, parse_short_path_matches_general_path, 0, PV_PARSE_COUNT);
	tcase_add_test(parse, parse_vectors_cover_every_parse_drop);
	tcase_add_loop_test(parse, parse_truncated_at_every_length, 0, PV_TRUNCATION_COUNT);
	tcase_add_loop_test(parse, parse_ip_truncated_at_every_length, 0, PV_TRUNCATION_COUNT);
	tcase_add_test(parse, parse_mutated_tcp4);
	tcase_add_loop_test(parse, forward_checks_match_vectors, 0, PV_FORWARD_COUNT);
	suite_add_tcase(s, parse);

	tcase_add_loop_test(rewrite, nat_on_frame_matches_scapy, 0, PV_NAT_COUNT);
	tcase_add_loop_test(rewrite, nat_on_bare_ip_matches_scapy, 0, PV_NAT_COUNT);
	tcase_add_loop_test(rewrite, nat_keeps_l4_checksum_valid, 0, PV_NAT_COUNT);
	tcase_add_loop_test(rewrite, dec_ttl_matches_scapy, 0, PV_TTL_COUNT);
	tcase_add_test(rewrite, dec_ttl_non_ip);
	tcase_add_loop_test(rewrite, encap_matches_scapy, 0, PV_ENCAP_COUNT);
	tcase_add_loop_test(rewrite, icmp_error_parse_matches_scapy, 0, PV_ICMP_COUNT);
	tcase_add_loop_test(rewrite, icmp_error_nat_matches_scapy, 0, PV_ICMP_COUNT);
	tcase_add_loop_test(rewrite, icmp_checksum_catches_corruption, 0, PV_ICMP_COUNT);
	tcase_add_loop_test(rewrite, icmp_error_truncated_at_every_length, 0, PV_ICMP_COUNT);
	suite_add_tcase(s, rewrite);

	tcase_add_loop_test(csum, l4_checksum_vectors, 0, PV_L4CSUM_COUNT);
	tcase_add_test(csum, csum_rfc1071_example);
	tcase_add_test(csum, csum_matches_reference);
	tcase_add_test(csum, csum_partial_chains);
	suite_add_tcase(s, csum);

	tcase_add_test(addr, addr_parse_good);
	tcase_add_test(addr, addr_parse_bad);
	tcase_add_test(addr, prefix_parse_good);
	tcase_add_test(addr, prefix_parse_bad);
	tcase_add_test(addr, addr_format_round_trip);
	tcase_add_test(addr, prefix_contains);
	suite_add_tcase(s, addr);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(packet_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
