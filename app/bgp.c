/*
 * Announcements through BIRD, on the control thread (lib/bgp decides,
 * this file acts): one route per VIP address sluice serves goes into
 * bgp.table out of the peering port's kernel interface, where BIRD learns
 * it and announces it; taking the route out withdraws it. Each poll (1 ms)
 * checks the workers (the watchdog), follows table rebuilds and drives a
 * drain. The interface vanishes with the process, routes and all, so a
 * crash needs nothing from here; a stalled process stops carrying BFD.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "bgp/bgp.h"
#include "bgp/client.h"
#include "exception/netlink.h"
#include "sluice.h"

#define LOG_PREFIXES 4          /* prefixes named in one log line */
#define TEL_PREFIXES 200        /* prefixes listed by /sluice/bgp (telemetry's output is 16 KiB) */
/* After a stall, announce again only once every worker kept up this many
 * bounds (at least RECOVER_MIN_MS): a worker starved now and then must not
 * make the route flap at the router. */
#define RECOVER_BOUNDS 4
#define RECOVER_MIN_MS 1000

static struct {
	bool enabled;
	struct sl_bgp_cfg cfg;
	struct sl_nl *nl;
	unsigned ifindex;
	const struct sl_tables *seen;  /* the tables want[] was computed from */
	struct sl_prefix *cur, *want, *add, *del, *merged; /* each SL_BGP_MAX_ROUTES */
	unsigned nb_cur, nb_want;
	/* The replicated state's PoPs (sl_bgp_set_pops), this instance's
	 * among them when bgp.pop names one that exists. */
	struct sl_pop pops[SL_MAX_POPS];
	unsigned nb_pops;
	bool pops_changed;             /* since want[] was computed */
	int pop_state;                 /* of this instance's PoP as last logged; -1: not in the state */
	enum sl_bgp_reason reason;
	bool stalled;
	uint32_t healthy_since;        /* workers all polling since (watchdog recovery) */
	uint32_t worst_ms;             /* longest worker silence seen in the last poll */
	uint32_t worst_max_ms;         /* ... and ever */
	/* drain */
	volatile bool drain_asked;     /* set by telemetry, taken by the control thread */
	bool draining;
	uint32_t drain_start, last_vip_change;
	uint64_t last_vip_packets;
	void (*drained)(void);
	/* telemetry's copy, under lock */
	pthread_mutex_t lock;
} bgp = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t vip_packets(const struct sl_app *app)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < app->nb_workers; i++) {
		const uint64_t *c = app->lcore[i]->w.stats.c;
		n += __atomic_load_n(&c[SL_C_MUX_FLOW_HIT], __ATOMIC_RELAXED) +
		     __atomic_load_n(&c[SL_C_MUX_FLOW_NEW], __ATOMIC_RELAXED) +
		     __atomic_load_n(&c[SL_C_MUX_FLOW_FULL], __ATOMIC_RELAXED);
	}
	return n;
}

/* Is a BIRD running sluice's configuration there? 0, or -1 with the reason. */
static int check_bird(char *why, size_t len)
{
	char *reply = sl_birdc_query(bgp.cfg.bird_socket, "show protocols", 2000, why, len);
	if (reply == NULL)
		return -1;
	bool v4 = false, v6 = false;
	for (unsigned i = 0; i < bgp.cfg.nb_peers; i++) {
		v4 |= bgp.cfg.peers[i].family == SL_AF_INET;
		v6 |= bgp.cfg.peers[i].family == SL_AF_INET6;
	}
	const char *missing = v4 && !sl_birdc_has_protocol(reply, SL_BGP_LEARN4)   ? SL_BGP_LEARN4
			      : v6 && !sl_birdc_has_protocol(reply, SL_BGP_LEARN6) ? SL_BGP_LEARN6
										     : NULL;
	free(reply);
	if (missing != NULL)
		snprintf(why, len, "BIRD at %s runs another configuration (no protocol %s)", bgp.cfg.bird_socket,
			 missing);
	return missing != NULL ? -1 : 0;
}

int sl_bgp_open(struct sl_app *app, const struct sl_config *cfg, char *err, size_t errlen)
{
	if (!cfg->bgp.enabled)
		return 0;
	bgp.cfg = cfg->bgp;
	const struct sl_kif *k = &app->kifs.kif[cfg->bgp.port];
	if (!k->open) {
		snprintf(err, errlen, "bgp: port '%s' has no kernel interface to peer over",
			 cfg->ports[cfg->bgp.port].name);
		return -1;
	}
	bgp.ifindex = k->ifindex;
	bgp.nl = sl_nl_open();
	bgp.cur = calloc(SL_BGP_MAX_ROUTES, sizeof(*bgp.cur));
	bgp.want = calloc(SL_BGP_MAX_ROUTES, sizeof(*bgp.want));
	bgp.add = calloc(SL_BGP_MAX_ROUTES, sizeof(*bgp.add));
	bgp.del = calloc(SL_BGP_MAX_ROUTES, sizeof(*bgp.del));
	bgp.merged = calloc(SL_BGP_MAX_ROUTES, sizeof(*bgp.merged));
	bgp.pop_state = -1;
	if (bgp.nl == NULL || !bgp.cur || !bgp.want || !bgp.add || !bgp.del || !bgp.merged) {
		snprintf(err, errlen, "bgp: cannot open a netlink socket or allocate: %s", strerror(errno));
		return -1;
	}
	char why[256];
	if (check_bird(why, sizeof(why)) < 0) {
		if (bgp.cfg.require_bird) {
			snprintf(err, errlen, "bgp: %s; start BIRD with the configuration of sluice -c %s "
				 "--bird-config OUT first (or set bgp.require_bird = false)", why, cfg->path);
			return -1;
		}
		sl_log("bgp: warning: %s; nothing is announced until BIRD runs sluice's configuration "
		       "(the routes wait in kernel table %u)", why, bgp.cfg.table);
	}
	bgp.enabled = true;
	sl_log("bgp: VIP routes go into kernel table %u out of %s (ifindex %u) once the tables are "
	       "loaded; watchdog %u ms, drain on SIGTERM %s%s%s", bgp.cfg.table, k->ifname, k->ifindex,
	       bgp.cfg.watchdog_ms, bgp.cfg.drain_on_sigterm ? "on" : "off",
	       bgp.cfg.pop[0] != '\0' ? "; PoP " : "", bgp.cfg.pop);
	return 0;
}

static void log_change(const char *verb, const struct sl_prefix *p, unsigned n, enum sl_bgp_reason why)
{
	char line[512], a[64];
	int used = snprintf(line, sizeof(line), "bgp: %s %u prefix%s (%s):", verb, n, n == 1 ? "" : "es",
			    sl_bgp_reason_name(why));
	for (unsigned i = 0; i < n && i < LOG_PREFIXES && used > 0 && (size_t)used < sizeof(line); i++)
		used += snprintf(line + used, sizeof(line) - (size_t)used, " %s/%u",
				 sl_addr_format(p[i].family, &p[i].addr, a, sizeof(a)), p[i].len);
	sl_log("%s%s", line, n > LOG_PREFIXES ? " ..." : "");
}

/* Make the kernel table hold want[0..nb); cur follows what the kernel took. */
static void sync_routes(struct sl_app *app, unsigned nb)
{
	unsigned nb_add, nb_del;
	sl_bgp_diff(bgp.cur, bgp.nb_cur, bgp.want, nb, bgp.add, &nb_add, bgp.del, &nb_del);
	if (nb_add == 0 && nb_del == 0)
		return;
	unsigned added = 0, deleted = 0;
	for (unsigned i = 0; i < nb_del; i++) {
		int rc = sl_nl_route_del(bgp.nl, bgp.cfg.table, bgp.ifindex, &bgp.del[i]);
		if (rc < 0)
			sl_log("bgp: cannot delete a route from table %u: %s", bgp.cfg.table, strerror(-rc));
		else
			bgp.del[deleted++] = bgp.del[i];
	}
	for (unsigned i = 0; i < nb_add; i++) {
		int rc = sl_nl_route_add(bgp.nl, bgp.cfg.table, 0, bgp.ifindex, &bgp.add[i], NULL);
		if (rc < 0)
			sl_log("bgp: cannot add a route to table %u: %s", bgp.cfg.table, strerror(-rc));
		else
			bgp.add[added++] = bgp.add[i];
	}
	pthread_mutex_lock(&bgp.lock);
	/* cur = cur - deleted + added, kept sorted (a failed delete stays in) */
	unsigned n = 0, i = 0, j = 0;
	struct sl_prefix *merged = bgp.merged;
	for (unsigned k = 0; k < bgp.nb_cur; k++) {
		while (j < deleted && sl_bgp_prefix_cmp(&bgp.del[j], &bgp.cur[k]) < 0)
			j++;
		if (j < deleted && sl_bgp_prefix_cmp(&bgp.del[j], &bgp.cur[k]) == 0)
			continue;
		while (i < added && sl_bgp_prefix_cmp(&bgp.add[i], &bgp.cur[k]) < 0)
			merged[n++] = bgp.add[i++];
		merged[n++] = bgp.cur[k];
	}
	while (i < added)
		merged[n++] = bgp.add[i++];
	memcpy(bgp.cur, merged, n * sizeof(*merged));
	bgp.nb_cur = n;
	app->control_stats.c[SL_C_BGP_ANNOUNCED] += added;
	app->control_stats.c[SL_C_BGP_WITHDRAWN] += deleted;
	pthread_mutex_unlock(&bgp.lock);
	if (deleted > 0)
		log_change("withdrew", bgp.del, deleted, bgp.reason);
	if (added > 0)
		log_change("announced", bgp.add, added, bgp.reason);
}

static bool tables_loaded(const struct sl_app *app, uint32_t *last_poll)
{
	/* Workers that have not polled once are not serving yet. */
	bool all = app->snapshot != NULL;
	for (unsigned i = 0; i < app->nb_workers; i++) {
		last_poll[i] = __atomic_load_n(&app->lcore[i]->w.now_ms, __ATOMIC_RELAXED);
		all &= last_poll[i] != 0;
	}
	return all;
}

static void watchdog(struct sl_app *app, const uint32_t *last_poll, bool loaded, uint32_t now)
{
	uint32_t worst = 0;
	bool silent = loaded && sl_bgp_stalled(last_poll, app->nb_workers, now, bgp.cfg.watchdog_ms, &worst);
	bgp.worst_ms = worst;
	if (worst > bgp.worst_max_ms)
		bgp.worst_max_ms = worst;
	if (silent && !bgp.stalled) {
		bgp.stalled = true;
		app->control_stats.c[SL_C_BGP_WATCHDOG]++;
		sl_log("bgp: watchdog: a worker has not polled for %u ms (bound %u ms): withdrawing everything",
		       worst, bgp.cfg.watchdog_ms);
	}
	if (silent)
		bgp.healthy_since = now;
	uint32_t recover = bgp.cfg.watchdog_ms * RECOVER_BOUNDS;
	recover = recover < RECOVER_MIN_MS ? RECOVER_MIN_MS : recover;
	if (bgp.stalled && !silent && now - bgp.healthy_since >= recover) {
		bgp.stalled = false;
		sl_log("bgp: watchdog: workers polling again for %u ms", recover);
	}
}

static void drain_step(struct sl_app *app, uint32_t now)
{
	if (bgp.drain_asked && !bgp.draining) {
		bgp.draining = true;
		bgp.drain_start = bgp.last_vip_change = now;
		bgp.last_vip_packets = vip_packets(app);
		sl_log("bgp: drain: withdrawing, then stopping once no VIP packet arrived for %u ms "
		       "(at most %u ms)", bgp.cfg.drain_quiet_ms, bgp.cfg.drain_timeout_ms);
	}
	if (!bgp.draining || bgp.drained == NULL)
		return;
	uint64_t n = vip_packets(app);
	if (n != bgp.last_vip_packets) {
		bgp.last_vip_packets = n;
		bgp.last_vip_change = now;
	}
	bool quiet = now - bgp.last_vip_change >= bgp.cfg.drain_quiet_ms;
	bool late = now - bgp.drain_start >= bgp.cfg.drain_timeout_ms;
	if (!quiet && !late)
		return;
	sl_log("bgp: drain: %s after %u ms; stopping", quiet ? "VIP traffic stopped" : "timed out",
	       now - bgp.drain_start);
	void (*done)(void) = bgp.drained;
	bgp.drained = NULL;
	done();
}

void sl_bgp_poll(struct sl_app *app, uint32_t now)
{
	if (!bgp.enabled)
		return;
	uint32_t last_poll[RTE_MAX_LCORE];
	bool loaded = tables_loaded(app, last_poll);
	watchdog(app, last_poll, loaded, now);
	drain_step(app, now);
	struct sl_bgp_inputs in = {
		.tables_loaded = loaded,
		.mux = (app->roles & SL_ROLE_MUX) != 0,
		.draining = bgp.draining,
		.stalled = bgp.stalled,
	};
	enum sl_bgp_reason why;
	bool on = sl_bgp_decide(&in, &why);
	const struct sl_tables *t = app->snapshot != NULL ? app->snapshot->tables : NULL;
	if (why == bgp.reason && (!on || (t == bgp.seen && !bgp.pops_changed)))
		return;
	if (why != bgp.reason)
		sl_log("bgp: %s -> %s", sl_bgp_reason_name(bgp.reason), sl_bgp_reason_name(why));
	bgp.reason = why;
	unsigned nb = 0;
	if (on) {
		pthread_mutex_lock(&bgp.lock);
		nb = sl_bgp_wanted(&t->spec, bgp.pops, bgp.nb_pops, bgp.cfg.pop, bgp.want, SL_BGP_MAX_ROUTES);
		bgp.pops_changed = false;
		pthread_mutex_unlock(&bgp.lock);
		nb = nb < SL_BGP_MAX_ROUTES ? nb : SL_BGP_MAX_ROUTES;
		bgp.seen = t;
	} else {
		bgp.seen = NULL;
	}
	bgp.nb_want = nb;
	sync_routes(app, nb);
}

void sl_bgp_set_pops(const struct sl_pop *pops, unsigned n)
{
	if (!bgp.enabled)
		return;
	n = pops == NULL ? 0 : n < SL_MAX_POPS ? n : SL_MAX_POPS; /* a state without PoPs: NULL */
	pthread_mutex_lock(&bgp.lock);
	bool same = n == bgp.nb_pops && (n == 0 || memcmp(bgp.pops, pops, n * sizeof(*pops)) == 0);
	if (!same) {
		if (n > 0)
			memcpy(bgp.pops, pops, n * sizeof(*pops));
		bgp.nb_pops = n;
		bgp.pops_changed = true;
	}
	const struct sl_pop *me = sl_pop_find(bgp.pops, bgp.nb_pops, bgp.cfg.pop);
	pthread_mutex_unlock(&bgp.lock);
	int state = me != NULL ? me->state : -1;
	if (bgp.cfg.pop[0] != '\0' && state != bgp.pop_state)
		sl_log("bgp: PoP %s: %s -> %s", bgp.cfg.pop,
		       bgp.pop_state < 0 ? "not in the replicated state" : sl_pop_state_name((unsigned)bgp.pop_state),
		       state < 0 ? "not in the replicated state" : sl_pop_state_name((unsigned)state));
	bgp.pop_state = state;
}

bool sl_bgp_drain(void (*drained)(void))
{
	if (!bgp.enabled)
		return false;
	bgp.drained = drained;
	bgp.drain_asked = true;
	return true;
}

bool sl_bgp_drain_on_sigterm(void)
{
	return bgp.enabled && bgp.cfg.drain_on_sigterm;
}

void sl_bgp_close(struct sl_app *app)
{
	if (!bgp.enabled)
		return;
	/* Deleted one by one, so BIRD hears of each at once (a vanishing
	 * interface takes its IPv4 routes without telling anyone). */
	bgp.reason = SL_BGP_DRAINING;
	sync_routes(app, 0);
	sl_nl_close(bgp.nl);
	bgp.nl = NULL;
	bgp.enabled = false;
	free(bgp.cur);
	free(bgp.want);
	free(bgp.add);
	free(bgp.del);
	free(bgp.merged);
	bgp.cur = bgp.want = bgp.add = bgp.del = bgp.merged = NULL;
}

/* ------------------------------------------------------------ telemetry */

static bool announced(const struct sl_prefix *p)
{
	for (unsigned i = 0; i < bgp.nb_cur; i++)
		if (sl_prefix_eq(&bgp.cur[i], p))
			return true;
	return false;
}

/* Why a PoP prefix is announced or not, in words. */
static const char *pop_why(const struct sl_pop *me, enum sl_bgp_kind kind, bool on, enum sl_bgp_reason why)
{
	if (why != SL_BGP_SERVING)
		return sl_bgp_reason_name(why);
	if (on)
		return me->state == SL_POP_ACTIVE ? "pop active" : "pop draining: the supernet stays";
	return me->state == SL_POP_DOWN ? "pop down" : kind == SL_BGP_KIND_UNICAST ? "pop draining" : "pending";
}

static void add_pop_list(struct rte_tel_data *list, const struct sl_pop *me, enum sl_bgp_kind kind,
			 enum sl_bgp_reason why)
{
	const struct sl_prefix *p = kind == SL_BGP_KIND_UNICAST ? me->unicast : me->anycast;
	unsigned n = kind == SL_BGP_KIND_UNICAST ? me->nb_unicast : me->nb_anycast;
	char a[64], text[128];
	for (unsigned i = 0; i < n; i++) {
		bool on = announced(&p[i]);
		snprintf(text, sizeof(text), "%s/%u %s %s (%s)",
			 sl_addr_format(p[i].family, &p[i].addr, a, sizeof(a)), p[i].len,
			 sl_bgp_kind_name(kind), on ? "announced" : "withdrawn", pop_why(me, kind, on, why));
		rte_tel_data_add_array_string(list, text);
	}
}

/* "pop", "pop_state" and "pop_prefixes": each of this PoP's prefixes, its
 * kind, whether it is announced and why. Called under bgp.lock. */
static void add_pop(struct rte_tel_data *d, enum sl_bgp_reason why)
{
	const struct sl_pop *me = sl_pop_find(bgp.pops, bgp.nb_pops, bgp.cfg.pop);
	rte_tel_data_add_dict_string(d, "pop", bgp.cfg.pop);
	rte_tel_data_add_dict_string(d, "pop_state", me != NULL ? sl_pop_state_name(me->state) : "unknown");
	struct rte_tel_data *list = rte_tel_data_alloc();
	if (list == NULL)
		return;
	rte_tel_data_start_array(list, RTE_TEL_STRING_VAL);
	if (me != NULL) {
		add_pop_list(list, me, SL_BGP_KIND_UNICAST, why);
		add_pop_list(list, me, SL_BGP_KIND_ANYCAST, why);
	}
	rte_tel_data_add_dict_container(d, "pop_prefixes", list, 0);
}

static int cmd_bgp(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "enabled", bgp.enabled || bgp.cfg.enabled);
	if (!bgp.cfg.enabled)
		return 0;
	struct rte_tel_data *list = rte_tel_data_alloc();
	char a[64], text[80];
	if (list == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(list, RTE_TEL_STRING_VAL);
	pthread_mutex_lock(&bgp.lock);
	enum sl_bgp_reason why = bgp.reason;
	unsigned n = bgp.nb_cur;
	for (unsigned i = 0; i < n && i < TEL_PREFIXES; i++) {
		snprintf(text, sizeof(text), "%s/%u",
			 sl_addr_format(bgp.cur[i].family, &bgp.cur[i].addr, a, sizeof(a)), bgp.cur[i].len);
		rte_tel_data_add_array_string(list, text);
	}
	if (bgp.cfg.pop[0] != '\0')
		add_pop(d, why);
	pthread_mutex_unlock(&bgp.lock);
	rte_tel_data_add_dict_string(d, "state", sl_bgp_reason_name(why));
	rte_tel_data_add_dict_int(d, "announcing", why == SL_BGP_SERVING);
	rte_tel_data_add_dict_u64(d, "announced_count", n);
	rte_tel_data_add_dict_container(d, "announced", list, 0);
	rte_tel_data_add_dict_u64(d, "local_as", bgp.cfg.local_as);
	rte_tel_data_add_dict_string(d, "interface", bgp.cfg.ifname);
	rte_tel_data_add_dict_u64(d, "table", bgp.cfg.table);
	rte_tel_data_add_dict_string(d, "bird_socket", bgp.cfg.bird_socket);
	rte_tel_data_add_dict_u64(d, "watchdog_ms", bgp.cfg.watchdog_ms);
	rte_tel_data_add_dict_u64(d, "worker_silence_ms", bgp.worst_ms);
	rte_tel_data_add_dict_u64(d, "worker_silence_max_ms", bgp.worst_max_ms);
	rte_tel_data_add_dict_u64(d, "announced_total", sl_app.control_stats.c[SL_C_BGP_ANNOUNCED]);
	rte_tel_data_add_dict_u64(d, "withdrawn_total", sl_app.control_stats.c[SL_C_BGP_WITHDRAWN]);
	rte_tel_data_add_dict_u64(d, "watchdog_total", sl_app.control_stats.c[SL_C_BGP_WATCHDOG]);
	return 0;
}

static int cmd_drain(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	if (!bgp.enabled) {
		rte_tel_data_add_dict_string(d, "error", "no bgp group in the configuration: nothing to drain");
		return 0;
	}
	if (sl_control_request_drain() < 0) {
		rte_tel_data_add_dict_string(d, "error", "still starting: ask again in a moment");
		return 0;
	}
	rte_tel_data_add_dict_string(d, "state", "draining");
	return 0;
}

void sl_bgp_telemetry_register(void)
{
	rte_telemetry_register_cmd("/sluice/bgp", cmd_bgp,
				   "What this mux announces through BIRD and why. No parameters");
	rte_telemetry_register_cmd("/sluice/drain", cmd_drain,
				   "Withdraw every announcement, wait for VIP traffic to stop, then exit 0");
}
