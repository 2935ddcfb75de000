/*
 * interval.h - time intervals as operators write them: "3600", "90s",
 * "30m", "12h", "7d", "2w".
 */
#ifndef VDKIM_INTERVAL_H
#define VDKIM_INTERVAL_H

/* Parses text into seconds; returns 0, or -1 when it is not an interval
 * (empty, unknown unit, trailing junk, negative, or over ten years). */
int interval_parse(const char *text, long *seconds);

/* Writes seconds as an operator reads a duration: days, hours, minutes
 * and seconds, the zero ones left out ("7d", "1d 12h", "90s" is "1m 30s",
 * 0 is "0s").  out gets at most len - 1 bytes (INTERVAL_TEXT_MAX is
 * always enough); returns out. */
#define INTERVAL_TEXT_MAX 48
char *interval_format(long seconds, char *out, unsigned long len);

#endif
