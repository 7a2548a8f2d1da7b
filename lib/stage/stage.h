/*
 * The stage interface: what a data-path stage declares (claims, tables,
 * flow table, burst handler) and what a worker hands it (one burst's
 * packets with their parsed state, the snapshot, the worker's services in
 * stage/ops.h).
 *
 * A worker parses and classifies each frame of a burst (lib/dataplane/
 * classify.c, from the claims below), keeps one index vector per stage,
 * then calls each stage once for its packets, in registration order
 * (lib/meson.build: sl_stages). A stage may hand a packet on to a stage
 * registered after it (sl_stage_handoff). There is no indirect call per
 * packet, so a stage's flow lookups stay batched over its whole share of
 * the burst.
 *
 * Adding a stage: see docs/architecture.md, "Adding a stage".
 */
#ifndef SLUICE_STAGE_STAGE_H
#define SLUICE_STAGE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exception/rate.h"
#include "flow/flow.h"
#include "neigh/neigh.h"
#include "packet/packet.h"
#include "spec/spec.h"
#include "stage/stage_list.h" /* generated from lib/meson.build's sl_stages */
#include "stats/counters.h"
#include "vip/vip.h"

enum sl_stage_id {
#define SL_STAGE_ENUM(upper, lower) SL_STAGE_##upper,
	SL_STAGE_LIST(SL_STAGE_ENUM)
#undef SL_STAGE_ENUM
	SL_STAGE_COUNT,
	SL_STAGE_NONE = 0xff,
};

#define SL_SERVICE_KIND_MAX 31 /* kinds are bits of sl_stage_claim.service_kinds */

/*
 * What a stage takes at classification, as data. Claims are tried in this
 * order, first match wins, and at most one built stage may hold each:
 *   1. tunnels: IP-in-IP or IPv6-in-IPv6 to one of the stage's endpoints;
 *   2. services: TCP/UDP to a service (address, protocol, port) of a kind
 *      in service_kinds, and ICMP errors sent to a service address about
 *      a flow of such a service;
 *   3. own: to one of our own addresses or to IPv6 multicast, and ARP;
 *   4. from_port: what arrives on the stage's port for nobody above
 *      (direct server return replies from backends).
 * Endpoints and the port come from the stage's tables (where()).
 */
struct sl_stage_claim {
	uint32_t service_kinds; /* bit (1u << enum sl_service_kind) */
	bool tunnels;
	bool own;
	bool from_port;
	bool forwards;          /* refuse L2 group frames and martians before this stage */
};

/* Which claim a packet matched; a handed-off packet keeps the claim its
 * new stage is told in sl_stage_handoff. */
enum sl_claim {
	SL_CLAIM_TUNNEL,
	SL_CLAIM_SERVICE,
	SL_CLAIM_OWN,
	SL_CLAIM_FROM_PORT,
	SL_CLAIM_LOCAL, /* handed off: an IP packet (no L2) for one of our endpoints */
};

/* Where a stage's address claims apply, from its tables. */
struct sl_stage_where {
	union sl_addr endpoint4, endpoint6; /* tunnel endpoints; zero: none */
	int port;                           /* spec port index for from_port; -1: none */
};

/* A stage's flow table, if it has one: one per instance, sharded per
 * worker (lib/flow), created at start-up from the first spec. */
struct sl_stage_flows {
	const char *name;  /* in telemetry (/sluice/stats) and the rte_hash name; NULL: no table */
	uint32_t (*capacity)(const struct sl_spec *spec); /* per worker */
	uint32_t (*idle_ms)(const struct sl_spec *spec);
};

/* What classification and a stage know about one packet. */
struct sl_pkt_state {
	struct sl_pkt_info pi;
	struct sl_flow_key key;
	uint32_t hash;
	uint32_t service;           /* the service's number in the spec (SL_CLAIM_SERVICE) */
	enum sl_drop drop;
	uint8_t claim;              /* enum sl_claim */
	bool icmp;                  /* an ICMP error: key and service are the quoted flow's */
	bool own;                   /* SL_CLAIM_OWN: to an own unicast address (else IPv6 multicast, ARP) */
	bool l2_group;              /* sent to an L2 broadcast or multicast address */
	struct sl_icmp_quote quote; /* valid when icmp */
};

struct sl_worker;
struct sl_snapshot;
struct rte_mbuf;

/* One received burst, shared by the stages a worker calls. */
struct sl_burst {
	struct sl_worker *w;
	const struct sl_snapshot *s;
	uint16_t in_port;
	struct rte_mbuf **pkts;
	struct sl_pkt_state *st;
	uint16_t nb[SL_STAGE_COUNT];
	uint16_t idx[SL_STAGE_COUNT][SL_BURST_MAX];
};

struct sl_stage {
	const char *name;
	unsigned roles;  /* built when the spec has one of these SL_ROLE_* bits; 0: always */
	struct sl_stage_claim claim;
	struct sl_stage_flows flows;
	/* The stage's own tables from the spec (NULL hook: it has none). NULL
	 * with a message in err on failure. */
	void *(*build)(const struct sl_spec *spec, char *err, size_t errlen);
	void (*free)(void *tables);
	void (*where)(const void *tables, struct sl_stage_where *out); /* NULL: no address claims */
	/* Per service of a kind in service_parts (bit (1u << kind)), claimed
	 * or not: a part of the shared per-service tables (lib/dataplane/
	 * services.c), kept across rebuilds while the service and what
	 * service_inputs_same compares are unchanged. */
	uint32_t service_parts;
	void *(*service_build)(const struct sl_spec *spec, const struct sl_spec_service *svc, char *err,
			       size_t errlen);
	void (*service_free)(void *part);
	bool (*service_inputs_same)(const struct sl_spec *a, const struct sl_spec *b);
	/* Act on packets b->pkts[idx[i]], i < n: every one ends transmitted,
	 * queued, handed off or freed (stage/ops.h). */
	void (*burst)(struct sl_burst *b, const uint16_t *idx, uint16_t n);
};

/* Do the spec's roles ask for stage st? */
static inline bool sl_stage_wanted(const struct sl_stage *st, unsigned roles)
{
	return st->roles == 0 || (st->roles & roles);
}

/* Each stage's folder defines sl_<name>_stage. */
#define SL_STAGE_DECL(upper, lower) extern const struct sl_stage sl_##lower##_stage;
SL_STAGE_LIST(SL_STAGE_DECL)
#undef SL_STAGE_DECL

/* The registered stages, by id (lib/dataplane/stages.c). */
extern const struct sl_stage *const sl_stages[SL_STAGE_COUNT];

#endif
