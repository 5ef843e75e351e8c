/* stdlib.h overlay of the MSVC-mode kit: see msvc-kit.h. */
#include_next <stdlib.h>

#ifndef MSVC_KIT_STDLIB_H
#define MSVC_KIT_STDLIB_H
#include "msvc-kit.h"

/* Exported by ucrtbase, missing from Wine's header: the replacements that
 * MSVC's own messages recommend. */
_ACRTIMP errno_t __cdecl _dupenv_s(char **buf, size_t *size, const char *name);
_ACRTIMP errno_t __cdecl getenv_s(size_t *needed, char *buf, size_t size, const char *name);
_ACRTIMP errno_t __cdecl _wdupenv_s(wchar_t **buf, size_t *size, const wchar_t *name);
_ACRTIMP errno_t __cdecl _wgetenv_s(size_t *needed, wchar_t *buf, size_t size, const wchar_t *name);
_ACRTIMP errno_t __cdecl wctomb_s(int *converted, char *buf, size_t size, wchar_t wc);
_ACRTIMP errno_t __cdecl _ecvt_s(char *buf, size_t size, double value, int digits, int *dec,
                                 int *sign);
_ACRTIMP errno_t __cdecl _fcvt_s(char *buf, size_t size, double value, int digits, int *dec,
                                 int *sign);

#if !defined(_CRT_SECURE_NO_WARNINGS) && !defined(_CRT_SECURE_NO_DEPRECATE)
#define MSVC_KIT_DEPRECATE(name, repl) \
    _ACRTIMP __declspec(deprecated(MSVC_KIT_INSECURE(repl))) __typeof__(name) name;
MSVC_KIT_DEPRECATE(getenv, "_dupenv_s")
MSVC_KIT_DEPRECATE(_wgetenv, "_wdupenv_s")
MSVC_KIT_DEPRECATE(mbstowcs, "mbstowcs_s")
MSVC_KIT_DEPRECATE(wcstombs, "wcstombs_s")
MSVC_KIT_DEPRECATE(wctomb, "wctomb_s")
MSVC_KIT_DEPRECATE(_itoa, "_itoa_s")
MSVC_KIT_DEPRECATE(_ltoa, "_ltoa_s")
MSVC_KIT_DEPRECATE(_ultoa, "_ultoa_s")
MSVC_KIT_DEPRECATE(_i64toa, "_i64toa_s")
MSVC_KIT_DEPRECATE(_ui64toa, "_ui64toa_s")
MSVC_KIT_DEPRECATE(_ecvt, "_ecvt_s")
MSVC_KIT_DEPRECATE(_fcvt, "_fcvt_s")
MSVC_KIT_DEPRECATE(_gcvt, "_gcvt_s")
#undef MSVC_KIT_DEPRECATE
#endif

#if !defined(_CRT_NONSTDC_NO_WARNINGS) && !defined(_CRT_NONSTDC_NO_DEPRECATE)
#define itoa(...) itoa(__VA_ARGS__)
#pragma clang deprecated(itoa, MSVC_KIT_POSIX("_itoa"))
#define ltoa(...) ltoa(__VA_ARGS__)
#pragma clang deprecated(ltoa, MSVC_KIT_POSIX("_ltoa"))
#define ultoa(...) ultoa(__VA_ARGS__)
#pragma clang deprecated(ultoa, MSVC_KIT_POSIX("_ultoa"))
#define ecvt(...) ecvt(__VA_ARGS__)
#pragma clang deprecated(ecvt, MSVC_KIT_POSIX("_ecvt"))
#define fcvt(...) fcvt(__VA_ARGS__)
#pragma clang deprecated(fcvt, MSVC_KIT_POSIX("_fcvt"))
#define gcvt(...) gcvt(__VA_ARGS__)
#pragma clang deprecated(gcvt, MSVC_KIT_POSIX("_gcvt"))
#define putenv(...) putenv(__VA_ARGS__)
#pragma clang deprecated(putenv, MSVC_KIT_POSIX("_putenv"))
#define swab(...) swab(__VA_ARGS__)
#pragma clang deprecated(swab, MSVC_KIT_POSIX("_swab"))
#endif

#endif /* MSVC_KIT_STDLIB_H */
