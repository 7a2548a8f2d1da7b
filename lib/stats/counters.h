/*
 * The one list of data-path counters and drop reasons.
 *
 * Every counter, every drop reason, their names in telemetry and their
 * descriptions in docs/counters.md come from these two X-macro lists, so
 * stats, telemetry and documentation cannot drift apart.
 *
 *   X(ENUM_SUFFIX, telemetry_name, "what it counts")
 */
#ifndef SLUICE_STATS_COUNTERS_H
#define SLUICE_STATS_COUNTERS_H

#include <stdint.h>

#define SL_COUNTERS(X) \
	X(RX_PACKETS,     rx_packets,     "frames received from all ports") \
	X(TX_PACKETS,     tx_packets,     "frames handed to a port for transmit") \
	X(TX_FULL,        tx_full,        "frames the transmit queue refused (freed)") \
	X(IDLE_POLLS,     idle_polls,     "receive polls that returned no frame") \
	X(MUX_FLOW_HIT,   mux_flow_hit,   "mux: packets of a known flow") \
	X(MUX_FLOW_NEW,   mux_flow_new,   "mux: new flows given a DIP by Maglev") \
	X(MUX_FLOW_FULL,  mux_flow_full,  "mux: new flows forwarded without state because the flow table was full") \
	X(MUX_ENCAP,      mux_encap,      "mux: packets encapsulated towards a host agent") \
	X(MUX_TOO_BIG_SENT, mux_too_big_sent, "mux: ICMP fragmentation-needed / packet-too-big sent to clients (at most 1000/s per worker)") \
	X(MUX_ICMP_RELAYED, mux_icmp_relayed, "mux: ICMP errors about a VIP's flow (matched by the packet they quote) tunnelled to that flow's host agent") \
	X(HOST_DECAP,     host_decap,     "host: tunnelled packets decapsulated") \
	X(HOST_CONN_NEW,  host_conn_new,  "host: new connections given a local DIP") \
	X(HOST_CONN_FULL, host_conn_full, "host: new connections translated without state because the table was full") \
	X(HOST_TO_DIP,    host_to_dip,    "host: packets translated VIP to DIP and delivered") \
	X(HOST_REPLY,     host_reply,     "host: replies translated DIP to VIP and sent to the client (DSR)") \
	X(HOST_ICMP_TO_DIP, host_icmp_to_dip, "host: ICMP errors about a connection translated (outer and quoted headers) VIP to DIP and delivered") \
	X(HOST_ICMP_TO_CLIENT, host_icmp_to_client, "host: ICMP errors a DIP sent about a connection translated DIP to VIP and sent to the client") \
	X(EXCEPTION,      exception,      "frames passed to the control thread (ARP, ND, ICMP echo requests to own addresses)") \
	X(FROM_CONTROL,   from_control,   "frames sent on behalf of the control thread (its answers, and what the kernel sent on its interfaces)") \
	X(TO_KERNEL,      to_kernel,      "exception path: frames for our own addresses queued for the port's kernel interface (TCP, UDP, ICMP sluice does not answer)") \
	X(KERNEL_WRITTEN, kernel_written, "exception path: frames written to a kernel interface (control thread)") \
	X(KERNEL_NEIGH_COPIES, kernel_neigh_copies, "exception path: ARP replies and neighbour advertisements given to the kernel as well as to sluice's neighbour cache") \
	X(FROM_KERNEL,    from_kernel,    "exception path: frames the kernel sent on its interface, passed to the port (control thread)") \
	X(FLOW_EXPIRED,   flow_expired,   "flow and connection entries removed after their idle timeout") \
	X(BGP_ANNOUNCED,  bgp_announced,  "bgp: VIP routes put into `bgp.table` on the peering port's kernel interface, which BIRD announces (control thread)") \
	X(BGP_WITHDRAWN,  bgp_withdrawn,  "bgp: VIP routes taken out of it, which BIRD withdraws: a drain, the watchdog, a VIP left without a usable DIP, a stop (control thread)") \
	X(BGP_WATCHDOG,   bgp_watchdog,   "bgp: times a worker was silent for longer than `bgp.watchdog_ms` and every route was withdrawn")

#define SL_DROPS(X) \
	X(OTHER_MAC,       other_mac,       "unicast frame for another station's MAC (flooded on a shared segment)") \
	X(WRONG_VLAN,      wrong_vlan,      "frame tagged with a VLAN ID other than the port's `vlan` setting (with none set: any tag but a priority-only one)") \
	X(L2_MULTICAST,    l2_multicast,    "frame a stage would forward that arrived as L2 broadcast or multicast (ARP, ND and other control traffic still reach the control thread)") \
	X(MARTIAN_SRC,     martian_src,     "forwarded packet from 0.0.0.0/8, 127.0.0.0/8, 255.255.255.255, 224.0.0.0/4, ::/96, ::ffff:0:0/96 or ff00::/8") \
	X(MARTIAN_DST,     martian_dst,     "forwarded packet to one of the martian ranges above (loopback, unspecified, broadcast, multicast, IPv4-mapped)") \
	X(SRC_IS_DST,      src_is_dst,      "forwarded packet whose source is its own destination (e.g. the VIP: the backend's answer would loop back to the mux)") \
	X(TRUNCATED,       truncated,       "frame shorter than the headers it announces") \
	X(NON_IP,          non_ip,          "ethertype neither IPv4, IPv6 nor ARP") \
	X(BAD_VERSION,     bad_version,     "IP version field does not match the ethertype") \
	X(BAD_IHL,         bad_ihl,         "IPv4 header length below 20 bytes") \
	X(BAD_LENGTH,      bad_length,      "IP length field larger than the frame or smaller than the header") \
	X(BAD_IP_CHECKSUM, bad_ip_checksum, "IPv4 header checksum wrong") \
	X(BAD_L4_CHECKSUM, bad_l4_checksum, "host: TCP or UDP checksum wrong on a packet that would open a connection; mux and host: ICMP checksum wrong on an error to relay or translate") \
	X(BAD_EXT_HEADER,  bad_ext_header,  "IPv6 extension header chain malformed or too long") \
	X(FRAGMENT,        fragment,        "IP fragment addressed to a VIP (not supported)") \
	X(TTL_EXCEEDED,    ttl_exceeded,    "TTL or hop limit would reach zero") \
	X(UNKNOWN_VIP,     unknown_vip,     "destination address is not a VIP served here") \
	X(UNKNOWN_PORT,    unknown_port,    "VIP address known but not this protocol and port") \
	X(UNSUPPORTED_L4,  unsupported_l4,  "protocol other than TCP or UDP addressed to a VIP") \
	X(NOT_FOR_US,      not_for_us,      "IP packet for none of our addresses, VIPs or connections, or to an IPv6 multicast group and not ICMPv6") \
	X(NO_BACKEND,      no_backend,      "VIP has no usable DIP") \
	X(NO_NEIGHBOUR,    no_neighbour,    "next hop MAC not resolved yet (resolution requested)") \
	X(NO_CONNECTION,   no_connection,   "host: packet from a local DIP that matches no connection") \
	X(BAD_TUNNEL,      bad_tunnel,      "host: tunnelled packet whose inner packet is malformed or of the wrong family") \
	X(BAD_TUNNEL_SOURCE, bad_tunnel_source, "host: tunnel from an outer source outside `host.tunnel_sources` (not a configured mux)") \
	X(ICMP_BAD_QUOTE,  icmp_bad_quote,  "ICMP error to a VIP or from a DIP whose quoted packet is truncated (under 8 bytes of TCP/UDP header), malformed, not TCP/UDP, or not about the address it was sent to or from") \
	X(ICMP_NO_FLOW,    icmp_no_flow,    "ICMP error whose quoted packet matches no flow (mux: VIP port not served or no DIP; host: no connection)") \
	X(ICMP_RATE_LIMITED, icmp_rate_limited, "ICMP error not relayed or translated: over the limit of 1000/s (burst 100) per worker") \
	X(NO_HEADROOM,     no_headroom,     "frame lacks the headroom needed for encapsulation") \
	X(TOO_BIG,         too_big,         "encapsulated frame would exceed the port MTU") \
	X(ECHO_RATE_LIMITED, echo_rate_limited, "ICMP/ICMPv6 echo request to our own addresses over 1000/s (burst 100) per worker: a ping flood must not delay ARP and ND, which share the control thread's ring") \
	X(EXCEPTION_FULL,  exception_full,  "control-thread ring full; frame dropped") \
	X(KERNEL_OFF,      kernel_off,      "exception path: traffic for one of our addresses (not ARP, ND or echo) on a port whose kernel interface is off (`kernel_interface = false`)") \
	X(KERNEL_RATE_LIMITED, kernel_rate_limited, "exception path: frame for the kernel over the per-worker limit (`exception.to_kernel_rate`, default 10,000/s, burst 1,000)") \
	X(KERNEL_RING_FULL, kernel_ring_full, "exception path: the ring to the control thread's kernel writer was full") \
	X(KERNEL_WRITE_FAILED, kernel_write_failed, "exception path: the kernel interface did not take the frame (its queue full or the interface down)") \
	X(FROM_KERNEL_REFUSED, from_kernel_refused, "exception path: the kernel sent a frame sluice does not pass on: not from the port's MAC, tagged, over the MTU, neither IP nor ARP, or not from one of our addresses (e.g. IPv6 unspecified or link-local)") \
	X(FROM_KERNEL_RATE_LIMITED, from_kernel_rate_limited, "exception path: frame from the kernel over the per-interface limit (`exception.from_kernel_rate`, default 10,000/s, burst 1,000)") \
	X(FROM_KERNEL_RING_FULL, from_kernel_ring_full, "exception path: frame from the kernel dropped because the ring to the transmitting worker was full") \
	X(NO_ROLE,         no_role,         "traffic for a role this instance does not run")

enum sl_counter {
#define SL_X_ENUM(e, n, d) SL_C_##e,
	SL_COUNTERS(SL_X_ENUM)
#undef SL_X_ENUM
	SL_C_MAX
};

/* SL_DROP_NONE (0) means "not dropped": parsers return it on success. */
enum sl_drop {
	SL_DROP_NONE = 0,
#define SL_X_ENUM(e, n, d) SL_DROP_##e,
	SL_DROPS(SL_X_ENUM)
#undef SL_X_ENUM
	SL_DROP_MAX
};

/*
 * Drops the port counts before sluice sees a frame, read from the device
 * (rte_eth_stats_get) by the control side, reported per port as
 * port_<name>_<telemetry_name>.
 *
 *   X(rte_eth_stats field, telemetry_name, "what it counts")
 */
#define SL_PORT_DROPS(X) \
	X(ierrors,   ierrors,   "frames the port received but could not deliver (e.g. larger than its receive buffers)") \
	X(imissed,   imissed,   "frames the port dropped because its receive queue was full (workers too slow)") \
	X(rx_nombuf, rx_nombuf, "frames the port dropped because the mbuf pool was empty") \
	X(oerrors,   oerrors,   "frames the port failed to transmit")

/* Per-lcore block: written only by its own lcore, read by anyone. */
struct sl_stats {
	uint64_t c[SL_C_MAX];
	uint64_t drop[SL_DROP_MAX];
} __attribute__((aligned(64)));

const char *sl_counter_name(enum sl_counter c);
const char *sl_counter_help(enum sl_counter c);
const char *sl_drop_name(enum sl_drop d);
const char *sl_drop_help(enum sl_drop d);

/* Sum n per-lcore blocks (each still being written by its lcore) into out. */
void sl_stats_sum(const struct sl_stats *const *blocks, unsigned n, struct sl_stats *out);

#endif
