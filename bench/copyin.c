/*
 * copyin: calls eventlog.copy_in() the way an application does, for the
 * benchmark: a file of COPY text rows is cut into chunks of N rows, and each
 * chunk goes to the server as a binary bytea parameter of one prepared
 * statement (no SQL literal to parse, no escaping), one call per chunk.
 *
 *   copyin -d CONNINFO -t LOG -f FILE [-n ROWS_PER_CALL] [-F FORMAT]
 *
 * Prints the sum of the counts copy_in() returned, one line, and exits 0;
 * exits 1 with the server's error otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "readfile.h"


/* Sends one chunk; returns the count copy_in() reported, or -1. */
static long long
call_copy_in(PGconn *conn, const char *log, const char *data, size_t len,
			 const char *format)
{
	const char *values[3] = {log, data, format};
	int			lengths[3] = {0, (int) len, 0};
	int			formats[3] = {0, 1, 0};
	PGresult   *res;
	long long	n = -1;

	res = PQexecPrepared(conn, "copy_in", 3, values, lengths, formats, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "copyin: %s", PQerrorMessage(conn));
	PQclear(res);
	return n;
}

int
main(int argc, char **argv)
{
	const char *conninfo = "", *log = NULL, *path = NULL, *format = "text";
	long		per_call = 10000;
	char	   *buf;
	size_t		len, pos = 0;
	long long	total = 0;
	PGconn	   *conn;
	PGresult   *res;
	int			opt, rc = 0;

	while ((opt = getopt(argc, argv, "d:t:f:n:F:")) != -1)
	{
		switch (opt)
		{
			case 'd': conninfo = optarg; break;
			case 't': log = optarg; break;
			case 'f': path = optarg; break;
			case 'n': per_call = strtol(optarg, NULL, 10); break;
			case 'F': format = optarg; break;
			default:
				fprintf(stderr, "usage: copyin -d CONNINFO -t LOG -f FILE [-n ROWS] [-F FORMAT]\n");
				return 2;
		}
	}
	if (log == NULL || path == NULL || per_call < 1)
	{
		fprintf(stderr, "usage: copyin -d CONNINFO -t LOG -f FILE [-n ROWS] [-F FORMAT]\n");
		return 2;
	}
	if ((buf = read_file(path, &len)) == NULL)
	{
		fprintf(stderr, "copyin: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "copyin: %s", PQerrorMessage(conn));
		PQfinish(conn);
		free(buf);
		return 1;
	}
	res = PQprepare(conn, "copy_in",
					"SELECT eventlog.copy_in($1::regclass, $2::bytea, $3::text)", 3, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "copyin: %s", PQerrorMessage(conn));
		rc = 1;
	}
	PQclear(res);
	/* Chunks end at a newline after per_call rows (COPY text: one row a line). */
	while (rc == 0 && pos < len)
	{
		size_t		end = pos;
		long		rows = 0;
		long long	n;

		while (end < len && rows < per_call)
		{
			const char *nl = memchr(buf + end, '\n', len - end);

			end = nl ? (size_t) (nl - buf) + 1 : len;
			rows++;
		}
		if (end - pos > 0x7fffffff)
		{
			fprintf(stderr, "copyin: chunk too large; lower -n\n");
			rc = 1;
			break;
		}
		n = call_copy_in(conn, log, buf + pos, end - pos, format);
		if (n < 0)
			rc = 1;
		else
			total += n;
		pos = end;
	}
	if (rc == 0)
		printf("%lld\n", total);
	PQfinish(conn);
	free(buf);
	return rc;
}
