/*
 * sluice [EAL options] -- -c CONFIG [--check-config] [--mbufs N]
 *
 * Start-up order matters: the configuration is loaded and validated
 * before the EAL probes any device, so a bad file never touches a port.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_version.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "flow/flow.h"
#include "sluice.h"

struct sl_app sl_app;

void sl_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sluice: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sluice [EAL options] -- -c CONFIG [options]\n"
		   "  -c, --config FILE    configuration file (libconfig syntax; see docs/configuration.md)\n"
		   "  -t, --check-config   validate the configuration and exit (no EAL, no ports)\n"
		   "      --mbufs N        packet buffers in the pool (default: enough for queues, min 16384)\n"
		   "      --bird-config OUT  write the BIRD 2 configuration of the file's bgp group to OUT\n"
		   "                       (\"-\": standard output) and exit (no EAL, no ports)\n"
		   "  -V, --version        print the version and exit\n"
		   "  -h, --help           this text\n"
		   "Signals: SIGHUP reloads the configuration; SIGINT stops; SIGTERM stops, or with a\n"
		   "bgp group drains first (withdraw, wait for VIP traffic to stop, exit 0).\n"
		   "Telemetry: /sluice/stats, /sluice/info, /sluice/reload, /sluice/bgp, /sluice/drain\n"
		   "on the DPDK telemetry socket.\n");
}

enum { OPT_MBUFS = 256, OPT_BIRD_CONFIG };

static const char *bird_config_out; /* --bird-config */

/* Parse the application's own options (after "--"). Returns 1 to exit 0, -1 on error. */
static int parse_app_args(int argc, char **argv, bool *check_only)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "mbufs", required_argument, NULL, OPT_MBUFS },
		{ "bird-config", required_argument, NULL, OPT_BIRD_CONFIG },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(sl_app.config_path, sizeof(sl_app.config_path), "%s", optarg);
			break;
		case 't':
			*check_only = true;
			break;
		case OPT_BIRD_CONFIG:
			bird_config_out = optarg;
			break;
		case OPT_MBUFS:
			sl_app.nb_mbufs = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'V':
			printf("sluice %s (%s)\n", SLUICE_VERSION, rte_version());
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || sl_app.config_path[0] == '\0') {
		fprintf(stderr, "sluice: %s\n", optind < argc ? "unexpected argument" : "no configuration file (-c FILE)");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Split argv at "--": EAL gets the part before, we get the part after.
 * Without "--" everything is ours (sluice --version, sluice -c F -t). */
static int split_args(int argc, char **argv, int *eal_argc)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			*eal_argc = i;
			return i;
		}
	*eal_argc = 1;
	return 0;
}

static int die(const char *what)
{
	sl_exception_close(&sl_app); /* its source rules would outlive the process */
	sl_log("%s", what);
	return EXIT_FAILURE;
}

static int create_pool(const struct sl_config *cfg)
{
	unsigned need = cfg->nb_ports * (sl_app.nb_workers * 2048u + 2048u) + 4096u + sl_exception_mbufs(cfg);
	if (sl_app.nb_mbufs == 0)
		sl_app.nb_mbufs = need < 16384 ? 16384 : need;
	sl_app.pool = rte_pktmbuf_pool_create("sl_mbufs", sl_app.nb_mbufs, 256, 0,
					      RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	return sl_app.pool ? 0 : -1;
}

static int open_ports(const struct sl_config *cfg, char *err, size_t errlen)
{
	for (unsigned p = 0; p < cfg->nb_ports; p++) {
		bool warned;
		if (sl_port_open(&cfg->ports[p], sl_app.nb_workers, sl_app.pool, &sl_app.ports[p], err, errlen,
				 &warned) < 0)
			return -1;
		if (warned)
			sl_log("warning: %s", err);
		memcpy(sl_app.hw[p].mac, sl_app.ports[p].mac, 6);
		sl_app.hw[p].mtu = sl_app.ports[p].mtu;
		sl_app.nb_ports = p + 1;
		const uint8_t *mac = sl_app.hw[p].mac;
		sl_log("port '%s' = %s (port %u, %s), %u rx / %u tx queues, MTU %u, MAC %02x:%02x:%02x:%02x:%02x:%02x",
		       cfg->ports[p].name, cfg->ports[p].device, sl_app.ports[p].port_id, sl_app.ports[p].driver,
		       sl_app.ports[p].nb_rxq, sl_app.ports[p].nb_txq, sl_app.ports[p].mtu, mac[0], mac[1], mac[2],
		       mac[3], mac[4], mac[5]);
	}
	return 0;
}

static struct sl_flow_table *flow_table(const char *name, uint32_t capacity)
{
	struct sl_flow_params p = { .name = name, .capacity = capacity, .nb_shards = sl_app.nb_workers,
				    .qsbr = sl_app.qsbr, .socket_id = (int)rte_socket_id() };
	return sl_flow_create(&p);
}

/* The flow table of every stage that has one and that the roles ask for,
 * sized from the first spec (a reload cannot resize them). */
static int create_flow_tables(const struct sl_config *cfg)
{
	struct sl_spec spec;
	char name[64];
	int rc = sl_spec_from_config(cfg, &spec);
	for (unsigned s = 0; s < SL_STAGE_COUNT && rc == 0; s++) {
		const struct sl_stage *st = sl_stages[s];
		if (st->flows.name == NULL || !sl_stage_wanted(st, spec.roles))
			continue;
		snprintf(name, sizeof(name), "sl_%s", st->flows.name);
		if ((sl_app.flows[s] = flow_table(name, st->flows.capacity(&spec))) == NULL)
			rc = -1;
	}
	sl_spec_free(&spec);
	return rc;
}

static int create_shared_state(const struct sl_config *cfg)
{
	size_t sz = rte_rcu_qsbr_get_memsize(sl_app.nb_workers);
	sl_app.qsbr = rte_zmalloc("sl_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (sl_app.qsbr == NULL || rte_rcu_qsbr_init(sl_app.qsbr, sl_app.nb_workers) != 0)
		return -1;
	if (create_flow_tables(cfg) < 0)
		return -1;
	sl_app.to_control = rte_ring_create("sl_to_control", 4096, (int)rte_socket_id(), RING_F_SC_DEQ);
	return sl_app.to_control ? 0 : -1;
}

/* Worker i polls receive queue i of every port that has that many. */
static int create_lcore(unsigned idx, unsigned lcore_id)
{
	char name[32];
	struct sl_lcore *lc = rte_zmalloc("sl_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	if (lc == NULL)
		return -1;
	lc->lcore_id = lcore_id;
	lc->w.id = idx;
	memcpy(lc->w.flows, sl_app.flows, sizeof(lc->w.flows));
	lc->w.to_control = sl_app.to_control;
	lc->w.to_kernel = sl_app.to_kernel;
	lc->w.kernel_gate = (struct sl_exc_gate){ .ports = sl_app.kernel_ports,
						  .rate = sl_app.kernel_limits.to_kernel_rate,
						  .burst = sl_app.kernel_limits.to_kernel_burst };
	snprintf(name, sizeof(name), "sl_want%u", idx);
	lc->w.wants = rte_ring_create_elem(name, sizeof(struct sl_neigh_want), 256, (int)rte_socket_id(),
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "sl_fromctl%u", idx);
	lc->from_control = rte_ring_create(name, 1024, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (lc->w.wants == NULL || lc->from_control == NULL)
		return -1;
	for (uint16_t p = 0; p < sl_app.nb_ports; p++)
		if (idx < sl_app.ports[p].nb_rxq)
			lc->rx[lc->nb_rx++] = (typeof(lc->rx[0])){ .cfg_port = p, .queue = (uint16_t)idx };
	sl_app.lcore[idx] = lc;
	return 0;
}

/* Workers are the worker lcores; with only the main lcore, it works alone. */
static void choose_workers(unsigned *lcores)
{
	unsigned id;
	sl_app.nb_workers = 0;
	RTE_LCORE_FOREACH_WORKER(id)
		lcores[sl_app.nb_workers++] = id;
	if (sl_app.nb_workers == 0)
		lcores[sl_app.nb_workers++] = rte_get_main_lcore();
}

static void run_workers(const unsigned *lcores)
{
	unsigned main_idx = UINT32_MAX;
	for (unsigned i = 0; i < sl_app.nb_workers; i++) {
		if (lcores[i] == rte_get_main_lcore())
			main_idx = i;
		else
			rte_eal_remote_launch(sl_lcore_main, sl_app.lcore[i], lcores[i]);
	}
	if (main_idx != UINT32_MAX)
		sl_lcore_main(sl_app.lcore[main_idx]);
	/* rte_eal_mp_wait_lcore spins; the main lcore has nothing to do, so it
	 * sleeps until the control thread says stop. */
	while (!sl_app.quit)
		usleep(100 * 1000);
	rte_eal_mp_wait_lcore();
}

/* --bird-config: the BIRD configuration that goes with this file. */
static int write_bird_config(struct sl_config *cfg)
{
	int rc = EXIT_FAILURE;
	char *text = NULL;
	if (!cfg->bgp.enabled) {
		fprintf(stderr, "sluice: %s has no bgp group: nothing for BIRD to announce\n", sl_app.config_path);
		goto out;
	}
	int n = sl_bgp_bird_config(&cfg->bgp, sl_app.config_path, NULL, 0);
	text = malloc((size_t)n + 1);
	if (text == NULL || sl_bgp_bird_config(&cfg->bgp, sl_app.config_path, text, (size_t)n + 1) != n)
		goto out;
	bool to_stdout = strcmp(bird_config_out, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(bird_config_out, "w");
	if (f == NULL) {
		fprintf(stderr, "sluice: %s: %s\n", bird_config_out, strerror(errno));
		goto out;
	}
	bool ok = fwrite(text, 1, (size_t)n, f) == (size_t)n;
	ok = (to_stdout ? fflush(f) : fclose(f)) == 0 && ok;
	if (!ok)
		fprintf(stderr, "sluice: %s: %s\n", bird_config_out, strerror(errno));
	rc = ok ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(text);
	sl_config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct sl_config cfg;
	char err[1024];
	bool check_only = false;
	int eal_argc;
	int app_first = split_args(argc, argv, &eal_argc);

	argv[app_first] = argv[0]; /* getopt wants a program name in front */
	int rc = parse_app_args(argc - app_first, argv + app_first, &check_only);
	if (rc != 0)
		return rc > 0 ? EXIT_SUCCESS : 2;
	if (sl_config_load(sl_app.config_path, &cfg, err, sizeof(err)) != 0)
		return die(err);
	if (bird_config_out != NULL)
		return write_bird_config(&cfg);
	if (check_only) {
		printf("%s: OK (%u ports, %u VIPs)\n", sl_app.config_path, cfg.nb_ports, cfg.nb_vips);
		sl_config_free(&cfg);
		return EXIT_SUCCESS;
	}

	if (rte_eal_init(eal_argc, argv) < 0)
		return die("EAL initialisation failed (see messages above)");
	unsigned lcores[RTE_MAX_LCORE];
	choose_workers(lcores);
	if (create_pool(&cfg) < 0)
		return die("cannot create the packet buffer pool (raise -m or lower --mbufs)");
	if (open_ports(&cfg, err, sizeof(err)) < 0 || sl_exception_open(&sl_app, &cfg, err, sizeof(err)) < 0 ||
	    sl_bgp_open(&sl_app, &cfg, err, sizeof(err)) < 0)
		return die(err);
	if (create_shared_state(&cfg) < 0)
		return die("cannot allocate flow tables, rings or RCU state (raise -m or lower capacities)");
	for (unsigned i = 0; i < sl_app.nb_workers; i++)
		if (create_lcore(i, lcores[i]) < 0)
			return die("cannot allocate per-worker state");
	if (sl_control_init(&sl_app, &cfg, err, sizeof(err)) < 0)
		return die(err);
	sl_telemetry_register();
	sl_bgp_telemetry_register();
	if (sl_control_start(&sl_app, err, sizeof(err)) != 0)
		return die(err);
	sl_log("ready: %u workers, %u ports, roles %s, %u VIPs (config %s)", sl_app.nb_workers, sl_app.nb_ports,
	       sl_app.roles == (SL_ROLE_MUX | SL_ROLE_HOST) ? "mux+host" : sl_app.roles == SL_ROLE_MUX ? "mux" : "host",
	       sl_app.nb_vips, sl_app.config_path);
	run_workers(lcores);
	sl_control_stop(&sl_app);
	sl_bgp_close(&sl_app);
	sl_exception_close(&sl_app);
	for (unsigned p = 0; p < sl_app.nb_ports; p++)
		sl_port_close(&sl_app.ports[p]);
	rte_eal_cleanup();
	sl_log("stopped");
	return EXIT_SUCCESS;
}
