/* time.h overlay of the MSVC-mode kit: see msvc-kit.h. */
#include_next <time.h>

#ifndef MSVC_KIT_TIME_H
#define MSVC_KIT_TIME_H
#include "msvc-kit.h"

/* Exported by ucrtbase (or inline in the UCRT's header), missing from
 * Wine's: the replacements that MSVC's own messages recommend. */
_ACRTIMP errno_t __cdecl asctime_s(char *buf, size_t size, const struct tm *tm);
_ACRTIMP errno_t __cdecl _ctime32_s(char *buf, size_t size, const __time32_t *t);
_ACRTIMP errno_t __cdecl _ctime64_s(char *buf, size_t size, const __time64_t *t);
_ACRTIMP errno_t __cdecl _gmtime32_s(struct tm *tm, const __time32_t *t);
_ACRTIMP errno_t __cdecl _gmtime64_s(struct tm *tm, const __time64_t *t);
#ifndef _USE_32BIT_TIME_T
#define MSVC_KIT_TIME_S(name) name##64_s
#else
#define MSVC_KIT_TIME_S(name) name##32_s
#endif
static __inline errno_t __cdecl ctime_s(char *buf, size_t size, const time_t *t)
{
    return MSVC_KIT_TIME_S(_ctime)(buf, size, t);
}
static __inline errno_t __cdecl gmtime_s(struct tm *tm, const time_t *t)
{
    return MSVC_KIT_TIME_S(_gmtime)(tm, t);
}
static __inline errno_t __cdecl localtime_s(struct tm *tm, const time_t *t)
{
    return MSVC_KIT_TIME_S(_localtime)(tm, t);
}
#undef MSVC_KIT_TIME_S

#if !defined(_CRT_SECURE_NO_WARNINGS) && !defined(_CRT_SECURE_NO_DEPRECATE)
#define MSVC_KIT_DEPRECATE(name, repl) \
    _ACRTIMP __declspec(deprecated(MSVC_KIT_INSECURE(repl))) __typeof__(name) name;
MSVC_KIT_DEPRECATE(asctime, "asctime_s")
MSVC_KIT_DEPRECATE(_ctime32, "_ctime32_s")
MSVC_KIT_DEPRECATE(_ctime64, "_ctime64_s")
MSVC_KIT_DEPRECATE(_gmtime32, "_gmtime32_s")
MSVC_KIT_DEPRECATE(_gmtime64, "_gmtime64_s")
MSVC_KIT_DEPRECATE(_localtime32, "_localtime32_s")
MSVC_KIT_DEPRECATE(_localtime64, "_localtime64_s")
MSVC_KIT_DEPRECATE(_strdate, "_strdate_s")
MSVC_KIT_DEPRECATE(_strtime, "_strtime_s")
#undef MSVC_KIT_DEPRECATE

/* Inline in Wine's header (as in the UCRT's): marked as macros. */
#define ctime(...) ctime(__VA_ARGS__)
#pragma clang deprecated(ctime, MSVC_KIT_INSECURE("ctime_s"))
#define gmtime(...) gmtime(__VA_ARGS__)
#pragma clang deprecated(gmtime, MSVC_KIT_INSECURE("gmtime_s"))
#define localtime(...) localtime(__VA_ARGS__)
#pragma clang deprecated(localtime, MSVC_KIT_INSECURE("localtime_s"))
#endif

#endif /* MSVC_KIT_TIME_H */
