// The few system calls that Swift cannot make well: prctl(2) is variadic in glibc's header,
// and a signal handler that restores the terminal must touch only async-signal-safe state.
// Used by CredentialVaultSystem only.
#ifndef CREDVAULT_SYSTEM_H
#define CREDVAULT_SYSTEM_H
#include <stddef.h>
#include <sys/types.h>

/// setrlimit(RLIMIT_CORE, 0) and prctl(PR_SET_DUMPABLE, 0): no core file, no ptrace attach
/// by other processes of the same user. Returns 0 when both succeeded.
int cvs_disable_core_dumps(void);

/// What cvs_read_terminal_line reports besides the line's length.
typedef enum {
    CVS_TTY_OK = 0,
    /// No controlling terminal (open("/dev/tty") failed); errno is set.
    CVS_TTY_NO_TERMINAL = 1,
    /// The line did not fit in the buffer; the rest of it was read and dropped.
    CVS_TTY_TOO_LONG = 2,
    /// read(2) failed; errno is set.
    CVS_TTY_READ_FAILED = 3,
    /// End of input before any newline (Ctrl-D); the bytes typed so far are returned.
    CVS_TTY_END_OF_INPUT = 4,
} cvs_tty_status;

/// Writes `prompt` to /dev/tty, reads one line from it with echo off and returns its length
/// (the newline not included) in `*length`. Echo is restored before returning, and also
/// when SIGINT, SIGTERM, SIGHUP, SIGQUIT or SIGTSTP arrives meanwhile: the handler restores
/// the terminal, then lets the signal act as it would have (for SIGTSTP, echo goes off
/// again when the process continues). The bytes land only in `buffer`.
cvs_tty_status cvs_read_terminal_line(const char *prompt, unsigned char *buffer, size_t capacity, size_t *length);
#endif
