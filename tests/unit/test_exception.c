/*
 * Unit tests for lib/exception: which frames for our own addresses go to
 * the control thread, the kernel or nowhere; which ARP/ND frames the
 * kernel gets a copy of; what the kernel may send; the rate limits. Frames
 * are built here byte by byte (Ethernet, one optional VLAN tag, IPv4 with
 * its header checksum or IPv6, then the first bytes of the L4 header).
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "exception/exception.h"

static const uint8_t OUR_MAC[6] = {0x02, 0x5e, 0, 0, 0, 0x10};
static const uint8_t PEER_MAC[6] = {0x02, 0xaa, 0, 0, 0, 0x01};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
#define OUR4 "192.0.2.10"
#define OUR6 "2001:db8:2::10"
#define PEER4 "192.0.2.1"
#define PEER6 "2001:db8:2::1"

struct frame {
	uint8_t b[256];
	uint32_t len;
	struct sl_pkt_info pi;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t put_eth(uint8_t *b, const uint8_t dst[6], const uint8_t src[6], uint16_t type, uint16_t vlan)
{
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	if (vlan == 0) {
		put16(b + 12, type);
		return SL_ETH_HLEN;
	}
	put16(b + 12, SL_ETHERTYPE_VLAN);
	put16(b + 14, vlan);
	put16(b + 16, type);
	return SL_ETH_HLEN + SL_VLAN_HLEN;
}

/* An IP frame src -> dst whose L4 part is l4 (l4len bytes). */
static void ip_frame(struct frame *f, const uint8_t dmac[6], const uint8_t smac[6], uint16_t vlan, const char *src,
		     const char *dst, uint8_t proto, const uint8_t *l4, uint32_t l4len)
{
	bool v6 = strchr(src, ':') != NULL;
	uint8_t *ip = f->b + put_eth(f->b, dmac, smac, v6 ? SL_ETHERTYPE_IPV6 : SL_ETHERTYPE_IPV4, vlan);
	uint32_t hlen = v6 ? SL_IPV6_HLEN : SL_IPV4_HLEN;
	memset(ip, 0, hlen);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = proto;
		ip[7] = 255;
		inet_pton(AF_INET6, src, ip + 8);
		inet_pton(AF_INET6, dst, ip + 24);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(hlen + l4len));
		ip[8] = 64;
		ip[9] = proto;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, dst, ip + 16);
		uint16_t csum = sl_csum_fold(sl_csum_partial(ip, hlen, 0));
		memcpy(ip + 10, &csum, 2);
	}
	memcpy(ip + hlen, l4, l4len);
	f->len = (uint32_t)(ip - f->b) + hlen + l4len;
	ck_assert_int_eq(sl_pkt_parse(f->b, f->len, &f->pi), SL_DROP_NONE);
}

/* A TCP SYN (dport 179), a UDP datagram, or an ICMP message of type t. */
static void tcp_to(struct frame *f, const char *src, const char *dst)
{
	uint8_t tcp[20] = {0x30, 0x39, 0x00, 179, [12] = 0x50, [13] = 0x02};
	ip_frame(f, OUR_MAC, PEER_MAC, 0, src, dst, SL_PROTO_TCP, tcp, sizeof(tcp));
}

static void udp_to(struct frame *f, const char *src, const char *dst)
{
	uint8_t udp[12] = {0x30, 0x39, 0x1f, 0x90, 0, 12, 0, 0, 'e', 'c', 'h', 'o'};
	ip_frame(f, OUR_MAC, PEER_MAC, 0, src, dst, SL_PROTO_UDP, udp, sizeof(udp));
}

static void icmp_to(struct frame *f, const uint8_t dmac[6], const char *src, const char *dst, uint8_t type)
{
	uint8_t icmp[8] = {type};
	ip_frame(f, dmac, PEER_MAC, 0, src, dst, strchr(src, ':') ? SL_PROTO_ICMPV6 : SL_PROTO_ICMP, icmp,
		 sizeof(icmp));
}

static void arp(struct frame *f, const uint8_t smac[6], uint16_t vlan, uint16_t op, const char *sender)
{
	uint8_t *a = f->b + put_eth(f->b, op == 1 ? BCAST : OUR_MAC, smac, SL_ETHERTYPE_ARP, vlan);
	static const uint8_t head[6] = {0, 1, 0x08, 0x00, 6, 4};
	memset(a, 0, 28);
	memcpy(a, head, 6);
	put16(a + 6, op);
	memcpy(a + 8, smac, 6);
	inet_pton(AF_INET, sender, a + 14);
	inet_pton(AF_INET, OUR4, a + 24);
	f->len = (uint32_t)(a - f->b) + 28;
}

static enum sl_exc_dest classify(const struct frame *f, bool own, bool l2_group, enum sl_drop *why)
{
	*why = SL_DROP_NONE;
	return sl_exc_classify(f->b, &f->pi, own, l2_group, why);
}

START_TEST(tcp_udp_and_other_icmp_go_to_the_kernel)
{
	static const struct { const char *src, *dst; } fam[] = {{PEER4, OUR4}, {PEER6, OUR6}};
	struct frame f;
	enum sl_drop why;
	for (unsigned i = 0; i < 2; i++) {
		tcp_to(&f, fam[i].src, fam[i].dst);
		ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_KERNEL);
		udp_to(&f, fam[i].src, fam[i].dst);
		ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_KERNEL);
	}
	icmp_to(&f, OUR_MAC, PEER4, OUR4, 0); /* echo reply: answers the kernel's ping */
	ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_KERNEL);
	icmp_to(&f, OUR_MAC, PEER4, OUR4, 3); /* port unreachable for the kernel's UDP */
	ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_KERNEL);
	icmp_to(&f, OUR_MAC, PEER6, OUR6, 129);
	ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_KERNEL);
	icmp_to(&f, OUR_MAC, PEER6, OUR6, 2); /* packet too big */
	ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_KERNEL);
}
END_TEST

START_TEST(what_sluice_answers_stays_with_the_control_thread)
{
	static const uint8_t v4[] = {8, 5}, v6[] = {128, 133, 134, 135, 136, 137, 130, 143};
	struct frame f;
	enum sl_drop why;
	for (unsigned i = 0; i < sizeof(v4); i++) {
		icmp_to(&f, OUR_MAC, PEER4, OUR4, v4[i]);
		ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_CONTROL);
	}
	for (unsigned i = 0; i < sizeof(v6); i++) {
		icmp_to(&f, OUR_MAC, PEER6, OUR6, v6[i]);
		ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_CONTROL);
	}
	icmp_to(&f, BCAST, PEER4, OUR4, 8); /* echo to a group MAC is still answered, as before */
	ck_assert_int_eq(classify(&f, true, true, &why), SL_EXC_CONTROL);
}
END_TEST

START_TEST(multicast_and_group_macs_never_reach_the_kernel)
{
	struct frame f;
	enum sl_drop why;
	icmp_to(&f, BCAST, PEER6, "ff02::1:ff00:10", 135);
	ck_assert_int_eq(classify(&f, false, true, &why), SL_EXC_CONTROL);
	udp_to(&f, PEER6, "ff02::1");
	ck_assert_int_eq(classify(&f, false, true, &why), SL_EXC_DROP);
	ck_assert_int_eq(why, SL_DROP_NOT_FOR_US);
	tcp_to(&f, PEER4, OUR4);
	ck_assert_int_eq(classify(&f, true, true, &why), SL_EXC_DROP);
	ck_assert_int_eq(why, SL_DROP_L2_MULTICAST);
}
END_TEST

START_TEST(fragments_go_to_the_kernel_which_reassembles)
{
	struct frame f;
	enum sl_drop why;
	icmp_to(&f, OUR_MAC, PEER4, OUR4, 8);
	uint8_t *ip = f.b + f.pi.l3_off;
	ip[6] = 0x20; /* more fragments */
	ip[10] = ip[11] = 0;
	uint16_t csum = sl_csum_fold(sl_csum_partial(ip, SL_IPV4_HLEN, 0));
	memcpy(ip + 10, &csum, 2);
	ck_assert_int_eq(sl_pkt_parse(f.b, f.len, &f.pi), SL_DROP_NONE);
	ck_assert(f.pi.flags & SL_PKT_FRAGMENT);
	ck_assert_int_eq(classify(&f, true, false, &why), SL_EXC_KERNEL);
}
END_TEST

#define RATE 10000 /* per second */
#define BURST 1000

START_TEST(gate_refuses_ports_without_interface_and_takes_no_token)
{
	struct sl_exc_gate g = {.ports = 1u << 1, .rate = RATE, .burst = BURST};
	ck_assert_int_eq(sl_exc_gate_pass(&g, 0, 1000), SL_DROP_KERNEL_OFF);
	ck_assert_int_eq(sl_exc_gate_pass(&g, 31, 1000), SL_DROP_KERNEL_OFF);
	ck_assert_int_eq(sl_exc_gate_pass(&g, 40, 1000), SL_DROP_KERNEL_OFF);
	for (unsigned i = 0; i < BURST; i++) /* all still there for port 1 */
		ck_assert_int_eq(sl_exc_gate_pass(&g, 1, 1000), SL_DROP_NONE);
}
END_TEST

START_TEST(gate_limits_a_flood_to_its_rate)
{
	struct sl_exc_gate g = {.ports = 1, .rate = RATE, .burst = BURST};
	uint32_t now = 5000, passed = 0;
	for (unsigned i = 0; i < 3 * BURST; i++)
		passed += sl_exc_gate_pass(&g, 0, now) == SL_DROP_NONE;
	ck_assert_uint_eq(passed, BURST);
	ck_assert_int_eq(sl_exc_gate_pass(&g, 0, now), SL_DROP_KERNEL_RATE_LIMITED);
	/* one second of flooding at 100 frames per millisecond: the rate gets through */
	passed = 0;
	for (uint32_t ms = 1; ms <= 1000; ms++)
		for (unsigned i = 0; i < 100; i++)
			passed += sl_exc_gate_pass(&g, 0, now + ms) == SL_DROP_NONE;
	ck_assert_uint_eq(passed, RATE);
	/* idle for a minute: back to one burst, not more */
	passed = 0;
	for (unsigned i = 0; i < 3 * BURST; i++)
		passed += sl_exc_gate_pass(&g, 0, now + 61000) == SL_DROP_NONE;
	ck_assert_uint_eq(passed, BURST);
}
END_TEST

START_TEST(bucket_survives_the_clock_wrapping)
{
	struct sl_token_bucket b = {0};
	ck_assert(sl_rate_take(&b, 1000, 2, UINT32_MAX - 1));
	ck_assert(sl_rate_take(&b, 1000, 2, UINT32_MAX - 1));
	ck_assert(!sl_rate_take(&b, 1000, 2, UINT32_MAX - 1));
	ck_assert(sl_rate_take(&b, 1000, 2, 0)); /* two ms later, across the wrap */
	ck_assert(sl_rate_take(&b, 1000, 2, 0));
	ck_assert(!sl_rate_take(&b, 1000, 2, 0));
}
END_TEST

START_TEST(bucket_takes_rates_below_one_a_millisecond)
{
	struct sl_token_bucket b = {0};
	uint32_t passed = 0;
	for (uint32_t ms = 1000; ms < 11000; ms++) /* ten seconds at 7/s, burst 3 */
		passed += sl_rate_take(&b, 7, 3, ms);
	ck_assert_uint_eq(passed, 3 + 69); /* the burst, then 7 a second: 69 in the 9,998 ms after it */
}
END_TEST

START_TEST(kernel_gets_arp_replies_and_advertisements_only)
{
	struct frame f;
	arp(&f, PEER_MAC, 0, 2, PEER4);
	ck_assert(sl_exc_neigh_for_kernel(f.b, f.len));
	arp(&f, PEER_MAC, 0, 1, PEER4);
	ck_assert(!sl_exc_neigh_for_kernel(f.b, f.len));
	arp(&f, PEER_MAC, 7, 2, PEER4); /* the kernel interface is untagged */
	ck_assert(!sl_exc_neigh_for_kernel(f.b, f.len));
	ck_assert(!sl_exc_neigh_for_kernel(f.b, 30)); /* truncated */
	icmp_to(&f, OUR_MAC, PEER6, OUR6, 136);
	ck_assert(sl_exc_neigh_for_kernel(f.b, f.len));
	icmp_to(&f, OUR_MAC, PEER6, OUR6, 135);
	ck_assert(!sl_exc_neigh_for_kernel(f.b, f.len));
	icmp_to(&f, OUR_MAC, PEER6, OUR6, 128);
	ck_assert(!sl_exc_neigh_for_kernel(f.b, f.len));
}
END_TEST

START_TEST(untag_moves_the_macs_over_the_tag)
{
	struct frame f, plain;
	udp_to(&plain, PEER4, OUR4);
	uint8_t l4[12] = {0x30, 0x39, 0x1f, 0x90, 0, 12, 0, 0, 'e', 'c', 'h', 'o'};
	ip_frame(&f, OUR_MAC, PEER_MAC, 7, PEER4, OUR4, SL_PROTO_UDP, l4, sizeof(l4));
	ck_assert_uint_eq(sl_exc_untag(f.b, f.len), SL_VLAN_HLEN);
	ck_assert_uint_eq(f.len - SL_VLAN_HLEN, plain.len);
	ck_assert_mem_eq(f.b + SL_VLAN_HLEN, plain.b, plain.len);
	uint8_t copy[sizeof(plain.b)];
	memcpy(copy, plain.b, sizeof(copy));
	ck_assert_uint_eq(sl_exc_untag(plain.b, plain.len), 0);
	ck_assert_mem_eq(plain.b, copy, sizeof(copy));
}
END_TEST

static void local_init(struct sl_local *l)
{
	memset(l, 0, sizeof(*l));
	l->nb_ports = 2;
	memcpy(l->port[0].mac, OUR_MAC, 6);
	l->port[0].nb_addrs = 2;
	l->port[0].family[0] = SL_AF_INET;
	sl_addr_parse(OUR4, &l->port[0].addr[0]);
	l->port[0].family[1] = SL_AF_INET6;
	sl_addr_parse(OUR6, &l->port[0].addr[1]);
	l->port[1].mac[5] = 0x11;
}

/* What the kernel sends: the same frames, the other way round. */
static enum sl_drop from_kernel(const struct frame *f, uint16_t port)
{
	struct sl_local l;
	local_init(&l);
	return sl_exc_from_kernel(f->b, f->len, &l, port, 1500);
}

START_TEST(kernel_may_send_from_our_addresses_and_mac)
{
	struct frame f;
	uint8_t tcp[20] = {0, 179, 0x30, 0x39, [12] = 0x50, [13] = 0x12};
	ip_frame(&f, PEER_MAC, OUR_MAC, 0, OUR4, PEER4, SL_PROTO_TCP, tcp, sizeof(tcp));
	ck_assert_int_eq(from_kernel(&f, 0), SL_DROP_NONE);
	ck_assert_int_eq(from_kernel(&f, 1), SL_DROP_FROM_KERNEL_REFUSED); /* not port 1's MAC */
	ck_assert_int_eq(from_kernel(&f, 2), SL_DROP_FROM_KERNEL_REFUSED); /* no such port */
	ip_frame(&f, PEER_MAC, OUR_MAC, 0, OUR6, "ff02::1:ff00:1", SL_PROTO_ICMPV6, tcp, 8); /* NS */
	ck_assert_int_eq(from_kernel(&f, 0), SL_DROP_NONE);
	arp(&f, OUR_MAC, 0, 1, OUR4);
	ck_assert_int_eq(from_kernel(&f, 0), SL_DROP_NONE);
}
END_TEST

START_TEST(kernel_may_not_send_anything_else)
{
	struct frame f;
	uint8_t l4[20] = {0};
	static const char *const not_ours[] = {PEER4, "0.0.0.0", "::", "fe80::5e:ff:fe00:10", PEER6};
	for (unsigned i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++) {
		bool v6 = strchr(not_ours[i], ':') != NULL;
		ip_frame(&f, PEER_MAC, OUR_MAC, 0, not_ours[i], v6 ? "ff02::16" : PEER4,
			 v6 ? SL_PROTO_ICMPV6 : SL_PROTO_UDP, l4, sizeof(l4));
		ck_assert_int_eq(from_kernel(&f, 0), SL_DROP_FROM_KERNEL_REFUSED);
	}
	ip_frame(&f, PEER_MAC, PEER_MAC, 0, OUR4, PEER4, SL_PROTO_UDP, l4, sizeof(l4)); /* other MAC */
	ck_assert_int_eq(from_kernel(&f, 0), SL_DROP_FROM_KERNEL_REFUSED);
	ip_frame(&f, PEER_MAC, OUR_MAC, 9, OUR4, PEER4, SL_PROTO_UDP, l4, sizeof(l4)); /* tagged */
	ck_assert_int_eq(from_kernel(&f, 0), SL_DROP_FROM_KERNEL_REFUSED);
	arp(&f, OUR_MAC, 0, 1, PEER4); /* ARP for someone else's address */
	ck_assert_int_eq(from_kernel(&f, 0), SL_DROP_FROM_KERNEL_REFUSED);
	put_eth(f.b, PEER_MAC, OUR_MAC, 0x88cc, 0); /* LLDP */
	ck_assert_int_eq(from_kernel(&f, 0), SL_DROP_FROM_KERNEL_REFUSED);
	struct sl_local l;
	local_init(&l);
	udp_to(&f, OUR4, PEER4);
	memcpy(f.b, PEER_MAC, 6);
	memcpy(f.b + 6, OUR_MAC, 6);
	ck_assert_int_eq(sl_exc_from_kernel(f.b, f.len, &l, 0, (uint16_t)(f.len - SL_ETH_HLEN)), SL_DROP_NONE);
	ck_assert_int_eq(sl_exc_from_kernel(f.b, f.len, &l, 0, (uint16_t)(f.len - SL_ETH_HLEN - 1)),
			 SL_DROP_FROM_KERNEL_REFUSED); /* over the interface's MTU */
}
END_TEST

static Suite *exception_suite(void)
{
	Suite *s = suite_create("exception");
	TCase *to = tcase_create("to_the_kernel");
	tcase_add_test(to, tcp_udp_and_other_icmp_go_to_the_kernel);
	tcase_add_test(to, what_sluice_answers_stays_with_the_control_thread);
	tcase_add_test(to, multicast_and_group_macs_never_reach_the_kernel);
	tcase_add_test(to, fragments_go_to_the_kernel_which_reassembles);
	tcase_add_test(to, kernel_gets_arp_replies_and_advertisements_only);
	tcase_add_test(to, untag_moves_the_macs_over_the_tag);
	suite_add_tcase(s, to);
	TCase *rate = tcase_create("rate_limits");
	tcase_add_test(rate, gate_refuses_ports_without_interface_and_takes_no_token);
	tcase_add_test(rate, gate_limits_a_flood_to_its_rate);
	tcase_add_test(rate, bucket_survives_the_clock_wrapping);
	tcase_add_test(rate, bucket_takes_rates_below_one_a_millisecond);
	suite_add_tcase(s, rate);
	TCase *from = tcase_create("from_the_kernel");
	tcase_add_test(from, kernel_may_send_from_our_addresses_and_mac);
	tcase_add_test(from, kernel_may_not_send_anything_else);
	suite_add_tcase(s, from);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(exception_suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
