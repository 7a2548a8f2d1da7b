/*
 * Every size limit that more than one layer must agree on, in one place:
 * the file loader (lib/config), the replicated state (lib/manager), the
 * API's request validation (lib/api), the neighbour code (lib/neigh) and
 * the data plane (lib/spec and what is built from it). A layer that keeps
 * a limit of its own under its own name defines it from this header or
 * ties it here with a _Static_assert, so the two cannot drift apart.
 *
 * Dependency-free on purpose: lib/api and lib/neigh include it without
 * linking any other Sluice library.
 */
#ifndef SLUICE_SPEC_LIMITS_H
#define SLUICE_SPEC_LIMITS_H

/* ---- the data plane (struct sl_spec) ---- */
#define SL_MAX_PORTS 8
#define SL_MAX_PORT_ADDRS 8       /* own addresses on one port */
#define SL_MAX_STATIC_NEIGH 64    /* configured neighbours on one port */
/* 10,000 VIPs (issue 10) and 64 % headroom. What grows with it: the
 * manager's VIP array and snapshot (~1 KB per VIP of 8 DIPs), one
 * Maglev table per VIP (2 bytes a slot, by DIP count with "auto"), the
 * VIP index. A power of two keeps "port = 1..N" test loops valid ports. */
#define SL_MAX_VIPS 16384
#define SL_MAX_DIPS_PER_VIP 4096
#define SL_MAX_TUNNEL_SOURCES 64  /* prefixes a host agent takes tunnels from */
#define SL_NAME_LEN 32            /* a port's name, with its NUL */
#define SL_BURST_MAX 64           /* frames a worker receives per poll */

/* ---- the file's other settings (lib/config) ---- */
#define SL_DEVICE_LEN 128         /* a DPDK device name, with its NUL */
#define SL_MAX_MEMBERS 16         /* manager members a file bootstraps */
#define SL_ADDR_TEXT_LEN 64       /* "host:port" text, with its NUL */
#define SL_URL_LEN 128            /* an API base URL, with its NUL */
#define SL_PATH_LEN 4096          /* a file system path, with its NUL */

/* ---- points of presence (the replicated state, lib/bgp, the API) ---- */
#define SL_MAX_POPS 64            /* PoPs in one cluster */
#define SL_POP_NAME_LEN 32        /* a PoP's name, with its NUL */
#define SL_MAX_POP_PREFIXES 8     /* unicast prefixes of one PoP; and its anycast ones */

#endif
