/* winsock.h overlay of the MSVC-mode kit: see msvc-kit.h. */
#include "msvc-kit-fdsetsize.h"
#include_next <winsock.h>
