/*
 * sluicectl's commands about the instance on this machine, not the
 * cluster: `bgp` and `mux drain`. They ask the instance's DPDK telemetry
 * socket (what it announces and why; drain) and BIRD's control socket
 * (the sessions), whose path the instance reports.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bgp/bgp.h"
#include "bgp/client.h"
#include "local.h"

#define EXIT_API 1
#define EXIT_UNREACHABLE 3
#define TEL_MAX 65536
#define IO_TIMEOUT_MS 5000

/* One telemetry command; its value (the reply's only member), or NULL. */
static json_t *telemetry(const char *path, const char *cmd)
{
	char *buf = malloc(TEL_MAX);
	json_t *reply = NULL, *value = NULL;
	int fd = buf != NULL ? sl_unix_connect(path, SOCK_SEQPACKET) : -1;
	if (fd < 0) {
		fprintf(stderr, "sluicectl: telemetry socket %s: %s (is sluice running with this "
				"--file-prefix?)\n", path, strerror(errno));
		goto out;
	}
	ssize_t n = sl_recv_within(fd, buf, TEL_MAX - 1, IO_TIMEOUT_MS); /* the greeting */
	if (n <= 0 || send(fd, cmd, strlen(cmd), 0) < 0 || (n = sl_recv_within(fd, buf, TEL_MAX - 1, IO_TIMEOUT_MS)) <= 0) {
		fprintf(stderr, "sluicectl: telemetry socket %s: no answer to %s\n", path, cmd);
		goto out;
	}
	buf[n] = '\0';
	reply = json_loads(buf, 0, NULL);
	value = json_object_get(reply, cmd);
	if (value == NULL)
		fprintf(stderr, "sluicectl: telemetry: unexpected answer to %s: %s\n", cmd, buf);
	json_incref(value);
out:
	if (fd >= 0)
		close(fd);
	json_decref(reply);
	free(buf);
	return value;
}

static json_t *session_json(const struct sl_bgp_session *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "name", s->name, "neighbor",
			 s->neighbor, "state", s->state, "info", s->info, "since", s->since, "last_error",
			 s->last_error, "prefixes_sent", (json_int_t)s->exported, "prefixes_received",
			 (json_int_t)s->imported);
}

static const char *reason_text(const char *state)
{
	if (strcmp(state, "serving") == 0)
		return "serving: every VIP with a usable DIP is announced";
	if (strcmp(state, "draining") == 0)
		return "draining: everything withdrawn, waiting for VIP traffic to stop";
	if (strcmp(state, "watchdog") == 0)
		return "withdrawn by the watchdog: a worker stopped polling";
	if (strcmp(state, "starting") == 0)
		return "starting: tables not loaded yet, nothing announced";
	return state;
}

static void print_bgp(const json_t *st, const json_t *sessions, const char *bird_err)
{
	const char *state = json_string_value(json_object_get(st, "state"));
	printf("announcing: %s\n", reason_text(state != NULL ? state : "?"));
	printf("local AS %lld over %s, routes in kernel table %lld; watchdog %lld ms (worst silence now %lld ms)\n",
	       json_integer_value(json_object_get(st, "local_as")),
	       json_string_value(json_object_get(st, "interface")),
	       json_integer_value(json_object_get(st, "table")),
	       json_integer_value(json_object_get(st, "watchdog_ms")),
	       json_integer_value(json_object_get(st, "worker_silence_ms")));
	printf("announced (%lld):", json_integer_value(json_object_get(st, "announced_count")));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(st, "announced"), i, v)
		printf(" %s", json_string_value(v));
	printf("\n");
	const char *pop = json_string_value(json_object_get(st, "pop"));
	if (pop != NULL) {
		printf("PoP %s (%s in the replicated state):\n", pop,
		       json_string_value(json_object_get(st, "pop_state")));
		json_array_foreach(json_object_get(st, "pop_prefixes"), i, v)
			printf("  %s\n", json_string_value(v));
	}
	printf("\n");
	if (bird_err != NULL) {
		printf("sessions: unknown (%s)\n", bird_err);
		return;
	}
	printf("%-16s %-26s %-6s %-12s %-14s %s\n", "PEER", "NEIGHBOR", "STATE", "INFO", "SINCE", "SENT");
	json_array_foreach(sessions, i, v)
		printf("%-16s %-26s %-6s %-12s %-14s %lld\n", json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "neighbor")),
		       json_string_value(json_object_get(v, "state")),
		       json_string_value(json_object_get(v, "info")),
		       json_string_value(json_object_get(v, "since")),
		       json_integer_value(json_object_get(v, "prefixes_sent")));
}

static int cmd_bgp(const struct local_opts *o)
{
	json_t *st = telemetry(o->telemetry, "/sluice/bgp");
	if (st == NULL)
		return EXIT_UNREACHABLE;
	if (!json_is_true(json_object_get(st, "enabled")) && json_integer_value(json_object_get(st, "enabled")) == 0) {
		fprintf(stderr, "sluicectl: this instance has no bgp group: it announces nothing\n");
		json_decref(st);
		return EXIT_API;
	}
	const char *sock = o->bird != NULL ? o->bird : json_string_value(json_object_get(st, "bird_socket"));
	char err[256];
	char *reply = sl_birdc_query(sock != NULL ? sock : SL_BGP_DEFAULT_SOCKET, "show protocols all",
				     IO_TIMEOUT_MS, err, sizeof(err));
	json_t *sessions = json_array();
	if (reply != NULL) {
		struct sl_bgp_session s[SL_BGP_MAX_PEERS * 2];
		unsigned n = sl_birdc_parse_protocols(reply, s, sizeof(s) / sizeof(s[0]));
		for (unsigned i = 0; i < n; i++)
			json_array_append_new(sessions, session_json(&s[i]));
		free(reply);
	}
	int rc = reply != NULL ? 0 : EXIT_UNREACHABLE;
	if (o->json) {
		json_t *out = json_pack("{s:O, s:O}", "sluice", st, "sessions", sessions);
		if (reply == NULL)
			json_object_set_new(out, "bird_error", json_string(err));
		json_dumpf(out, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(out);
	} else {
		print_bgp(st, sessions, reply != NULL ? NULL : err);
	}
	json_decref(sessions);
	json_decref(st);
	return rc;
}

static int cmd_drain(const struct local_opts *o)
{
	json_t *st = telemetry(o->telemetry, "/sluice/drain");
	if (st == NULL)
		return EXIT_UNREACHABLE;
	const char *e = json_string_value(json_object_get(st, "error"));
	int rc = e != NULL ? EXIT_API : 0;
	if (o->json) {
		json_dumpf(st, stdout, JSON_INDENT(2));
		printf("\n");
	} else if (e != NULL) {
		fprintf(stderr, "sluicectl: %s\n", e);
	} else {
		printf("draining: announcements withdrawn; sluice exits once VIP traffic has stopped\n");
	}
	json_decref(st);
	return rc;
}

int local_command(const struct local_opts *o, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "bgp") == 0)
		return cmd_bgp(o);
	if (argc == 2 && strcmp(argv[0], "mux") == 0 && strcmp(argv[1], "drain") == 0)
		return cmd_drain(o);
	return -1;
}

bool is_local_command(int argc, char **argv)
{
	return argc >= 1 && (strcmp(argv[0], "bgp") == 0 || strcmp(argv[0], "mux") == 0);
}
