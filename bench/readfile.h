/* read_file() for the bench's libpq clients (bench/copyin.c, bench/minsert.c). */
#ifndef BENCH_READFILE_H
#define BENCH_READFILE_H

#include <stdio.h>
#include <stdlib.h>

/* Reads the whole file; the caller frees. */
static inline char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf = NULL;
	long		size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
		goto done;
	buf = malloc((size_t) size + 1);
	if (buf == NULL)
		goto done;
	if (fread(buf, 1, (size_t) size, f) != (size_t) size)
	{
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[size] = '\0';
	*len = (size_t) size;
done:
	fclose(f);
	return buf;
}

#endif
