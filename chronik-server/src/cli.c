/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

#include "chronik/common.h"

#ifndef CHRONIK_SERVER_VERSION
#define CHRONIK_SERVER_VERSION "unknown"
#endif

/* The options of `start`: parsing and --help both read this table. */
struct option_def {
	const char *name;
	const char *key;     /* setting it overrides, NULL: special */
	const char *metavar; /* NULL: takes no value */
	const char *help;
};

static const struct option_def start_options[] = {
	{ "--advertise", "advertise.kafka", "HOST:PORT",
	  "address clients are told to connect to\n"
	  "(env CHRONIK_ADVERTISED_ADDR or CHRONIK_ADVERTISE;\n"
	  "default: the bind address, localhost for 0.0.0.0)" },
	{ "--bind", "bind.kafka", "HOST:PORT",
	  "Kafka listener address (env CHRONIK_BIND;\n"
	  "default 0.0.0.0:9092)" },
	{ "--data-dir", "data_dir", "DIR",
	  "data directory (env CHRONIK_DATA_DIR;\n"
	  "default ./data)" },
	{ "--config", NULL, "FILE",
	  "TOML configuration file (env CHRONIK_CONFIG)" },
	{ "--node-id", "node_id", "N",
	  "this node's id (env CHRONIK_NODE_ID; default 1)" },
	{ "--wal-profile", "wal_profile", "P",
	  "WAL profile: low, medium, high or ultra\n"
	  "(env CHRONIK_WAL_PROFILE; default medium)" },
	{ "--http-port", "http_port", "N",
	  "HTTP port for metrics, health and admin\n"
	  "(env CHRONIK_HTTP_PORT; default 6092)" },
	{ "--log-level", "log_level", "L",
	  "error, warn, info, debug or trace\n"
	  "(env CHRONIK_LOG_LEVEL; default info)" },
	{ "--print-config", NULL, NULL,
	  "print the effective configuration and exit" },
	{ "--help", NULL, NULL, "show this help (also -h)" },
};

#define NOPTS (sizeof start_options / sizeof start_options[0])

static int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return CHRONIK_EARG;
}

const char *chronik_cli_version(void)
{
	return CHRONIK_SERVER_VERSION;
}

void chronik_cli_usage(FILE *out)
{
	fputs("Usage: chronik-server <command> [options]\n"
	      "\n"
	      "A Kafka-compatible streaming server.\n"
	      "\n"
	      "Commands:\n"
	      "  start      run the server (see 'chronik-server start "
	      "--help')\n"
	      "  version    print the version and exit\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help     show this help\n"
	      "  --version      same as 'version'\n"
	      "\n"
	      "Settings come from flags, then CHRONIK_* environment "
	      "variables, then\n"
	      "the --config file, then defaults (see "
	      "docs/configuration.md).\n", out);
}

void chronik_cli_start_usage(FILE *out)
{
	fputs("Usage: chronik-server start [options]\n\nOptions:\n", out);
	for (size_t i = 0; i < NOPTS; i++) {
		const struct option_def *o = &start_options[i];
		char left[40];
		const char *h = o->help;

		snprintf(left, sizeof left, "%s%s%s", o->name,
			 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		fprintf(out, "  %-24s ", left);
		/* Continuation lines of the help line up under the first. */
		while (*h) {
			size_t n = strcspn(h, "\n");
			fprintf(out, "%.*s\n", (int)n, h);
			h += n;
			if (*h == '\n' && *++h)
				fprintf(out, "  %-24s ", "");
		}
	}
	fputs("\nSettings without a flag (socket.request.max.bytes, "
	      "[[peers]], ...) go\nin the --config file; see "
	      "docs/configuration.md.\n", out);
}

static const struct option_def *find_option(const char *arg, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(start_options[i].name) == len &&
		    strncmp(start_options[i].name, arg, len) == 0)
			return &start_options[i];
	return NULL;
}

static int parse_start(chronik_cli *out, int argc, char *const argv[],
		       char *err, size_t errlen)
{
	out->command = CHRONIK_CLI_START; /* main shows start's usage */
	/* --help anywhere wins, so "start --bogus --help" still helps. */
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			out->command = CHRONIK_CLI_START_HELP;
			return 0;
		}
	}
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct option_def *o;
		const char *val;

		if (strncmp(arg, "--", 2) != 0)
			return errf(err, errlen, "start: unexpected argument "
				    "'%s'", arg);
		if (!(o = find_option(arg, len)))
			return errf(err, errlen, "start: unknown option "
				    "'%.*s'", (int)len, arg);
		if (!o->metavar) {
			if (eq)
				return errf(err, errlen, "option '%s' takes "
					    "no value", o->name);
			out->print_config = true; /* the only such option */
			continue;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) {
			val = argv[++i];
		} else {
			return errf(err, errlen, "option '%s' needs a value "
				    "(%s)", o->name, o->metavar);
		}
		if (!*val)
			return errf(err, errlen, "option '%s' needs a "
				    "non-empty value (%s)", o->name,
				    o->metavar);
		if (!o->key) { /* --config */
			out->config_path = val;
			continue;
		}
		if (out->nflags == CHRONIK_CLI_MAX_FLAGS)
			return errf(err, errlen, "too many options (at most "
				    "%d)", CHRONIK_CLI_MAX_FLAGS);
		out->flags[out->nflags].key = o->key;
		out->flags[out->nflags].flag = o->name;
		out->flags[out->nflags].value = val;
		out->nflags++;
	}
	return 0;
}

int chronik_cli_parse(chronik_cli *out, int argc, char *const argv[],
		      char *err, size_t errlen)
{
	const char *cmd;

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = '\0';
	if (argc < 2)
		return errf(err, errlen, "missing command");
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		out->command = CHRONIK_CLI_HELP;
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		if (argc > 2)
			return errf(err, errlen, "%s: unexpected argument "
				    "'%s'", cmd, argv[2]);
		out->command = CHRONIK_CLI_VERSION;
		return 0;
	}
	if (strcmp(cmd, "start") == 0)
		return parse_start(out, argc, argv, err, errlen);
	if (cmd[0] == '-')
		return errf(err, errlen, "unknown option '%s' (options go "
			    "after the command, e.g. 'chronik-server start "
			    "%s')", cmd, cmd);
	return errf(err, errlen, "unknown command '%s'", cmd);
}

int chronik_cli_config(chronik_config *cfg, chronik_cli *cli_out, int argc,
		       char *const argv[], char *const envp[], char *err,
		       size_t errlen)
{
	chronik_cli local, *cli = cli_out ? cli_out : &local;
	int rc;

	chronik_config_defaults(cfg);
	if ((rc = chronik_cli_parse(cli, argc, argv, err, errlen)) != 0)
		return rc;
	if (cli->command != CHRONIK_CLI_START)
		return errf(err, errlen, "not a 'start' command line");
	return chronik_config_load(cfg, cli->config_path, envp, cli->flags,
				   cli->nflags, err, errlen);
}
