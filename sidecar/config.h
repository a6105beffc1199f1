/* Configuration: one option table, INI file ([eventlogd], [tokens]) plus command-line flags. */
#ifndef EV_CONFIG_H
#define EV_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "buf.h"
#include "ev.h"

enum durability {
	DURABILITY_FSYNC = 0,		/* ack after the group-committed fdatasync: survives kill -9 and power loss */
	DURABILITY_NONE = 1			/* ack on receipt (page cache): at-most-once, for click-stream data */
};

enum copy_format {
	COPY_FORMAT_BINARY = 0,
	COPY_FORMAT_TEXT = 1
};

struct config_token {
	char	   *token;
	char	   *tenant;
};

struct config {
	char	   *dsn;
	char	   *listen;
	char	   *unix_socket;
	int64_t		unix_socket_mode;
	char	   *spool_dir;
	int64_t		durability;
	int64_t		batch_max_events;
	int64_t		batch_max_ms;
	int64_t		flush_connections;
	int64_t		copy_format;
	int64_t		spool_max_bytes;
	int64_t		spool_segment_bytes;
	int64_t		drain_max_events_per_sec;
	int64_t		rate_limit;
	int64_t		rate_limit_burst;
	int64_t		max_body_bytes;
	int64_t		dedup_window_ms;
	int64_t		dedup_max_entries;
	int64_t		logs_refresh_ms;
	int64_t		flush_timeout_ms;
	int64_t		drain_timeout_ms;
	int64_t		retry_max_delay_ms;
	int64_t		pause_retry_ms;
	int64_t		verbose;
	int64_t		stats_period_ms;
	char	   *pidfile;
	char	   *logfile;
	struct config_token *tokens;	/* owned array */
	size_t		ntokens;
	char	   *path;			/* config file the values came from, or NULL */
};

/* Command-line state kept for reloads: the config file and flag overrides. */
struct config_args {
	const char *path;			/* borrowed from argv */
	const char **names;			/* owned array of borrowed strings */
	const char **values;
	size_t		n;
	int			help;
	int			version;
	int			check;			/* -t: check the config and exit */
};

/* Parse argv into args; err gets a message on EV_ERROR. Caller frees with config_args_free. */
int			config_args_parse(struct config_args *args, int argc, char **argv, struct buf *err) EV_MUST_USE;
void		config_args_free(struct config_args *args);
/* Build a config from defaults, the file (if any) and the flags; err names file:line. Caller frees. */
int			config_load(struct config *cfg, const struct config_args *args, struct buf *err) EV_MUST_USE;
/* Free a config's strings. */
void		config_free(struct config *cfg);
/*
 * Copy the reloadable options of next into cur; options that need a restart keep
 * their old value and are named in notes. next is left to the caller to free.
 */
int			config_apply_reload(struct config *cur, struct config *next, struct buf *notes) EV_MUST_USE;
/* Tenant of a bearer token, or NULL (borrowed from cfg). */
const char *config_token_tenant(const struct config *cfg, const char *token, size_t len);
/* Write the --help text: usage, flags and every option with default and reload flag. */
void		config_print_help(FILE *out);
/* Append "name = value (reload|restart)" lines for every option (tokens are not shown). */
int			config_dump(const struct config *cfg, struct buf *out) EV_MUST_USE;
/* Split "host:port" / "[v6]:port"; host is written into hostbuf. */
int			config_split_listen(const char *listen, char *hostbuf, size_t hostcap, int *port) EV_MUST_USE;
/* Iterate the option table (for the docs check): name of option i, or NULL past the end. */
const char *config_option_name(size_t i);

#endif
