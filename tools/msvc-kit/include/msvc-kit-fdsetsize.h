/*
 * msvc-kit-fdsetsize.h - keep a FD_SETSIZE defined before <winsock2.h>.
 *
 * Windows sizes fd_set by FD_SETSIZE when the program defines it before
 * including <winsock2.h> (or <winsock.h>), which is how a select() server
 * raises its 64-socket limit. Wine's headers first pull in the C library
 * headers in a block that #undefs FD_SETSIZE (a guard against the Unix
 * one), so fd_set would silently stay 64 wide. This header does that block's
 * work itself, keeping the user's value, and marks the block as done.
 * Included by the kit's winsock2.h and winsock.h overlays only.
 */
#if defined(FD_SETSIZE) && !defined(__WINE_WINSOCKAPI_STDLIB_H) && !defined(USE_WS_PREFIX)
#pragma push_macro("FD_SETSIZE")
#include <sys/types.h>
#include <time.h>
#include <stdlib.h>
#pragma pop_macro("FD_SETSIZE")
#define __WINE_WINSOCKAPI_STDLIB_H
#define WS_DEFINE_SELECT
#endif
