/*
 * The control thread: one libuv loop that answers ARP/ND/ICMP passed up by
 * the workers, carries the exception path's frames to and from the kernel
 * interfaces (exception.c), resolves the next hops the data path needs, reloads the
 * configuration, and publishes new immutable snapshots by RCU.
 * It is the only writer of sl_app.snapshot.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "sluice.h"

#define POLL_MS 1
#define NEIGH_REFRESH_MS 30000
#define EXCEPTION_BUDGET 256
#define STOP_DEADLINE_MS 5000 /* a leadership transfer takes up to an election timeout */
#define RETIRE_CAPACITY 256 /* three objects per publish; more waits for the workers */

static uv_loop_t loop;
static uv_timer_t poll_timer, stop_deadline;
static bool stopping;
static uv_signal_t sig_hup, sig_int, sig_term;
static uv_async_t reload_async, stop_async, drain_async;
static bool draining; /* a drain (bgp) runs; a stop follows it */
static bool drain_ready; /* drain_async may be sent */
static pthread_t control_thread;
/* Without the manager: the file the running tables come from, which a
 * reload is compared with (the tables hold a spec, not the file). With the
 * manager, the manager keeps it (sl_manager_file_config()). */
static struct sl_config file_cfg;

/* A reload asked for from another thread (telemetry) waits here. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	bool pending, done;
	int rc;
	char msg[512];
} reload_req = { .lock = PTHREAD_MUTEX_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER };

static uint32_t now_ms(void)
{
	return (uint32_t)(rte_rdtsc() / (rte_get_tsc_hz() / 1000));
}

static void free_tables(void *t)
{
	sl_tables_free(t);
}

static void free_neigh_table(void *t)
{
	sl_neigh_table_free(t);
}

/* Swap in a snapshot with the given new parts (NULL = keep); what was
 * replaced is freed once every worker has passed a quiescent state. */
static int publish(struct sl_app *app, struct sl_tables *tables, struct sl_neigh_table *neigh)
{
	struct sl_snapshot *old = app->snapshot;
	struct sl_snapshot *next = malloc(sizeof(*next));
	if (next == NULL)
		return -1;
	next->tables = tables ? tables : old->tables;
	next->neigh = neigh ? neigh : old->neigh;
	__atomic_store_n(&app->snapshot, next, __ATOMIC_RELEASE);
	if (tables != NULL)
		sl_retire_defer(app->retire, free_tables, (void *)old->tables);
	if (neigh != NULL)
		sl_retire_defer(app->retire, free_neigh_table, (void *)old->neigh);
	sl_retire_defer(app->retire, free, old);
	return 0;
}

static int republish_neighbours(struct sl_app *app)
{
	struct sl_neigh_table *t = sl_neigh_table_build(app->neigh);
	if (t == NULL)
		return -1;
	return publish(app, NULL, t);
}

static void want_next_hop(struct sl_app *app, int family, const union sl_addr *dst)
{
	union sl_addr nh;
	sl_route_lookup(app->snapshot->neigh, family, dst, &nh);
	if (!sl_addr_is_zero(&nh))
		sl_neigh_want(app->neigh, family, &nh);
}

/* Hand a frame to worker 0, which owns a transmit queue on every port. */
static void send_frame(struct sl_app *app, uint16_t cfg_port, const uint8_t *frame, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(app->pool);
	if (m == NULL)
		return;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (p == NULL || rte_ring_enqueue(app->lcore[0]->from_control, m) != 0) {
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(p, frame, len);
	m->port = cfg_port;
}

static bool handle_exceptions(struct sl_app *app, uint32_t now)
{
	struct rte_mbuf *m[EXCEPTION_BUDGET];
	uint8_t out[SL_FRAME_MAX];
	bool changed = false;
	unsigned n = rte_ring_dequeue_burst(app->to_control, (void **)m, EXCEPTION_BUDGET, NULL);
	for (unsigned i = 0; i < n; i++) {
		bool c = false;
		uint32_t len = sl_neigh_input(app->neigh, m[i]->port, rte_pktmbuf_mtod(m[i], uint8_t *),
					      rte_pktmbuf_data_len(m[i]), out, &c, now);
		if (len > 0)
			send_frame(app, m[i]->port, out, len);
		changed |= c;
		if (sl_exception_neigh_copy(app, m[i])) /* the kernel resolves its neighbours too */
			m[i] = NULL;
	}
	rte_pktmbuf_free_bulk(m, n); /* skips NULL */
	return changed;
}

static void collect_wants(struct sl_app *app)
{
	struct sl_neigh_want want;
	for (unsigned i = 0; i < app->nb_workers; i++)
		while (rte_ring_dequeue_elem(app->lcore[i]->w.wants, &want, sizeof(want)) == 0)
			sl_neigh_want(app->neigh, (int)want.family, &want.addr);
}

static void send_solicitations(struct sl_app *app, uint32_t now)
{
	uint8_t out[SL_FRAME_MAX];
	uint16_t port;
	uint32_t len;
	for (unsigned budget = 64; budget > 0; budget--) {
		len = sl_neigh_solicit(app->neigh, out, &port, now, NEIGH_REFRESH_MS);
		if (len == 0)
			break;
		send_frame(app, port, out, len);
	}
}

static void on_poll(uv_timer_t *t)
{
	struct sl_app *app = t->data;
	uint32_t now = now_ms();
	bool changed = handle_exceptions(app, now);
	sl_exception_poll(app, now);
	sl_bgp_poll(app, now);
	sl_retire_reclaim(app->retire);
	collect_wants(app);
	send_solicitations(app, now);
	if (changed && republish_neighbours(app) < 0)
		sl_log("cannot build the neighbour table (out of memory); keeping the old one");
}

static void note_build_time(struct sl_app *app, uint64_t us)
{
	app->builds++;
	app->build_us_last = us;
	if (us > app->build_us_max)
		app->build_us_max = us;
}

/* The data-plane spec of the file (without the manager; with it, the
 * manager makes the spec from the replicated state, sl_mgr_state_to_spec). */
static int spec_of(const struct sl_config *cfg, struct sl_spec *spec, char *msg, size_t msglen)
{
	if (sl_spec_from_config(cfg, spec) == 0)
		return 0;
	snprintf(msg, msglen, "out of memory converting the configuration to a data-plane spec");
	return -1;
}

/* A table build in steps (sl_tables_job), one at a time: each step builds
 * for at most STEP_MS. The steps run as an idle handle, once per turn of
 * the loop, with timers and I/O (Raft, the API) between them; a zero timer
 * would not do, as libuv 1.44 runs a timer started by a timer callback in
 * the same pass. */
#define STEP_MS 10
static struct {
	struct sl_tables_job *job;
	uint64_t start;         /* uv_hrtime() when it began */
	sl_control_built_cb done;
	void *arg;
	uv_idle_t idle;
} staged;

/* The ports decide every next hop (gateways, connected prefixes): when
 * they changed, all services' are wanted again. */
static bool ports_changed(const struct sl_tables *t, const struct sl_tables *prev)
{
	return prev == NULL || t->spec.nb_ports != prev->spec.nb_ports ||
	       memcmp(t->spec.ports, prev->spec.ports, t->spec.nb_ports * sizeof(t->spec.ports[0])) != 0;
}

static void want_service_next_hops(struct sl_app *app, const struct sl_spec *spec,
				   const struct sl_spec_service *svc)
{
	for (unsigned d = 0; d < svc->nb_backends; d++) {
		if (spec->roles & SL_ROLE_MUX)
			want_next_hop(app, svc->family, &svc->backends[d].host);
		if (spec->roles & SL_ROLE_HOST)
			want_next_hop(app, svc->family, &svc->backends[d].addr);
	}
}

/* Everything the data path will need a MAC for, known from the spec: the
 * gateways, and the hosts (mux) or DIPs (host agent) of services built
 * anew (only those: a change costs what it changed). Wants stay
 * (NE_WANTED), so shared services' are there already, and the workers
 * ask for any next hop they miss. */
static void want_specified_next_hops(struct sl_app *app, const struct sl_tables *t,
				     const struct sl_tables *prev)
{
	const struct sl_spec *spec = &t->spec;
	for (unsigned p = 0; p < spec->nb_ports; p++) {
		if (!sl_addr_is_zero(&spec->ports[p].gateway4))
			sl_neigh_want(app->neigh, SL_AF_INET, &spec->ports[p].gateway4);
		if (!sl_addr_is_zero(&spec->ports[p].gateway6))
			sl_neigh_want(app->neigh, SL_AF_INET6, &spec->ports[p].gateway6);
	}
	if (ports_changed(t, prev)) {
		for (uint32_t v = 0; v < spec->nb_services; v++)
			want_service_next_hops(app, spec, &spec->services[v]);
		return;
	}
	uint32_t n;
	const uint32_t *anew = sl_tables_built_anew(t, &n);
	for (uint32_t i = 0; i < n; i++)
		want_service_next_hops(app, spec, &spec->services[anew[i]]);
}

/* Publish tables built since start; message either way. */
static int publish_built(struct sl_app *app, struct sl_tables *t, uint64_t start, char *msg,
			 size_t msglen)
{
	const struct sl_tables *prev = app->snapshot->tables; /* retired, not freed yet */
	if (publish(app, t, NULL) != 0) {
		snprintf(msg, msglen, "out of memory publishing the tables");
		sl_tables_free(t);
		return -1;
	}
	app->generation++;
	app->nb_vips = t->spec.nb_services;
	note_build_time(app, (uv_hrtime() - start) / 1000);
	want_specified_next_hops(app, t, prev);
	snprintf(msg, msglen, "configuration applied (generation %llu, %u VIPs)",
		 (unsigned long long)app->generation, t->spec.nb_services);
	return 0;
}

/* A build in steps holds the running tables as the ones it shares from:
 * nothing else may replace them meanwhile, so another apply ends it. */
static void cancel_staged(void)
{
	if (staged.job == NULL)
		return;
	sl_tables_job_cancel(staged.job);
	staged.job = NULL;
	uv_idle_stop(&staged.idle);
	staged.done(1, "superseded by a newer apply", staged.arg);
}

int sl_control_apply_spec(struct sl_app *app, struct sl_spec *spec, char *msg, size_t msglen)
{
	cancel_staged();
	uint64_t start = uv_hrtime();
	struct sl_tables *t = sl_tables_build(spec, app->hw, app->snapshot->tables, app->generation + 1,
					      msg, msglen);
	return t != NULL ? publish_built(app, t, start, msg, msglen) : -1;
}

static void staged_step(uv_idle_t *h)
{
	struct sl_app *app = h->data;
	char msg[512];
	int rc = sl_tables_job_run(staged.job, uv_hrtime() + STEP_MS * 1000000ull, msg, sizeof(msg));
	if (rc == 0) {
		if (!uv_is_active((uv_handle_t *)h))
			uv_idle_start(h, staged_step);
		return;
	}
	uv_idle_stop(h);
	struct sl_tables_job *j = staged.job;
	staged.job = NULL;
	if (rc == 1)
		rc = publish_built(app, sl_tables_job_finish(j), staged.start, msg, sizeof(msg));
	else
		sl_tables_job_cancel(j);
	staged.done(rc, msg, staged.arg);
}

void sl_control_apply_spec_staged(struct sl_app *app, struct sl_spec *spec, sl_control_built_cb done,
				  void *arg)
{
	char msg[512];
	cancel_staged();
	staged.start = uv_hrtime();
	staged.job = sl_tables_job_start(spec, app->hw, app->snapshot->tables, app->generation + 1, msg,
					 sizeof(msg));
	if (staged.job == NULL) {
		done(-1, msg, arg);
		return;
	}
	staged.done = done;
	staged.arg = arg;
	staged.idle.data = app;
	staged_step(&staged.idle); /* a small change is built and published at once */
}

/* Without the manager: apply the file next and keep it as the one a
 * later reload is compared with; on failure the running one stays. */
static int apply_file(struct sl_app *app, struct sl_config *next, char *msg, size_t msglen)
{
	struct sl_spec spec;
	if (spec_of(next, &spec, msg, msglen) != 0 ||
	    sl_control_apply_spec(app, &spec, msg, msglen) != 0) {
		sl_config_free(next);
		return -1;
	}
	sl_config_free(&file_cfg);
	file_cfg = *next;
	memset(next, 0, sizeof(*next)); /* kept in file_cfg */
	return 0;
}

static int reload(struct sl_app *app, char *msg, size_t msglen)
{
	struct sl_config next;
	const struct sl_config *cur = sl_manager_enabled() ? sl_manager_file_config() : &file_cfg;
	if (sl_config_load(app->config_path, &next, msg, msglen) != 0)
		return -1;
	if (!sl_config_reloadable(cur, &next, msg, msglen)) {
		sl_config_free(&next);
		return -1;
	}
	/* VIPs come from the replicated state, and the manager decides about
	 * the tunnel sources (the file's apply until the cluster sets some). */
	if (sl_manager_enabled())
		return sl_manager_reload(&next, msg, msglen);
	return apply_file(app, &next, msg, msglen);
}

static void log_reload(struct sl_app *app)
{
	char msg[512];
	if (reload(app, msg, sizeof(msg)) == 0)
		sl_log("reload: %s", msg);
	else
		sl_log("reload rejected, still running generation %llu: %s",
		       (unsigned long long)app->generation, msg);
}

/* Workers keep forwarding while the manager hands over; then all stop. */
static void stop_now(void)
{
	sl_app.quit = true;
	uv_stop(&loop);
}

static void on_stop_deadline(uv_timer_t *t)
{
	(void)t;
	sl_log("graceful stop took over %d ms; stopping now", STOP_DEADLINE_MS);
	stop_now();
}

static void begin_stop(void)
{
	stopping = true;
	uv_timer_start(&stop_deadline, on_stop_deadline, STOP_DEADLINE_MS, 0);
	sl_manager_stop(stop_now);
}

static void on_drained(void)
{
	if (!stopping)
		begin_stop();
}

/* Withdraw first, stop once the VIP traffic has gone (bgp.c); true if a
 * drain runs (or ran) now. */
static bool begin_drain(void)
{
	if (!draining && !stopping)
		draining = sl_bgp_drain(on_drained);
	return draining;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct sl_app *app = h->data;
	if (signum == SIGHUP) {
		log_reload(app);
		return;
	}
	if (stopping) { /* a second signal: stop now */
		sl_log("signal %d: stopping at once", signum);
		stop_now();
		return;
	}
	if (signum == SIGTERM && !draining && sl_bgp_drain_on_sigterm() && begin_drain()) {
		sl_log("signal %d: draining (another signal stops without waiting)", signum);
		return;
	}
	sl_log("signal %d: stopping", signum);
	begin_stop();
}

static void on_drain_async(uv_async_t *h)
{
	(void)h;
	if (!draining && begin_drain())
		sl_log("drain asked (telemetry)");
}

int sl_control_request_drain(void)
{
	if (!__atomic_load_n(&drain_ready, __ATOMIC_ACQUIRE))
		return -1; /* telemetry answers before the control loop runs */
	uv_async_send(&drain_async);
	return 0;
}

static void on_reload_async(uv_async_t *h)
{
	struct sl_app *app = h->data;
	pthread_mutex_lock(&reload_req.lock);
	if (reload_req.pending) {
		reload_req.rc = reload(app, reload_req.msg, sizeof(reload_req.msg));
		sl_log("reload (telemetry): %s%s", reload_req.rc == 0 ? "" : "rejected: ", reload_req.msg);
		reload_req.pending = false;
		reload_req.done = true;
		pthread_cond_broadcast(&reload_req.done_cv);
	}
	pthread_mutex_unlock(&reload_req.lock);
}

static void on_stop_async(uv_async_t *h)
{
	(void)h;
	uv_stop(&loop);
}

int sl_control_request_reload(struct sl_app *app, char *msg, size_t msglen)
{
	(void)app;
	pthread_mutex_lock(&reload_req.lock);
	while (reload_req.pending) /* one at a time */
		pthread_cond_wait(&reload_req.done_cv, &reload_req.lock);
	reload_req.pending = true;
	reload_req.done = false;
	uv_async_send(&reload_async);
	while (!reload_req.done)
		pthread_cond_wait(&reload_req.done_cv, &reload_req.lock);
	int rc = reload_req.rc;
	snprintf(msg, msglen, "%s", reload_req.msg);
	reload_req.done = false;
	pthread_cond_broadcast(&reload_req.done_cv);
	pthread_mutex_unlock(&reload_req.lock);
	return rc;
}

/* The first spec: the file's, or with the manager the replicated state's
 * merged into the file (which the manager then keeps; else control does). */
static int initial_spec(struct sl_app *app, struct sl_config *cfg, struct sl_spec *spec, char *err,
			size_t errlen)
{
	if (!cfg->manager.enabled) {
		file_cfg = *cfg;
		memset(cfg, 0, sizeof(*cfg)); /* kept in file_cfg */
		return spec_of(&file_cfg, spec, err, errlen);
	}
	return sl_manager_init(app, cfg, spec, err, errlen);
}

int sl_control_init(struct sl_app *app, struct sl_config *cfg, char *err, size_t errlen)
{
	struct sl_spec spec;
	if (initial_spec(app, cfg, &spec, err, errlen) != 0)
		return -1;
	struct sl_tables *t = sl_tables_build(&spec, app->hw, NULL, 1, err, errlen);
	if (t == NULL)
		return -1;
	app->generation = 1;
	app->roles = t->spec.roles;
	app->nb_vips = t->spec.nb_services;
	app->neigh = sl_neigh_cache_create(&t->local);
	struct sl_neigh_table *nt = app->neigh ? sl_neigh_table_build(app->neigh) : NULL;
	app->snapshot = malloc(sizeof(*app->snapshot));
	if (nt == NULL || app->snapshot == NULL) {
		snprintf(err, errlen, "out of memory building the neighbour table");
		sl_tables_free(t);
		return -1;
	}
	app->snapshot->tables = t;
	app->snapshot->neigh = nt;
	app->retire = sl_retire_create(app->qsbr, RETIRE_CAPACITY);
	if (app->retire == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	want_specified_next_hops(app, t, NULL);
	return 0;
}

static void init_signal(uv_signal_t *h, struct sl_app *app, int signum)
{
	uv_signal_init(&loop, h);
	h->data = app;
	uv_signal_start(h, on_signal, signum);
}

static void *control_main(void *arg)
{
	struct sl_app *app = arg;
	uv_run(&loop, UV_RUN_DEFAULT);
	app->quit = true;
	return NULL;
}

int sl_control_start(struct sl_app *app, char *err, size_t errlen)
{
	uv_loop_init(&loop);
	if (sl_manager_start(&loop, err, errlen) != 0)
		return -1;
	uv_timer_init(&loop, &poll_timer);
	uv_timer_init(&loop, &stop_deadline);
	uv_idle_init(&loop, &staged.idle);
	poll_timer.data = app;
	uv_timer_start(&poll_timer, on_poll, 0, POLL_MS);
	init_signal(&sig_hup, app, SIGHUP);
	init_signal(&sig_int, app, SIGINT);
	init_signal(&sig_term, app, SIGTERM);
	uv_async_init(&loop, &reload_async, on_reload_async);
	reload_async.data = app;
	uv_async_init(&loop, &stop_async, on_stop_async);
	uv_async_init(&loop, &drain_async, on_drain_async);
	__atomic_store_n(&drain_ready, true, __ATOMIC_RELEASE);
	snprintf(err, errlen, "cannot start the control thread");
	return rte_ctrl_thread_create(&control_thread, "sl-control", NULL, control_main, app);
}

/* Called once the workers have stopped: nothing reads retired tables now. */
void sl_control_stop(struct sl_app *app)
{
	uv_async_send(&stop_async);
	pthread_join(control_thread, NULL);
	sl_tables_job_cancel(staged.job); /* the loop has ended: nothing steps it */
	staged.job = NULL;
	sl_retire_destroy(app->retire);
	app->retire = NULL;
	sl_config_free(&file_cfg);
}
