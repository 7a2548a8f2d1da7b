/*
 * Frame and IP header parsing for the data path.
 *
 * Runs once per packet at line rate, so: no allocation, no division, one
 * pass over the headers, and the common case (untagged IPv4 TCP) takes
 * only predicted branches. Every read is preceded by a length check
 * against what the frame holds; the fuzz target holds us to that.
 */
#include <stdbool.h>
#include <stddef.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#define WIDE_STORES 1 /* SSE2: every x86-64 has it */
#endif

#include "packet/csum_inline.h"
#include "packet/packet.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define ARP_BODY_LEN 28 /* Ethernet/IPv4 ARP */
#define TCP_MIN_HLEN 20
#define UDP_HLEN 8

#define IPV4_MF 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

#define IPV6_EXT_HOP_BY_HOP 0
#define IPV6_EXT_ROUTING 43
#define IPV6_EXT_FRAGMENT 44
#define IPV6_EXT_DEST_OPTS 60
#define IPV6_FRAG_HLEN 8
#define IPV6_MAX_EXT_HEADERS 8 /* bounds the walk; real traffic uses one or two */

static inline uint16_t read_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* IPv4 goes in the first four bytes, the rest stays zero so sl_addr_eq works.
 * One 16-byte store where there is one (whole 64-bit stores elsewhere):
 * readers load the address as two u64 or as one 16-byte value, and a load
 * that spans several smaller earlier stores cannot be store-forwarded (a
 * stall of a dozen cycles per packet); a load inside one store can. */
static inline void copy_addr(union sl_addr *a, const uint8_t *p, unsigned len)
{
#ifdef WIDE_STORES
	if (len == 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		_mm_storeu_si128((__m128i *)(void *)a, _mm_cvtsi32_si128((int)v));
	} else {
		_mm_storeu_si128((__m128i *)(void *)a, _mm_loadu_si128((const __m128i *)(const void *)p));
	}
#else
	if (len == 4) {
		uint32_t v;
		memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		a->u64[0] = v;
#else
		a->u64[0] = (uint64_t)v << 32;
#endif
		a->u64[1] = 0;
	} else {
		memcpy(&a->u64[0], p, 8);
		memcpy(&a->u64[1], p + 8, 8);
	}
#endif
}

/* The small fields of a parsed IPv4 packet, in the order they lie in
 * struct sl_pkt_info after the addresses. */
struct meta {
	uint16_t ethertype, vlan, l3_off, l4_off, l3_len;
	uint8_t family, proto, ttl, flags;
	uint16_t sport, dport;
};

_Static_assert(offsetof(struct sl_pkt_info, ethertype) == 32 && offsetof(struct sl_pkt_info, vlan) == 34 &&
	       offsetof(struct sl_pkt_info, l3_off) == 36 && offsetof(struct sl_pkt_info, l4_off) == 38 &&
	       offsetof(struct sl_pkt_info, l3_len) == 40 && offsetof(struct sl_pkt_info, family) == 42 &&
	       offsetof(struct sl_pkt_info, proto) == 43 && offsetof(struct sl_pkt_info, ttl) == 44 &&
	       offsetof(struct sl_pkt_info, flags) == 45 && offsetof(struct sl_pkt_info, sport) == 46 &&
	       offsetof(struct sl_pkt_info, dport) == 48 && sizeof(struct sl_pkt_info) == 56,
	       "store_meta writes bytes 32..55 of sl_pkt_info as one block");

/*
 * Write the small fields as one 16-byte and one 8-byte store (the padding
 * after dport becomes zero). The data path copies a whole sl_pkt_info, 16
 * bytes at a time, right after parsing a tunnel's inner packet: with one
 * store per field each of those loads would wait for the stores to reach
 * the cache.
 */
static inline void store_meta(struct sl_pkt_info *pi, const struct meta *m)
{
#if defined(WIDE_STORES) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t lo = m->ethertype | (uint64_t)m->vlan << 16 | (uint64_t)m->l3_off << 32 |
		      (uint64_t)m->l4_off << 48;
	uint64_t hi = m->l3_len | (uint64_t)m->family << 16 | (uint64_t)m->proto << 24 |
		      (uint64_t)m->ttl << 32 | (uint64_t)m->flags << 40 | (uint64_t)m->sport << 48;
	uint64_t tail = m->dport;
	uint8_t *block = (uint8_t *)pi + offsetof(struct sl_pkt_info, ethertype);

	_mm_storeu_si128((__m128i *)(void *)block, _mm_set_epi64x((long long)hi, (long long)lo));
	memcpy(block + 16, &tail, sizeof(tail));
#else
	pi->ethertype = m->ethertype;
	pi->vlan = m->vlan;
	pi->l3_off = m->l3_off;
	pi->l4_off = m->l4_off;
	pi->l3_len = m->l3_len;
	pi->family = m->family;
	pi->proto = m->proto;
	pi->ttl = m->ttl;
	pi->flags = m->flags;
	pi->sport = m->sport;
	pi->dport = m->dport;
#endif
}

/* Fields that mean nothing for ARP and other non-IP frames. */
static void clear_l3(struct sl_pkt_info *pi)
{
	pi->l4_off = pi->l3_off;
	pi->l3_len = 0;
	pi->family = SL_AF_NONE;
	pi->proto = 0;
	pi->ttl = 0;
	pi->flags = 0;
	pi->sport = 0;
	pi->dport = 0;
	memset(&pi->src, 0, sizeof(pi->src));
	memset(&pi->dst, 0, sizeof(pi->dst));
}

/*
 * Ports from a TCP or UDP header of which avail bytes are present
 * (bounded by the IP length, not the frame, so padding never counts).
 * A header that does not fit is TRUNCATED, except in a fragment, where the
 * rest may be in the next fragment: the caller drops fragments anyway, so
 * those parse without ports. l4_starts_here is false for non-first
 * fragments, whose payload is not an L4 header at all.
 */
static inline enum sl_drop ports_of(const uint8_t *l4, uint32_t avail, bool l4_starts_here, uint8_t proto,
				    uint8_t *flags, uint16_t *sport, uint16_t *dport)
{
	*sport = 0;
	*dport = 0;
	if (!l4_starts_here)
		return SL_DROP_NONE;

	bool complete;

	if (LIKELY(proto == SL_PROTO_TCP)) {
		complete = avail >= TCP_MIN_HLEN;
		if (complete) {
			uint32_t doff = (uint32_t)(l4[12] >> 4) << 2;

			complete = doff >= TCP_MIN_HLEN && doff <= avail;
		}
	} else if (proto == SL_PROTO_UDP) {
		complete = avail >= UDP_HLEN;
	} else {
		return SL_DROP_NONE;
	}
	if (UNLIKELY(!complete))
		return (*flags & SL_PKT_FRAGMENT) ? SL_DROP_NONE : SL_DROP_TRUNCATED;
	*sport = read_be16(l4);
	*dport = read_be16(l4 + 2);
	*flags |= SL_PKT_HAS_PORTS;
	return SL_DROP_NONE;
}

static inline enum sl_drop parse_ports(const uint8_t *l4, uint32_t avail, bool l4_starts_here,
				       struct sl_pkt_info *pi)
{
	return ports_of(l4, avail, l4_starts_here, pi->proto, &pi->flags, &pi->sport, &pi->dport);
}

static inline bool ipv4_header_checksum_ok(const uint8_t *ip, uint32_t hlen)
{
	/* The constant-length call lets the compiler unroll the usual case. */
	uint64_t sum = LIKELY(hlen == SL_IPV4_HLEN) ? csum_raw(ip, SL_IPV4_HLEN, 0) : csum_raw(ip, hlen, 0);

	return csum_fold64(sum) == 0xffff;
}

/* What the caller of parse_ipv4 had set before an early failure. */
static inline enum sl_drop ipv4_failed(struct sl_pkt_info *pi, uint16_t l3_off, uint16_t vlan, enum sl_drop why)
{
	pi->ethertype = SL_ETHERTYPE_IPV4;
	pi->vlan = vlan;
	pi->l3_off = l3_off;
	return why;
}

/* ip holds avail bytes; l3_off is where it sits, for the offsets in *pi,
 * and vlan the frame's VLAN ID. Fills the whole of *pi on success (and on
 * a truncated L4 header), else only ethertype, vlan and l3_off. */
static inline enum sl_drop parse_ipv4(const uint8_t *ip, uint32_t avail, uint16_t l3_off, uint16_t vlan,
				      struct sl_pkt_info *pi)
{
	if (UNLIKELY(avail < SL_IPV4_HLEN))
		return ipv4_failed(pi, l3_off, vlan, SL_DROP_TRUNCATED);
	if (UNLIKELY(ip[0] >> 4 != 4))
		return ipv4_failed(pi, l3_off, vlan, SL_DROP_BAD_VERSION);

	uint32_t hlen = (uint32_t)(ip[0] & 0x0f) << 2;
	uint32_t total = read_be16(ip + 2);

	if (UNLIKELY(hlen < SL_IPV4_HLEN))
		return ipv4_failed(pi, l3_off, vlan, SL_DROP_BAD_IHL);
	if (UNLIKELY(hlen > avail))
		return ipv4_failed(pi, l3_off, vlan, SL_DROP_TRUNCATED);
	if (UNLIKELY(total < hlen || total > avail))
		return ipv4_failed(pi, l3_off, vlan, SL_DROP_BAD_LENGTH);
	if (UNLIKELY(!ipv4_header_checksum_ok(ip, hlen)))
		return ipv4_failed(pi, l3_off, vlan, SL_DROP_BAD_IP_CHECKSUM);

	uint16_t frag = read_be16(ip + 6);
	bool first_piece = (frag & IPV4_FRAG_OFFSET) == 0;
	struct meta m = {
		.ethertype = SL_ETHERTYPE_IPV4, .vlan = vlan, .l3_off = l3_off,
		.l4_off = (uint16_t)(l3_off + hlen), .l3_len = (uint16_t)total,
		.family = SL_AF_INET, .proto = ip[9], .ttl = ip[8], .flags = 0,
	};

	if (UNLIKELY(frag & (IPV4_MF | IPV4_FRAG_OFFSET)))
		m.flags = SL_PKT_FRAGMENT | (first_piece ? SL_PKT_FIRST_FRAGMENT : 0);
	enum sl_drop r = ports_of(ip + hlen, total - hlen, first_piece, m.proto, &m.flags, &m.sport, &m.dport);

	copy_addr(&pi->src, ip + 12, 4);
	copy_addr(&pi->dst, ip + 16, 4);
	store_meta(pi, &m);
	return r;
}

static inline bool is_ipv6_ext_header(uint8_t nh)
{
	return nh == IPV6_EXT_HOP_BY_HOP || nh == IPV6_EXT_ROUTING || nh == IPV6_EXT_FRAGMENT ||
	       nh == IPV6_EXT_DEST_OPTS;
}

/*
 * Walk the extension headers between *off and end (the end of the IPv6
 * payload). On return *off is the L4 header and *nh its protocol; a
 * non-first fragment stops the walk right after its fragment header
 * (*l4_starts_here false) because what follows is mid-datagram payload.
 */
static enum sl_drop walk_ipv6_ext_headers(const uint8_t *ip, uint32_t end, uint32_t *off, uint8_t *nh,
					  bool *l4_starts_here, struct sl_pkt_info *pi)
{
	for (unsigned n = 0; is_ipv6_ext_header(*nh); n++) {
		const uint8_t *h = ip + *off;
		uint32_t left = end - *off;
		uint32_t hlen = IPV6_FRAG_HLEN;

		/* Every extension header is at least 8 bytes long. */
		if (n == IPV6_MAX_EXT_HEADERS || left < 8)
			return SL_DROP_BAD_EXT_HEADER;
		if (*nh == IPV6_EXT_FRAGMENT) {
			uint16_t offset_m = read_be16(h + 2);

			if (pi->flags & SL_PKT_FRAGMENT) /* a datagram is fragmented once */
				return SL_DROP_BAD_EXT_HEADER;
			pi->flags |= SL_PKT_FRAGMENT;
			if (offset_m >> 3)
				*l4_starts_here = false;
			else if (offset_m & 1)
				pi->flags |= SL_PKT_FIRST_FRAGMENT;
		} else {
			/* RFC 8200 4.1: hop-by-hop options only right after the IPv6 header. */
			if (*nh == IPV6_EXT_HOP_BY_HOP && n != 0)
				return SL_DROP_BAD_EXT_HEADER;
			hlen = ((uint32_t)h[1] + 1) << 3;
			if (hlen > left)
				return SL_DROP_BAD_EXT_HEADER;
		}
		*nh = h[0];
		*off += hlen;
		if (!*l4_starts_here)
			break;
	}
	return SL_DROP_NONE;
}

static inline enum sl_drop parse_ipv6(const uint8_t *ip, uint32_t avail, uint16_t l3_off,
				      struct sl_pkt_info *pi)
{
	if (UNLIKELY(avail < SL_IPV6_HLEN))
		return SL_DROP_TRUNCATED;
	if (UNLIKELY(ip[0] >> 4 != 6))
		return SL_DROP_BAD_VERSION;

	uint32_t end = SL_IPV6_HLEN + (uint32_t)read_be16(ip + 4);

	/* l3_len is 16 bits: a 64 KiB payload plus the header cannot be described. */
	if (UNLIKELY(end > avail || end > UINT16_MAX))
		return SL_DROP_BAD_LENGTH;

	uint32_t off = SL_IPV6_HLEN;
	uint8_t nh = ip[6];
	bool l4_starts_here = true;

	pi->flags = 0;
	if (UNLIKELY(is_ipv6_ext_header(nh))) {
		enum sl_drop r = walk_ipv6_ext_headers(ip, end, &off, &nh, &l4_starts_here, pi);

		if (r != SL_DROP_NONE)
			return r;
	}
	pi->family = SL_AF_INET6;
	pi->l3_len = (uint16_t)end;
	pi->l4_off = (uint16_t)(l3_off + off);
	pi->ttl = ip[7];
	pi->proto = nh;
	copy_addr(&pi->src, ip + 8, 16);
	copy_addr(&pi->dst, ip + 24, 16);
	return parse_ports(ip + off, end - off, l4_starts_here, pi);
}

/*
 * The packet nearly every frame carries: IPv4 without options or
 * fragmentation, with a whole TCP or UDP header (or another protocol,
 * without ports: a tunnel, ICMP), checksum right; avail bytes at ip, which
 * sits at l3_off. Fewer tests and constant fields, for the same *pi the
 * general path writes (vlan 0); false for anything else (the general path
 * then parses it, errors and all).
 */
static inline bool parse_plain_ipv4(const uint8_t *ip, uint32_t avail, uint16_t l3_off, struct sl_pkt_info *pi)
{
	if (UNLIKELY(avail < SL_IPV4_HLEN || ip[0] != 0x45))
		return false;
	uint32_t total = read_be16(ip + 2);
	if (UNLIKELY(total > avail || total < SL_IPV4_HLEN ||
		     (read_be16(ip + 6) & (IPV4_MF | IPV4_FRAG_OFFSET)) ||
		     csum_fold64(csum_raw(ip, SL_IPV4_HLEN, 0)) != 0xffff))
		return false;
	struct meta m = {
		.ethertype = SL_ETHERTYPE_IPV4, .vlan = 0, .l3_off = l3_off,
		.l4_off = (uint16_t)(l3_off + SL_IPV4_HLEN), .l3_len = (uint16_t)total, .family = SL_AF_INET,
		.proto = ip[9], .ttl = ip[8], .flags = 0,
	};
	/* a truncated TCP or UDP header is the general path's to report */
	if (ports_of(ip + SL_IPV4_HLEN, total - SL_IPV4_HLEN, true, m.proto, &m.flags, &m.sport, &m.dport) !=
	    SL_DROP_NONE)
		return false;
	copy_addr(&pi->src, ip + 12, 4);
	copy_addr(&pi->dst, ip + 16, 4);
	store_meta(pi, &m);
	return true;
}

/* An untagged Ethernet frame of such a packet. */
static inline bool parse_plain_frame(const uint8_t *frame, uint32_t len, struct sl_pkt_info *pi)
{
	return LIKELY(len >= SL_ETH_HLEN && read_be16(frame + 12) == SL_ETHERTYPE_IPV4) &&
	       parse_plain_ipv4(frame + SL_ETH_HLEN, len - SL_ETH_HLEN, SL_ETH_HLEN, pi);
}

/* Out of line, so that the plain frame's path saves no registers for it. */
static __attribute__((noinline)) enum sl_drop parse_frame(const uint8_t *frame, uint32_t len, struct sl_pkt_info *pi)
{
	if (UNLIKELY(len < SL_ETH_HLEN))
		return SL_DROP_TRUNCATED;

	uint16_t ethertype = read_be16(frame + 12);
	uint16_t l3_off = SL_ETH_HLEN;
	uint16_t vlan = 0;

	if (UNLIKELY(ethertype == SL_ETHERTYPE_VLAN)) {
		if (len < SL_ETH_HLEN + SL_VLAN_HLEN) {
			pi->vlan = 0;
			return SL_DROP_TRUNCATED;
		}
		vlan = read_be16(frame + 14) & 0x0fff;
		ethertype = read_be16(frame + 16);
		l3_off += SL_VLAN_HLEN;
	}
	/* IPv4, the common case, writes every field itself, in wide stores. */
	if (LIKELY(ethertype == SL_ETHERTYPE_IPV4))
		return parse_ipv4(frame + l3_off, len - l3_off, l3_off, vlan, pi);
	pi->vlan = vlan;
	pi->ethertype = ethertype;
	pi->l3_off = l3_off;
	if (ethertype == SL_ETHERTYPE_IPV6)
		return parse_ipv6(frame + l3_off, len - l3_off, l3_off, pi);

	clear_l3(pi);
	if (ethertype == SL_ETHERTYPE_ARP)
		return len - l3_off >= ARP_BODY_LEN ? SL_DROP_NONE : SL_DROP_TRUNCATED;
	return SL_DROP_NON_IP;
}

enum sl_drop sl_pkt_parse(const uint8_t *frame, uint32_t len, struct sl_pkt_info *pi)
{
	if (LIKELY(parse_plain_frame(frame, len, pi)))
		return SL_DROP_NONE;
	return parse_frame(frame, len, pi);
}

enum sl_drop sl_pkt_parse_ip(const uint8_t *ip, uint32_t len, int family, struct sl_pkt_info *pi)
{
	if (family == SL_AF_INET)
		return LIKELY(parse_plain_ipv4(ip, len, 0, pi)) ? SL_DROP_NONE : parse_ipv4(ip, len, 0, 0, pi);
	pi->vlan = 0;
	pi->l3_off = 0;
	if (family == SL_AF_INET6) {
		pi->ethertype = SL_ETHERTYPE_IPV6;
		return parse_ipv6(ip, len, 0, pi);
	}
	return SL_DROP_BAD_VERSION;
}

/* ------------------------------------------------------------ ICMP errors */

#define ICMP_HLEN 8
#define QUOTE_MIN_L4 8 /* RFC 792: the offending header and 64 bits of its data */

static bool is_icmp_error_type(int family, uint8_t type)
{
	if (family == SL_AF_INET) /* unreachable (fragmentation needed too), time exceeded, parameter problem */
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4; /* unreachable, packet too big, time exceeded, parameter problem */
}

/* The quoted IPv4 header at qip (avail bytes); offsets of *q from base. */
static enum sl_drop quote_ipv4(const uint8_t *qip, uint32_t avail, struct sl_icmp_quote *q)
{
	if (avail < SL_IPV4_HLEN || qip[0] >> 4 != 4)
		return SL_DROP_ICMP_BAD_QUOTE;
	uint32_t hlen = (uint32_t)(qip[0] & 0x0f) << 2;
	if (hlen < SL_IPV4_HLEN || hlen + QUOTE_MIN_L4 > avail || (read_be16(qip + 6) & IPV4_FRAG_OFFSET))
		return SL_DROP_ICMP_BAD_QUOTE;
	q->l4_off = (uint16_t)(q->ip_off + hlen);
	q->proto = qip[9];
	copy_addr(&q->src, qip + 12, 4);
	copy_addr(&q->dst, qip + 16, 4);
	return SL_DROP_NONE;
}

static enum sl_drop quote_ipv6(const uint8_t *qip, uint32_t avail, struct sl_icmp_quote *q)
{
	if (avail < SL_IPV6_HLEN || qip[0] >> 4 != 6)
		return SL_DROP_ICMP_BAD_QUOTE;
	uint32_t off = SL_IPV6_HLEN;
	uint8_t nh = qip[6];
	bool l4_starts_here = true;
	struct sl_pkt_info frag = { .flags = 0 };
	/* The quote ends where the error ends, not where the quoted header says. */
	if (is_ipv6_ext_header(nh) &&
	    walk_ipv6_ext_headers(qip, avail, &off, &nh, &l4_starts_here, &frag) != SL_DROP_NONE)
		return SL_DROP_ICMP_BAD_QUOTE;
	if (!l4_starts_here || off + QUOTE_MIN_L4 > avail)
		return SL_DROP_ICMP_BAD_QUOTE;
	q->l4_off = (uint16_t)(q->ip_off + off);
	q->proto = nh;
	copy_addr(&q->src, qip + 8, 16);
	copy_addr(&q->dst, qip + 24, 16);
	return SL_DROP_NONE;
}

enum sl_drop sl_pkt_parse_icmp_error(const uint8_t *ip, const struct sl_pkt_info *pi,
				     struct sl_icmp_quote *q)
{
	uint8_t icmp_proto = pi->family == SL_AF_INET ? SL_PROTO_ICMP : SL_PROTO_ICMPV6;
	uint32_t l4 = (uint32_t)pi->l4_off - pi->l3_off;

	if (pi->proto != icmp_proto || (pi->family != SL_AF_INET && pi->family != SL_AF_INET6))
		return SL_DROP_UNSUPPORTED_L4;
	if (pi->flags & SL_PKT_FRAGMENT)
		return SL_DROP_FRAGMENT;
	if (l4 + ICMP_HLEN > pi->l3_len)
		return SL_DROP_ICMP_BAD_QUOTE;
	if (!is_icmp_error_type(pi->family, ip[l4]))
		return SL_DROP_UNSUPPORTED_L4;

	const uint8_t *qip = ip + l4 + ICMP_HLEN;
	uint32_t avail = pi->l3_len - l4 - ICMP_HLEN;
	q->ip_off = (uint16_t)(l4 + ICMP_HLEN);
	q->len = (uint16_t)avail;
	enum sl_drop r = pi->family == SL_AF_INET ? quote_ipv4(qip, avail, q) : quote_ipv6(qip, avail, q);
	if (r != SL_DROP_NONE)
		return r;
	if (q->proto != SL_PROTO_TCP && q->proto != SL_PROTO_UDP)
		return SL_DROP_ICMP_BAD_QUOTE;
	q->sport = read_be16(ip + q->l4_off);
	q->dport = read_be16(ip + q->l4_off + 2);
	return SL_DROP_NONE;
}
