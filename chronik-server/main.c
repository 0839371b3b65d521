/* SPDX-License-Identifier: Apache-2.0 */
/* chronik-server: command line, configuration, then the broker
 * (src/broker.c) on a libuv loop in this thread. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <uv.h>

#include "broker.h"

#include "cli.h"
#include "config.h"
#include "log.h"

extern char **environ;

int main(int argc, char **argv)
{
	chronik_cli cli;
	chronik_config cfg;
	chronik_log log;
	char err[CHRONIK_CONFIG_ERR_MAX];
	int rc;

	if (chronik_cli_parse(&cli, argc, argv, err, sizeof err) != 0) {
		fprintf(stderr, "chronik-server: %s\n\n", err);
		if (cli.command == CHRONIK_CLI_START)
			chronik_cli_start_usage(stderr);
		else
			chronik_cli_usage(stderr);
		return CHRONIK_CLI_EXIT_USAGE;
	}
	switch (cli.command) {
	case CHRONIK_CLI_HELP:
		chronik_cli_usage(stdout);
		return CHRONIK_CLI_EXIT_OK;
	case CHRONIK_CLI_START_HELP:
		chronik_cli_start_usage(stdout);
		return CHRONIK_CLI_EXIT_OK;
	case CHRONIK_CLI_VERSION:
		printf("chronik-server %s\n", chronik_cli_version());
		return CHRONIK_CLI_EXIT_OK;
	case CHRONIK_CLI_START:
		break;
	}
	rc = chronik_config_load(&cfg, cli.config_path, environ, cli.flags,
				 cli.nflags, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "chronik-server: %s\n", err);
		chronik_config_free(&cfg);
		return CHRONIK_CLI_EXIT_USAGE;
	}
	chronik_log_init(&log, STDERR_FILENO, cfg.log_level);
	for (size_t i = 0; i < cfg.nwarnings; i++)
		chronik_log_warn(&log, "config", "%s", cfg.warnings[i]);
	if (cli.print_config) {
		chronik_config_print(&cfg, stdout);
		chronik_config_free(&cfg);
		return fflush(stdout) == 0 ? CHRONIK_CLI_EXIT_OK
					   : CHRONIK_CLI_EXIT_FAILURE;
	}
	/* A peer closing its socket must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	static chronik_broker broker;
	uv_loop_t loop;
	uv_loop_init(&loop);
	rc = chronik_broker_open(&broker, &cfg, &log, &loop);
	if (rc == 0)
		rc = chronik_broker_run(&broker);
	chronik_broker_close(&broker);
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
	chronik_config_free(&cfg);
	return rc == 0 ? CHRONIK_CLI_EXIT_OK : CHRONIK_CLI_EXIT_FAILURE;
}
