// Loading a C library late, the one way keyring.c, provider.c and dh.c do it: each keeps a
// pointer of every function it calls, of that function's own declared type (__typeof__, from
// the library's real header), filled by dlsym the first time it is needed. Nothing links the
// library, and runs that never need it never map it.
//
// A file lists its functions in an X-macro (FUNCTIONS(X)), declares the pointers with
// FUNCTIONS(CV_POINTER), and resolves them inside a function that has `handle`, `library`,
// `problem` and `problem_size` in scope with FUNCTIONS(CV_RESOLVE), which returns 0 from that
// function, with the problem written, at the first missing symbol.
#ifndef CREDVAULT_LIBRARY_LOADING_H
#define CREDVAULT_LIBRARY_LOADING_H

#include <dlfcn.h>
#include <stdio.h>

#define CV_POINTER(name) static __typeof__(name) *p_##name;

#define CV_RESOLVE(name) \
    p_##name = (__typeof__(name) *)dlsym(handle, #name); \
    if (!p_##name) { snprintf(problem, problem_size, "%s has no %s", library, #name); return 0; }

/// dlopen(library, RTLD_NOW | RTLD_LOCAL), by soname (the dynamic linker's own search); NULL
/// with dlerror()'s text in `problem` when it cannot be loaded.
static inline void *cv_open_library(const char *library, char *problem, size_t problem_size) {
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) snprintf(problem, problem_size, "%s", dlerror());
    return handle;
}

#endif
