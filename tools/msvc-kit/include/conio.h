/* conio.h overlay of the MSVC-mode kit: see msvc-kit.h. */
#include_next <conio.h>

#ifndef MSVC_KIT_CONIO_H
#define MSVC_KIT_CONIO_H
#include "msvc-kit.h"

#if !defined(_CRT_SECURE_NO_WARNINGS) && !defined(_CRT_SECURE_NO_DEPRECATE)
_ACRTIMP __declspec(deprecated(MSVC_KIT_INSECURE("_cgets_s"))) __typeof__(_cgets) _cgets;
#endif

#if !defined(_CRT_NONSTDC_NO_WARNINGS) && !defined(_CRT_NONSTDC_NO_DEPRECATE)
#define getch(...) getch(__VA_ARGS__)
#pragma clang deprecated(getch, MSVC_KIT_POSIX("_getch"))
#define getche(...) getche(__VA_ARGS__)
#pragma clang deprecated(getche, MSVC_KIT_POSIX("_getche"))
#define kbhit(...) kbhit(__VA_ARGS__)
#pragma clang deprecated(kbhit, MSVC_KIT_POSIX("_kbhit"))
#define putch(...) putch(__VA_ARGS__)
#pragma clang deprecated(putch, MSVC_KIT_POSIX("_putch"))
#define ungetch(...) ungetch(__VA_ARGS__)
#pragma clang deprecated(ungetch, MSVC_KIT_POSIX("_ungetch"))
#define cgets(...) cgets(__VA_ARGS__)
#pragma clang deprecated(cgets, MSVC_KIT_POSIX("_cgets"))
#endif

#endif /* MSVC_KIT_CONIO_H */
