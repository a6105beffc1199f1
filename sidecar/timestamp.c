/* Timestamps: RFC 3339 parsing and formatting, in microseconds since the Unix epoch (UTC). */
#include <stdio.h>
#include <time.h>

#include "timestamp.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era,
				doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Read n digits at s; -1 if any is not a digit. */
static int
digits(const char *s, int n)
{
	int			v = 0,
				i;

	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parse RFC 3339. */
int
timestamp_parse(const char *s, size_t len, int64_t *unix_us)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y,
				mo,
				d,
				h,
				mi,
				se;
	size_t		i;
	int64_t		frac = 0;
	int			fdig = 0;
	int			round_up = 0;
	int64_t		off_s = 0;
	int			leap;

	if (len < 20)
		return EV_ERROR;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	se = digits(s + 17, 2);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60 ||
		s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		s[13] != ':' || s[16] != ':')
		return EV_ERROR;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return EV_ERROR;
	i = 19;
	if (i < len && s[i] == '.')
	{
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return EV_ERROR;
		while (i < len && s[i] >= '0' && s[i] <= '9')
		{
			if (fdig < 6)
				frac = frac * 10 + (s[i] - '0');
			else if (fdig == 6)
				round_up = s[i] >= '5';
			fdig++;
			i++;
		}
		while (fdig < 6)
		{
			frac *= 10;
			fdig++;
		}
	}
	if (i >= len)
		return EV_ERROR;		/* a time zone is required */
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len)
		off_s = 0;
	else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':')
	{
		int			oh = digits(s + i + 1, 2),
					om = digits(s + i + 4, 2);

		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return EV_ERROR;
		off_s = (int64_t) oh * 3600 + om * 60;
		if (s[i] == '-')
			off_s = -off_s;
	}
	else
		return EV_ERROR;
	*unix_us = ((days_from_civil(y, mo, d) * 86400 + (int64_t) h * 3600 + mi * 60 + se - off_s) * 1000000)
		+ frac + round_up;
	return EV_OK;
}

/* Split unix_us into fields. */
static void
split(int64_t us, int64_t *y, int *mo, int *d, int *h, int *mi, int *se, int64_t *frac)
{
	int64_t		secs = us / 1000000;
	int64_t		days;
	int64_t		rem;

	*frac = us % 1000000;
	if (*frac < 0)
	{
		*frac += 1000000;
		secs--;
	}
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0)
	{
		rem += 86400;
		days--;
	}
	civil_from_days(days, y, mo, d);
	*h = (int) (rem / 3600);
	*mi = (int) (rem % 3600 / 60);
	*se = (int) (rem % 60);
}

/* Format for PostgreSQL text input. */
size_t
timestamp_format_pg(int64_t unix_us, char out[40])
{
	int64_t		y,
				frac;
	int			mo,
				d,
				h,
				mi,
				se;

	split(unix_us, &y, &mo, &d, &h, &mi, &se, &frac);
	return (size_t) snprintf(out, 40, "%04lld-%02d-%02d %02d:%02d:%02d.%06lld+00",
							 (long long) y, mo, d, h, mi, se, (long long) frac);
}

/* Format as ISO 8601 / RFC 3339 UTC. */
size_t
timestamp_format_iso(int64_t unix_us, char out[40])
{
	int64_t		y,
				frac;
	int			mo,
				d,
				h,
				mi,
				se;

	split(unix_us, &y, &mo, &d, &h, &mi, &se, &frac);
	return (size_t) snprintf(out, 40, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ",
							 (long long) y, mo, d, h, mi, se, (long long) frac);
}

/* Wall clock now. */
int64_t
timestamp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
