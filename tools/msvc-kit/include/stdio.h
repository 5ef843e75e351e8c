/* stdio.h overlay of the MSVC-mode kit: see msvc-kit.h. */
#include_next <stdio.h>

#ifndef MSVC_KIT_STDIO_H
#define MSVC_KIT_STDIO_H
#include "msvc-kit.h"

/* Exported by ucrtbase, missing from Wine's header. */
_ACRTIMP errno_t __cdecl tmpnam_s(char *buf, size_t size);

#if !defined(_CRT_SECURE_NO_WARNINGS) && !defined(_CRT_SECURE_NO_DEPRECATE)
#define MSVC_KIT_DEPRECATE(name, repl) \
    _ACRTIMP __declspec(deprecated(MSVC_KIT_INSECURE(repl))) __typeof__(name) name;
MSVC_KIT_DEPRECATE(fopen, "fopen_s")
MSVC_KIT_DEPRECATE(freopen, "freopen_s")
MSVC_KIT_DEPRECATE(tmpnam, "tmpnam_s")
MSVC_KIT_DEPRECATE(tmpfile, "tmpfile_s")
MSVC_KIT_DEPRECATE(setbuf, "setvbuf")
#undef MSVC_KIT_DEPRECATE

/* Inline in Wine's header (as in the UCRT's): marked as macros. */
#define sprintf(...) sprintf(__VA_ARGS__)
#pragma clang deprecated(sprintf, MSVC_KIT_INSECURE("sprintf_s"))
#define vsprintf(...) vsprintf(__VA_ARGS__)
#pragma clang deprecated(vsprintf, MSVC_KIT_INSECURE("vsprintf_s"))
#define _snprintf(...) _snprintf(__VA_ARGS__)
#pragma clang deprecated(_snprintf, MSVC_KIT_INSECURE("_snprintf_s"))
#define _vsnprintf(...) _vsnprintf(__VA_ARGS__)
#pragma clang deprecated(_vsnprintf, MSVC_KIT_INSECURE("_vsnprintf_s"))
#define sscanf(...) sscanf(__VA_ARGS__)
#pragma clang deprecated(sscanf, MSVC_KIT_INSECURE("sscanf_s"))
#define scanf(...) scanf(__VA_ARGS__)
#pragma clang deprecated(scanf, MSVC_KIT_INSECURE("scanf_s"))
#define fscanf(...) fscanf(__VA_ARGS__)
#pragma clang deprecated(fscanf, MSVC_KIT_INSECURE("fscanf_s"))
#endif

#if !defined(_CRT_NONSTDC_NO_WARNINGS) && !defined(_CRT_NONSTDC_NO_DEPRECATE)
#define fdopen(...) fdopen(__VA_ARGS__)
#pragma clang deprecated(fdopen, MSVC_KIT_POSIX("_fdopen"))
#define fileno(...) fileno(__VA_ARGS__)
#pragma clang deprecated(fileno, MSVC_KIT_POSIX("_fileno"))
#define unlink(...) unlink(__VA_ARGS__)
#pragma clang deprecated(unlink, MSVC_KIT_POSIX("_unlink"))
#define tempnam(...) tempnam(__VA_ARGS__)
#pragma clang deprecated(tempnam, MSVC_KIT_POSIX("_tempnam"))
#endif

#endif /* MSVC_KIT_STDIO_H */
