/* State of one running instance, shared by start-up, the lcore loops,
 * the control thread and telemetry. */
#ifndef SLUICE_APP_SLUICE_H
#define SLUICE_APP_SLUICE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>

#include "config/config.h"
#include "dataplane/retire.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"
#include "exception/kernel_if.h"
#include "neigh/neigh.h"
#include "port/port.h"

#define SLUICE_VERSION "0.1.0"

struct rte_mbuf;
struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_ring;

/* One worker lcore: the data-path worker plus what its loop polls. */
struct sl_lcore {
	struct sl_worker w;
	unsigned lcore_id;
	struct rte_ring *from_control; /* frames the control thread wants sent (SP/SC) */
	uint16_t nb_rx;                /* receive queues this lcore polls */
	struct {
		uint16_t cfg_port;
		uint16_t queue;
	} rx[SL_MAX_PORTS];
} __rte_cache_aligned;

struct sl_app {
	char config_path[4096];
	unsigned nb_mbufs;
	unsigned nb_workers;
	struct sl_lcore *lcore[RTE_MAX_LCORE]; /* by worker index */
	unsigned nb_ports;
	struct sl_port ports[SL_MAX_PORTS];    /* by config port index */
	struct sl_port_hw hw[SL_MAX_PORTS];    /* MAC and real MTU, by config port index */
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsbr;
	struct sl_flow_table *flows[SL_STAGE_COUNT]; /* each stage's flow table (stage.h flows), or NULL */
	struct rte_ring *to_control;
	/* exception path (exception.c) */
	struct sl_kifs kifs;                   /* kernel interfaces, by config port index */
	uint32_t kernel_ports;                 /* bit p: port p has one */
	struct rte_ring *to_kernel;            /* workers -> control: frames for the kernel (MP/SC) */
	struct sl_exception_cfg kernel_limits; /* the rate limits, both ways */
	struct sl_token_bucket from_kernel[SL_MAX_PORTS]; /* rate limit of what the kernel sends */
	struct sl_stats control_stats;         /* the control thread's counters (it alone writes them) */
	struct sl_neigh_cache *neigh;
	struct sl_snapshot *snapshot;          /* RCU-published; workers load it per iteration */
	struct sl_retire *retire;              /* replaced snapshot parts waiting for a grace period */
	uint64_t builds, build_us_last, build_us_max; /* table rebuilds after start-up, build+publish time */
	uint64_t generation;
	unsigned roles;                        /* copies for telemetry, which must not */
	unsigned nb_vips;                      /* touch tables a reload may free */
	volatile bool quit;
};

extern struct sl_app sl_app;

void sl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* lcore.c */
int sl_lcore_main(void *arg);

/* control.c */
int sl_control_init(struct sl_app *app, struct sl_config *cfg, char *err, size_t errlen);
int sl_control_start(struct sl_app *app, char *err, size_t errlen);
/* Build tables from spec (taken over and emptied, also on failure) and
 * publish them; message either way. */
int sl_control_apply_spec(struct sl_app *app, struct sl_spec *spec, char *msg, size_t msglen);
/* The same in steps of a few ms each, the loop running between them (a
 * build of thousands of new services takes hundreds of ms): done gets 0
 * once published, -1 on failure, 1 when a later apply superseded it (on
 * the control loop, possibly before this returns); msg says which. */
typedef void (*sl_control_built_cb)(int rc, const char *msg, void *arg);
void sl_control_apply_spec_staged(struct sl_app *app, struct sl_spec *spec, sl_control_built_cb done,
				  void *arg);

/* manager.c: the embedded Raft manager, when the file has a manager group */
struct uv_loop_s;
/* Takes cfg over; *initial is the spec of the tables to start with. */
int sl_manager_init(struct sl_app *app, struct sl_config *cfg, struct sl_spec *initial, char *err,
		    size_t errlen);
int sl_manager_start(struct uv_loop_s *loop, char *err, size_t errlen);
bool sl_manager_enabled(void);
const struct sl_config *sl_manager_file_config(void);
int sl_manager_reload(struct sl_config *next, char *msg, size_t msglen);
/* Leave gracefully: a leader first hands leadership to the most up-to-date
 * voter, then Raft closes; done runs on the control loop when finished
 * (at once without a manager). */
void sl_manager_stop(void (*done)(void));
void sl_control_stop(struct sl_app *app);
/* Reload the configuration file; thread-safe (runs on the control thread). */
int sl_control_request_reload(struct sl_app *app, char *msg, size_t msglen);

/* exception.c: the kernel exception path */
/* Packet buffers the kernel interfaces of cfg need on top of the ports'. */
unsigned sl_exception_mbufs(const struct sl_config *cfg);
/* Create the kernel interfaces (after the ports: they take their MACs). */
int sl_exception_open(struct sl_app *app, const struct sl_config *cfg, char *err, size_t errlen);
/* Control thread, each poll: frames to and from the kernel interfaces. */
void sl_exception_poll(struct sl_app *app, uint32_t now_ms);
/* Control thread: give m (ARP, ND taken by the neighbour cache) to the
 * kernel as well when it is a reply the kernel needs; true if m was taken. */
bool sl_exception_neigh_copy(struct sl_app *app, struct rte_mbuf *m);
void sl_exception_close(struct sl_app *app);

/* bgp.c: announcements through BIRD (lib/bgp), when the file has a bgp group */
/* After the kernel interfaces are open: the peering port's must be. */
int sl_bgp_open(struct sl_app *app, const struct sl_config *cfg, char *err, size_t errlen);
/* Control thread, each poll: watchdog, table changes, drain. */
void sl_bgp_poll(struct sl_app *app, uint32_t now_ms);
/* Control thread: withdraw, wait for VIP traffic to stop (or the drain
 * timeout), then call drained; false (nothing done) without bgp. */
/* The replicated state's PoPs (app/manager.c, at each change): this
 * instance's (bgp.pop) decides which of its prefixes are announced. */
void sl_bgp_set_pops(const struct sl_pop *pops, unsigned n);
bool sl_bgp_drain(void (*drained)(void));
bool sl_bgp_drain_on_sigterm(void);
/* Withdraw everything (clean stop), before the kernel interfaces close. */
void sl_bgp_close(struct sl_app *app);
void sl_bgp_telemetry_register(void);
/* control.c: drain as SIGTERM does with bgp; thread-safe; -1 before the
 * control thread runs. */
int sl_control_request_drain(void);

/* telemetry.c */
void sl_telemetry_register(void);

#endif
