/*
 * Errors and JSON field access for the manager's commands and snapshots.
 * Every message names the member it is about, so an operator can find the
 * mistake in what was sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/section.h"

const char *const sl_mgr_admin_names[] = {"active", "draining", "disabled", NULL};
const char *const sl_mgr_health_names[] = {"unknown", "healthy", "unhealthy", NULL};

int sl_mgr_fail(struct sl_mgr_err *err, enum sl_mgr_code code, const char *fmt, ...)
{
	va_list ap;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int sl_mgr_fail_oom(struct sl_mgr_err *err)
{
	return sl_mgr_fail(err, SL_MGR_ENOMEM, "out of memory");
}

__attribute__((format(printf, 3, 0)))
static void prepend(struct sl_mgr_err *err, const char *sep, const char *fmt, va_list ap)
{
	char prefix[SL_MGR_ERR_LEN], joined[2 * SL_MGR_ERR_LEN + 8];
	if (err->code == SL_MGR_ENOMEM)
		return; /* not about the input: no context to add */
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	snprintf(joined, sizeof(joined), "%s%s%s", prefix, sep, err->msg);
	size_t n = strlen(joined);
	if (n >= sizeof(err->msg))
		n = sizeof(err->msg) - 1; /* long messages lose their end, keep their context */
	memcpy(err->msg, joined, n);
	err->msg[n] = '\0';
}

void sl_mgr_err_prefix(struct sl_mgr_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	prepend(err, ": ", fmt, ap);
	va_end(ap);
}

/* Does msg start with a member path ("weight: ...", "dips.[0].port: ...",
 * "[2]: ...")? Member names are lower-case; other messages ("DIP ...",
 * "must be ...") are about the object as a whole. */
static bool starts_with_member(const char *msg)
{
	size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz0123456789_");
	return msg[0] == '[' || (n > 0 && (msg[n] == ':' || msg[n] == '.' || msg[n] == '['));
}

void sl_mgr_err_path(struct sl_mgr_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	prepend(err, starts_with_member(err->msg) ? "." : ": ", fmt, ap);
	va_end(ap);
}

int sl_mgr_set_new(json_t *obj, const char *key, json_t *value)
{
	/* json_object_set_new() takes value's reference even when it fails,
	 * and fails on value == NULL: callers can pass json_*() directly. */
	return json_object_set_new(obj, key, value);
}

static bool member_allowed(const char *key, const char *const allowed[])
{
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(key, allowed[i]) == 0)
			return true;
	return false;
}

int sl_mgr_check_members(const json_t *obj, const char *const allowed[], struct sl_mgr_err *err)
{
	const char *key;
	const json_t *v;
	/* Reject what we do not know: a misspelt "wieght" must not be a silent no-op. */
	json_object_foreach((json_t *)obj, key, v) {
		if (!member_allowed(key, allowed))
			return sl_mgr_fail(err, SL_MGR_EINVAL, "%.64s: unknown member", key);
	}
	return 0;
}

/* obj.key, or NULL; fails when required and absent. */
static int member(const json_t *obj, const char *key, bool required, const json_t **out,
		  struct sl_mgr_err *err)
{
	*out = json_object_get(obj, key);
	if (*out == NULL && required)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: required member is missing", key);
	return 0;
}

int sl_mgr_get_object(const json_t *obj, const char *key, bool required, const json_t **out,
		      struct sl_mgr_err *err)
{
	if (member(obj, key, required, out, err) < 0)
		return -1;
	if (*out != NULL && !json_is_object(*out))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: must be an object", key);
	return 0;
}

int sl_mgr_get_array(const json_t *obj, const char *key, bool required, size_t max,
		     const json_t **out, struct sl_mgr_err *err)
{
	if (member(obj, key, required, out, err) < 0)
		return -1;
	if (*out == NULL)
		return 0;
	if (!json_is_array(*out))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: must be an array", key);
	if (json_array_size(*out) > max)
		return sl_mgr_fail(err, SL_MGR_ELIMIT, "%s: %zu elements, at most %zu allowed", key,
				   json_array_size(*out), max);
	return 0;
}

int sl_mgr_get_uint(const json_t *obj, const char *key, bool required, uint32_t lo, uint32_t hi,
		    uint32_t dflt, uint32_t *out, struct sl_mgr_err *err)
{
	const json_t *v;
	if (member(obj, key, required, &v, err) < 0)
		return -1;
	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	/* Integers only: 80.0 or "80" are mistakes worth pointing out. */
	if (!json_is_integer(v))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: must be an integer (%u..%u)", key, lo, hi);
	json_int_t n = json_integer_value(v);
	if (n < (json_int_t)lo || n > (json_int_t)hi)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: %lld is out of range (%u..%u)", key,
				   (long long)n, lo, hi);
	*out = (uint32_t)n;
	return 0;
}

static int string_member(const json_t *obj, const char *key, bool required, const char **out,
			 struct sl_mgr_err *err)
{
	const json_t *v;
	*out = NULL;
	if (member(obj, key, required, &v, err) < 0)
		return -1;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: must be a string", key);
	*out = json_string_value(v);
	return 0;
}

static void list_names(const char *const names[], char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] != NULL && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s\"%s\"", i ? ", " : "", names[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int sl_mgr_get_enum(const json_t *obj, const char *key, bool required, const char *const names[],
		    int dflt, int *out, struct sl_mgr_err *err)
{
	const char *text;
	char allowed[128];
	if (string_member(obj, key, required, &text, err) < 0)
		return -1;
	if (text == NULL) {
		*out = dflt;
		return 0;
	}
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(text, names[i]) == 0) {
			*out = i;
			return 0;
		}
	list_names(names, allowed, sizeof(allowed));
	return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: '%.64s' is not allowed (one of %s)", key, text,
			   allowed);
}

static const char *family_name(int family)
{
	return family == SL_AF_INET6 ? "IPv6" : "IPv4";
}

int sl_mgr_get_addr(const json_t *obj, const char *key, int want, union sl_addr *out, int *family,
		    struct sl_mgr_err *err)
{
	const char *text;
	if (string_member(obj, key, true, &text, err) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	int fam = sl_addr_parse(text, out);
	if (fam == SL_AF_NONE)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: '%.64s' is not an IPv4 or IPv6 address",
				   key, text);
	/* Zero means "absent" throughout the data path (e.g. a host address). */
	if (sl_addr_is_zero(out))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: the unspecified address %s is not allowed",
				   key, text);
	if (want != SL_AF_NONE && fam != want)
		return sl_mgr_fail(err, SL_MGR_EINVAL,
				   "%s: %s is an %s address; it must be %s like the VIP (4in4, 6in6)",
				   key, text, family_name(fam), family_name(want));
	/* Every address here is a VIP, a DIP or a DIP's host; the API and the
	 * file loader refuse the same ranges. */
	const char *why = sl_addr_refusal(fam, out, SL_ADDR_SERVICE);
	if (why != NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: %.64s %s", key, text, why);
	*family = fam;
	return 0;
}

void *sl_mgr_copy_array(const void *src, size_t n, size_t cap, size_t size)
{
	void *dst = calloc(cap, size);
	if (dst != NULL)
		memcpy(dst, src, n * size);
	return dst;
}
