/*
 * crtstub.c - the few pieces of MSVC's static C runtime that ucrtbase.dll
 * does not export, for the MSVC-mode kit (tools/msvc-kit.sh).
 *
 * A program built by cl names libcmt.lib (or msvcrt.lib) in every object.
 * The kit's libcmt.lib is Wine's import library for ucrtbase.dll, which
 * carries mainCRTStartup, plus this object:
 *
 *   __security_cookie, __security_check_cookie   cl has /GS on by default
 *   _fltused                                     named by any use of floating point
 *   atexit, _onexit                              not exported by ucrtbase
 *   _tls_used and friends                        the TLS directory for __declspec(thread)
 *   WinMainCRTStartup                            entry point of /SUBSYSTEM:WINDOWS programs
 *
 * Built by tools/msvc-kit.sh with clang-cl /GS- /Zl, twice: once as it is,
 * once with /DMSVC_KIT_WINMAIN for WinMainCRTStartup alone. The linker takes
 * a whole object out of a library when it needs one of its symbols; in the
 * same object as the cookie, WinMainCRTStartup would ask every console
 * program for a WinMain. It includes no header on purpose: the CRT headers
 * declare atexit as imported from the DLL, which this file defines.
 */

typedef unsigned long long u64;
typedef unsigned long ULONG;
typedef unsigned short WORD;
typedef unsigned long DWORD;
typedef void(__cdecl *pvfv)(void);
typedef int(__cdecl *onexit_t)(void);

#ifndef MSVC_KIT_WINMAIN

/* ------------------------------------------------------------------------
 * /GS: the stack cookie
 * --------------------------------------------------------------------- */

/* MSVC's default value. The real CRT randomises it at start-up; a fixed
 * value still catches the overruns a student would make by accident. */
u64 __security_cookie = 0x00002B992DDFA232ULL;
u64 __security_cookie_complement = ~0x00002B992DDFA232ULL;

void __cdecl __security_init_cookie(void)
{
}

void __cdecl __security_check_cookie(u64 cookie)
{
    if (cookie != __security_cookie)
        __fastfail(2); /* FAST_FAIL_STACK_COOKIE_CHECK_FAILURE, as MSVC does */
}

/* ------------------------------------------------------------------------
 * Floating point marker
 * --------------------------------------------------------------------- */

int _fltused = 0x9875;

/* ------------------------------------------------------------------------
 * atexit and _onexit: forwarded to ucrtbase's _crt_atexit
 * --------------------------------------------------------------------- */

__declspec(dllimport) int __cdecl _crt_atexit(pvfv func);

int __cdecl atexit(pvfv func)
{
    return _crt_atexit(func);
}

onexit_t __cdecl _onexit(onexit_t func)
{
    return _crt_atexit((pvfv)(void *)func) == 0 ? func : 0;
}

/* The headers declare both as __declspec(dllimport): callers go through
 * __imp_atexit. Defining the pointers here keeps lld-link from warning
 * "locally defined symbol imported". */
int(__cdecl *__imp_atexit)(pvfv) = atexit;
onexit_t(__cdecl *__imp__onexit)(onexit_t) = _onexit;

/* ------------------------------------------------------------------------
 * TLS directory (what MSVC's tlssup.obj provides)
 *
 * The compiler puts __declspec(thread) variables in ".tls$"; the linker
 * sorts ".tls" < ".tls$" < ".tls$ZZZ", so _tls_start and _tls_end bracket
 * them. lld-link points the image's TLS directory at _tls_used.
 * --------------------------------------------------------------------- */

#pragma section(".tls", read, write)
#pragma section(".tls$ZZZ", read, write)
#pragma section(".CRT$XLA", read)
#pragma section(".CRT$XLZ", read)

typedef void(__stdcall *tls_callback)(void *dll, DWORD reason, void *reserved);

__declspec(allocate(".tls")) char _tls_start = 0;
__declspec(allocate(".tls$ZZZ")) char _tls_end = 0;
__declspec(allocate(".CRT$XLA")) tls_callback __xl_a = 0;
__declspec(allocate(".CRT$XLZ")) tls_callback __xl_z = 0;

ULONG _tls_index = 0;

struct tls_directory64 { /* IMAGE_TLS_DIRECTORY64 */
    u64 start_of_raw_data;
    u64 end_of_raw_data;
    u64 address_of_index;
    u64 address_of_callbacks;
    DWORD size_of_zero_fill;
    DWORD characteristics;
};

const struct tls_directory64 _tls_used = {
    (u64)&_tls_start, (u64)&_tls_end, (u64)&_tls_index, (u64)(&__xl_a + 1), 0, 0,
};

#else /* MSVC_KIT_WINMAIN */

/* ------------------------------------------------------------------------
 * WinMainCRTStartup: what ucrtbase's mainCRTStartup does, then WinMain
 * --------------------------------------------------------------------- */

struct startup_info { /* STARTUPINFOA */
    DWORD cb;
    char *reserved, *desktop, *title;
    DWORD x, y, x_size, y_size, x_count_chars, y_count_chars, fill_attribute, flags;
    WORD show_window, reserved2_size;
    unsigned char *reserved2;
    void *std_input, *std_output, *std_error;
};
#define STARTF_USESHOWWINDOW 0x1
#define SW_SHOWDEFAULT 10

__declspec(dllimport) void __cdecl _set_app_type(int type);
__declspec(dllimport) int __cdecl _configure_narrow_argv(int mode);
__declspec(dllimport) int __cdecl _initialize_narrow_environment(void);
__declspec(dllimport) void __cdecl exit(int status);
__declspec(dllimport) char *__stdcall GetCommandLineA(void);
__declspec(dllimport) void *__stdcall GetModuleHandleA(const char *name);
__declspec(dllimport) void __stdcall GetStartupInfoA(struct startup_info *info);

int __stdcall WinMain(void *instance, void *prev_instance, char *cmd_line, int show);

void __cdecl WinMainCRTStartup(void)
{
    struct startup_info si;
    char *p;
    int in_quotes = 0, show = SW_SHOWDEFAULT;

    _set_app_type(2);           /* _crt_gui_app */
    _configure_narrow_argv(1);  /* _crt_argv_unexpanded_arguments */
    _initialize_narrow_environment();

    /* Skip the program name (quoted or not), then the blanks after it. */
    p = GetCommandLineA();
    while (*p && (in_quotes || (*p != ' ' && *p != '\t'))) {
        if (*p == '"')
            in_quotes = !in_quotes;
        p++;
    }
    while (*p == ' ' || *p == '\t')
        p++;

    si.cb = (DWORD)sizeof si;
    GetStartupInfoA(&si);
    if (si.flags & STARTF_USESHOWWINDOW)
        show = si.show_window;

    exit(WinMain(GetModuleHandleA(0), 0, p, show));
}

#endif /* MSVC_KIT_WINMAIN */
