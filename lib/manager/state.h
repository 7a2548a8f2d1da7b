/*
 * The manager's replicated state: what every instance of the cluster
 * agrees on through the Raft log, and the commands that change it.
 *
 * Sections: "vips": VIPs (address, protocol, port), each with its DIPs
 * (address, port, host, weight, admin state, health); "members": the
 * members' API URLs; "tunnel_sources": the prefixes muxes send tunnels
 * from; "pops": points of presence (name, unicast and anycast prefixes,
 * state). Later issues add sections (SNAT port-range leases, PoP state,
 * steering maps) as further members of struct sl_mgr_state plus an entry
 * in the section table (section.h); commands, snapshots and the
 * transaction machinery below do not change shape.
 *
 * Commands are JSON objects {"op": NAME, ...}; docs/manager.md lists them
 * with every validation rule. sl_mgr_apply() is all-or-nothing: a command
 * (a batch included) either applies completely or leaves the state
 * byte-for-byte unchanged. It is deterministic: replicas that apply the
 * same commands in the same order end with byte-identical encodings.
 *
 * Not thread-safe: one thread (the control thread) owns a state.
 */
#ifndef SLUICE_MANAGER_STATE_H
#define SLUICE_MANAGER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bgp/bgp.h"
#include "config/config.h"

/* Why a command was refused; the HTTP API maps these to status codes. */
enum sl_mgr_code {
	SL_MGR_OK = 0,
	SL_MGR_EINVAL, /* malformed command or value out of range (400) */
	SL_MGR_ENOENT, /* unknown VIP or DIP (404) */
	SL_MGR_EEXIST, /* VIP or DIP already exists, or would clash with another (409) */
	SL_MGR_ELIMIT, /* a size limit would be exceeded (409) */
	SL_MGR_ESTATE, /* not allowed in the current state, e.g. bootstrap twice (409) */
	SL_MGR_ENOMEM, /* out of memory: not the command's fault, retry (503) */
};

#define SL_MGR_ERR_LEN 256

struct sl_mgr_err {
	enum sl_mgr_code code;
	char msg[SL_MGR_ERR_LEN]; /* "dip_add: dip.weight: 0 is out of range (1..65535)" */
};

/* Most commands one batch may hold. */
#define SL_MGR_MAX_BATCH 4096
/* Snapshot format written by this version; decoders accept it and older ones. */
#define SL_MGR_FORMAT 1

enum sl_mgr_admin { SL_MGR_ACTIVE, SL_MGR_DRAINING, SL_MGR_DISABLED };
enum sl_mgr_health { SL_MGR_HEALTH_UNKNOWN, SL_MGR_HEALTHY, SL_MGR_UNHEALTHY };

struct sl_mgr_dip {
	union sl_addr addr;
	union sl_addr host;  /* host agent address, the VIP's family */
	uint16_t port;       /* host order */
	uint16_t weight;     /* 1..65535 as configured; see sl_mgr_dip_weight() */
	uint8_t admin;       /* enum sl_mgr_admin */
	uint8_t health;      /* enum sl_mgr_health */
};

/* A VIP's DIPs, sorted by (address, port). Lent to working copies, which
 * copy it before they change it: read-only for users of this header. */
struct sl_mgr_dips {
	/* Unique in the process: every new array (a copy too) gets a new one,
	 * and an array does not change once a state holds it, nor does the
	 * key of its VIP. So equal revs mean equal DIPs under the same VIP
	 * (the data-plane spec's sl_spec_service.rev). */
	uint64_t rev;
	unsigned refs;  /* states holding it: 1 (working copies borrow it uncounted) */
	uint32_t slot;  /* private: its place among the arrays its transaction made */
	uint32_t n, cap;
	struct sl_mgr_dip dip[];
};

struct sl_mgr_vip {
	union sl_addr addr;
	uint8_t family;      /* SL_AF_INET or SL_AF_INET6; DIPs and hosts share it */
	uint8_t proto;       /* SL_PROTO_TCP or SL_PROTO_UDP */
	uint16_t port;       /* host order */
	struct sl_mgr_dips *dips; /* NULL when the VIP has none */
};

/* Read-only for users of this header; change it with sl_mgr_apply(). */
/* Where a Raft member serves the API, so that followers can send clients
 * to a leader that joined at run time (the file only knows the first). */
#define SL_MGR_MAX_MEMBERS 64
#define SL_MGR_API_LEN 128
/* A bootstrap carries the file's members (spec/limits.h) into the state. */
_Static_assert(SL_MGR_MAX_MEMBERS >= SL_MAX_MEMBERS, "the state holds every member of a file");
_Static_assert(SL_MGR_API_LEN >= SL_URL_LEN, "the state holds every API URL of a file");
/* Ids whose API URL the state can record (the file's member ids too);
 * Raft itself takes ids up to 2^63 - 1. */
#define SL_MGR_MEMBER_ID_MAX 65535
struct sl_mgr_member {
	uint32_t id;               /* Raft server id, 1..SL_MGR_MEMBER_ID_MAX */
	char api[SL_MGR_API_LEN];  /* "https://..." */
};

struct sl_mgr_state {
	uint64_t generation; /* commands that changed the state so far */
	uint64_t index;      /* Raft index of the entry that made the last change (0 outside Raft) */
	struct sl_mgr_vip *vips; /* sorted by (family, protocol, address, port) */
	uint32_t nb_vips;
	uint32_t nb_dips;        /* of all VIPs together */
	struct sl_mgr_agents *agents; /* private: the host-agent keys of the VIPs (agents.h) */
	struct sl_mgr_member *members; /* sorted by id */
	uint32_t nb_members;
	/* Where muxes send tunnels from: host agents drop tunnels from any
	 * other source. Not set (false, the default; then nb_tunnel_sources
	 * is 0): every instance uses its own file's host.tunnel_sources. Set:
	 * this list, sorted by (family, address, length) and possibly empty,
	 * replaces every file's. */
	bool tunnel_sources_set;
	struct sl_prefix tunnel_sources[SL_MAX_TUNNEL_SOURCES];
	uint32_t nb_tunnel_sources;
	/* Points of presence (pops.c), sorted by name; NULL until the first. */
	struct sl_pop *pops;
	uint32_t nb_pops;
};

/* The PoP called name, or NULL. */
const struct sl_pop *sl_mgr_pop_find(const struct sl_mgr_state *s, const char *name);
/* A PoP as the API reads it and snapshots hold it: {"name", "unicast":
 * [...], "anycast": [...], "state"}; {"pops": [every PoP]}. NULL on ENOMEM. */
json_t *sl_mgr_pop_to_json(const struct sl_pop *p);
json_t *sl_mgr_pops_json(const struct sl_mgr_state *s);

/* The API URL member id advertised, or NULL. */
const char *sl_mgr_member_api(const struct sl_mgr_state *s, uint32_t id);

static inline uint32_t sl_mgr_vip_nb_dips(const struct sl_mgr_vip *v)
{
	return v->dips != NULL ? v->dips->n : 0;
}

/* Weight the data plane uses: the configured one for an active DIP whose
 * health is not "unhealthy", else 0 (Maglev gives it no slots, so it takes
 * no new flows; established flows keep it). */
static inline uint32_t sl_mgr_dip_weight(const struct sl_mgr_dip *d)
{
	return d->admin == SL_MGR_ACTIVE && d->health != SL_MGR_UNHEALTHY ? d->weight : 0;
}

/* An empty state (generation 0). NULL on ENOMEM. */
struct sl_mgr_state *sl_mgr_state_new(void);
void sl_mgr_state_free(struct sl_mgr_state *s);

/*
 * Check cmd completely against s without changing it: exactly the verdict
 * sl_mgr_apply() would give now. Returns 0, or -1 with err filled.
 */
int sl_mgr_validate(const struct sl_mgr_state *s, const json_t *cmd, struct sl_mgr_err *err);

/*
 * Validate, then apply atomically: on success generation grows by one (a
 * whole batch counts once); on error s is unchanged. Returns 0 or -1.
 */
int sl_mgr_apply(struct sl_mgr_state *s, const json_t *cmd, struct sl_mgr_err *err);

/* sl_mgr_apply() for the Raft state machine: on success s->index = index. */
int sl_mgr_apply_entry(struct sl_mgr_state *s, const json_t *cmd, uint64_t index,
		       struct sl_mgr_err *err);

/* Parse command bytes strictly (an object, no duplicate members). NULL with
 * err (SL_MGR_EINVAL, or ENOMEM) on error; json_decref() the result. */
json_t *sl_mgr_cmd_parse(const void *buf, size_t len, struct sl_mgr_err *err);

/*
 * Canonical encoding (the snapshot format, docs/manager.md): compact JSON,
 * sorted members, VIPs and DIPs in key order. *out is a NUL-terminated
 * string of *len bytes (the NUL not counted); free() it. Returns 0 or -1
 * (ENOMEM).
 */
int sl_mgr_state_encode(const struct sl_mgr_state *s, char **out, size_t *len,
			struct sl_mgr_err *err);

/* Decode and fully validate an encoding; NULL with err on any error. */
struct sl_mgr_state *sl_mgr_state_decode(const void *buf, size_t len, struct sl_mgr_err *err);

/* The state as a JSON object in the snapshot format (for list/show). */
json_t *sl_mgr_state_to_json(const struct sl_mgr_state *s);
json_t *sl_mgr_vip_to_json(const struct sl_mgr_vip *v);
/* For reads through the API: the VIP as above, each DIP with the
 * "effective_weight" the data plane gives it (0: takes no new flows). */
json_t *sl_mgr_vip_status_json(const struct sl_mgr_vip *v);
/* {"generation", "vips": [status of every VIP]} */
json_t *sl_mgr_state_status_json(const struct sl_mgr_state *s);
/*
 * The tunnel sources for reads through the API: set, {"prefixes":
 * ["192.0.2.10/32", ...], "replicated": true} (canonical); not set,
 * {"prefixes": null, "replicated": false, "file_prefixes": [...]} with the
 * list of base (this instance's file: what its data plane uses; empty
 * without the host role), or without "file_prefixes" when base is NULL.
 */
json_t *sl_mgr_tunnel_sources_json(const struct sl_mgr_state *s, const struct sl_config *base);

/* The VIP named by a key object {"address", "protocol", "port"}; NULL with
 * err (EINVAL for a bad key, ENOENT when absent). */
const struct sl_mgr_vip *sl_mgr_vip_lookup(const struct sl_mgr_state *s, const json_t *key,
					   struct sl_mgr_err *err);
/* The VIP with key's family, protocol, address and port (key's DIPs are
 * not looked at), or NULL: for keys already parsed, such as the API's. */
const struct sl_mgr_vip *sl_mgr_vip_find(const struct sl_mgr_state *s, const struct sl_mgr_vip *key);

/*
 * The data-plane spec this instance runs: base's local part (roles, ports,
 * mux and host settings of this instance's file, sl_spec_local_from_config();
 * base's own VIPs are ignored) with the VIPs and DIPs of s as services,
 * every DIP weighted by sl_mgr_dip_weight(), and the tunnel sources of s
 * when s has set them (even an empty list), else base's. *out is
 * overwritten; free it with sl_spec_free(). Returns 0, or -1 with err and
 * *out empty (ELIMIT: a VIP has too many DIPs for this mux's fixed
 * maglev_size; ENOMEM).
 */
int sl_mgr_state_to_spec(const struct sl_mgr_state *s, const struct sl_config *base,
			 struct sl_spec *out, struct sl_mgr_err *err);

/*
 * The same in the file's form: base with the VIPs and tunnel sources of
 * sl_mgr_state_to_spec() (built directly, because weight 0 is not a valid
 * file setting). Free *out with sl_config_free(). Returns 0, or -1 with err
 * and *out empty.
 */
int sl_mgr_state_to_config(const struct sl_mgr_state *s, const struct sl_config *base,
			   struct sl_config *out, struct sl_mgr_err *err);

/*
 * With the manager, may a reloaded file next replace cur (both passed
 * sl_config_reloadable())? The manager's part of the decision: a change of
 * host.tunnel_sources is what this instance's data plane uses while s has
 * not set the list, and refused (false, reason in err) while it has.
 */
bool sl_mgr_reloadable(const struct sl_mgr_state *s, const struct sl_config *cur,
		       const struct sl_config *next, char *err, size_t errlen);

/*
 * Bootstrapping a new cluster from the static file: the command
 * {"op": "bootstrap", "vips": [...], "members": [...], "tunnel_sources":
 * [...] or null} carrying cfg's VIPs and DIPs (all active, health
 * unknown), its members' API URLs and, with the host role, its
 * host.tunnel_sources (set for the cluster); without the host role null:
 * not set, every host agent keeps its own file's list. It is accepted
 * only by a state that has never changed (generation 0), so it goes
 * through the log like any command and a second bootstrap is refused on
 * every replica alike. NULL on ENOMEM.
 */
json_t *sl_mgr_cmd_bootstrap(const struct sl_config *cfg, struct sl_mgr_err *err);
/* The same in steps (thousands of VIPs take a while): begin gives the
 * command with no VIPs yet, add appends cfg's VIPs from *next on, at most
 * max of them: 1 once all are in, 0 while more remain, -1 on ENOMEM. */
json_t *sl_mgr_cmd_bootstrap_begin(const struct sl_config *cfg, struct sl_mgr_err *err);
int sl_mgr_cmd_bootstrap_add(json_t *cmd, const struct sl_config *cfg, unsigned *next, unsigned max,
			     struct sl_mgr_err *err);

/* A new state holding cfg's VIPs: sl_mgr_cmd_bootstrap() applied to an
 * empty state. NULL with err when cfg breaks a rule of the state. */
struct sl_mgr_state *sl_mgr_state_from_config(const struct sl_config *cfg, struct sl_mgr_err *err);

const char *sl_mgr_code_name(enum sl_mgr_code code);

#endif
