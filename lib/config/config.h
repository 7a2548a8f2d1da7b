/*
 * Static configuration (libconfig format): loading, validation, and the
 * decision whether a changed file may be applied at run time.
 *
 * Loading never half-succeeds: either every setting is valid and *out is
 * filled, or an error "FILE:LINE: message" is written to err and *out is
 * left empty. See docs/configuration.md for every setting.
 */
#ifndef SLUICE_CONFIG_CONFIG_H
#define SLUICE_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgp/bgp.h"
#include "packet/addr.h"
#include "spec/limits.h"
#include "spec/spec.h"

/* A Linux interface name with its NUL (IFNAMSIZ). */
#define SL_IFNAME_LEN 16
/* The kernel interface of port P is called this followed by P's name,
 * unless the port's kernel_interface says otherwise. */
#define SL_KERNEL_IF_PREFIX "sl-"
/* The exception path's rate limits: kernel traffic is control traffic
 * (BGP, BFD, probes), a few thousand frames a second. The largest burst
 * is exception/rate.h's SL_RATE_MAX_BURST (app/exception.c ties them). */
#define SL_DEFAULT_KERNEL_RATE 10000
#define SL_DEFAULT_KERNEL_BURST 1000
#define SL_KERNEL_MAX_RATE 1000000
#define SL_KERNEL_MAX_BURST 1000000

struct sl_port_cfg {
	char name[SL_NAME_LEN];       /* operator's name, e.g. "fabric" */
	char device[SL_DEVICE_LEN];   /* DPDK device name: "net_tap0", "0000:01:00.0" */
	uint16_t queues;              /* rx/tx queue pairs, default: one per worker */
	uint16_t mtu;                 /* default 1500 */
	uint16_t vlan;                /* VLAN ID tagged frames may carry; 0 (default): none */
	struct sl_prefix addrs[SL_MAX_PORT_ADDRS];
	unsigned nb_addrs;
	union sl_addr gateway4, gateway6; /* zero when absent */
	struct sl_static_neigh neigh[SL_MAX_STATIC_NEIGH];
	unsigned nb_neigh;
	char kernel_if[SL_IFNAME_LEN]; /* the port's kernel interface (exception path); "": none */
};

struct sl_dip_cfg {
	union sl_addr addr;
	uint16_t port;      /* host order; may differ from the VIP port */
	union sl_addr host; /* host agent address (same family as the VIP) */
	uint32_t weight;    /* 1..65535, default 100 */
	unsigned line;      /* source line, for messages */
};

struct sl_vip_cfg {
	union sl_addr addr;
	uint8_t family;     /* SL_AF_INET or SL_AF_INET6; DIPs and hosts share it */
	uint8_t proto;      /* SL_PROTO_TCP or SL_PROTO_UDP */
	uint16_t port;      /* host order */
	struct sl_dip_cfg *dips;
	unsigned nb_dips;
	unsigned line;
};

/* A member of the manager's Raft group, as the cluster's bootstrap. */
struct sl_member_cfg {
	uint32_t id;                      /* 1.. ; unique */
	char address[SL_ADDR_TEXT_LEN];   /* Raft TCP address "host:port" (IPv6: "[addr]:port") */
	char api[SL_URL_LEN];             /* its API base URL for redirects, e.g. "https://192.0.2.10:8443" */
	bool voter;                       /* role "voter" (default) or "standby" (non-voting follower) */
};

/* Raft timers. Followers learn that an entry committed from the leader's
 * next message, so the heartbeat bounds how far their data planes lag. */
#define SL_DEFAULT_HEARTBEAT_MS 5
#define SL_DEFAULT_ELECTION_TIMEOUT_MS 400

/* The embedded manager (issue 3). Absent group = no manager: the file's
 * VIPs are the configuration and SIGHUP reloads them (issue 2 behaviour).
 * Present: the file's VIPs only bootstrap a new cluster; changes go
 * through the API and the replicated log. */
struct sl_manager_cfg {
	bool enabled;
	uint32_t id;                          /* this instance: one of members[].id */
	bool join;                            /* joins a running cluster: never bootstraps membership */
	uint32_t heartbeat_ms;                /* leader heartbeat; bounds how late followers see a commit */
	uint32_t election_timeout_ms;         /* a follower without a leader this long starts an election */
	char data_dir[SL_PATH_LEN];           /* durable log, snapshots; created if missing */
	struct sl_member_cfg members[SL_MAX_MEMBERS];
	unsigned nb_members;                  /* 1, 3 or 5 voters, plus any standbys */
	/* API (all optional; at least one of listen/socket) */
	char api_listen[SL_ADDR_TEXT_LEN];    /* "host:port" for HTTPS; needs cert, key, and token_file or client_ca */
	char api_cert[SL_PATH_LEN];
	char api_key[SL_PATH_LEN];
	char api_client_ca[SL_PATH_LEN];
	char api_token_file[SL_PATH_LEN];
	char api_socket[SL_PATH_LEN];         /* Unix socket path */
	uint32_t api_socket_mode;             /* default 0600 */
	uint32_t api_max_connections;         /* 0: the API's default */
	uint32_t api_max_connections_per_source; /* 0: the API's default */
};

struct sl_config {
	char path[4096];
	unsigned roles;             /* SL_ROLE_* bits, at least one */

	/* workers */
	uint16_t burst;             /* 1..64, default 32 */
	uint32_t idle_sleep_us;     /* 0 = busy poll; default 0 */

	struct sl_port_cfg ports[SL_MAX_PORTS];
	unsigned nb_ports;

	/* mux */
	uint32_t maglev_size;       /* prime, default 65537; 0: "auto", by DIP count */
	uint64_t hash_seed;         /* shared by all muxes; default fixed constant */
	uint32_t flow_capacity;     /* per worker, default 262144 */
	uint32_t flow_idle_ms;      /* default 300 s */
	union sl_addr tunnel_src4, tunnel_src6; /* zero: first address of the egress port */

	/* host agent */
	union sl_addr host_addr4, host_addr6; /* at least one with the host role */
	int uplink_port;            /* index in ports[]; faces the routers */
	int backend_port;           /* index in ports[]; faces the local DIPs */
	uint32_t conn_capacity;     /* per worker, default 262144 */
	uint32_t conn_idle_ms;      /* default 300 s */
	/* Outer sources the muxes send tunnels from; any other tunnel is
	 * dropped. Networks (no host bits), no repeats, in file order.
	 * Required with the host role; with the manager, the state's list
	 * once the cluster has set one (sl_mgr_state_to_config()). */
	struct sl_prefix tunnel_sources[SL_MAX_TUNNEL_SOURCES];
	unsigned nb_tunnel_sources;

	struct sl_vip_cfg *vips;
	unsigned nb_vips;

	struct sl_manager_cfg manager;

	/* Rate limits of the exception path (kernel interfaces), frames per
	 * second and the most at once: towards the kernel per worker, from it
	 * per interface (lib/exception applies them). */
	struct sl_exception_cfg {
		uint32_t to_kernel_rate, to_kernel_burst;
		uint32_t from_kernel_rate, from_kernel_burst;
	} exception;

	/* Announcements through BIRD (lib/bgp); enabled false when absent. */
	struct sl_bgp_cfg bgp;
};

/* Load and validate. Returns 0, or -1 with "FILE:LINE: message" in err. */
int sl_config_load(const char *path, struct sl_config *out, char *err, size_t errlen);

/* Same, from a string (tests); name is used in messages. */
int sl_config_load_string(const char *text, const char *name, struct sl_config *out, char *err,
			  size_t errlen);

void sl_config_free(struct sl_config *c);

/*
 * May `next` replace `cur` without a restart? VIPs, DIPs, weights,
 * host.tunnel_sources, timeouts and the idle sleep may change; roles,
 * ports, port addresses, host addresses, table capacities, Maglev size and
 * hash seed may not. Nothing in the manager group may change (membership
 * changes go through the API). With the manager enabled the VIPs and DIPs
 * may not change either: the replicated log owns them, so cur must be the
 * file loaded before, not a configuration carrying the log's VIPs. Whether
 * host.tunnel_sources may then change depends on the replicated state:
 * the manager decides (sl_mgr_reloadable() in manager/state.h).
 * Returns true, or false with the first difference named in err.
 */
bool sl_config_reloadable(const struct sl_config *cur, const struct sl_config *next, char *err,
			  size_t errlen);

/* The same host.tunnel_sources, in any order. */
bool sl_config_tunnel_sources_equal(const struct sl_config *a, const struct sl_config *b);

/*
 * The data-plane spec of c: roles, ports, VIPs with their DIPs, and the
 * mux, host agent and worker settings; nothing of the manager group, the
 * file's path or its source lines. *out is overwritten (not freed first);
 * free it with sl_spec_free(). Returns 0, or -1 on ENOMEM with *out empty.
 */
int sl_spec_from_config(const struct sl_config *c, struct sl_spec *out);
/* The same without services: the instance's own part of a spec (roles,
 * ports, settings, the file's tunnel sources), which the manager completes
 * with the replicated VIPs (sl_mgr_state_to_spec()). Cannot fail. */
void sl_spec_local_from_config(const struct sl_config *c, struct sl_spec *out);

/* Index of the first of list[0..n) equal to p, or -1. */
int sl_prefix_index(const struct sl_prefix *list, unsigned n, const struct sl_prefix *p);

/* Index of the port named `name`, or -1. */
int sl_config_port_index(const struct sl_config *c, const char *name);

#endif
