/*
 * Core of the manager state: transactions, command dispatch (the core
 * commands "batch" and "bootstrap", and the command tables of the
 * sections), and the canonical encoding.
 */
#include <stdlib.h>
#include <string.h>

#include "manager/section.h"

/* Every section of the state, in no particular order: encodings sort members. */
static const struct sl_mgr_section *const sections[] = {
	&sl_mgr_vips_section,
	&sl_mgr_members_section,
	&sl_mgr_tunnel_sources_section,
	&sl_mgr_pops_section,
};
#define NB_SECTIONS (sizeof(sections) / sizeof(sections[0]))

/* Members of a snapshot besides the sections. */
static const char *const snapshot_members[] = {"format", "generation", "index", NULL};

const char *sl_mgr_code_name(enum sl_mgr_code code)
{
	static const char *const names[] = {
		[SL_MGR_OK] = "ok",         [SL_MGR_EINVAL] = "invalid", [SL_MGR_ENOENT] = "not found",
		[SL_MGR_EEXIST] = "exists", [SL_MGR_ELIMIT] = "limit",   [SL_MGR_ESTATE] = "state",
		[SL_MGR_ENOMEM] = "no memory",
	};
	return (unsigned)code < sizeof(names) / sizeof(names[0]) ? names[code] : "?";
}

/* ------------------------------------------------------------ lifecycle */

struct sl_mgr_state *sl_mgr_state_new(void)
{
	struct sl_mgr_state *s = calloc(1, sizeof(struct sl_mgr_state));
	if (s != NULL && (s->agents = sl_mgr_agents_new()) == NULL) {
		free(s);
		s = NULL;
	}
	return s;
}

static void release(struct sl_mgr_state *s)
{
	for (size_t i = 0; i < NB_SECTIONS; i++)
		sections[i]->release(s);
	memset(s, 0, sizeof(*s));
}

void sl_mgr_state_free(struct sl_mgr_state *s)
{
	if (s == NULL)
		return;
	release(s);
	free(s);
}

/* ------------------------------------------------------------ transactions */

/* Drop the working copy: only what the transaction made is freed. */
static void txn_abort(struct sl_mgr_txn *t)
{
	for (size_t i = 0; i < NB_SECTIONS; i++)
		if (sections[i]->abort != NULL)
			sections[i]->abort(t);
		else
			sections[i]->release(t->work);
	memset(t->work, 0, sizeof(*t->work));
}

/* t->work takes the place of old (NULL: of nothing); the caller then
 * moves it there. */
static void txn_commit(struct sl_mgr_txn *t, struct sl_mgr_state *old)
{
	for (size_t i = 0; i < NB_SECTIONS; i++)
		if (sections[i]->commit != NULL)
			sections[i]->commit(t, old);
		else if (old != NULL)
			sections[i]->release(old);
}

/* A working copy of s: scalars copied, sections lent. */
static int txn_begin(struct sl_mgr_txn *t, const struct sl_mgr_state *s, struct sl_mgr_state *work,
		     struct sl_mgr_err *err)
{
	memset(work, 0, sizeof(*work));
	*t = (struct sl_mgr_txn){.work = work};
	work->generation = s->generation;
	work->index = s->index;
	for (size_t i = 0; i < NB_SECTIONS; i++)
		if (sections[i]->clone(work, s) < 0) {
			txn_abort(t);
			return sl_mgr_fail_oom(err);
		}
	return 0;
}

/* ------------------------------------------------------------ dispatch */

static int run_command(struct sl_mgr_txn *t, const json_t *cmd, bool nested,
		       struct sl_mgr_err *err);

static int op_batch(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	const json_t *list, *c;
	size_t i;
	if (sl_mgr_get_array(cmd, "commands", true, SL_MGR_MAX_BATCH, &list, err) < 0)
		return -1;
	if (json_array_size(list) == 0)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "commands: empty batch");
	/* One after the other on the same working copy: later commands see
	 * what earlier ones did, and any error drops the whole copy. */
	json_array_foreach((json_t *)list, i, c) {
		if (run_command(t, c, true, err) < 0) {
			sl_mgr_err_prefix(err, "commands.[%zu]", i);
			return -1;
		}
	}
	return 0;
}

static const struct sl_mgr_section *section_named(const char *name)
{
	for (size_t i = 0; i < NB_SECTIONS; i++)
		if (strcmp(sections[i]->name, name) == 0)
			return sections[i];
	return NULL;
}

/* Fail on members of obj that are neither in fixed[] nor a section's name. */
static int check_section_members(const json_t *obj, const char *const fixed[],
				 struct sl_mgr_err *err)
{
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		bool known = section_named(key) != NULL;
		for (size_t i = 0; !known && fixed[i] != NULL; i++)
			known = strcmp(key, fixed[i]) == 0;
		if (!known)
			return sl_mgr_fail(err, SL_MGR_EINVAL, "%.64s: unknown member", key);
	}
	return 0;
}

/* Fill the (empty) sections of t->work from obj's section members; a
 * section that is absent stays empty (snapshots older than the section). */
static int decode_sections(struct sl_mgr_txn *t, const json_t *obj, struct sl_mgr_err *err)
{
	for (size_t i = 0; i < NB_SECTIONS; i++) {
		const json_t *v = json_object_get(obj, sections[i]->name);
		if (v != NULL && sections[i]->decode(t, v, err) < 0) {
			sl_mgr_err_path(err, "%s", sections[i]->name);
			return -1;
		}
	}
	return 0;
}

/*
 * bootstrap: the first state of a new cluster, in the snapshot's section
 * form. Accepted only while nothing has ever changed, so that if two
 * instances both propose one, the log decides and every replica refuses
 * the second alike.
 */
static int op_bootstrap(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	static const char *const fixed[] = {"op", NULL};
	if (t->work->generation != 0)
		return sl_mgr_fail(err, SL_MGR_ESTATE,
				   "the cluster already has a state (generation %llu); bootstrap "
				   "only starts a new one",
				   (unsigned long long)t->work->generation);
	if (check_section_members(cmd, fixed, err) < 0)
		return -1;
	return decode_sections(t, cmd, err);
}

/* bootstrap's members depend on the sections: checked by the op itself. */
static const char *const m_any[] = {NULL};
static const char *const m_batch[] = {"op", "commands", NULL};

static const struct sl_mgr_op core_ops[] = {
	{"batch", m_batch, op_batch},
	{"bootstrap", m_any, op_bootstrap},
	{NULL, NULL, NULL},
};

static const struct sl_mgr_op *op_in(const struct sl_mgr_op *ops, const char *name)
{
	for (; ops->name != NULL; ops++)
		if (strcmp(ops->name, name) == 0)
			return ops;
	return NULL;
}

static const struct sl_mgr_op *op_named(const char *name)
{
	const struct sl_mgr_op *op = op_in(core_ops, name);
	for (size_t i = 0; op == NULL && i < NB_SECTIONS; i++)
		op = op_in(sections[i]->ops, name);
	return op;
}

static int run_command(struct sl_mgr_txn *t, const json_t *cmd, bool nested,
		       struct sl_mgr_err *err)
{
	const json_t *name;
	if (!json_is_object(cmd))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "a command must be a JSON object");
	name = json_object_get(cmd, "op");
	if (!json_is_string(name))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "op: required string member is missing");
	const char *text = json_string_value(name);
	const struct sl_mgr_op *op = op_named(text);
	if (op == NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "op: '%.64s' is not a command", text);
	/* A batch is one transaction; these two are transactions of their own. */
	if (nested && op_in(core_ops, text) != NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: not allowed inside a batch", text);
	if ((op->members[0] != NULL && sl_mgr_check_members(cmd, op->members, err) < 0) ||
	    op->run(t, cmd, err) < 0) {
		sl_mgr_err_prefix(err, "%s", text);
		return -1;
	}
	return 0;
}

/* Whole-state invariants of the sections the transaction touched; on
 * failure the transaction is aborted. */
static int txn_check(struct sl_mgr_txn *t, struct sl_mgr_err *err)
{
	for (size_t i = 0; i < NB_SECTIONS; i++)
		if ((t->flags & sections[i]->check_flags) && sections[i]->check(t, err) < 0) {
			txn_abort(t);
			return -1;
		}
	return 0;
}

/* Run cmd on a working copy of s; *work is the new state on success, t
 * to commit or abort. */
static int transact(const struct sl_mgr_state *s, const json_t *cmd, uint64_t index,
		    struct sl_mgr_state *work, struct sl_mgr_txn *t, struct sl_mgr_err *err)
{
	if (txn_begin(t, s, work, err) < 0)
		return -1;
	if (run_command(t, cmd, false, err) < 0) {
		txn_abort(t);
		return -1;
	}
	if (txn_check(t, err) < 0)
		return -1;
	work->generation++;
	work->index = index;
	return 0;
}

int sl_mgr_validate(const struct sl_mgr_state *s, const json_t *cmd, struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	struct sl_mgr_state work;
	struct sl_mgr_txn t;
	if (err == NULL)
		err = &dummy;
	/* The same path as apply, so the verdicts cannot drift apart. */
	if (transact(s, cmd, s->index, &work, &t, err) < 0)
		return -1;
	txn_abort(&t);
	err->code = SL_MGR_OK;
	err->msg[0] = '\0';
	return 0;
}

int sl_mgr_apply_entry(struct sl_mgr_state *s, const json_t *cmd, uint64_t index,
		       struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	struct sl_mgr_state work;
	struct sl_mgr_txn t;
	if (err == NULL)
		err = &dummy;
	if (transact(s, cmd, index, &work, &t, err) < 0)
		return -1;
	txn_commit(&t, s);
	*s = work;
	err->code = SL_MGR_OK;
	err->msg[0] = '\0';
	return 0;
}

int sl_mgr_apply(struct sl_mgr_state *s, const json_t *cmd, struct sl_mgr_err *err)
{
	return sl_mgr_apply_entry(s, cmd, s->index, err);
}

/* ------------------------------------------------------------ encoding */

static json_t *parse_object(const void *buf, size_t len, struct sl_mgr_err *err)
{
	json_error_t je;
	/* Duplicate members would let two readers see two different commands. */
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		/* Running out of memory is not the command's fault: the Raft
		 * apply must not refuse it on one replica only. */
		if (json_error_code(&je) == json_error_out_of_memory)
			sl_mgr_fail_oom(err);
		else
			sl_mgr_fail(err, SL_MGR_EINVAL, "invalid JSON at line %d column %d: %s",
				    je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		sl_mgr_fail(err, SL_MGR_EINVAL, "must be a JSON object");
		return NULL;
	}
	return o;
}

json_t *sl_mgr_cmd_parse(const void *buf, size_t len, struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	return parse_object(buf, len, err != NULL ? err : &dummy);
}

json_t *sl_mgr_state_to_json(const struct sl_mgr_state *s)
{
	json_t *o = json_pack("{s:i, s:I, s:I}", "format", SL_MGR_FORMAT, "generation",
			      (json_int_t)s->generation, "index", (json_int_t)s->index);
	for (size_t i = 0; o != NULL && i < NB_SECTIONS; i++)
		if (sl_mgr_set_new(o, sections[i]->name, sections[i]->encode(s)) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

int sl_mgr_state_encode(const struct sl_mgr_state *s, char **out, size_t *len,
			struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	json_t *o = sl_mgr_state_to_json(s);
	/* Sorted members and compact output make the bytes a function of the state. */
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (text == NULL)
		return sl_mgr_fail_oom(err != NULL ? err : &dummy);
	*out = text;
	*len = strlen(text);
	return 0;
}

/* A non-negative integer member that fits 63 bits (json_int_t). */
static int get_u64(const json_t *o, const char *key, uint64_t *out, struct sl_mgr_err *err)
{
	const json_t *v = json_object_get(o, key);
	if (v == NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: required member is missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: must be a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Decoded into a working copy of the empty s, so that a snapshot broken
 * halfway frees what it made like any refused command. */
static int decode_into(struct sl_mgr_state *s, const json_t *root, struct sl_mgr_err *err)
{
	uint32_t format;
	struct sl_mgr_state work;
	struct sl_mgr_txn t;
	if (txn_begin(&t, s, &work, err) < 0)
		return -1;
	t.flags = ~0u; /* every check: nothing here was checked before */
	if (check_section_members(root, snapshot_members, err) < 0 ||
	    sl_mgr_get_uint(root, "format", true, 1, SL_MGR_FORMAT, 0, &format, err) < 0 ||
	    get_u64(root, "generation", &work.generation, err) < 0 ||
	    get_u64(root, "index", &work.index, err) < 0 || decode_sections(&t, root, err) < 0) {
		txn_abort(&t);
		return -1;
	}
	if (txn_check(&t, err) < 0)
		return -1;
	txn_commit(&t, s);
	*s = work;
	return 0;
}

struct sl_mgr_state *sl_mgr_state_decode(const void *buf, size_t len, struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	if (err == NULL)
		err = &dummy;
	json_t *root = parse_object(buf, len, err);
	struct sl_mgr_state *s = root != NULL ? sl_mgr_state_new() : NULL;
	if (root != NULL && s == NULL)
		sl_mgr_fail_oom(err);
	if (s != NULL && decode_into(s, root, err) < 0) {
		sl_mgr_state_free(s);
		s = NULL;
	}
	json_decref(root);
	return s;
}
