#include <string.h>

#include "exception/exception.h"

#define ICMP_REDIRECT 5
#define ICMP_ECHO_REQUEST 8
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_MLD_FIRST 130  /* MLD query, report, done */
#define ICMP6_REDIRECT 137   /* 133..137: router and neighbour discovery */
#define ICMP6_MLD2_REPORT 143
#define ICMP6_NA 136
#define ARP_OP_REPLY 2
#define ARP_SENDER_IP_OFF 14

static bool is_icmp(const struct sl_pkt_info *pi)
{
	return pi->proto == SL_PROTO_ICMP || pi->proto == SL_PROTO_ICMPV6;
}

/* The ICMP type of an unfragmented ICMP packet, or -1 if it has none. */
static int icmp_type(const uint8_t *frame, const struct sl_pkt_info *pi)
{
	if (!is_icmp(pi) || (pi->flags & SL_PKT_FRAGMENT) || pi->l4_off >= pi->l3_off + pi->l3_len)
		return -1;
	return frame[pi->l4_off];
}

/*
 * ICMP the control thread handles: what lib/neigh answers or learns from,
 * and what would make the kernel change its routing or multicast state
 * behind sluice's back (redirects, router advertisements, MLD), which the
 * control thread then ignores.
 */
static bool icmp_for_control(int family, int type)
{
	if (family == SL_AF_INET)
		return type == ICMP_ECHO_REQUEST || type == ICMP_REDIRECT;
	return type == ICMP6_ECHO_REQUEST || (type >= ICMP6_MLD_FIRST && type <= ICMP6_REDIRECT) ||
	       type == ICMP6_MLD2_REPORT;
}

enum sl_exc_dest sl_exc_classify(const uint8_t *frame, const struct sl_pkt_info *pi, bool own_unicast,
				 bool l2_group, enum sl_drop *why)
{
	int type = icmp_type(frame, pi);
	if (!own_unicast) { /* IPv6 multicast: ND to solicited-node groups and the like */
		*why = SL_DROP_NOT_FOR_US;
		return type >= 0 && pi->proto == SL_PROTO_ICMPV6 ? SL_EXC_CONTROL : SL_EXC_DROP;
	}
	if (type >= 0 && icmp_for_control(pi->family, type))
		return SL_EXC_CONTROL;
	if (l2_group) {
		*why = SL_DROP_L2_MULTICAST;
		return SL_EXC_DROP;
	}
	return SL_EXC_KERNEL;
}

enum sl_drop sl_exc_gate_pass(struct sl_exc_gate *g, uint16_t port, uint32_t now_ms)
{
	if (port >= 32 || !(g->ports & (UINT32_C(1) << port)))
		return SL_DROP_KERNEL_OFF;
	if (!sl_rate_take(&g->bucket, g->rate, g->burst, now_ms))
		return SL_DROP_KERNEL_RATE_LIMITED;
	return SL_DROP_NONE;
}

bool sl_exc_neigh_for_kernel(const uint8_t *frame, uint32_t len)
{
	struct sl_pkt_info pi;
	if (sl_pkt_parse(frame, len, &pi) != SL_DROP_NONE || pi.vlan != 0)
		return false;
	if (pi.ethertype == SL_ETHERTYPE_ARP)
		return frame[pi.l3_off + 6] == 0 && frame[pi.l3_off + 7] == ARP_OP_REPLY; /* parsed: 28 bytes */
	return pi.family == SL_AF_INET6 && pi.proto == SL_PROTO_ICMPV6 && icmp_type(frame, &pi) == ICMP6_NA;
}

uint32_t sl_exc_untag(uint8_t *frame, uint32_t len)
{
	if (len < SL_ETH_HLEN + SL_VLAN_HLEN || frame[12] != (SL_ETHERTYPE_VLAN >> 8) ||
	    frame[13] != (SL_ETHERTYPE_VLAN & 0xff))
		return 0;
	memmove(frame + SL_VLAN_HLEN, frame, 12);
	return SL_VLAN_HLEN;
}

/* The IPv4 sender of an ARP frame (pi from sl_pkt_parse: the body is whole). */
static void arp_sender(const uint8_t *frame, const struct sl_pkt_info *pi, union sl_addr *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(&a->v4, frame + pi->l3_off + ARP_SENDER_IP_OFF, 4);
}

enum sl_drop sl_exc_from_kernel(const uint8_t *frame, uint32_t len, const struct sl_local *local, uint16_t port,
				uint16_t mtu)
{
	struct sl_pkt_info pi;
	union sl_addr src;
	if (port >= local->nb_ports || len > (uint32_t)SL_ETH_HLEN + mtu || len < SL_ETH_HLEN ||
	    memcmp(frame + 6, local->port[port].mac, 6) != 0 || sl_pkt_parse(frame, len, &pi) != SL_DROP_NONE ||
	    pi.vlan != 0)
		return SL_DROP_FROM_KERNEL_REFUSED;
	int family = pi.family;
	src = pi.src;
	if (pi.ethertype == SL_ETHERTYPE_ARP) {
		arp_sender(frame, &pi, &src);
		family = SL_AF_INET;
	}
	return sl_local_owns(local, family, &src, NULL) ? SL_DROP_NONE : SL_DROP_FROM_KERNEL_REFUSED;
}
