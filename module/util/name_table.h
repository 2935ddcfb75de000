/*
 * name_table.h - the stable name of a code, looked up in a table of names
 * indexed by the code ("[VDKIM_RES_PASS] = \"pass\"").
 */
#ifndef VDKIM_NAME_TABLE_H
#define VDKIM_NAME_TABLE_H

#include <stddef.h>

/* names[code], or "unknown" when code is past the table's n entries or
 * has none (a code newer than the table, or a value no code has). */
const char *name_table_get(const char *const *names, size_t n, size_t code);

/* name_table_get on a table whose size the compiler knows.  A negative
 * code converts to a huge size_t, which no table reaches. */
#define NAME_TABLE_GET(table, code) \
	name_table_get((table), sizeof(table) / sizeof((table)[0]), \
	    (size_t)(code))

#endif
