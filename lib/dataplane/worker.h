/*
 * One worker's data path for one received burst: parse, classify, act
 * (mux encap, host decap + NAT, reply NAT, pass to control, drop), and
 * leave the frames to transmit in per-port buffers for the caller.
 *
 * No ethdev calls here: the lcore loop (app/lcore.c) receives and
 * transmits; unit tests feed mbufs built from bytes. No locks, no
 * allocation, no system calls.
 */
#ifndef SLUICE_DATAPLANE_WORKER_H
#define SLUICE_DATAPLANE_WORKER_H

#include <stdint.h>

#include "dataplane/snapshot.h"
#include "exception/exception.h"
#include "flow/flow.h"
#include "stats/counters.h"

struct rte_mbuf;
struct rte_ring;

/* A next hop the data path needed and did not find (worker -> control). */
struct sl_neigh_want {
	uint32_t family;
	union sl_addr addr;
};

struct sl_worker {
	unsigned id;                      /* shard index in the flow tables */
	struct sl_stats stats;            /* written only by this worker */
	struct sl_flow_table *mux_flows;  /* NULL without the mux role */
	struct sl_flow_table *host_conns; /* NULL without the host role */
	struct rte_ring *to_control;      /* mbufs for the control thread (MP/SC); m->port = config port index */
	struct rte_ring *wants;           /* struct sl_neigh_want elements (SP/SC) */
	struct rte_ring *to_kernel;       /* exception path: mbufs for the kernel interfaces (MP/SC); m->port as above */
	struct sl_exc_gate kernel_gate;   /* which ports have a kernel interface; the rate limit towards them */
	uint32_t now_ms;                  /* set by the caller before each burst */
	uint16_t nb_tx[SL_MAX_PORTS];     /* frames to send, by config port index */
	struct rte_mbuf *tx[SL_MAX_PORTS][SL_BURST_MAX];
	struct sl_token_bucket icmp_sent;    /* ICMP errors we originate */
	struct sl_token_bucket icmp_relayed; /* ICMP errors we pass on (mux) or translate (host) */
	struct sl_token_bucket echo;         /* echo requests to our addresses, answered by control */
	uint16_t nb_free;
	struct rte_mbuf *to_free[SL_BURST_MAX];
};

/* Process n (<= SL_BURST_MAX) frames received on config port in_port.
 * Afterwards every frame is in w->tx, passed to control or the kernel path, or freed. */
void sl_worker_burst(struct sl_worker *w, const struct sl_snapshot *s, uint16_t in_port,
		     struct rte_mbuf **pkts, uint16_t n);

#endif
