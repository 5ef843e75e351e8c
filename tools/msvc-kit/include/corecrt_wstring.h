/* corecrt_wstring.h overlay of the MSVC-mode kit (wide strings, reached
 * through <string.h> and <wchar.h>): see msvc-kit.h. */
#include_next <corecrt_wstring.h>

#ifndef MSVC_KIT_CORECRT_WSTRING_H
#define MSVC_KIT_CORECRT_WSTRING_H
#include "msvc-kit.h"

#if !defined(_CRT_SECURE_NO_WARNINGS) && !defined(_CRT_SECURE_NO_DEPRECATE)
#define MSVC_KIT_DEPRECATE(name, repl) \
    _ACRTIMP __declspec(deprecated(MSVC_KIT_INSECURE(repl))) __typeof__(name) name;
MSVC_KIT_DEPRECATE(wcscpy, "wcscpy_s")
MSVC_KIT_DEPRECATE(wcscat, "wcscat_s")
MSVC_KIT_DEPRECATE(wcsncpy, "wcsncpy_s")
MSVC_KIT_DEPRECATE(wcsncat, "wcsncat_s")
MSVC_KIT_DEPRECATE(_wcslwr, "_wcslwr_s")
MSVC_KIT_DEPRECATE(_wcsupr, "_wcsupr_s")
MSVC_KIT_DEPRECATE(_wcsset, "_wcsset_s")
#undef MSVC_KIT_DEPRECATE
#endif

#endif /* MSVC_KIT_CORECRT_WSTRING_H */
