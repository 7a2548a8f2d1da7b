/*
 * The embedded manager on the control thread: a libraft replica (libuv
 * I/O, TCP transport) whose state machine (lib/manager) holds the VIPs and
 * DIPs, and the API (lib/api) whose writes become log entries.
 *
 * Committing an entry is the only way a change reaches the data plane:
 * every applied entry schedules a rebuild on the next turn of the loop,
 * which builds the tables from the replicated state plus this instance's
 * file (ports, roles, capacities) and publishes them by RCU. The file's
 * VIPs only bootstrap a new cluster: the first leader proposes them once.
 * Its host.tunnel_sources are what this host agent uses until the cluster
 * sets a list of its own (set_tunnel_sources, or a bootstrap from a file
 * with the host role).
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "api/api.h"
#include "manager/fsm.h"
#include "manager/lead.h"
#include "manager/state.h"
#include "sluice.h"

#define TICK_MS 5
#define SNAPSHOT_THRESHOLD 1024 /* entries between snapshots (libraft's default) */
/* Retry hints in 503 answers: a new leader's barrier commits within a
 * round trip; an election takes up to two election timeouts. */
#define RETRY_CATCHING_UP_MS 10
#define RETRY_NO_LEADER_MS 50

struct manager {
	struct sl_app *app;
	struct sl_config base;          /* this instance's file; its VIPs only bootstrap */
	struct raft_uv_transport transport;
	struct raft_io io;
	struct raft raft;
	struct sl_mgr_fsm fsm;
	struct sl_mgr_lead lead;        /* readiness, confirmed reads and refusals */
	struct sl_api *api;
	uv_timer_t tick;
	uv_timer_t rebuild;             /* active: applied entries not yet in the data plane */
	uint64_t dataplane_generation;  /* state generation the data plane last took */
	bool building;                  /* tables of building_generation being built in steps */
	bool rebuild_again;             /* the state changed meanwhile */
	uint64_t building_generation;
	uint64_t trimmed_at;            /* fsm.applied_bytes at the last malloc_trim() */
	bool bootstrapping;             /* a bootstrap proposal is in flight */
	bool bootstrap_refused;         /* the state refused the file's VIPs: not tried again */
	struct {                        /* the bootstrap command being prepared (maybe_bootstrap) */
		enum { BS_NONE, BS_BUILD, BS_CHECK, BS_ENCODE } phase;
		json_t *cmd;
		unsigned next;          /* BS_BUILD: the file's VIPs before this one are in */
		uv_work_t work;         /* BS_ENCODE: encoding on a worker thread */
		struct raft_buffer buf;
		int rc;
	} bs;
};

static struct manager mgr;
static void (*stop_done)(void); /* set once a graceful stop has begun */

/* A write waiting for its entry to be applied (or to fail). */
struct pending {
	union {
		struct raft_apply apply;
		struct raft_change change;
		struct raft_transfer transfer;
	} req;
	sl_api_done_cb done;
	void *api_req;
	int ok_status;                  /* from the API's route (201 for creates), else 200 */
	struct sl_api_call call;        /* a linearizable read: what to read, once confirmed */
	json_t *cmd;                    /* waiting for confirmation: the write */
	struct sl_mgr_confirm confirm;
	int role;                       /* member_add: role to assign once added */
	bool added;                     /* member_add: raft_add done, the role not yet */
	int failed;                     /* member_add: why the role failed, while undoing */
	raft_id id;
	bool removing;                  /* member_remove: forget its API URL once removed */
	char api[SL_MGR_API_LEN];       /* member_add: its API URL, recorded once added */
};

static bool enabled(void)
{
	return mgr.app != NULL;
}

static int http_status(enum sl_mgr_code code)
{
	switch (code) {
	case SL_MGR_OK:
		return 200;
	case SL_MGR_EINVAL:
		return 400;
	case SL_MGR_ENOENT:
		return 404;
	case SL_MGR_EEXIST:
	case SL_MGR_ELIMIT:
	case SL_MGR_ESTATE:
		return 409;
	case SL_MGR_ENOMEM:
		break;
	}
	return 503;
}

static json_t *error_reply(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

/* A 503 worth repeating soon: the API turns retry_after_ms into Retry-After. */
static json_t *retry_reply(const char *msg, unsigned retry_ms)
{
	return json_pack("{s:s, s:i}", "error", msg, "retry_after_ms", (int)retry_ms);
}

/* ---- data plane ---- */

static void on_changed(struct sl_mgr_fsm *m, void *arg);

/* Freed memory glibc keeps (a large entry's JSON, a replaced state) goes
 * back to the system once this many bytes of entries or snapshots were
 * applied since the last time. */
#define TRIM_AFTER_BYTES (1u << 20)

static void on_built(int rc, const char *msg, void *arg)
{
	(void)arg;
	mgr.building = false;
	if (rc == 0)
		mgr.dataplane_generation = mgr.building_generation;
	else if (rc < 0)
		sl_log("manager: cannot apply generation %llu: %s",
		       (unsigned long long)mgr.building_generation, msg);
	if (mgr.rebuild_again) { /* changed while building: once more, on the next turn */
		mgr.rebuild_again = false;
		on_changed(&mgr.fsm, NULL);
	} else if (mgr.fsm.applied_bytes - mgr.trimmed_at >= TRIM_AFTER_BYTES) {
		mgr.trimmed_at = mgr.fsm.applied_bytes;
		malloc_trim(0);
	}
}

static void rebuild_tables(void)
{
	struct sl_spec spec;
	struct sl_mgr_err err;
	/* PoPs reach the announcements, not the tables: at once. */
	sl_bgp_set_pops(mgr.fsm.state->pops, mgr.fsm.state->nb_pops);
	if (mgr.building) { /* the build in steps takes what it started from first */
		mgr.rebuild_again = true;
		return;
	}
	if (sl_mgr_state_to_spec(mgr.fsm.state, &mgr.base, &spec, &err) != 0) {
		/* Committed but not applicable here (e.g. more DIPs than this mux's
		 * Maglev size): keep serving the previous tables, say why. */
		sl_log("manager: generation %llu not applied to the data path: %s",
		       (unsigned long long)mgr.fsm.state->generation, err.msg);
		return;
	}
	/* In steps: a bootstrap or a restored snapshot of thousands of VIPs
	 * must not hold the loop (and Raft's heartbeats) for its whole build. */
	mgr.building = true;
	mgr.building_generation = mgr.fsm.state->generation;
	sl_control_apply_spec_staged(mgr.app, &spec, on_built, NULL);
}

static void on_rebuild(uv_timer_t *t)
{
	(void)t;
	rebuild_tables();
}

/* A zero timer runs on the next turn of the loop, after every entry this
 * turn applies: a replay of many entries rebuilds once, a single change
 * at once. */
static void on_changed(struct sl_mgr_fsm *m, void *arg)
{
	(void)m;
	(void)arg;
	if (!uv_is_active((uv_handle_t *)&mgr.rebuild))
		uv_timer_start(&mgr.rebuild, on_rebuild, 0, 0);
}

/* ---- proposals ---- */

static void finish(struct pending *p, int status, json_t *reply)
{
	if (p->done != NULL)
		p->done(p->api_req, status, reply);
	else
		json_decref(reply);
	json_decref(p->cmd);
	free(p);
}

/* A proposal that failed after raft took it: once appended, an entry of a
 * leader that lost its leadership or stopped may still be committed by the
 * next leader, so the client must not take this as a refusal. */
static json_t *not_committed_reply(int status)
{
	char msg[256];
	if (status == RAFT_LEADERSHIPLOST || status == RAFT_SHUTDOWN) {
		snprintf(msg, sizeof(msg),
			 "outcome unknown: %s before the change was known to be committed; it may "
			 "still take effect (read it back with consistency=linearizable)",
			 raft_strerror(status));
		return json_pack("{s:s, s:s, s:i}", "error", msg, "outcome", "unknown",
				 "retry_after_ms", RETRY_NO_LEADER_MS);
	}
	snprintf(msg, sizeof(msg), "not committed: %s", raft_strerror(status));
	return retry_reply(msg, RETRY_NO_LEADER_MS);
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
	struct pending *p = req->data;
	const struct sl_mgr_result *r = result;
	if (status != 0 || r == NULL) {
		finish(p, 503, not_committed_reply(status != 0 ? status : RAFT_SHUTDOWN));
		return;
	}
	if (r->code != SL_MGR_OK) {
		finish(p, http_status(r->code), error_reply(r->msg));
		return;
	}
	finish(p, p->ok_status, json_pack("{s:I, s:I}", "generation", (json_int_t)r->generation,
					  "index", (json_int_t)r->index));
}

/* Propose buf (cmd's encoding; raft's once taken) for p. */
static void append_buffer(const json_t *cmd, struct pending *p, struct raft_buffer buf)
{
	p->req.apply.data = p;
	int rc = raft_apply(&mgr.raft, &p->req.apply, &buf, 1, on_applied);
	if (rc != 0) {
		raft_free(buf.base);
		finish(p, 503, retry_reply(raft_strerror(rc), RETRY_NO_LEADER_MS));
		return;
	}
	/* applying its entry here need not parse it again (large ones) */
	sl_mgr_fsm_proposed(&mgr.fsm, &buf, json_incref((json_t *)cmd));
}

static void append(const json_t *cmd, struct pending *p)
{
	struct raft_buffer buf;
	struct sl_mgr_err err;
	if (sl_mgr_cmd_to_buffer(cmd, &buf, &err) != 0) {
		finish(p, 503, error_reply(err.msg));
		return;
	}
	append_buffer(cmd, p, buf);
}

/* Why a confirmation failed, as a 503 the client may repeat. */
static void finish_unconfirmed(struct pending *p, int status)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "could not confirm this member still leads: %s; retry",
		 raft_strerror(status));
	finish(p, 503, retry_reply(msg, RETRY_NO_LEADER_MS));
}

/* A refusal is an answer about the state, so it is given only from a state
 * confirmed current after the request arrived: a deposed leader that does
 * not know it yet, or one whose state lags, must not refuse what another
 * leader's acknowledged write made valid. */
static void on_refusal_confirmed(struct sl_mgr_confirm *c, int status)
{
	struct pending *p = c->data;
	struct sl_mgr_err err;
	if (status != 0)
		finish_unconfirmed(p, status);
	else if (sl_mgr_validate(mgr.fsm.state, p->cmd, &err) != 0)
		finish(p, http_status(err.code), error_reply(err.msg));
	else
		append(p->cmd, p);
}

static void confirm(json_t *cmd, struct pending *p, sl_mgr_confirm_cb cb)
{
	p->cmd = json_incref(cmd);
	p->confirm.cb = cb;
	p->confirm.data = p;
	sl_mgr_lead_confirm(&mgr.lead, &p->confirm);
}

/* Make a command action's arguments its log entry: they get the "op" the
 * state machine knows it by, the log's format that older members read too
 * (SL_MGR_ACTIONS names it). Returns 0, or -1 when out of memory (args
 * NULL included). */
static int name_command(json_t *args, enum sl_mgr_action a)
{
	return json_object_set_new(args, "op", json_string(sl_mgr_action_name(a)));
}

/* Writes are validated against a state that holds every committed entry
 * (a quick 4xx without a log entry when it is clearly wrong; the state
 * machine checks again when the entry applies). */
static int propose(json_t *cmd, struct pending *p)
{
	struct sl_mgr_err err;
	if (sl_mgr_validate(mgr.fsm.state, cmd, &err) != 0)
		confirm(cmd, p, on_refusal_confirmed);
	else
		append(cmd, p);
	return 0;
}

static void on_bootstrap_done(void *req, int status, json_t *reply)
{
	(void)req;
	mgr.bootstrapping = false;
	/* A 503 (leadership lost, say) is tried again by the next ready leader;
	 * a refusal would be refused again. */
	mgr.bootstrap_refused = status >= 400 && status < 500;
	if (status >= 300)
		sl_log("manager: bootstrap from %s: %d %s%s", mgr.base.path, status,
		       json_string_value(json_object_get(reply, "error")),
		       mgr.bootstrap_refused ? "; the cluster starts empty" : "");
	else if (mgr.base.roles & SL_ROLE_HOST) /* its file's list, set for the cluster */
		sl_log("manager: cluster bootstrapped from %s (%u VIPs, %u tunnel sources for "
		       "every host agent)", mgr.base.path, mgr.base.nb_vips, mgr.base.nb_tunnel_sources);
	else /* no host role, no list to give: sl_mgr_cmd_bootstrap() leaves it unset */
		sl_log("manager: cluster bootstrapped from %s (%u VIPs; tunnel sources not set: each "
		       "host agent uses its own host.tunnel_sources until 'sluicectl tunnel-sources "
		       "set')", mgr.base.path, mgr.base.nb_vips);
	json_decref(reply);
}

/*
 * The first leader of a new cluster proposes the file's VIPs, once. With
 * thousands of VIPs each step takes long (10,000 VIPs x 8 DIPs: building
 * the command ~160 ms, checking it ~75, encoding it ~220, several times
 * that on a loaded machine), and a leader whose loop misses the
 * heartbeats for an election timeout loses its lead: so the command is
 * built BOOTSTRAP_VIPS_PER_TICK VIPs per tick, checked on a tick of its
 * own, and encoded on a libuv worker thread (nothing else holds the
 * command meanwhile), then appended.
 */
#define BOOTSTRAP_VIPS_PER_TICK 1000

static void bootstrap_reset(void)
{
	if (mgr.bs.phase == BS_ENCODE)
		return; /* the thread has the command: after_encode drops it */
	json_decref(mgr.bs.cmd);
	mgr.bs.cmd = NULL;
	mgr.bs.phase = BS_NONE;
}

/* Is this member (still) the one to propose the file's VIPs now? */
static bool bootstrap_due(void)
{
	/* Only a ready leader knows generation 0 means a new cluster, not a
	 * state it has yet to apply. */
	return !mgr.bootstrapping && !mgr.bootstrap_refused && mgr.fsm.state->generation == 0 &&
	       sl_mgr_lead_ready(&mgr.lead);
}

static void encode_bootstrap(uv_work_t *req)
{
	(void)req; /* on a worker thread: reads only mgr.bs.cmd */
	mgr.bs.rc = sl_mgr_cmd_to_buffer(mgr.bs.cmd, &mgr.bs.buf, NULL);
}

static void propose_bootstrap(json_t *cmd, bool checked, struct raft_buffer *buf)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		if (buf != NULL)
			raft_free(buf->base);
		json_decref(cmd);
		return;
	}
	mgr.bootstrapping = true;
	p->done = on_bootstrap_done;
	p->ok_status = 200;
	if (checked) /* on an earlier tick, on a state of generation 0 as now */
		append_buffer(cmd, p, *buf);
	else
		propose(cmd, p); /* refused: confirmed, then answered like any write */
	json_decref(cmd);
}

static void after_encode(uv_work_t *req, int status)
{
	(void)req;
	json_t *cmd = mgr.bs.cmd;
	mgr.bs.cmd = NULL;
	mgr.bs.phase = BS_NONE;
	if (status != 0 || mgr.bs.rc != 0) {
		json_decref(cmd); /* tried again from the start on a later tick */
		return;
	}
	if (!bootstrap_due()) {
		raft_free(mgr.bs.buf.base);
		json_decref(cmd);
		return;
	}
	propose_bootstrap(cmd, true, &mgr.bs.buf);
}

static void maybe_bootstrap(void)
{
	struct sl_mgr_err err;
	if (mgr.bootstrapping || mgr.bootstrap_refused || mgr.fsm.state->generation != 0) {
		bootstrap_reset();
		return;
	}
	if (!bootstrap_due())
		return;
	switch (mgr.bs.phase) {
	case BS_NONE:
		if ((mgr.bs.cmd = sl_mgr_cmd_bootstrap_begin(&mgr.base, &err)) != NULL) {
			mgr.bs.next = 0;
			mgr.bs.phase = BS_BUILD;
		}
		break;
	case BS_BUILD: {
		int rc = sl_mgr_cmd_bootstrap_add(mgr.bs.cmd, &mgr.base, &mgr.bs.next,
						  BOOTSTRAP_VIPS_PER_TICK, &err);
		if (rc < 0)
			bootstrap_reset();
		else if (rc == 1)
			mgr.bs.phase = BS_CHECK;
		break;
	}
	case BS_CHECK:
		if (sl_mgr_validate(mgr.fsm.state, mgr.bs.cmd, &err) != 0) {
			json_t *cmd = mgr.bs.cmd;
			mgr.bs.cmd = NULL;
			mgr.bs.phase = BS_NONE;
			propose_bootstrap(cmd, false, NULL);
		} else if (uv_queue_work(mgr.tick.loop, &mgr.bs.work, encode_bootstrap, after_encode) == 0) {
			mgr.bs.phase = BS_ENCODE;
		}
		break;
	case BS_ENCODE:
		break;
	}
}

/*
 * libraft 0.15's disk log serves one barrier at a time (fixed upstream
 * after 0.15, "UvBarrier: A barrier can have multiple barrier requests"):
 * when a snapshot and a truncation of conflicting entries want one
 * together — a deposed leader catching up, whose first message from the
 * new leader both commits old entries (a snapshot falls due) and replaces
 * its uncommitted ones — the truncation is lost on disk. The member runs
 * on correctly, but once restarted it reads its log shifted and its state
 * differs from the others' (found by the fault lab test). Only entries
 * past the commit index can be truncated, so no snapshot is taken while
 * there are any; a quiet moment, seen at the next tick, lets it through.
 */
static void guard_snapshots(void)
{
	static unsigned current = SNAPSHOT_THRESHOLD;
	unsigned want = raft_last_index(&mgr.raft) > mgr.raft.commit_index ? UINT_MAX : SNAPSHOT_THRESHOLD;
	if (want != current) {
		raft_set_snapshot_threshold(&mgr.raft, want);
		current = want;
	}
}

static void on_tick(uv_timer_t *t)
{
	(void)t;
	sl_mgr_fsm_collect(&mgr.fsm); /* large commands applied on an earlier turn */
	guard_snapshots();
	sl_mgr_lead_tick(&mgr.lead);
	maybe_bootstrap();
}

/* A leader answers writes once its state holds everything committed, and,
 * in a new cluster, the file's VIPs: a write about one of them must not be
 * refused because the bootstrap is a few milliseconds behind. */
static bool ready_for_writes(void)
{
	return sl_mgr_lead_ready(&mgr.lead) &&
	       (mgr.fsm.state->generation != 0 || mgr.bootstrap_refused);
}

/* ---- leadership and membership ---- */

/* The leader this member knows of, 0 when none. */
static raft_id leader_id(void)
{
	raft_id id = 0;
	const char *address = NULL;
	raft_leader(&mgr.raft, &id, &address);
	return id;
}

/* The API URL the replicated state holds for a member, or NULL. */
static const char *replicated_api(raft_id id)
{
	return id <= UINT32_MAX ? sl_mgr_member_api(mgr.fsm.state, (uint32_t)id) : NULL;
}

/* Replicated first (members added at run time), then this file's. */
static const char *member_api(raft_id id)
{
	const char *api = replicated_api(id);
	if (api != NULL)
		return api;
	for (unsigned i = 0; i < mgr.base.manager.nb_members; i++)
		if (mgr.base.manager.members[i].id == id)
			return mgr.base.manager.members[i].api;
	return "";
}

/* Writes go to the leader: tell the client where it is (307) or that none is known (503). */
static bool redirect_to_leader(sl_api_done_cb done, void *req)
{
	if (raft_state(&mgr.raft) == RAFT_LEADER)
		return false;
	raft_id id = leader_id();
	const char *api = id != 0 ? member_api(id) : "";
	if (api[0] != '\0')
		done(req, 307, json_pack("{s:s}", "leader", api));
	else if (id != 0) /* not worth repeating: configure members' api URLs */
		done(req, 503, json_pack("{s:s, s:n}", "error", "the leader has no known API address",
					 "leader"));
	else
		done(req, 503, json_pack("{s:s, s:n, s:i}", "error", "no leader elected at the moment",
					 "leader", "retry_after_ms", RETRY_NO_LEADER_MS));
	return true;
}

static void on_change_done(struct raft_change *req, int status);

/* A member is added in two changes: raft_add makes it a spare, then
 * raft_assign gives it the role asked for (none when that is spare:
 * libraft refuses to assign the role a member already has). */
static void on_added(struct raft_change *req, int status)
{
	struct pending *p = req->data;
	if (status != 0 || p->role == RAFT_SPARE) {
		on_change_done(req, status);
		return;
	}
	p->added = true;
	int rc = raft_assign(&mgr.raft, &p->req.change, p->id, p->role, on_change_done);
	if (rc != 0)
		on_change_done(req, rc);
}

static void on_member_api_done(void *req, int status, json_t *reply)
{
	(void)req;
	if (status >= 300)
		sl_log("manager: recording a member's API URL: %d %s", status,
		       json_string_value(json_object_get(reply, "error")));
	json_decref(reply);
}

/* After a membership change: record where the new member serves the API,
 * or forget a removed one's, so followers can send clients to it. */
static void propose_member_api(raft_id id, const char *api)
{
	if (api[0] == '\0' && replicated_api(id) == NULL)
		return;
	json_t *cmd = json_pack("{s:I, s:s}", "id", (json_int_t)id, "api", api);
	struct pending *p = calloc(1, sizeof(*p));
	if (name_command(cmd, SL_MGR_MEMBER_API) != 0 || p == NULL) {
		sl_log("manager: out of memory recording member %llu's API URL", (unsigned long long)id);
		free(p);
	} else {
		p->done = on_member_api_done;
		propose(cmd, p);
	}
	json_decref(cmd);
}

/* libraft's answers to a membership change or transfer as HTTP statuses
 * (docs/api.md, "Errors"); what it did not take is worth repeating only
 * when another change was under way. */
static void finish_raft_error(struct pending *p, int rc, const char *msg)
{
	switch (rc) {
	case RAFT_BADID:
		finish(p, 404, error_reply(msg));
		break;
	case RAFT_DUPLICATEID:
	case RAFT_DUPLICATEADDRESS:
	case RAFT_BADROLE:
	case RAFT_NOTFOUND:
		finish(p, 409, error_reply(msg));
		break;
	case RAFT_NOTLEADER:
	case RAFT_CANTCHANGE:
		finish(p, 503, retry_reply(msg, RETRY_NO_LEADER_MS));
		break;
	default: /* e.g. RAFT_NOCONNECTION: the new voter did not catch up */
		finish(p, 503, error_reply(msg));
	}
}

/* The member added for a role it did not get is removed again, so a
 * refused member_add leaves the membership as it was. */
static void on_undone(struct raft_change *req, int status)
{
	struct pending *p = req->data;
	char msg[320];
	if (status == 0) {
		snprintf(msg, sizeof(msg), "member %llu not added: %s (it was added as a spare and "
			 "removed again)", (unsigned long long)p->id, raft_strerror(p->failed));
		finish_raft_error(p, p->failed, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "member %llu was added as a spare but not given its role (%s), "
		 "and removing it failed (%s): check GET /v1/cluster", (unsigned long long)p->id,
		 raft_strerror(p->failed), raft_strerror(status));
	finish(p, 503, json_pack("{s:s, s:s}", "error", msg, "outcome", "unknown"));
}

static void undo_add(struct pending *p, int status)
{
	p->added = false;
	p->failed = status;
	int rc = raft_remove(&mgr.raft, &p->req.change, p->id, on_undone);
	if (rc != 0)
		on_undone(&p->req.change, rc);
}

static void on_change_done(struct raft_change *req, int status)
{
	struct pending *p = req->data;
	if (status != 0 && p->added) {
		undo_add(p, status);
		return;
	}
	if (status == RAFT_LEADERSHIPLOST || status == RAFT_SHUTDOWN) {
		finish(p, 503, not_committed_reply(status)); /* appended: may still commit */
		return;
	}
	if (status != 0) {
		finish_raft_error(p, status, raft_strerror(status));
		return;
	}
	if (p->removing || p->api[0] != '\0')
		propose_member_api(p->id, p->removing ? "" : p->api);
	finish(p, 200, json_pack("{s:I}", "id", (json_int_t)p->id));
}

/* libraft calls back when the transfer ends either way: say which. */
static void on_transferred(struct raft_transfer *req)
{
	struct pending *p = req->data;
	raft_id id = leader_id();
	if (id == mgr.raft.id)
		finish(p, 409, error_reply("leadership did not move: no voter caught up within the "
					   "election timeout"));
	else
		finish(p, 200, json_pack("{s:I}", "leader", (json_int_t)id));
}

/* RAFT_VOTER, RAFT_SPARE or RAFT_STANDBY (no name: voter), or -1. */
static int role_of(const char *name)
{
	if (name == NULL || strcmp(name, "voter") == 0)
		return RAFT_VOTER;
	if (strcmp(name, "spare") == 0)
		return RAFT_SPARE;
	return strcmp(name, "standby") == 0 ? RAFT_STANDBY : -1;
}

static const struct raft_server *member_of(raft_id id)
{
	for (unsigned i = 0; i < mgr.raft.configuration.n; i++)
		if (mgr.raft.configuration.servers[i].id == id)
			return &mgr.raft.configuration.servers[i];
	return NULL;
}

/* member_add of a member already in: a new role (standby -> voter is how a
 * caught-up member starts voting), never a new address. */
static int change_role(const struct raft_server *s, const char *address, struct pending *p)
{
	if (strcmp(s->address, address) != 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "member %llu is already in, at %s; remove it first to move it",
			 (unsigned long long)s->id, s->address);
		finish(p, 409, error_reply(msg));
		return 0;
	}
	if (s->role == p->role) {
		on_change_done(&p->req.change, 0);
		return 0;
	}
	return raft_assign(&mgr.raft, &p->req.change, p->id, p->role, on_change_done);
}

/* Refusals found before touching Raft, so that a refused request changes
 * nothing: each returns the status with msg filled, or 0. */

/* member_remove and transfer: an unknown member is 404 (libraft answers
 * RAFT_BADID for it, and for a transfer to itself or a non-voter too). */
static int target_refusal(bool transfer, raft_id id, char *msg, size_t len)
{
	const struct raft_server *s = member_of(id);
	if (id == 0 && transfer)
		return 0; /* Raft picks the voter */
	if (s == NULL) {
		snprintf(msg, len, "no member %llu", (unsigned long long)id);
		return 404;
	}
	if (transfer && (id == mgr.raft.id || s->role != RAFT_VOTER)) {
		snprintf(msg, len, "member %llu %s", (unsigned long long)id,
			 id == mgr.raft.id ? "leads already" : "is not a voter");
		return 409;
	}
	return 0;
}

static int add_refusal(const json_t *cmd, raft_id id, char *msg, size_t len)
{
	if (role_of(json_string_value(json_object_get(cmd, "role"))) < 0) {
		snprintf(msg, len, "role: must be \"voter\", \"spare\" or \"standby\"");
		return 400;
	}
	if (id > SL_MGR_MEMBER_ID_MAX && json_string_length(json_object_get(cmd, "api")) > 0) {
		snprintf(msg, len, "api: a member's API URL can be recorded for ids up to %u only",
			 SL_MGR_MEMBER_ID_MAX);
		return 400;
	}
	return 0;
}

static int member_add(const json_t *cmd, struct pending *p)
{
	p->role = role_of(json_string_value(json_object_get(cmd, "role")));
	const char *api = json_string_value(json_object_get(cmd, "api"));
	snprintf(p->api, sizeof(p->api), "%s", api ? api : "");
	const char *address = json_string_value(json_object_get(cmd, "address"));
	const struct raft_server *s = member_of(p->id);
	return s != NULL ? change_role(s, address ? address : "", p)
			 : raft_add(&mgr.raft, &p->req.change, p->id, address ? address : "", on_added);
}

/* SL_MGR_MEMBER_ADD, SL_MGR_MEMBER_REMOVE or SL_MGR_TRANSFER: libraft
 * calls, not log entries of ours. */
static void cluster_op(enum sl_mgr_action a, const json_t *args, struct pending *p)
{
	char msg[160];
	int rc, status;
	p->id = (raft_id)json_integer_value(json_object_get(args, "id"));
	p->req.change.data = p;
	status = a == SL_MGR_MEMBER_ADD ? add_refusal(args, p->id, msg, sizeof(msg))
					: target_refusal(a == SL_MGR_TRANSFER, p->id, msg, sizeof(msg));
	if (status != 0) {
		finish(p, status, error_reply(msg));
		return;
	}
	if (a == SL_MGR_MEMBER_ADD) {
		rc = member_add(args, p);
	} else if (a == SL_MGR_MEMBER_REMOVE) {
		p->removing = true;
		rc = raft_remove(&mgr.raft, &p->req.change, p->id, on_change_done);
	} else {
		p->req.transfer.data = p;
		rc = raft_transfer(&mgr.raft, &p->req.transfer, p->id, on_transferred);
	}
	if (rc != 0)
		finish_raft_error(p, rc, raft_strerror(rc));
}

/* ---- API backend ---- */

static void on_read_confirmed(struct sl_mgr_confirm *c, int status);

/* A write on a ready leader, by the kind of its action. */
static void write_action(enum sl_mgr_action a, json_t *args, struct pending *p)
{
	if (sl_mgr_action_kind(a) == SL_MGR_KIND_MEMBERSHIP)
		cluster_op(a, args, p);
	else if (name_command(args, a) != 0)
		finish(p, 503, error_reply("out of memory"));
	else
		propose(args, p);
}

static int api_submit(void *ctx, const struct sl_api_call *call, json_t *args, sl_api_done_cb done,
		      void *req)
{
	(void)ctx;
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		json_decref(args);
		return -1;
	}
	p->done = done;
	p->api_req = req;
	p->ok_status = call->ok_status;
	p->call = *call;
	if (stop_done != NULL) {
		done(req, 503, retry_reply("this member is stopping; retry on another", 0));
		free(p);
	} else if (redirect_to_leader(done, req)) {
		free(p);
	} else if (sl_mgr_action_kind(call->action) == SL_MGR_KIND_READ) {
		confirm(NULL, p, on_read_confirmed);
	} else if (!ready_for_writes()) {
		/* Membership changes wait too: Raft allows one only once the
		 * leader has committed an entry of its own term. */
		finish(p, 503, retry_reply("this member has just become leader and is applying what "
					   "earlier leaders committed; retry", RETRY_CATCHING_UP_MS));
	} else {
		write_action(call->action, args, p);
	}
	json_decref(args);
	return 0;
}

static const char *role_name(int role)
{
	return role == RAFT_VOTER ? "voter" : role == RAFT_STANDBY ? "standby" : "spare";
}

static json_t *member_json(unsigned i, raft_index last)
{
	const struct raft_server *s = &mgr.raft.configuration.servers[i];
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)s->id, "address", s->address,
			      "role", role_name(s->role), "api", member_api(s->id));
	if (o != NULL && raft_state(&mgr.raft) == RAFT_LEADER && mgr.raft.leader_state.progress != NULL) {
		raft_index match = s->id == mgr.raft.id ? last : mgr.raft.leader_state.progress[i].match_index;
		json_object_set_new(o, "match_index", json_integer((json_int_t)match));
		json_object_set_new(o, "lag", json_integer((json_int_t)(last - match)));
	}
	return o;
}

static json_t *cluster_json(void)
{
	raft_id leader = 0;
	const char *address = NULL;
	raft_leader(&mgr.raft, &leader, &address);
	raft_index last = raft_last_index(&mgr.raft);
	static const char *const states[] = { "unavailable", "follower", "candidate", "leader" };
	int st = raft_state(&mgr.raft);
	json_t *members = json_array();
	for (unsigned i = 0; members != NULL && i < mgr.raft.configuration.n; i++)
		json_array_append_new(members, member_json(i, last));
	json_t *lead = leader != 0 ? json_pack("{s:I, s:s, s:s}", "id", (json_int_t)leader, "address",
					       address ? address : "", "api", member_api(leader))
				   : json_null();
	json_t *fsm = json_pack("{s:I, s:I, s:I, s:I, s:s}", "applied", (json_int_t)mgr.fsm.n_applied, "refused",
				(json_int_t)mgr.fsm.n_refused, "snapshots", (json_int_t)mgr.fsm.n_snapshots,
				"restores", (json_int_t)mgr.fsm.n_restores, "last_result", mgr.fsm.result.msg);
	/* ready: a leader that answers writes; barriers: empty entries it
	 * committed to become ready or to confirm reads and refusals. */
	json_t *leadership = json_pack("{s:b, s:I, s:I, s:I}", "ready", sl_mgr_lead_ready(&mgr.lead),
				       "barriers", (json_int_t)mgr.lead.n_barriers, "confirmed",
				       (json_int_t)mgr.lead.n_confirmed, "confirm_failed",
				       (json_int_t)mgr.lead.n_failed);
	return json_pack("{s:o, s:o, s:o*, s:I, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:o}", "fsm", fsm,
			 "leadership", leadership, "api", mgr.api ? sl_api_stats(mgr.api) : NULL,
			 "id", (json_int_t)mgr.raft.id,
			 "state", st >= 0 && st <= 3 ? states[st] : "unknown", "leader", lead, "term",
			 (json_int_t)mgr.raft.current_term, "commit_index", (json_int_t)mgr.raft.commit_index,
			 "applied_index", (json_int_t)raft_last_applied(&mgr.raft), "last_index",
			 (json_int_t)last, "generation", (json_int_t)mgr.fsm.state->generation, "members",
			 members);
}

/* Reads say how fresh they are: the last Raft entry this member applied
 * and the state generation it made, and whether this instance's data plane
 * already serves it ("dataplane_generation"). */
static json_t *with_generations(json_t *o)
{
	if (o != NULL) {
		json_object_set_new(o, "generation", json_integer((json_int_t)mgr.fsm.state->generation));
		json_object_set_new(o, "dataplane_generation",
				    json_integer((json_int_t)mgr.dataplane_generation));
		json_object_set_new(o, "applied_index",
				    json_integer((json_int_t)raft_last_applied(&mgr.raft)));
		json_object_set_new(o, "term", json_integer((json_int_t)mgr.raft.current_term));
	}
	return o;
}

static json_t *api_freshness(void *ctx)
{
	(void)ctx;
	return with_generations(json_pack("{s:s}", "consistency", "local"));
}

/* The replica's VIP with the API's parsed key, or NULL. */
static const struct sl_mgr_vip *find_vip(const struct sl_api_vip_key *k)
{
	struct sl_mgr_vip key = {.family = k->family, .proto = k->proto, .port = k->port};
	/* The API's numbers are the manager's: families 4 and 6, IANA protocols. */
	_Static_assert(SL_AF_INET == 4 && SL_AF_INET6 == 6, "address families");
	_Static_assert(SL_PROTO_TCP == 6 && SL_PROTO_UDP == 17, "protocol numbers");
	_Static_assert(sizeof(key.addr) == sizeof(k->addr), "both hold IPv6, IPv4 in front");
	memcpy(&key.addr, k->addr, sizeof(key.addr));
	return sl_mgr_vip_find(mgr.fsm.state, &key);
}

/* One VIP with its DIPs' live state, or just {"dips"}; NULL: no such VIP. */
static json_t *vip_json(const struct sl_api_vip_key *k, bool dips_only)
{
	const struct sl_mgr_vip *v = find_vip(k);
	json_t *o = v != NULL ? sl_mgr_vip_status_json(v) : NULL;
	if (o == NULL || !dips_only)
		return o;
	json_t *d = json_pack("{s:O}", "dips", json_object_get(o, "dips"));
	json_decref(o);
	return d;
}

/* What a read shows, without its freshness; NULL: no such VIP. */
static json_t *read_state(const struct sl_api_call *call)
{
	switch (call->action) {
	case SL_MGR_READ_CLUSTER:
		return cluster_json();
	case SL_MGR_READ_VIPS:
		return sl_mgr_state_status_json(mgr.fsm.state);
	case SL_MGR_READ_TUNNEL_SOURCES:
		return sl_mgr_tunnel_sources_json(mgr.fsm.state, &mgr.base);
	case SL_MGR_READ_POPS:
		return sl_mgr_pops_json(mgr.fsm.state);
	case SL_MGR_READ_VIP:
	case SL_MGR_READ_DIPS:
		return call->has_vip ? vip_json(&call->vip, call->action == SL_MGR_READ_DIPS) : NULL;
	default: /* not a read */
		return NULL;
	}
}

static json_t *api_get(void *ctx, const struct sl_api_call *call)
{
	(void)ctx;
	return read_state(call);
}

/* A linearizable read, answered from the state once confirmed current. */
static void on_read_confirmed(struct sl_mgr_confirm *c, int status)
{
	struct pending *p = c->data;
	if (status != 0) {
		finish_unconfirmed(p, status);
		return;
	}
	json_t *o = read_state(&p->call);
	if (o == NULL) {
		char msg[160];
		snprintf(msg, sizeof(msg), "no VIP %s", p->call.vip.text);
		o = error_reply(msg);
	}
	int code = json_object_get(o, "error") != NULL ? 404 : 200;
	json_object_set_new(o, "consistency", json_string("linearizable"));
	finish(p, code, with_generations(o));
}

static int start_api(uv_loop_t *loop, const struct sl_manager_cfg *mc, char *err, size_t errlen)
{
	if (mc->api_listen[0] == '\0' && mc->api_socket[0] == '\0')
		return 0;
#define OPT(s) ((s)[0] != '\0' ? (s) : NULL)
	struct sl_api_config ac = {
		.listen = OPT(mc->api_listen),
		.cert_file = OPT(mc->api_cert),
		.key_file = OPT(mc->api_key),
		.client_ca_file = OPT(mc->api_client_ca),
		.token_file = OPT(mc->api_token_file),
		.socket_path = OPT(mc->api_socket),
		.socket_mode = mc->api_socket_mode,
		.max_connections = mc->api_max_connections,
		.max_connections_per_source = mc->api_max_connections_per_source,
	};
#undef OPT
	struct sl_api_backend b = { .ctx = &mgr, .submit = api_submit, .get = api_get,
				    .freshness = api_freshness };
	mgr.api = sl_api_start(loop, &ac, &b, err, errlen);
	return mgr.api != NULL ? 0 : -1;
}

/* ---- start-up ---- */

static int make_dir(const char *path, char *err, size_t errlen)
{
	char tmp[SL_PATH_LEN];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0700);
			*p = '/';
		}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "manager: cannot create data directory %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int bootstrap_membership(const struct sl_manager_cfg *mc, char *err, size_t errlen)
{
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	int rc = 0;
	for (unsigned i = 0; rc == 0 && i < mc->nb_members; i++)
		rc = raft_configuration_add(&conf, mc->members[i].id, mc->members[i].address,
					    mc->members[i].voter ? RAFT_VOTER : RAFT_STANDBY);
	if (rc == 0)
		rc = raft_bootstrap(&mgr.raft, &conf);
	raft_configuration_close(&conf);
	if (rc != 0 && rc != RAFT_CANTBOOTSTRAP) { /* CANTBOOTSTRAP: state exists, we restart */
		snprintf(err, errlen, "manager: bootstrap: %s", raft_errmsg(&mgr.raft));
		return -1;
	}
	return 0;
}

static const char *own_address(const struct sl_manager_cfg *mc)
{
	for (unsigned i = 0; i < mc->nb_members; i++)
		if (mc->members[i].id == mc->id)
			return mc->members[i].address;
	return "";
}

int sl_manager_init(struct sl_app *app, struct sl_config *cfg, struct sl_spec *initial, char *err,
		    size_t errlen)
{
	struct sl_mgr_err merr;
	memset(&mgr, 0, sizeof(mgr));
	if (sl_mgr_fsm_init(&mgr.fsm) != 0) {
		snprintf(err, errlen, "manager: out of memory");
		return -1;
	}
	/* Until the log says otherwise this instance serves no VIP and takes
	 * tunnels from its file's sources. */
	if (sl_mgr_state_to_spec(mgr.fsm.state, cfg, initial, &merr) != 0) {
		snprintf(err, errlen, "manager: %s", merr.msg);
		return -1;
	}
	mgr.base = *cfg;
	memset(cfg, 0, sizeof(*cfg)); /* the manager owns the file's configuration now */
	mgr.app = app;
	mgr.fsm.changed = on_changed;
	return 0;
}

int sl_manager_start(uv_loop_t *loop, char *err, size_t errlen)
{
	const struct sl_manager_cfg *mc = &mgr.base.manager;
	int rc;
	if (!enabled())
		return 0;
	if (make_dir(mc->data_dir, err, errlen) != 0)
		return -1;
	uv_timer_init(loop, &mgr.rebuild);
	if ((rc = raft_uv_tcp_init(&mgr.transport, loop)) != 0 ||
	    (rc = raft_uv_init(&mgr.io, loop, mc->data_dir, &mgr.transport)) != 0 ||
	    (rc = raft_init(&mgr.raft, &mgr.io, &mgr.fsm.fsm, mc->id, own_address(mc))) != 0) {
		snprintf(err, errlen, "manager: raft set-up in %s: %s", mc->data_dir, raft_strerror(rc));
		return -1;
	}
	sl_mgr_fsm_bind(&mgr.fsm, &mgr.raft);
	sl_mgr_lead_init(&mgr.lead, &mgr.raft);
	/* Pre-vote: a member that lost touch with the others (a partition, a
	 * pause) asks whether it could win before it raises its term, so it
	 * cannot depose a healthy leader when it comes back, and a split
	 * first round does not cost a second term. */
	raft_set_pre_vote(&mgr.raft, true);
	raft_set_snapshot_threshold(&mgr.raft, SNAPSHOT_THRESHOLD);
	/* Followers learn that an entry is committed from the next message of
	 * the leader: a short heartbeat is what bounds how long their data
	 * planes lag the leader's (libraft's default is 100 ms). */
	raft_set_heartbeat_timeout(&mgr.raft, mc->heartbeat_ms);
	raft_set_election_timeout(&mgr.raft, mc->election_timeout_ms);
	/* A joining member takes its membership from the leader's log; its own
	 * bootstrap entry would disagree with the cluster's at index 1. */
	if (!mc->join && bootstrap_membership(mc, err, errlen) != 0)
		return -1;
	if ((rc = raft_start(&mgr.raft)) != 0) {
		snprintf(err, errlen, "manager: raft start: %s", raft_errmsg(&mgr.raft));
		return -1;
	}
	if (start_api(loop, mc, err, errlen) != 0)
		return -1;
	uv_timer_init(loop, &mgr.tick);
	uv_timer_start(&mgr.tick, on_tick, TICK_MS, TICK_MS);
	sl_log("manager: member %u at %s, data in %s%s", mc->id, own_address(mc), mc->data_dir,
	       mc->join ? "; joining: waiting for the leader to add it (sluicectl member add)" : "");
	return 0;
}

bool sl_manager_enabled(void)
{
	return enabled();
}

const struct sl_config *sl_manager_file_config(void)
{
	return &mgr.base;
}

/* A reloaded file: keep the replicated VIPs (and tunnel sources, once set),
 * take everything else from the file. */
int sl_manager_reload(struct sl_config *next, char *msg, size_t msglen)
{
	struct sl_spec spec;
	struct sl_mgr_err err;
	if (!sl_mgr_reloadable(mgr.fsm.state, &mgr.base, next, msg, msglen)) {
		sl_config_free(next);
		return -1;
	}
	if (sl_mgr_state_to_spec(mgr.fsm.state, next, &spec, &err) != 0) {
		snprintf(msg, msglen, "%s", err.msg);
		sl_config_free(next);
		return -1;
	}
	sl_config_free(&mgr.base);
	mgr.base = *next;
	memset(next, 0, sizeof(*next));
	bootstrap_reset(); /* a bootstrap being built takes the new file's VIPs */
	return sl_control_apply_spec(mgr.app, &spec, msg, msglen);
}

/* ---- graceful stop ---- */

static void on_raft_closed(struct raft *r)
{
	(void)r;
	sl_api_stop(mgr.api); /* removes the socket file; the process exits next */
	mgr.api = NULL;
	raft_uv_close(&mgr.io);
	raft_uv_tcp_close(&mgr.transport);
	sl_log("manager: Raft closed");
	stop_done();
}

static void close_raft(void)
{
	sl_mgr_lead_close(&mgr.lead);
	raft_close(&mgr.raft, on_raft_closed);
}

static void on_stop_transfer(struct raft_transfer *req)
{
	raft_id id = leader_id();
	if (id != 0 && id != mgr.raft.id)
		sl_log("manager: leadership handed to member %llu", (unsigned long long)id);
	else
		sl_log("manager: no member took leadership over; stopping anyway");
	free(req);
	close_raft();
}

/* Another voter to hand leadership to, so the cluster does not wait an
 * election timeout to notice this leader is gone. */
static bool has_other_voter(void)
{
	for (unsigned i = 0; i < mgr.raft.configuration.n; i++) {
		const struct raft_server *s = &mgr.raft.configuration.servers[i];
		if (s->id != mgr.raft.id && s->role == RAFT_VOTER)
			return true;
	}
	return false;
}

void sl_manager_stop(void (*done)(void))
{
	if (!enabled() || stop_done != NULL) {
		done();
		return;
	}
	stop_done = done;
	if (raft_state(&mgr.raft) == RAFT_LEADER && has_other_voter()) {
		struct raft_transfer *req = calloc(1, sizeof(*req));
		if (req != NULL && raft_transfer(&mgr.raft, req, 0, on_stop_transfer) == 0) {
			sl_log("manager: handing leadership over before stopping");
			return;
		}
		free(req);
	}
	close_raft();
}
