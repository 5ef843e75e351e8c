/* string.h overlay of the MSVC-mode kit: see msvc-kit.h. */
#include_next <string.h>

#ifndef MSVC_KIT_STRING_H
#define MSVC_KIT_STRING_H
#include "msvc-kit.h"

/* Exported by ucrtbase, missing from Wine's header. */
_ACRTIMP errno_t __cdecl _strnset_s(char *str, size_t size, int c, size_t count);

#if !defined(_CRT_SECURE_NO_WARNINGS) && !defined(_CRT_SECURE_NO_DEPRECATE)
#define MSVC_KIT_DEPRECATE(name, repl) \
    _ACRTIMP __declspec(deprecated(MSVC_KIT_INSECURE(repl))) __typeof__(name) name;
MSVC_KIT_DEPRECATE(strcpy, "strcpy_s")
MSVC_KIT_DEPRECATE(strcat, "strcat_s")
MSVC_KIT_DEPRECATE(strncpy, "strncpy_s")
MSVC_KIT_DEPRECATE(strncat, "strncat_s")
MSVC_KIT_DEPRECATE(strtok, "strtok_s")
MSVC_KIT_DEPRECATE(strerror, "strerror_s")
MSVC_KIT_DEPRECATE(_strerror, "_strerror_s")
MSVC_KIT_DEPRECATE(_strlwr, "_strlwr_s")
MSVC_KIT_DEPRECATE(_strupr, "_strupr_s")
MSVC_KIT_DEPRECATE(_strset, "_strset_s")
MSVC_KIT_DEPRECATE(_strnset, "_strnset_s")
#undef MSVC_KIT_DEPRECATE
#endif

#if !defined(_CRT_NONSTDC_NO_WARNINGS) && !defined(_CRT_NONSTDC_NO_DEPRECATE)
#define strdup(...) strdup(__VA_ARGS__)
#pragma clang deprecated(strdup, MSVC_KIT_POSIX("_strdup"))
#define stricmp(...) stricmp(__VA_ARGS__)
#pragma clang deprecated(stricmp, MSVC_KIT_POSIX("_stricmp"))
#define strnicmp(...) strnicmp(__VA_ARGS__)
#pragma clang deprecated(strnicmp, MSVC_KIT_POSIX("_strnicmp"))
#define strcmpi(...) strcmpi(__VA_ARGS__)
#pragma clang deprecated(strcmpi, MSVC_KIT_POSIX("_strcmpi"))
#define strlwr(...) strlwr(__VA_ARGS__)
#pragma clang deprecated(strlwr, MSVC_KIT_POSIX("_strlwr"))
#define strupr(...) strupr(__VA_ARGS__)
#pragma clang deprecated(strupr, MSVC_KIT_POSIX("_strupr"))
#define strrev(...) strrev(__VA_ARGS__)
#pragma clang deprecated(strrev, MSVC_KIT_POSIX("_strrev"))
#define strset(...) strset(__VA_ARGS__)
#pragma clang deprecated(strset, MSVC_KIT_POSIX("_strset"))
#define strnset(...) strnset(__VA_ARGS__)
#pragma clang deprecated(strnset, MSVC_KIT_POSIX("_strnset"))
#define memicmp(...) memicmp(__VA_ARGS__)
#pragma clang deprecated(memicmp, MSVC_KIT_POSIX("_memicmp"))
#define memccpy(...) memccpy(__VA_ARGS__)
#pragma clang deprecated(memccpy, MSVC_KIT_POSIX("_memccpy"))
#endif

#endif /* MSVC_KIT_STRING_H */
