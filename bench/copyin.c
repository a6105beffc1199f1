/*
 * copyin: calls eventlog.copy_in() or eventlog.ingest() the way an application
 * does, for the benchmark: a file of rows (one a line) is cut into chunks of N
 * rows, and each chunk goes to the server as a parameter of one prepared
 * statement (no SQL literal to parse, no escaping), one call per chunk.
 *
 *   copyin -d CONNINFO -t LOG -f FILE [-n ROWS_PER_CALL] [-F FORMAT]
 *   copyin -I -d CONNINFO -t LOG -f FILE [-n EVENTS_PER_CALL]
 *
 * copy_in() gets the chunk as a binary bytea parameter, in FORMAT (default
 * text). With -I the file is NDJSON and ingest() gets each chunk as one JSON
 * array, a text jsonb parameter: "[line,line,...]".
 *
 * -S STATEMENT prepares STATEMENT instead, with the same parameters ($1 the
 * log, $2 the chunk; -I: both of them, and nothing else), for analysis: with
 * -I, -S 'SELECT jsonb_array_length($2::jsonb), $1' times the sending and
 * parsing of ingest()'s calls without the rest of ingest().
 *
 * Prints the sum of the counts the calls returned, one line, and exits 0;
 * exits 1 with the server's error otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "readfile.h"


/* Sends one chunk; returns the count copy_in() or ingest() reported, or -1. */
static long long
call_chunk(PGconn *conn, int ingest, const char *log, const char *data, size_t len,
		   const char *format)
{
	const char *values[3] = {log, data, format};
	int			lengths[3] = {0, (int) len, 0};
	int			formats[3] = {0, ingest ? 0 : 1, 0};
	PGresult   *res;
	long long	n = -1;

	res = PQexecPrepared(conn, "chunk", ingest ? 2 : 3, values, lengths, formats, 0);
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
	const char *conninfo = "", *log = NULL, *path = NULL, *format = "text", *sql = NULL;
	long		per_call = 10000;
	int			ingest = 0;
	char	   *buf, *array = NULL;
	size_t		len, pos = 0;
	long long	total = 0;
	PGconn	   *conn;
	PGresult   *res;
	int			opt, rc = 0;

	while ((opt = getopt(argc, argv, "Id:t:f:n:F:S:")) != -1)
	{
		switch (opt)
		{
			case 'I': ingest = 1; break;
			case 'd': conninfo = optarg; break;
			case 't': log = optarg; break;
			case 'f': path = optarg; break;
			case 'n': per_call = strtol(optarg, NULL, 10); break;
			case 'F': format = optarg; break;
			case 'S': sql = optarg; break;
			default:
				fprintf(stderr, "usage: copyin [-I] -d CONNINFO -t LOG -f FILE [-n ROWS] [-F FORMAT] [-S STATEMENT]\n");
				return 2;
		}
	}
	if (log == NULL || path == NULL || per_call < 1)
	{
		fprintf(stderr, "usage: copyin [-I] -d CONNINFO -t LOG -f FILE [-n ROWS] [-F FORMAT] [-S STATEMENT]\n");
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
	res = PQprepare(conn, "chunk",
					sql ? sql
					: ingest ? "SELECT eventlog.ingest($1::regclass, $2::jsonb)"
					: "SELECT eventlog.copy_in($1::regclass, $2::bytea, $3::text)",
					ingest ? 2 : 3, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "copyin: %s", PQerrorMessage(conn));
		rc = 1;
	}
	PQclear(res);
	/* an ingest chunk, "[" + its lines joined by "," + "]", is at most the file's size + 2 */
	if (ingest && (array = malloc(len + 3)) == NULL)
	{
		fprintf(stderr, "copyin: out of memory\n");
		rc = 1;
	}
	/* Chunks end at a newline after per_call rows (one row a line). */
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
		if (ingest)
		{
			/* the lines as one JSON array: each newline but the last becomes a comma */
			size_t		alen = end - pos;

			while (alen > 0 && buf[pos + alen - 1] == '\n')
				alen--;
			array[0] = '[';
			memcpy(array + 1, buf + pos, alen);
			for (size_t i = 1; i <= alen; i++)
				if (array[i] == '\n')
					array[i] = ',';
			array[alen + 1] = ']';
			array[alen + 2] = '\0';
			n = call_chunk(conn, 1, log, array, alen + 2, NULL);
		}
		else
			n = call_chunk(conn, 0, log, buf + pos, end - pos, format);
		if (n < 0)
			rc = 1;
		else
			total += n;
		pos = end;
	}
	if (rc == 0)
		printf("%lld\n", total);
	PQfinish(conn);
	free(array);
	free(buf);
	return rc;
}
