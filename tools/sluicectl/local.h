/* sluicectl's commands about the local instance (local.c). */
#ifndef SLUICE_TOOLS_SLUICECTL_LOCAL_H
#define SLUICE_TOOLS_SLUICECTL_LOCAL_H

#include <stdbool.h>

#define DEFAULT_TELEMETRY "/var/run/dpdk/rte/dpdk_telemetry.v2"

struct local_opts {
	char telemetry[256]; /* the instance's DPDK telemetry socket */
	const char *bird;    /* BIRD's control socket; NULL: the one the instance names */
	bool json;
};

/* "bgp" or "mux ..."? */
bool is_local_command(int argc, char **argv);
/* Run it: the exit status, or -1 when the arguments are not a command. */
int local_command(const struct local_opts *o, int argc, char **argv);

#endif
