/* SPDX-License-Identifier: GPL-3.0-or-later */
/* resolverd's command line: load and check the configuration, then run the daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/config/config.h"
#include "resolverd/core/daemon.h"
#include "resolverd/core/log.h"
#include "resolverd/host/host_api.h"

#define RESOLVERD_VERSION "0.1.0"

enum { EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

static void usage(FILE *out)
{
	fputs("usage: resolverd [-c FILE] [--set KEY=VALUE]...\n"
	      "       resolverd --check-config FILE [--set KEY=VALUE]...\n"
	      "  -c, --config FILE        run with FILE (default: the built-in defaults)\n"
	      "      --check-config FILE  validate FILE (and overrides) and the enabled plugins' sections, exit\n"
	      "      --set KEY=VALUE      override an option, e.g. --set dht.bootstrap=h1:4222,h2:4222\n"
	      "  -V, --version            print the version\n"
	      "  -h, --help               this text\n",
	      out);
}

struct args {
	const char *config;
	bool check_only;
	const char **sets; /**< borrowed from argv */
	size_t n_sets;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"check-config", required_argument, NULL, 'C'},
		{"set", required_argument, NULL, 's'},    {"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	a->sets = calloc((size_t)argc, sizeof(*a->sets));
	if (!a->sets)
		return EXIT_RUNTIME;
	int c;
	while ((c = getopt_long(argc, argv, "c:s:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'C': a->config = optarg; a->check_only = true; break;
		case 's': a->sets[a->n_sets++] = optarg; break;
		case 'V': puts("resolverd " RESOLVERD_VERSION); return EXIT_SUCCESS;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "resolverd: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

static int load(struct rd_config *cfg, const struct args *a)
{
	char *err = NULL;
	int rc = config_init(cfg);
	if (rc == 0 && a->config)
		rc = config_load(cfg, a->config, &err);
	for (size_t i = 0; rc == 0 && i < a->n_sets; i++)
		rc = config_set(cfg, a->sets[i], &err);
	if (rc == 0)
		rc = config_validate(cfg, &err);
	if (rc < 0) {
		/* A CLI diagnostic in the FILE:LINE:COLUMN form editors understand, not a log line. */
		fprintf(stderr, "%s\n", err ? err : "resolverd: out of memory");
		free(err);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0) {
		free(a.sets);
		return rc;
	}
	struct rd_config cfg;
	if (load(&cfg, &a) < 0) {
		config_deinit(&cfg);
		free(a.sets);
		return EXIT_CONFIG;
	}
	if (a.check_only) {
		/* Each enabled plugin is loaded and its init() run on inert sockets and DNS, to check its section. */
		struct hosts_ctx hx = {.cfg = &cfg};
		struct hosts *hs = NULL;
		/* Quiet on success: warnings and errors only, as for the file itself. */
		log_set_level(cfg.log.level < LOG_LEVEL_WARN ? cfg.log.level : LOG_LEVEL_WARN);
		rc = hosts_start(&hx, true, &hs) < 0 ? EXIT_CONFIG : EXIT_SUCCESS;
		hosts_stop(hs);
		if (rc == EXIT_SUCCESS)
			printf("%s: OK\n", a.config);
	} else {
		log_set_level(cfg.log.level);
		rc = daemon_run(&cfg) < 0 ? EXIT_RUNTIME : EXIT_SUCCESS;
	}
	config_deinit(&cfg);
	free(a.sets);
	return rc;
}
