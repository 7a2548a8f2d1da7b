/* DPDK telemetry commands: the counters (names from lib/stats/counters.h),
 * instance information, and reload. Read with dpdk-telemetry.py or any
 * client of /var/run/dpdk/<prefix>/dpdk_telemetry.v2. */
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "flow/flow.h"
#include "sluice.h"

static void sum_stats(struct sl_stats *total)
{
	/* Read in place: DPDK serves each telemetry client on its own thread,
	 * so a shared scratch copy would race between clients. */
	const struct sl_stats *blocks[RTE_MAX_LCORE + 1];
	for (unsigned i = 0; i < sl_app.nb_workers; i++)
		blocks[i] = &sl_app.lcore[i]->w.stats;
	blocks[sl_app.nb_workers] = &sl_app.control_stats; /* the exception path's control side */
	sl_stats_sum(blocks, sl_app.nb_workers + 1, total);
}

static uint64_t flow_total(struct sl_flow_table *t)
{
	uint64_t n = 0;
	for (unsigned i = 0; t != NULL && i < sl_app.nb_workers; i++)
		n += sl_flow_count(t, i);
	return n;
}

/* Drops the devices count themselves: frames sluice never saw (too big
 * for the receive buffers, no free mbuf, queue overrun) or could not send.
 * Read here, on the telemetry thread, never in the worker loop. */
static const struct {
	const char *name;
	size_t offset;
} port_drops[] = {
#define SL_X_PORT(field, n, d) { #n, offsetof(struct rte_eth_stats, field) },
	SL_PORT_DROPS(SL_X_PORT)
#undef SL_X_PORT
};

static void add_port_drops(struct rte_tel_data *d)
{
	char name[96];
	for (unsigned p = 0; p < sl_app.nb_ports; p++) {
		struct rte_eth_stats es;
		if (rte_eth_stats_get(sl_app.ports[p].port_id, &es) != 0)
			memset(&es, 0, sizeof(es)); /* keep the keys: scripts expect them */
		for (size_t i = 0; i < sizeof(port_drops) / sizeof(port_drops[0]); i++) {
			uint64_t v;
			memcpy(&v, (const char *)&es + port_drops[i].offset, sizeof(v));
			snprintf(name, sizeof(name), "port_%s_%s", sl_app.ports[p].name, port_drops[i].name);
			rte_tel_data_add_dict_u64(d, name, v);
		}
	}
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct sl_stats total;
	char name[64];
	(void)cmd;
	(void)params;
	sum_stats(&total);
	rte_tel_data_start_dict(d);
	for (unsigned c = 0; c < SL_C_MAX; c++)
		rte_tel_data_add_dict_u64(d, sl_counter_name(c), total.c[c]);
	for (unsigned r = 1; r < SL_DROP_MAX; r++) {
		snprintf(name, sizeof(name), "drop_%s", sl_drop_name(r));
		rte_tel_data_add_dict_u64(d, name, total.drop[r]);
	}
	add_port_drops(d);
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++)
		if (sl_stages[s]->flows.name != NULL)
			rte_tel_data_add_dict_u64(d, sl_stages[s]->flows.name, flow_total(sl_app.flows[s]));
	rte_tel_data_add_dict_u64(d, "workers", sl_app.nb_workers);
	return 0;
}

/* Replaced tables not yet freed, and how often a publish had to wait for
 * the workers because too many were. */
static void add_retire_stats(struct rte_tel_data *d)
{
	struct sl_retire_stats rs = { 0 };
	if (sl_app.retire != NULL)
		sl_retire_get_stats(sl_app.retire, &rs);
	rte_tel_data_add_dict_u64(d, "retired_pending", rs.pending);
	rte_tel_data_add_dict_u64(d, "retire_waits", rs.waited);
}

static int cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", SLUICE_VERSION);
	rte_tel_data_add_dict_string(d, "config", sl_app.config_path);
	rte_tel_data_add_dict_u64(d, "generation", sl_app.generation);
	rte_tel_data_add_dict_u64(d, "workers", sl_app.nb_workers);
	rte_tel_data_add_dict_u64(d, "ports", sl_app.nb_ports);
	rte_tel_data_add_dict_u64(d, "vips", sl_app.nb_vips);
	rte_tel_data_add_dict_u64(d, "table_builds", sl_app.builds);
	rte_tel_data_add_dict_u64(d, "table_build_us_last", sl_app.build_us_last);
	rte_tel_data_add_dict_u64(d, "table_build_us_max", sl_app.build_us_max);
	add_retire_stats(d);
	rte_tel_data_add_dict_string(d, "roles", sl_app.roles == (SL_ROLE_MUX | SL_ROLE_HOST) ? "mux,host"
				     : sl_app.roles == SL_ROLE_MUX ? "mux" : "host");
	return 0;
}

static int cmd_reload(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char msg[512];
	(void)cmd;
	(void)params;
	int rc = sl_control_request_reload(&sl_app, msg, sizeof(msg));
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "result", rc == 0 ? "ok" : "error");
	rte_tel_data_add_dict_string(d, "message", msg);
	return 0;
}

void sl_telemetry_register(void)
{
	rte_telemetry_register_cmd("/sluice/stats", cmd_stats,
				   "Data-path counters and drops by reason, summed over workers. No parameters.");
	rte_telemetry_register_cmd("/sluice/info", cmd_info, "Instance version, roles, configuration generation.");
	rte_telemetry_register_cmd("/sluice/reload", cmd_reload,
				   "Re-read the configuration file; applies it whole or rejects it whole.");
}
