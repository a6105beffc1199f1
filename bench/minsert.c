/*
 * minsert: multi-row INSERT, as an application batches its writes, for the
 * benchmark: each statement is one INSERT INTO log (...) VALUES (...), (...)
 * of N rows (default 1,000) with every value a bound parameter, prepared once,
 * one transaction a statement (autocommit). The rows come from a file of COPY
 * text rows of the 9 envelope columns; received_at is left to the column's
 * default, as a producer leaves it to the server.
 *
 *   minsert -d CONNINFO -t TABLE -f FILE [-n ROWS_PER_STATEMENT]
 *
 * Prints the number of rows the statements reported, one line, and exits 0;
 * exits 1 with the server's error otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "readfile.h"

/* The envelope columns of the file, in order; received_at (index 5) is not sent. */
#define FILE_COLS 9
#define SKIP_COL 5
#define SENT_COLS (FILE_COLS - 1)
static const char *const sent_columns =
	"event_id, tenant_id, event_type, subject, occurred_at, schema_version, payload, metadata";


/*
 * Splits the COPY text line at p (ending at its newline) into its fields, in
 * place: each field is unescaped and NUL-terminated, \N becomes NULL. Returns
 * the start of the next line, or NULL when the line does not have FILE_COLS fields.
 */
static char *
split_line(char *p, char *end, const char **fields)
{
	int			col = 0;
	char	   *out = p,
			   *start = p;

	for (;;)
	{
		if (p == end || *p == '\n' || *p == '\t')
		{
			int			last = (p == end || *p == '\n');

			*out = '\0';
			if (col >= FILE_COLS)
				return NULL;
			/* \N was copied verbatim (see below): the NULL marker */
			fields[col++] = (strcmp(start, "\\N") == 0) ? NULL : start;
			p++;
			out = p;
			start = p;
			if (last)
				return col == FILE_COLS ? p : NULL;
			continue;
		}
		if (*p == '\\' && p + 1 < end && p[1] != 'N')
		{
			char		c = p[1];

			switch (c)
			{
				case 'b': c = '\b'; break;
				case 'f': c = '\f'; break;
				case 'n': c = '\n'; break;
				case 'r': c = '\r'; break;
				case 't': c = '\t'; break;
				case 'v': c = '\v'; break;
				default: break;		/* \\ and any other escaped character: itself */
			}
			*out++ = c;
			p += 2;
			continue;
		}
		*out++ = *p++;
	}
}

/* The INSERT of rows rows, its parameters numbered from $1; the caller frees. */
static char *
insert_sql(PGconn *conn, const char *table, long rows)
{
	char	   *ident = PQescapeIdentifier(conn, table, strlen(table));
	size_t		cap = strlen(ident) + 256 + (size_t) rows * SENT_COLS * 10;
	char	   *sql = malloc(cap);
	size_t		len;
	long		r;
	int			c;

	len = (size_t) snprintf(sql, cap, "INSERT INTO %s (%s) VALUES ", ident, sent_columns);
	for (r = 0; r < rows; r++)
	{
		len += (size_t) snprintf(sql + len, cap - len, "%s(", r ? "," : "");
		for (c = 0; c < SENT_COLS; c++)
			len += (size_t) snprintf(sql + len, cap - len, "%s$%ld", c ? "," : "",
									 r * SENT_COLS + c + 1);
		len += (size_t) snprintf(sql + len, cap - len, ")");
	}
	PQfreemem(ident);
	return sql;
}

/* Runs one statement of rows rows whose values are in values; returns its row count, or -1. */
static long long
run_insert(PGconn *conn, const char *table, const char *prepared, long rows,
		   const char **values)
{
	PGresult   *res;
	long long	n = -1;

	if (prepared)
		res = PQexecPrepared(conn, prepared, (int) (rows * SENT_COLS), values, NULL, NULL, 0);
	else
	{
		/* the last, shorter statement: not worth preparing */
		char	   *sql = insert_sql(conn, table, rows);

		res = PQexecParams(conn, sql, (int) (rows * SENT_COLS), NULL, values, NULL, NULL, 0);
		free(sql);
	}
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		n = strtoll(PQcmdTuples(res), NULL, 10);
	else
		fprintf(stderr, "minsert: %s", PQerrorMessage(conn));
	PQclear(res);
	return n;
}

/* Parses the options, prepares the INSERT, then sends the file's rows statement by statement. */
int
main(int argc, char **argv)
{
	const char *conninfo = "",
			   *table = NULL,
			   *path = NULL;
	long		per_stmt = 1000,
				rows = 0;
	char	   *buf = NULL,
			   *p,
			   *end,
			   *sql;
	size_t		len;
	long long	total = 0,
				n;
	const char **values = NULL,
			   *fields[FILE_COLS];
	PGconn	   *conn = NULL;
	PGresult   *res;
	int			opt,
				c,
				k,
				rc = 0;

	while ((opt = getopt(argc, argv, "d:t:f:n:")) != -1)
	{
		switch (opt)
		{
			case 'd': conninfo = optarg; break;
			case 't': table = optarg; break;
			case 'f': path = optarg; break;
			case 'n': per_stmt = strtol(optarg, NULL, 10); break;
			default:
				fprintf(stderr, "usage: minsert -d CONNINFO -t TABLE -f FILE [-n ROWS]\n");
				return 2;
		}
	}
	/* PostgreSQL allows at most 65535 parameters in a statement */
	if (table == NULL || path == NULL || per_stmt < 1 || per_stmt * SENT_COLS > 65535)
	{
		fprintf(stderr, "usage: minsert -d CONNINFO -t TABLE -f FILE [-n ROWS (1-8191)]\n");
		return 2;
	}
	if ((buf = read_file(path, &len)) == NULL)
	{
		fprintf(stderr, "minsert: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "minsert: %s", PQerrorMessage(conn));
		rc = 1;
		goto done;
	}
	sql = insert_sql(conn, table, per_stmt);
	res = PQprepare(conn, "minsert", sql, (int) (per_stmt * SENT_COLS), NULL);
	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "minsert: %s", PQerrorMessage(conn));
		rc = 1;
	}
	PQclear(res);
	values = malloc(sizeof(char *) * (size_t) per_stmt * SENT_COLS);
	p = buf;
	end = buf + len;
	while (rc == 0 && p < end)
	{
		char	   *next = split_line(p, end, fields);

		if (next == NULL)
		{
			fprintf(stderr, "minsert: a line of %s does not have %d fields\n", path, FILE_COLS);
			rc = 1;
			break;
		}
		p = next;
		for (c = 0, k = 0; c < FILE_COLS; c++)
			if (c != SKIP_COL)
				values[rows * SENT_COLS + k++] = fields[c];
		if (++rows == per_stmt || p >= end)
		{
			n = run_insert(conn, table, rows == per_stmt ? "minsert" : NULL, rows, values);
			if (n < 0)
				rc = 1;
			else
				total += n;
			rows = 0;
		}
	}
	if (rc == 0)
		printf("%lld\n", total);
done:
	PQfinish(conn);
	free(values);
	free(buf);
	return rc;
}
