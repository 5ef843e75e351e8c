/* winbase.h overlay of the MSVC-mode kit (reached through <windows.h>):
 * see msvc-kit.h. */
#include_next <winbase.h>

#ifndef MSVC_KIT_WINBASE_H
#define MSVC_KIT_WINBASE_H

/* In the Windows SDK (processthreadsapi.h, winbase.h), missing from Wine's. */
WINBASEAPI BOOL WINAPI GetSystemTimes(LPFILETIME idle_time, LPFILETIME kernel_time,
                                      LPFILETIME user_time);
WINBASEAPI BOOL WINAPI GetProcessHandleCount(HANDLE process, PDWORD handle_count);
#ifndef FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
#define FILE_SKIP_COMPLETION_PORT_ON_SUCCESS 0x1
#endif
#ifndef FILE_SKIP_SET_EVENT_ON_HANDLE
#define FILE_SKIP_SET_EVENT_ON_HANDLE 0x2
#endif

/* Deprecated in the Windows SDK since 8.1 (C4996 "was declared deprecated"):
 * use the IsWindows*() helpers of <versionhelpers.h>. */
WINBASEAPI __declspec(deprecated) __typeof__(GetVersion) GetVersion;
WINBASEAPI __declspec(deprecated) __typeof__(GetVersionExA) GetVersionExA;
WINBASEAPI __declspec(deprecated) __typeof__(GetVersionExW) GetVersionExW;

#endif /* MSVC_KIT_WINBASE_H */
