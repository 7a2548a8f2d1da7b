/*
 * The one thing the control plane hands the data plane: an immutable
 * snapshot, published by an RCU pointer swap. It has two independently
 * replaceable parts, because they change at different rates:
 *   - tables: everything derived from the data-plane spec (each stage's
 *     tables, the per-service tables, the one service index, own
 *     addresses); replaced on reload or a manager commit;
 *   - neigh: resolved next hops; replaced when ARP/ND learns something.
 * Workers read one snapshot per burst and never wait; the control thread
 * frees a replaced part after a grace period. The types are in
 * stage/tables.h, since stages read them.
 */
#ifndef SLUICE_DATAPLANE_SNAPSHOT_H
#define SLUICE_DATAPLANE_SNAPSHOT_H

#include <stdint.h>

#include "stage/tables.h"

/* What the devices behind the spec's ports really are, by spec port index. */
struct sl_port_hw {
	uint8_t mac[6];
	uint16_t mtu; /* MTU the device carries; 0 = trust the spec */
};

/* Describe our ports for the neighbour code: MACs, addresses, connected
 * prefixes, gateways and static neighbours. */
void sl_local_from_spec(const struct sl_spec *spec, const struct sl_port_hw *hw,
			struct sl_local *out);

/*
 * Build tables from spec; takes ownership of spec's allocations (spec is
 * emptied). Returns NULL with a message in err; spec is then freed.
 * prev (may be NULL): the tables these replace; the per-service tables of
 * services that did not change are shared with them, not rebuilt. prev is
 * not modified but for reference counts (control thread only).
 */
struct sl_tables *sl_tables_build(struct sl_spec *spec, const struct sl_port_hw *hw,
				  const struct sl_tables *prev, uint64_t generation, char *err,
				  size_t errlen);
void sl_tables_free(struct sl_tables *t);

/* The numbers of the services whose per-service tables t built rather
 * than shared with the tables it was built over (all of them without
 * those), in order: *n of them. */
const uint32_t *sl_tables_built_anew(const struct sl_tables *t, uint32_t *n);

/*
 * sl_tables_build in steps, so that a build of many new services (a
 * bootstrap, a snapshot restored, a large batch) need not hold the control
 * thread's loop for its whole length. start takes spec over as
 * sl_tables_build does (NULL with err: spec freed); run builds the
 * per-service entries, stopping once an entry built finds the clock
 * (CLOCK_MONOTONIC) past deadline_ns (0: no limit): 1 when the tables are
 * complete, 0 when more remain, -1 with err (then cancel). finish frees the
 * job and returns the tables (after run gave 1); cancel frees both. prev
 * must stay alive (not be retired) until then: nothing else may replace
 * the tables while a job runs.
 */
struct sl_tables_job;
struct sl_tables_job *sl_tables_job_start(struct sl_spec *spec, const struct sl_port_hw *hw,
					  const struct sl_tables *prev, uint64_t generation,
					  char *err, size_t errlen);
int sl_tables_job_run(struct sl_tables_job *j, uint64_t deadline_ns, char *err, size_t errlen);
struct sl_tables *sl_tables_job_finish(struct sl_tables_job *j);
void sl_tables_job_cancel(struct sl_tables_job *j);

#endif
