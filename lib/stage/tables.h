/*
 * What a stage sees of the snapshot and of the worker running it. Built
 * and published by lib/dataplane (snapshot.c, worker.c); stages only read
 * the tables and use the worker through stage/ops.h.
 */
#ifndef SLUICE_STAGE_TABLES_H
#define SLUICE_STAGE_TABLES_H

#include <stdint.h>

#include "exception/exception.h"
#include "stage/stage.h"

struct rte_ring;
struct sl_service_shares;

/* The classifier's view of the claims of the built stages (stage.h). */
struct sl_classifier {
	struct {
		union sl_addr addr;
		uint8_t family;
		uint8_t stage;
	} endpoint[2 * SL_STAGE_COUNT];
	uint8_t nb_endpoints;
	uint8_t service_stage[SL_SERVICE_KIND_MAX + 1]; /* by kind; SL_STAGE_NONE */
	bool any_service_stage;
	uint8_t own_stage;          /* SL_STAGE_NONE: none */
	uint8_t from_port_stage;    /* SL_STAGE_NONE: none */
	int from_port;
	bool forwards[SL_STAGE_COUNT];
};

/*
 * One service's tables, shared by every snapshot built while it does not
 * change: each stage that claims its kind keeps a part here. The control
 * thread counts the snapshots holding it apart from it (sl_tables.shares),
 * so that sharing it does not touch it.
 */
struct sl_service_tables {
	uint8_t kind;
	void *part[SL_STAGE_COUNT];
};

struct sl_tables {
	struct sl_spec spec;                 /* owned: what these were built from; workers read its tunables */
	void *stage[SL_STAGE_COUNT];         /* each built stage's tables (NULL: none, or not built) */
	bool built[SL_STAGE_COUNT];          /* the spec's roles ask for this stage */
	struct sl_vip_index *index;          /* every service: (family, proto, address, port) -> number */
	struct sl_service_tables **service;  /* by service number */
	struct sl_classifier cls;
	struct sl_local local;               /* own MACs and addresses, by spec port index */
	uint16_t mtu[SL_MAX_PORTS];          /* the spec's, capped by what the device carries */
	uint64_t generation;
	/* Control thread only (lib/dataplane/services.c): the entries' ids
	 * for their reference counts, the services built anew. */
	struct sl_service_shares *shares;
};

struct sl_snapshot {
	const struct sl_tables *tables;
	const struct sl_neigh_table *neigh;
};

/* Stage s's part of service v's tables. */
static inline const void *sl_service_part(const struct sl_tables *t, uint32_t v, enum sl_stage_id s)
{
	return t->service[v]->part[s];
}

/* A next hop the data path needed and did not find (worker -> control). */
struct sl_neigh_want {
	uint32_t family;
	union sl_addr addr;
};

/* A next hop found during one burst (sl_stage_route): a burst's packets
 * go to few hosts, and within a burst the snapshot, so the answer, stays. */
#define SL_ROUTE_MEMO_BITS 3 /* 8 slots, direct-mapped by address */
#define SL_ROUTE_MEMO (1u << SL_ROUTE_MEMO_BITS)

struct sl_route_memo {
	union sl_addr dst;
	const struct sl_egress *eg;
	uint64_t burst; /* sl_worker.burst when found; any other burst's is stale */
	uint8_t family;
};

struct sl_worker {
	unsigned id;                      /* shard index in the flow tables */
	uint64_t burst;                   /* bursts begun (sl_worker_burst) */
	struct sl_route_memo route_memo[SL_ROUTE_MEMO];
	struct sl_stats stats;            /* written only by this worker */
	struct sl_flow_table *flows[SL_STAGE_COUNT]; /* each stage's (stage.h flows); NULL: none */
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

#endif
