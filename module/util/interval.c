/*
 * interval.c - parsing "N[smhdw]" intervals.
 */
#include <stdio.h>

#include "interval.h"

#define INTERVAL_MAX (10L * 366 * 24 * 3600)

int
interval_parse(const char *text, long *seconds)
{
	long v = 0, mult = 1;
	const char *p = text;

	if (p == 0 || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > INTERVAL_MAX)
			return -1;
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 7 * 86400;
		break;
	default:
		return -1;
	}
	if (*p != '\0' && p[1] != '\0')
		return -1;
	if (v > INTERVAL_MAX / mult)
		return -1;
	*seconds = v * mult;
	return 0;
}

char *
interval_format(long seconds, char *out, unsigned long len)
{
	static const struct {
		long size;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	unsigned long n = 0;
	long left = seconds < 0 ? 0 : seconds;

	if (len == 0)
		return out;
	out[0] = '\0';
	for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		long k = left / units[i].size;
		int w;

		left %= units[i].size;
		if (k == 0 && !(units[i].size == 1 && n == 0))
			continue;
		w = snprintf(out + n, len - n, "%s%ld%c", n > 0 ? " " : "", k,
		    units[i].unit);
		if (w < 0 || (unsigned long)w >= len - n) {
			out[n] = '\0'; /* the parts that fit, whole */
			break;
		}
		n += (unsigned long)w;
	}
	return out;
}
