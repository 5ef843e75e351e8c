/* specstrings.h overlay of the MSVC-mode kit: see msvc-kit.h.
 * Wine's specstrings.h (reached through <windows.h>) defines
 * _CRT_SECURE_NO_DEPRECATE, which would switch off every C4996 check of the
 * kit once <windows.h> is in; the Windows SDK's does not. Undo that unless
 * the program defined it itself. */
#ifdef _CRT_SECURE_NO_DEPRECATE
#include_next <specstrings.h>
#else
#include_next <specstrings.h>
#undef _CRT_SECURE_NO_DEPRECATE
#endif
