// Process hardening for commands that hold passphrases and keys. prctl(2) is variadic in
// glibc's header, so it is called from here.
#ifndef CREDVAULT_PROCESS_CONTROL_H
#define CREDVAULT_PROCESS_CONTROL_H
#include <sys/prctl.h>
#include <sys/resource.h>

/// setrlimit(RLIMIT_CORE, 0) and prctl(PR_SET_DUMPABLE, 0): no core file, no ptrace attach
/// by other processes of the same user. Returns 0 when both succeeded.
static inline int credvault_disable_core_dumps(void) {
    struct rlimit none = { 0, 0 };
    int a = setrlimit(RLIMIT_CORE, &none);
    int b = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return (a == 0 && b == 0) ? 0 : -1;
}
#endif
