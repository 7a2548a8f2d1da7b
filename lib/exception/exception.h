/*
 * The kernel exception path: traffic for our own addresses that no stage
 * claims crosses a kernel interface sluice creates per data port
 * (drivers/exception), so BGP, BFD, health probes and other ordinary
 * sockets work over the DPDK ports; what the kernel sends on it leaves
 * through the port. Sluice keeps answering ARP, ND and ICMP echo itself.
 *
 * Only the decisions live here, on plain buffers: which frames go to the
 * control thread, to the kernel, or nowhere; which ARP/ND frames the
 * kernel gets a copy of; what the kernel may send; and the rate limits in
 * both directions. Workers call sl_exc_classify and sl_exc_gate_pass; the
 * control thread calls the rest (app/exception.c).
 */
#ifndef SLUICE_EXCEPTION_EXCEPTION_H
#define SLUICE_EXCEPTION_EXCEPTION_H

#include <stdbool.h>
#include <stdint.h>

#include "exception/rate.h"
#include "neigh/neigh.h"
#include "packet/packet.h"
#include "stats/counters.h"

/* Who takes a frame addressed to one of our own addresses (or to IPv6 multicast). */
enum sl_exc_dest {
	SL_EXC_CONTROL, /* sluice answers it: ARP, ND, echo request (lib/neigh) */
	SL_EXC_KERNEL,  /* the kernel interface of the port it came in on */
	SL_EXC_DROP,    /* nobody; the reason is in *why */
};

/*
 * Decide for an IP frame (parsed into pi) that is addressed to one of our
 * addresses (own_unicast) or, when !own_unicast, to an IPv6 multicast
 * group. ICMP sluice answers or must not let the kernel act on (echo
 * requests, IPv4 redirects, ICMPv6 ND and router messages) goes to the
 * control thread, whole and untagged or not; multicast only when it is
 * ICMPv6. Everything else to our own unicast addresses (TCP, UDP, other
 * ICMP such as echo replies and errors, any protocol, fragments) is the
 * kernel's, if it came to our MAC (l2_group false): the kernel would
 * refuse unicast TCP sent to a group MAC anyway.
 */
enum sl_exc_dest sl_exc_classify(const uint8_t *frame, const struct sl_pkt_info *pi, bool own_unicast,
				 bool l2_group, enum sl_drop *why);

/*
 * A worker's admission to the kernel path (bucket zeroed: full). The rate
 * limit keeps a flood to our addresses off the control thread and the
 * kernel, so it never slows the stages; the control thread limits what
 * the kernel sends the same way, per interface (sl_rate_take).
 */
struct sl_exc_gate {
	uint32_t ports;               /* bit p: config port p has a kernel interface */
	uint32_t rate, burst;         /* frames per second, most at once */
	struct sl_token_bucket bucket;
};

/* Whether a frame for the kernel that arrived on port may be queued:
 * SL_DROP_NONE (a token taken), KERNEL_OFF (the port has no kernel
 * interface: no token taken) or KERNEL_RATE_LIMITED. */
enum sl_drop sl_exc_gate_pass(struct sl_exc_gate *g, uint16_t port, uint32_t now_ms);

/* Whether a frame the control thread took (ARP, ND) also belongs to the
 * kernel: ARP replies and neighbour advertisements, untagged, so that the
 * kernel resolves its own neighbours through sluice's port. Requests stay
 * with sluice, which answers them (the kernel would answer a second time). */
bool sl_exc_neigh_for_kernel(const uint8_t *frame, uint32_t len);

/* Remove an 802.1Q tag (the kernel interface is untagged) in place by
 * moving the MAC addresses 4 bytes on. Returns how many bytes to drop
 * from the front: 4, or 0 for an untagged frame. */
uint32_t sl_exc_untag(uint8_t *frame, uint32_t len);

/*
 * What the kernel may send out through port (its MAC and addresses in
 * local): untagged frames from the port's MAC, of at most mtu bytes of
 * payload, that are IPv4 or IPv6 from one of our addresses (never the
 * unspecified address or a link-local one, which no neighbour could
 * answer), or ARP with one of our addresses as sender. Returns
 * SL_DROP_NONE or SL_DROP_FROM_KERNEL_REFUSED.
 */
enum sl_drop sl_exc_from_kernel(const uint8_t *frame, uint32_t len, const struct sl_local *local, uint16_t port,
				uint16_t mtu);

#endif
