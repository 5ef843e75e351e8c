/* winsock2.h overlay of the MSVC-mode kit: see msvc-kit.h. */
#include "msvc-kit-fdsetsize.h"
#include_next <winsock2.h>

#ifndef MSVC_KIT_WINSOCK2_H
#define MSVC_KIT_WINSOCK2_H
#include "msvc-kit.h"

/* What the Windows SDK's winsock2.h marks _WINSOCK_DEPRECATED_BY(...).
 * Note that without UNICODE, WSASocket is WSASocketA: call WSASocketW. */
#if !defined(_WINSOCK_DEPRECATED_NO_WARNINGS) || defined(_WINSOCK_DEPRECATE_WARNINGS)
#define MSVC_KIT_DEPRECATE(name, repl) \
    WINSOCK_API_LINKAGE __declspec(deprecated(MSVC_KIT_WINSOCK(repl))) __typeof__(name) name;
MSVC_KIT_DEPRECATE(inet_addr, "inet_pton() or InetPton()")
MSVC_KIT_DEPRECATE(inet_ntoa, "inet_ntop() or InetNtop()")
MSVC_KIT_DEPRECATE(gethostbyaddr, "getnameinfo() or GetNameInfoW()")
MSVC_KIT_DEPRECATE(gethostbyname, "getaddrinfo() or GetAddrInfoW()")
MSVC_KIT_DEPRECATE(WSAIsBlocking, "Winsock 2")
MSVC_KIT_DEPRECATE(WSAUnhookBlockingHook, "Winsock 2")
MSVC_KIT_DEPRECATE(WSASetBlockingHook, "Winsock 2")
MSVC_KIT_DEPRECATE(WSACancelBlockingCall, "Winsock 2")
MSVC_KIT_DEPRECATE(WSAAsyncGetServByName, "getservbyname()")
MSVC_KIT_DEPRECATE(WSAAsyncGetServByPort, "getservbyport()")
MSVC_KIT_DEPRECATE(WSAAsyncGetProtoByName, "getprotobyname()")
MSVC_KIT_DEPRECATE(WSAAsyncGetProtoByNumber, "getprotobynumber()")
MSVC_KIT_DEPRECATE(WSAAsyncGetHostByName, "GetAddrInfoExW()")
MSVC_KIT_DEPRECATE(WSAAsyncGetHostByAddr, "getnameinfo() or GetNameInfoW()")
MSVC_KIT_DEPRECATE(WSAAsyncSelect, "WSAEventSelect()")
MSVC_KIT_DEPRECATE(WSAConnectByNameA, "WSAConnectByNameW()")
MSVC_KIT_DEPRECATE(WSADuplicateSocketA, "WSADuplicateSocketW()")
MSVC_KIT_DEPRECATE(WSAEnumProtocolsA, "WSAEnumProtocolsW()")
MSVC_KIT_DEPRECATE(WSARecvDisconnect, "WSARecv()")
MSVC_KIT_DEPRECATE(WSASendDisconnect, "WSASend()")
MSVC_KIT_DEPRECATE(WSASocketA, "WSASocketW()")
MSVC_KIT_DEPRECATE(WSAAddressToStringA, "WSAAddressToStringW()")
MSVC_KIT_DEPRECATE(WSAStringToAddressA, "WSAStringToAddressW()")
MSVC_KIT_DEPRECATE(WSALookupServiceBeginA, "WSALookupServiceBeginW()")
MSVC_KIT_DEPRECATE(WSALookupServiceNextA, "WSALookupServiceNextW()")
MSVC_KIT_DEPRECATE(WSAInstallServiceClassA, "WSAInstallServiceClassW()")
MSVC_KIT_DEPRECATE(WSAGetServiceClassInfoA, "WSAGetServiceClassInfoW()")
MSVC_KIT_DEPRECATE(WSAEnumNameSpaceProvidersA, "WSAEnumNameSpaceProvidersW()")
MSVC_KIT_DEPRECATE(WSAGetServiceClassNameByClassIdA, "WSAGetServiceClassNameByClassIdW()")
MSVC_KIT_DEPRECATE(WSASetServiceA, "WSASetServiceW()")
#undef MSVC_KIT_DEPRECATE
/* _WINSOCK_DEPRECATED: no replacement named. */
#define MSVC_KIT_WINSOCK_OLD                                                                \
    "(MSVC C4996) Define _WINSOCK_DEPRECATED_NO_WARNINGS to disable deprecated API warnings"
WINSOCK_API_LINKAGE __declspec(deprecated(MSVC_KIT_WINSOCK_OLD))
__typeof__(WSACancelAsyncRequest) WSACancelAsyncRequest;
WINSOCK_API_LINKAGE __declspec(deprecated(MSVC_KIT_WINSOCK_OLD))
__typeof__(WSAGetQOSByName) WSAGetQOSByName;
#undef MSVC_KIT_WINSOCK_OLD
#endif

#endif /* MSVC_KIT_WINSOCK2_H */
