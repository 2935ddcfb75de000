/*
 * interval.h - time intervals as operators write them: "3600", "90s",
 * "30m", "12h", "7d", "2w".
 */
#ifndef VDKIM_INTERVAL_H
#define VDKIM_INTERVAL_H

/* Parses text into seconds; returns 0, or -1 when it is not an interval
 * (empty, unknown unit, trailing junk, negative, or over ten years). */
int interval_parse(const char *text, long *seconds);

#endif
