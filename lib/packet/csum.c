/*
 * Internet checksum (RFC 1071) entry points and the full TCP/UDP checksum
 * check. The arithmetic itself lives in csum_inline.h so the per-packet
 * callers inline it; see there for the byte-order convention.
 */
#include "packet/csum_inline.h"
#include "packet/packet.h"

/* Complemented 16-bit checksum, ready to memcpy into a header field. */
uint16_t sl_csum_fold(uint32_t sum)
{
	return (uint16_t)~csum_fold64(sum);
}

/* Partial sum of buf added to sum, folded to 32 bits so it can be passed
 * back in or added to with ordinary (small) integers. */
uint32_t sl_csum_partial(const void *buf, uint32_t len, uint32_t sum)
{
	uint64_t s = csum_raw(buf, len, sum);

	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

static uint16_t read_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Only a whole, unfragmented TCP or UDP segment can be verified; anything
 * else answers "not verified" (0). Offsets are used relative to l3_off so
 * pi may come from sl_pkt_parse (with ip = frame + l3_off) or from
 * sl_pkt_parse_ip alike.
 */
int sl_pkt_l4_checksum_ok(const uint8_t *ip, const struct sl_pkt_info *pi)
{
	if (!(pi->flags & SL_PKT_HAS_PORTS) || (pi->flags & SL_PKT_FRAGMENT))
		return 0;
	if (pi->proto != SL_PROTO_TCP && pi->proto != SL_PROTO_UDP)
		return 0;

	uint32_t l4_rel = (uint32_t)pi->l4_off - pi->l3_off;
	const uint8_t *l4 = ip + l4_rel;
	uint32_t l4_len = pi->l3_len - l4_rel;

	if (pi->proto == SL_PROTO_UDP) {
		uint16_t udp_len = read_be16(l4 + 4);

		/* Zero means "no checksum": allowed over IPv4 only (RFC 768 vs RFC 8200). */
		if (l4[6] == 0 && l4[7] == 0)
			return pi->family == SL_AF_INET;
		/* The UDP length decides what the checksum covers; it must fit. */
		if (udp_len < 8 || udp_len > l4_len)
			return 0;
		l4_len = udp_len;
	}
	uint64_t sum = csum_pseudo(ip, pi->family, pi->proto, l4_len);

	/* A correct checksum makes the whole sum negative zero. */
	return csum_fold64(csum_raw(l4, l4_len, sum)) == 0xffff;
}

bool sl_pkt_icmp_checksum_ok(const uint8_t *ip, const struct sl_pkt_info *pi)
{
	uint32_t l4_rel = (uint32_t)pi->l4_off - pi->l3_off;
	uint32_t l4_len = pi->l3_len - l4_rel;
	uint64_t sum = 0;

	if ((pi->flags & SL_PKT_FRAGMENT) || l4_len < 4)
		return false;
	if (pi->proto == SL_PROTO_ICMPV6 && pi->family == SL_AF_INET6)
		sum = csum_pseudo(ip, pi->family, pi->proto, l4_len);
	else if (pi->proto != SL_PROTO_ICMP || pi->family != SL_AF_INET)
		return false;
	return csum_fold64(csum_raw(ip + l4_rel, l4_len, sum)) == 0xffff;
}
