/*
 * The "members" section: each Raft member's API URL.
 *
 *   {"op": "member_api", "id": 4, "api": "https://192.0.2.14:8443"}   set or replace
 *   {"op": "member_api", "id": 4, "api": ""}                          forget
 *
 * Raft's own configuration holds who votes; this holds only where clients
 * are sent when that member leads. Bootstrap seeds it from the file's
 * members; the API sets it when a member is added with an "api" and
 * forgets it when the member is removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/section.h"

static const char *const member_fields[] = {"id", "api", NULL};

static int get_api(const json_t *obj, char out[SL_MGR_API_LEN], struct sl_mgr_err *err)
{
	const json_t *v = json_object_get(obj, "api");
	if (v == NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "api: required string member is missing");
	if (!json_is_string(v))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "api: must be a string");
	const char *text = json_string_value(v);
	size_t len = json_string_length(v);
	if (len >= SL_MGR_API_LEN)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "api: longer than %d characters",
				   SL_MGR_API_LEN - 1);
	if (len > 0 && (strncmp(text, "https://", 8) != 0 || len == 8 || strlen(text) != len))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "api: '%.64s' is not an https:// URL", text);
	memcpy(out, text, len + 1);
	return 0;
}

static uint32_t find(const struct sl_mgr_state *s, uint32_t id)
{
	uint32_t i = 0;
	while (i < s->nb_members && s->members[i].id < id)
		i++;
	return i;
}

const char *sl_mgr_member_api(const struct sl_mgr_state *s, uint32_t id)
{
	uint32_t i = find(s, id);
	return i < s->nb_members && s->members[i].id == id ? s->members[i].api : NULL;
}

static void forget(struct sl_mgr_state *s, uint32_t i)
{
	memmove(&s->members[i], &s->members[i + 1], (s->nb_members - i - 1) * sizeof(s->members[0]));
	s->nb_members--;
}

static int set(struct sl_mgr_state *s, uint32_t id, const char *api, struct sl_mgr_err *err)
{
	uint32_t i = find(s, id);
	bool known = i < s->nb_members && s->members[i].id == id;
	if (api[0] == '\0') {
		if (known)
			forget(s, i);
		return 0;
	}
	if (!known) {
		if (s->members == NULL && (s->members = calloc(SL_MGR_MAX_MEMBERS, sizeof(*s->members))) == NULL)
			return sl_mgr_fail_oom(err);
		if (s->nb_members == SL_MGR_MAX_MEMBERS)
			return sl_mgr_fail(err, SL_MGR_ELIMIT, "already %d members have an API URL",
					   SL_MGR_MAX_MEMBERS);
		memmove(&s->members[i + 1], &s->members[i], (s->nb_members - i) * sizeof(s->members[0]));
		s->nb_members++;
	}
	s->members[i].id = id;
	snprintf(s->members[i].api, sizeof(s->members[i].api), "%s", api);
	return 0;
}

static int member_from(const json_t *obj, uint32_t *id, char api[SL_MGR_API_LEN],
		       struct sl_mgr_err *err)
{
	if (!json_is_object(obj))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be an object");
	if (sl_mgr_check_members(obj, member_fields, err) < 0 ||
	    sl_mgr_get_uint(obj, "id", true, 1, SL_MGR_MEMBER_ID_MAX, 0, id, err) < 0)
		return -1;
	return get_api(obj, api, err);
}

static int op_member_api(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	uint32_t id;
	char api[SL_MGR_API_LEN];
	if (sl_mgr_get_uint(cmd, "id", true, 1, SL_MGR_MEMBER_ID_MAX, 0, &id, err) < 0 ||
	    get_api(cmd, api, err) < 0)
		return -1;
	return set(t->work, id, api, err);
}

static json_t *members_encode(const struct sl_mgr_state *s)
{
	json_t *list = json_array();
	for (uint32_t i = 0; list != NULL && i < s->nb_members; i++)
		if (json_array_append_new(list, json_pack("{s:I, s:s}", "id", (json_int_t)s->members[i].id,
							  "api", s->members[i].api)) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

static int members_decode(struct sl_mgr_txn *t, const json_t *list, struct sl_mgr_err *err)
{
	const json_t *m;
	size_t i;
	if (!json_is_array(list))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be an array");
	if (json_array_size(list) > SL_MGR_MAX_MEMBERS)
		return sl_mgr_fail(err, SL_MGR_ELIMIT, "more than %d members", SL_MGR_MAX_MEMBERS);
	json_array_foreach((json_t *)list, i, m) {
		uint32_t id;
		char api[SL_MGR_API_LEN];
		if (member_from(m, &id, api, err) < 0 ||
		    (sl_mgr_member_api(t->work, id) != NULL &&
		     sl_mgr_fail(err, SL_MGR_EEXIST, "id: %u appears twice", id) < 0) ||
		    set(t->work, id, api, err) < 0) {
			sl_mgr_err_path(err, "[%zu]", i);
			return -1;
		}
	}
	return 0;
}

/* Small: copied whole rather than shared. */
static int members_clone(struct sl_mgr_state *dst, const struct sl_mgr_state *src)
{
	if (src->nb_members == 0)
		return 0; /* allocated by the first set */
	dst->members = sl_mgr_copy_array(src->members, src->nb_members, SL_MGR_MAX_MEMBERS,
					 sizeof(*src->members));
	if (dst->members == NULL)
		return -1;
	dst->nb_members = src->nb_members;
	return 0;
}

static void members_release(struct sl_mgr_state *s)
{
	free(s->members);
	s->members = NULL;
	s->nb_members = 0;
}

static const char *const m_member_api[] = {"op", "id", "api", NULL};

static const struct sl_mgr_op members_ops[] = {
	{"member_api", m_member_api, op_member_api},
	{NULL, NULL, NULL},
};

const struct sl_mgr_section sl_mgr_members_section = {
	.name = "members",
	.ops = members_ops,
	.clone = members_clone,
	.release = members_release,
	.check_flags = 0,
	.check = NULL,
	.encode = members_encode,
	.decode = members_decode,
};
