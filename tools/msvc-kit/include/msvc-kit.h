/*
 * msvc-kit.h - shared by the overlay headers of the MSVC-mode kit.
 *
 * tools/msvc-kit.sh puts this folder in INCLUDE before Wine's SDK headers.
 * Each overlay header includes Wine's header of the same name
 * (#include_next), then closes a gap between Wine's SDK and Microsoft's:
 *
 *  - C4996: MSVC marks unsafe CRT calls, POSIX names and old Winsock calls
 *    deprecated, and /W4 /WX turns that into an error. Wine's headers do
 *    not. The overlays mark the same names, with Microsoft's message and
 *    Microsoft's opt-outs (_CRT_SECURE_NO_WARNINGS, _CRT_NONSTDC_NO_WARNINGS,
 *    _WINSOCK_DEPRECATED_NO_WARNINGS), so that a build with the kit fails
 *    where a build with Visual Studio fails.
 *    Functions that Wine declares as imports get the attribute on a
 *    redeclaration (clang reports "'name' is deprecated"). Functions that
 *    Wine defines inline cannot take the attribute after their definition:
 *    they become function-like macros marked with #pragma clang deprecated
 *    (clang reports "macro 'name' has been marked as deprecated"); being
 *    function-like, they leave struct members and variables of the same
 *    name alone.
 *  - Declarations the Windows SDK has and Wine's lacks (GetSystemTimes,
 *    FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, localtime_s, _dupenv_s, ...).
 *  - FD_SETSIZE set before <winsock2.h> is kept (Wine's header drops it).
 *
 * Every message starts with "(MSVC C4996)": that is the warning Visual
 * Studio reports for the same line.
 */
#ifndef MSVC_KIT_H
#define MSVC_KIT_H

#define MSVC_KIT_INSECURE(repl) \
    "(MSVC C4996) This function or variable may be unsafe. Consider using " repl \
    " instead. To disable deprecation, use _CRT_SECURE_NO_WARNINGS."
#define MSVC_KIT_POSIX(name) \
    "(MSVC C4996) The POSIX name for this item is deprecated. Instead, use the ISO C" \
    " and C++ conformant name: " name "."
#define MSVC_KIT_WINSOCK(repl) \
    "(MSVC C4996) Use " repl " instead or define _WINSOCK_DEPRECATED_NO_WARNINGS" \
    " to disable deprecated API warnings"

#endif /* MSVC_KIT_H */
