/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-server's command line:
 *   chronik-server start [options]    chronik-server version
 *   chronik-server --help             chronik-server start --help
 * and the glue that turns argv + envp into a validated configuration.
 * Exit codes used by main: 0 ok, 1 runtime failure, 2 bad usage or bad
 * configuration (CHRONIK_CLI_EXIT_*).
 */
#ifndef CHRONIK_SERVER_CLI_H
#define CHRONIK_SERVER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define CHRONIK_CLI_EXIT_OK 0
#define CHRONIK_CLI_EXIT_FAILURE 1
#define CHRONIK_CLI_EXIT_USAGE 2

/* Most options one command line may carry (repeats included). */
#define CHRONIK_CLI_MAX_FLAGS 32

typedef enum chronik_cli_command {
	CHRONIK_CLI_HELP,       /* --help, -h, help */
	CHRONIK_CLI_VERSION,    /* version, --version */
	CHRONIK_CLI_START,
	CHRONIK_CLI_START_HELP  /* start --help */
} chronik_cli_command;

typedef struct chronik_cli {
	chronik_cli_command command;
	const char *config_path; /* --config, or NULL */
	bool print_config;       /* start --print-config */
	/* Setting overrides in command-line order (the last one wins);
	 * values point into argv. */
	chronik_config_flag flags[CHRONIK_CLI_MAX_FLAGS];
	size_t nflags;
} chronik_cli;

/*
 * Parse argv (argv[0] is the program name). Returns 0, or CHRONIK_EARG
 * with a one-line message in err (the caller adds the usage and exits
 * with CHRONIK_CLI_EXIT_USAGE). Options accept "--opt value" and
 * "--opt=value".
 */
int chronik_cli_parse(chronik_cli *out, int argc, char *const argv[],
		      char *err, size_t errlen);

/* The top-level and `start` help texts, generated from the option table
 * that chronik_cli_parse uses. */
void chronik_cli_usage(FILE *out);
void chronik_cli_start_usage(FILE *out);

/* The package version, e.g. "0.1.0". */
const char *chronik_cli_version(void);

/*
 * argv + envp to a validated configuration: parse argv (which must be a
 * `start` command line), then chronik_config_load with the --config
 * file, envp (NULL-terminated "NAME=value") and the flags. cli_out (may
 * be NULL) gets the parsed command line. Returns 0, CHRONIK_EARG (usage
 * or invalid configuration) or another chronik_config_load error; err
 * gets one line. Free cfg with chronik_config_free() in every case.
 */
int chronik_cli_config(chronik_config *cfg, chronik_cli *cli_out, int argc,
		       char *const argv[], char *const envp[], char *err,
		       size_t errlen);

#endif /* CHRONIK_SERVER_CLI_H */
