/*
 * The data-plane spec: what this instance's data plane must do, and
 * nothing else. Snapshots, table builders and workers are built from it;
 * they never see where it came from. Two producers today: the file loader
 * (sl_spec_from_config() in lib/config) and the replicated state (the
 * manager's data-plane configuration, converted at the app boundary).
 *
 * Plain data with one kind of allocation: the services array and the
 * services' backends (each service its own array, or all of them in one
 * block: sl_spec_alloc_backend_block), owned by the spec (sl_spec_free,
 * sl_spec_copy). Everything else is inline, so a spec moves by assignment.
 * Dependency-free: packet/addr.h for addresses, spec/limits.h for sizes.
 */
#ifndef SLUICE_SPEC_SPEC_H
#define SLUICE_SPEC_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "packet/addr.h"
#include "spec/limits.h"

#define SL_ROLE_MUX 0x1
#define SL_ROLE_HOST 0x2

/* The seed every mux uses unless told otherwise: muxes must agree on it,
 * or the same flow gets different DIPs behind different muxes. */
#define SL_DEFAULT_HASH_SEED UINT64_C(0x5eed5eedcafef00d)

struct sl_prefix {
	union sl_addr addr;
	uint8_t family;
	uint8_t len;
};

static inline bool sl_prefix_eq(const struct sl_prefix *a, const struct sl_prefix *b)
{
	return a->family == b->family && a->len == b->len && sl_addr_eq(&a->addr, &b->addr);
}

/* A neighbour whose MAC is given, never resolved (benchmarks, labs). */
struct sl_static_neigh {
	union sl_addr addr;
	uint8_t family;
	uint8_t mac[6];
};

/* A data port, by its index in sl_spec.ports. */
struct sl_spec_port {
	char name[SL_NAME_LEN];                /* for messages */
	uint16_t mtu;
	uint16_t vlan;                         /* VLAN ID tagged frames may carry; 0: none */
	struct sl_prefix addrs[SL_MAX_PORT_ADDRS]; /* own addresses, connected prefix lengths */
	uint32_t nb_addrs;
	union sl_addr gateway4, gateway6;      /* zero when absent */
	struct sl_static_neigh neigh[SL_MAX_STATIC_NEIGH];
	uint32_t nb_neigh;
};

/* What a service asks of the data plane. */
enum sl_service_kind {
	SL_SERVICE_VIP = 1, /* load-balanced: the mux picks a backend by Maglev and tunnels to its
			     * host; that host agent translates VIP:port <-> backend address:port */
};

struct sl_spec_backend {
	union sl_addr addr;
	union sl_addr host; /* the host agent it sits behind; same family as the service */
	uint16_t port;      /* host order */
	uint32_t weight;    /* 0: chosen for no new flow (drained, unhealthy) */
};

struct sl_spec_service {
	uint8_t kind;       /* enum sl_service_kind */
	uint8_t family;     /* SL_AF_INET or SL_AF_INET6 */
	uint8_t proto;      /* SL_PROTO_TCP or SL_PROTO_UDP */
	uint16_t port;      /* host order */
	uint32_t flags;     /* per kind; none defined for SL_SERVICE_VIP */
	union sl_addr addr;
	struct sl_spec_backend *backends; /* owned; NULL when nb_backends is 0 */
	uint32_t nb_backends;
	/* The producer's promise, so a rebuild need not compare backends:
	 * two services of its specs with the same nonzero rev have the same
	 * fields and backends. 0: no promise (compare them). */
	uint64_t rev;
};

struct sl_spec_mux {
	uint32_t maglev_size;       /* prime: every VIP's; 0: per VIP by its backend count
				     * (SL_MAGLEV_AUTO, sl_maglev_size_for()) */
	uint64_t hash_seed;         /* shared by every mux; the host agent's Maglev uses it too */
	uint32_t flow_capacity;     /* per worker */
	uint32_t flow_idle_ms;
	union sl_addr tunnel_src4, tunnel_src6; /* zero: the egress port's first address */
};

struct sl_spec_host {
	union sl_addr addr4, addr6; /* tunnel endpoints; zero when absent */
	int uplink_port;            /* index in ports; -1 without the host role */
	int backend_port;           /* index in ports; -1 without the host role */
	uint32_t conn_capacity;     /* per worker */
	uint32_t conn_idle_ms;
	/* Outer sources tunnels may come from; any other tunnel is dropped. */
	struct sl_prefix tunnel_sources[SL_MAX_TUNNEL_SOURCES];
	uint32_t nb_tunnel_sources;
};

struct sl_spec_workers {
	uint16_t burst;             /* 1..SL_BURST_MAX */
	uint32_t idle_sleep_us;     /* 0: busy poll */
};

struct sl_spec {
	unsigned roles;             /* SL_ROLE_* bits */
	struct sl_spec_port ports[SL_MAX_PORTS];
	uint32_t nb_ports;
	struct sl_spec_service *services; /* owned; a VIP's number is its index here */
	uint32_t nb_services;
	/* Owned; when set, every service's backends lie in it (one allocation
	 * for thousands of services, freed once). NULL: each service owns its
	 * backends array. */
	struct sl_spec_backend *backend_block;
	struct sl_spec_mux mux;
	struct sl_spec_host host;
	struct sl_spec_workers workers;
};

/* n zeroed services in place of s's (freed, their backends too); 0, or -1
 * on ENOMEM with none. */
int sl_spec_alloc_services(struct sl_spec *s, uint32_t n);
/* n zeroed backends in place of svc's (freed); 0, or -1 on ENOMEM with
 * none. Not for a spec with a backend block. */
int sl_spec_alloc_backends(struct sl_spec_service *svc, uint32_t n);
/* One block of n backends (not zeroed: the producer fills each) for s's
 * services (just allocated, no backends of their own), which then point
 * into it: set svc->backends = s->backend_block + offset. 0, or -1 on
 * ENOMEM with none. */
int sl_spec_alloc_backend_block(struct sl_spec *s, uint64_t n);

/* Free what s owns and zero it; NULL is ignored. */
void sl_spec_free(struct sl_spec *s);

/* A deep copy of src into dst (not freed first). 0, or -1 on ENOMEM with
 * dst empty. */
int sl_spec_copy(struct sl_spec *dst, const struct sl_spec *src);

#endif
