/*
 * interval.c - parsing "N[smhdw]" intervals.
 */
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
