#include "credvault_system.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

int cvs_disable_core_dumps(void) {
    struct rlimit none = { 0, 0 };
    int a = setrlimit(RLIMIT_CORE, &none);
    int b = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return (a == 0 && b == 0) ? 0 : -1;
}

// The terminal being read and its settings before echo went off; the signal handler reads
// them (plain static data, set before the handlers are installed).
static int tty_fd = -1;
static struct termios tty_saved;
static struct termios tty_silent;

static const int restoring_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define RESTORING_COUNT (sizeof restoring_signals / sizeof restoring_signals[0])
static struct sigaction previous_actions[RESTORING_COUNT];

static void write_all(int fd, const char *text, size_t count) {
    while (count > 0) {
        ssize_t written = write(fd, text, count);
        if (written < 0) { if (errno == EINTR) continue; return; }
        text += written;
        count -= (size_t)written;
    }
}

static void restore_on_signal(int signal_number) {
    int saved_errno = errno;
    tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
    write_all(tty_fd, "\n", 1);
    // Act as the signal would have: the previous disposition, the signal unblocked, raised again.
    size_t index = 0;
    while (index < RESTORING_COUNT && restoring_signals[index] != signal_number) index++;
    struct sigaction ours;
    sigaction(signal_number, &previous_actions[index], &ours);
    sigset_t just_this;
    sigemptyset(&just_this);
    sigaddset(&just_this, signal_number);
    sigprocmask(SIG_UNBLOCK, &just_this, NULL);
    raise(signal_number);
    // Still here: the signal was ignored or handled, or (SIGTSTP) the process was continued.
    sigaction(signal_number, &ours, NULL);
    tcsetattr(tty_fd, TCSAFLUSH, &tty_silent);
    errno = saved_errno;
}

cvs_tty_status cvs_read_terminal_line(const char *prompt, unsigned char *buffer, size_t capacity, size_t *length) {
    *length = 0;
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return CVS_TTY_NO_TERMINAL;
    int has_termios = tcgetattr(fd, &tty_saved) == 0;
    tty_fd = fd;
    if (has_termios) {
        tty_silent = tty_saved;
        tty_silent.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = restore_on_signal;
        sigemptyset(&action.sa_mask);
        for (size_t index = 0; index < RESTORING_COUNT; index++) {
            sigaction(restoring_signals[index], &action, &previous_actions[index]);
        }
        tcsetattr(fd, TCSAFLUSH, &tty_silent);
    }
    write_all(fd, prompt, strlen(prompt));

    cvs_tty_status status = CVS_TTY_END_OF_INPUT;
    size_t count = 0;
    int overflow = 0;
    for (;;) {
        unsigned char byte;
        ssize_t got = read(fd, &byte, 1);
        if (got < 0) {
            if (errno == EINTR) continue;
            status = CVS_TTY_READ_FAILED;
            break;
        }
        if (got == 0) break;
        if (byte == '\n') { status = CVS_TTY_OK; break; }
        if (count < capacity) buffer[count++] = byte; else overflow = 1;
        byte = 0;
    }
    int saved_errno = errno;
    if (has_termios) {
        tcsetattr(fd, TCSAFLUSH, &tty_saved);
        for (size_t index = 0; index < RESTORING_COUNT; index++) {
            sigaction(restoring_signals[index], &previous_actions[index], NULL);
        }
    }
    write_all(fd, "\n", 1);
    close(fd);
    tty_fd = -1;
    errno = saved_errno;
    *length = count;
    if (overflow && status == CVS_TTY_OK) return CVS_TTY_TOO_LONG;
    return status;
}
