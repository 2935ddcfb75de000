/*
 * name_table.c - names of codes from tables indexed by code.
 */
#include "name_table.h"

const char *
name_table_get(const char *const *names, size_t n, size_t code)
{
	return code < n && names[code] != NULL ? names[code] : "unknown";
}
