/*
 * body_canon_plain.c - the engine's body canonicalizer, compiled again
 * here without the AVX2 scan (body_canon_plain.h).
 *
 * body_canon.c enables its AVX2 path under "__x86_64__ && __GNUC__".  Every
 * header it uses is included first, so only that test sees the macro
 * removed; its public functions are renamed so both builds link into one
 * harness.  If body_canon.c gates its SIMD code some other way, the
 * #error below says so instead of silently testing the SIMD path twice.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "body_canon_plain.h"

#define body_canon_init plain_body_canon_init
#define body_canon_update plain_body_canon_update
#define body_canon_final plain_body_canon_final
#define body_canon_lacked_final_eol plain_body_canon_lacked_final_eol
#define body_canon_cleanup plain_body_canon_cleanup
#define body_canon_scan_supported plain_body_canon_scan_supported

#undef __x86_64__
#include "body_canon.c"

#ifdef VDKIM_HAVE_AVX2_SCAN
#error "body_canon.c enables its AVX2 scan without __x86_64__: update body_canon_plain.c"
#endif
