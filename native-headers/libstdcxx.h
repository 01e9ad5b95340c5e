/*
 * libstdcxx.h: the two C++ runtime functions fullshard calls, by their Itanium-mangled names.
 *
 * torch_call_dispatcher reads an optional argument holding a value as a pointer to an 8-byte cell
 * made by C++ operator new, and frees it with operator delete; optional return values come back
 * in such cells. Java must therefore use the same allocator as libtorch.
 */
#include <stddef.h>

void* _Znwm(size_t size);   /* operator new(size_t): returned cell owned by whoever consumes it */
void _ZdlPv(void* ptr);     /* operator delete(void*) */
