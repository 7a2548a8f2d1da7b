/*
 * BGP through BIRD: what sluice announces and the BIRD configuration it
 * needs, as plain C (no DPDK, no sockets), so unit tests drive it.
 *
 * Sluice never speaks BGP. BIRD 2 runs beside each mux and peers over the
 * kernel interface of one data port (the exception path), so its BGP and
 * BFD packets cross the DPDK data path. Sluice puts one route per VIP
 * address it announces (/32, /128) into a kernel table of its own, out of
 * that interface; BIRD learns the table (protocol kernel, learn) and
 * exports those routes, and only those, to its peers. The interface
 * vanishes with the process, and with it the routes; a stalled process
 * stops carrying BFD; a drain or the watchdog deletes the routes. So every
 * way sluice stops serving withdraws (docs/architecture.md, "BGP").
 */
#ifndef SLUICE_BGP_BGP_H
#define SLUICE_BGP_BGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec/limits.h"
#include "spec/spec.h"

#define SL_BGP_MAX_PEERS 16
#define SL_BGP_NAME_LEN 32          /* a peer's protocol name in BIRD, with its NUL */
#define SL_BGP_PEER_PREFIX "peer_"  /* BIRD's name of a peer: this and its name (default: its number) */
#define SL_BGP_DEFAULT_BFD_MS 100
#define SL_BGP_DEFAULT_BFD_MULT 3
#define SL_BGP_DEFAULT_HOLD_S 9
#define SL_BGP_DEFAULT_KEEPALIVE_S 3
#define SL_BGP_DEFAULT_WATCHDOG_MS 250
#define SL_BGP_DEFAULT_DRAIN_TIMEOUT_MS 30000
#define SL_BGP_DEFAULT_DRAIN_QUIET_MS 1000
#define SL_BGP_DEFAULT_TABLE 4242
#define SL_BGP_DEFAULT_SOCKET "/run/bird/bird.ctl"
/* Names sluice gives the BIRD protocols that learn its table. */
#define SL_BGP_LEARN4 "sluice_vips4"
#define SL_BGP_LEARN6 "sluice_vips6"
/* Routes a mux may announce at once: a host route per VIP address and
 * its PoP's prefixes. */
#define SL_BGP_MAX_ROUTES (SL_MAX_VIPS + 2 * SL_MAX_POP_PREFIXES)

struct sl_bgp_peer_cfg {
	char name[SL_BGP_NAME_LEN]; /* BIRD protocol name: "peer_" + the file's name, or its number from 1 */
	union sl_addr addr;
	uint8_t family;             /* SL_AF_INET or SL_AF_INET6: the session carries that family */
	uint32_t as;
	bool bfd;                   /* default: the group's bfd */
	char password[80];          /* TCP-MD5; "": none */
};

struct sl_bgp_cfg {
	bool enabled;                 /* the group is present */
	uint32_t local_as;
	union sl_addr router_id;      /* IPv4; default: the port's first IPv4 address */
	int port;                     /* config port index BIRD peers over */
	char ifname[16];                /* that port's kernel interface */
	union sl_addr source4, source6; /* the port's first address of each family (zero: none) */
	struct sl_bgp_peer_cfg peers[SL_BGP_MAX_PEERS];
	unsigned nb_peers;
	bool bfd;                     /* default true */
	uint32_t bfd_interval_ms;     /* min rx = min tx; default 100 */
	uint32_t bfd_multiplier;      /* default 3 */
	uint32_t hold_s, keepalive_s; /* default 9, 3 */
	bool graceful_restart;        /* default false: peers must not keep stale VIP routes */
	uint32_t watchdog_ms;         /* a worker silent this long withdraws everything */
	uint32_t drain_timeout_ms;    /* a drain exits after this at the latest */
	uint32_t drain_quiet_ms;      /* ... or once no VIP packet arrived for this long */
	bool drain_on_sigterm;        /* default true: SIGTERM drains, a second SIGTERM stops */
	uint32_t table;               /* kernel table of the announced routes */
	bool require_bird;            /* default true: no BIRD running sluice's configuration stops the start */
	char bird_socket[108];        /* sun_path; BIRD's control socket (sluicectl bgp, start-up check) */
	char pop[SL_POP_NAME_LEN];    /* this instance's PoP (the replicated state's); "": none */
};

/* The BIRD 2 configuration for c, from sluice's own file `source` (named
 * in a comment). Returns its length (as snprintf: >= len means cut). */
int sl_bgp_bird_config(const struct sl_bgp_cfg *c, const char *source, char *buf, size_t len);

/* ------------------------------------------------------------ announce */

/* Why this mux announces, or not. */
enum sl_bgp_reason {
	SL_BGP_STARTING = 0, /* tables not loaded yet */
	SL_BGP_SERVING,      /* announcing every VIP with a usable DIP */
	SL_BGP_DRAINING,     /* drain asked: withdrawn, waiting for traffic to stop */
	SL_BGP_WATCHDOG,     /* a worker stopped polling: withdrawn */
	SL_BGP_NOT_MUX,      /* no mux role: nothing to announce */
};

const char *sl_bgp_reason_name(enum sl_bgp_reason r);

struct sl_bgp_inputs {
	bool tables_loaded;
	bool mux;
	bool draining;
	bool stalled;        /* the watchdog's verdict */
};

/* ---------------------------------------------------------------- PoPs */

/*
 * A point of presence as the replicated state holds it (lib/manager, the
 * "pops" section). Its muxes announce its unicast prefixes while it is
 * active and its anycast prefixes (the supernet every PoP shares) while it
 * is active or draining; down, they announce none of them. A VIP address
 * inside any PoP's prefix is announced through the prefixes, not as a
 * host route of its own: otherwise the host route, more specific, would
 * keep its traffic where a drain moved the prefix away.
 */
enum sl_pop_state { SL_POP_ACTIVE = 0, SL_POP_DRAINING, SL_POP_DOWN, SL_POP_NB_STATES };

struct sl_pop {
	char name[SL_POP_NAME_LEN];
	uint8_t state;               /* enum sl_pop_state */
	uint8_t nb_unicast, nb_anycast;
	struct sl_prefix unicast[SL_MAX_POP_PREFIXES]; /* sorted, each a network */
	struct sl_prefix anycast[SL_MAX_POP_PREFIXES];
};

/* "active", "draining", "down"; NULL for another value. */
const char *sl_pop_state_name(unsigned state);

/* Does net (a network) contain p (any length not shorter, same family)? */
bool sl_prefix_covers(const struct sl_prefix *net, const struct sl_prefix *p);

/* Which PoP prefix a route is (for sluicectl bgp and the logs). */
enum sl_bgp_kind { SL_BGP_KIND_VIP = 0, SL_BGP_KIND_UNICAST, SL_BGP_KIND_ANYCAST };
const char *sl_bgp_kind_name(enum sl_bgp_kind k);

/* The PoP called name among pops[0..n), or NULL. */
const struct sl_pop *sl_pop_find(const struct sl_pop *pops, unsigned n, const char *name);

/*
 * Everything a serving mux of PoP `mine` (NULL or "": no PoP) announces:
 * sl_bgp_prefixes(spec) less the VIP addresses inside a prefix of any of
 * pops[0..n), plus mine's unicast prefixes when it is active and its
 * anycast ones unless it is down; sorted, once each. Writes at most max
 * into out; returns how many there are.
 */
unsigned sl_bgp_wanted(const struct sl_spec *spec, const struct sl_pop *pops, unsigned n,
		       const char *mine, struct sl_prefix *out, unsigned max);

/* What p is to PoP mine: one of its unicast or anycast prefixes, else a VIP. */
enum sl_bgp_kind sl_bgp_kind_of(const struct sl_pop *mine, const struct sl_prefix *p);

/* Announce anything? *why says why (or why not). */
bool sl_bgp_decide(const struct sl_bgp_inputs *in, enum sl_bgp_reason *why);

/* The watchdog: true when one of n workers last polled more than bound_ms
 * before now_ms (times on one 32-bit millisecond clock, wrapping); *worst
 * gets the longest silence. */
bool sl_bgp_stalled(const uint32_t *last_poll_ms, unsigned n, uint32_t now_ms, uint32_t bound_ms,
		    uint32_t *worst);

/*
 * The prefixes to announce for spec: each VIP address (/32 or /128) with
 * at least one service on it that has a backend of nonzero weight, once,
 * sorted. Writes at most max into out; returns how many there are.
 */
unsigned sl_bgp_prefixes(const struct sl_spec *spec, struct sl_prefix *out, unsigned max);

/* Sorted order of prefixes (family, then address, then length). */
int sl_bgp_prefix_cmp(const struct sl_prefix *a, const struct sl_prefix *b);

/* Sort all[0..n) (sl_bgp_prefix_cmp) and write each prefix once to out,
 * at most max of them (out may be all); returns how many distinct there are. */
unsigned sl_bgp_sort_unique(struct sl_prefix *all, unsigned n, struct sl_prefix *out, unsigned max);

/*
 * From the sorted set cur to the sorted set want: the prefixes to add and
 * to delete (each array as long as want, resp. cur, at most).
 */
void sl_bgp_diff(const struct sl_prefix *cur, unsigned nb_cur, const struct sl_prefix *want,
		 unsigned nb_want, struct sl_prefix *add, unsigned *nb_add, struct sl_prefix *del,
		 unsigned *nb_del);

/* --------------------------------------------------------------- birdc */

/*
 * BIRD's control socket speaks lines "CODE-text" (more follows), "CODE
 * text" (last line) and " text" (continuation of the previous code);
 * codes 0xxx are progress, 8xxx and 9xxx errors. A reply is complete at
 * the first line whose code is followed by a space. BIRD writes the code
 * once for a run of lines of one code: " text" continues that code.
 */
struct sl_birdc_line {
	int code;          /* -1: continuation line (the code of the line before) */
	bool last;         /* the reply ends here */
	const char *text;  /* after the code and separator */
	size_t len;
};

/* Parse one line (without its newline); false if malformed. */
bool sl_birdc_parse_line(const char *line, size_t len, struct sl_birdc_line *out);

/* One BGP session as "show protocols all" tells it. */
struct sl_bgp_session {
	char name[SL_BGP_NAME_LEN];
	char state[16];      /* "up", "down", "start", ... */
	char since[32];
	char info[64];       /* "Established", "Connect", "Active", ... */
	char neighbor[48];
	char last_error[96];
	uint64_t exported;   /* routes exported (announced) on its channels */
	uint64_t imported;
	bool bfd_up;         /* "BFD session: up"? unknown when not shown */
};

/*
 * Parse the text of a "show protocols all" reply (lines as received,
 * newline-separated, codes included) into at most max BGP sessions; other
 * protocols are skipped. Returns the number found.
 */
unsigned sl_birdc_parse_protocols(const char *reply, struct sl_bgp_session *out, unsigned max);

/* Does a "show protocols" reply list a protocol called name? (Is BIRD
 * running sluice's configuration: its SL_BGP_LEARN4 / 6?) */
bool sl_birdc_has_protocol(const char *reply, const char *name);

#endif
