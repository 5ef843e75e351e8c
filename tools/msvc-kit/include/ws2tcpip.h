/* ws2tcpip.h overlay of the MSVC-mode kit: see msvc-kit.h. */
#include_next <ws2tcpip.h>

#ifndef MSVC_KIT_WS2TCPIP_H
#define MSVC_KIT_WS2TCPIP_H
#include "msvc-kit.h"

/* The Windows SDK takes the address as const VOID *; Wine's header says
 * PVOID, which rejects the natural call inet_ntop(AF_INET, &sa->sin_addr, ...)
 * on a const sockaddr. Calls go through a wrapper with the SDK's types
 * (InetNtopA and InetNtop are macros for these names). */
static __inline PCSTR WINAPI msvc_kit_inet_ntop(INT family, const VOID *addr, PSTR buf, size_t size)
{
    return inet_ntop(family, (PVOID)addr, buf, size);
}
static __inline PCWSTR WINAPI msvc_kit_InetNtopW(INT family, const VOID *addr, PWSTR buf,
                                                 size_t size)
{
    return InetNtopW(family, (PVOID)addr, buf, size);
}
#define inet_ntop(...) msvc_kit_inet_ntop(__VA_ARGS__)
#define InetNtopW(...) msvc_kit_InetNtopW(__VA_ARGS__)

#if !defined(_WINSOCK_DEPRECATED_NO_WARNINGS) || defined(_WINSOCK_DEPRECATE_WARNINGS)
__declspec(deprecated(MSVC_KIT_WINSOCK("GetAddrInfoExW()"))) __typeof__(GetAddrInfoExA)
    GetAddrInfoExA;
#endif

#endif /* MSVC_KIT_WS2TCPIP_H */
