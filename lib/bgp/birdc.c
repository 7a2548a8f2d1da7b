/* Reading BIRD's control socket replies (bgp.h), on plain text. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/bgp.h"

bool sl_birdc_parse_line(const char *line, size_t len, struct sl_birdc_line *out)
{
	if (len > 0 && line[0] == ' ') {
		out->code = -1;
		out->last = false;
		out->text = line + 1;
		out->len = len - 1;
		return true;
	}
	if (len < 5 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || !isdigit((unsigned char)line[3]) ||
	    (line[4] != ' ' && line[4] != '-'))
		return false;
	out->code = (line[0] - '0') * 1000 + (line[1] - '0') * 100 + (line[2] - '0') * 10 + (line[3] - '0');
	out->last = line[4] == ' ';
	out->text = line + 5;
	out->len = len - 5;
	return true;
}

/* The next whitespace-separated word of [*p, end) into buf. */
static void word(const char **p, const char *end, char *buf, size_t len)
{
	const char *s = *p;
	while (s < end && isspace((unsigned char)*s))
		s++;
	const char *e = s;
	while (e < end && !isspace((unsigned char)*e))
		e++;
	size_t n = (size_t)(e - s) < len - 1 ? (size_t)(e - s) : len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*p = e;
}

/* The rest of [p, end) without surrounding blanks into buf. */
static void rest(const char *p, const char *end, char *buf, size_t len)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	size_t n = (size_t)(end - p) < len - 1 ? (size_t)(end - p) : len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* "Key: value" detail of a protocol: the value if the text starts with key. */
static const char *value_of(const char *text, const char *end, const char *key)
{
	while (text < end && isspace((unsigned char)*text))
		text++;
	size_t k = strlen(key);
	if ((size_t)(end - text) < k || memcmp(text, key, k) != 0)
		return NULL;
	return text + k;
}

static void detail(struct sl_bgp_session *s, const char *t, const char *end)
{
	const char *v;
	if ((v = value_of(t, end, "Neighbor address:")) != NULL) {
		rest(v, end, s->neighbor, sizeof(s->neighbor));
		char *scope = strchr(s->neighbor, '%'); /* "192.0.2.1%sl-fabric" */
		if (scope != NULL)
			*scope = '\0';
	} else if ((v = value_of(t, end, "Last error:")) != NULL) {
		rest(v, end, s->last_error, sizeof(s->last_error));
	} else if ((v = value_of(t, end, "Routes:")) != NULL) {
		/* "1 imported, 2 exported, 0 preferred", once per channel */
		char num[32];
		uint64_t imp = 0, exp = 0;
		rest(v, end, num, sizeof(num));
		if (sscanf(num, "%" SCNu64 " imported, %" SCNu64 " exported", &imp, &exp) == 2) {
			s->imported += imp;
			s->exported += exp;
		}
	}
}

unsigned sl_birdc_parse_protocols(const char *reply, struct sl_bgp_session *out, unsigned max)
{
	unsigned n = 0;
	bool in_bgp = false;
	int code = 0; /* a continuation line carries the code of the line before */
	for (const char *p = reply; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		const char *end = nl != NULL ? nl : p + strlen(p);
		struct sl_birdc_line l;
		if (sl_birdc_parse_line(p, (size_t)(end - p), &l)) {
			const char *t = l.text, *te = l.text + l.len;
			code = l.code >= 0 ? l.code : code;
			if (code == 1002) { /* "name proto table state since info" */
				char name[SL_BGP_NAME_LEN], proto[16], table[32];
				word(&t, te, name, sizeof(name));
				word(&t, te, proto, sizeof(proto));
				in_bgp = strcmp(proto, "BGP") == 0 && n < max;
				if (in_bgp) {
					struct sl_bgp_session *s = &out[n++];
					memset(s, 0, sizeof(*s));
					memcpy(s->name, name, sizeof(s->name));
					word(&t, te, table, sizeof(table));
					word(&t, te, s->state, sizeof(s->state));
					word(&t, te, s->since, sizeof(s->since));
					rest(t, te, s->info, sizeof(s->info));
				}
			} else if (in_bgp && code == 1006) {
				detail(&out[n - 1], t, te);
			} else if (code != 1006) {
				in_bgp = false;
			}
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return n;
}

bool sl_birdc_has_protocol(const char *reply, const char *name)
{
	int code = 0;
	for (const char *p = reply; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		const char *end = nl != NULL ? nl : p + strlen(p);
		struct sl_birdc_line l;
		bool ok = sl_birdc_parse_line(p, (size_t)(end - p), &l);
		code = ok && l.code >= 0 ? l.code : code;
		if (ok && code == 1002) {
			char first[SL_BGP_NAME_LEN];
			const char *t = l.text;
			word(&t, l.text + l.len, first, sizeof(first));
			if (strcmp(first, name) == 0)
				return true;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return false;
}
