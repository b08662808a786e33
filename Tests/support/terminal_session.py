#!/usr/bin/python3
"""Runs a command on a new pseudo-terminal (its controlling terminal), the way a person at
a terminal runs it, and reports what happened as one JSON object on stdout.

    terminal_session.py type PROMPT ANSWER [PROMPT ANSWER ...] -- COMMAND...
        waits for each PROMPT in the output, records whether echo was off while it was
        shown, types ANSWER and Enter; then reads to the end.
    terminal_session.py read-then-type PROMPT ANSWER [PROMPT ANSWER ...] -- COMMAND...
        the same, but after each PROMPT it goes on reading until the terminal has been
        quiet for half a second (a person reading the prompt before typing; 3 s at most), so whatever the
        command draws while a prompt waits (a spinner over it) is in the output.
    terminal_session.py interrupt SIGNAL PROMPT -- COMMAND...
        waits for PROMPT, records whether echo was off, then sends SIGNAL (INT: Ctrl-C typed
        on the terminal; TERM, HUP: kill) and reads to the end.

The report: {"status": exit status or null, "signal": signal number or null, "output": all
the terminal showed, "echo_at_prompt": [bool per prompt], "echo_after": bool}. Every wait is
for something the command prints or its exit; the whole run is bounded by 30 s.
"""
import json, os, pty, select, signal, sys, termios, time

DEADLINE = time.monotonic() + 30


def read_until(fd, wanted, output, start=0):
    """Reads until `wanted` appears after offset `start` (a prompt shown again counts anew)."""
    while wanted.encode() not in output[start:]:
        remaining = DEADLINE - time.monotonic()
        if remaining <= 0:
            raise SystemExit(f"timed out waiting for {wanted!r}; saw {output!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            raise SystemExit(f"the command ended before {wanted!r}; saw {output!r}")
        output += chunk
    return output


def read_more(fd, output, quiet=None, longest=None):
    """Reads to the end of the output; with `quiet`, only until nothing arrives for that many
    seconds, and for `longest` seconds at most (a terminal that never goes quiet: the person
    types anyway)."""
    end = DEADLINE if longest is None else min(DEADLINE, time.monotonic() + longest)
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], quiet if quiet is not None else end - time.monotonic())
        if not ready:
            if quiet is not None:
                return output
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return output
        if not chunk:
            return output
        output += chunk
    return output


def echo_on(fd):
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def main():
    split = sys.argv.index("--")
    mode, spec, command = sys.argv[1], sys.argv[2:split], sys.argv[split + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    output, echoes = b"", []
    if mode in ("type", "read-then-type"):
        start = 0
        for prompt, answer in zip(spec[0::2], spec[1::2]):
            output = read_until(fd, prompt, output, start)
            start = output.index(prompt.encode(), start) + len(prompt.encode())
            if mode == "read-then-type":
                output = read_more(fd, output, quiet=0.5, longest=3.0)
            echoes.append(echo_on(fd))
            os.write(fd, answer.encode() + b"\n")
    else:
        name, prompt = spec
        output = read_until(fd, prompt, output)
        echoes.append(echo_on(fd))
        if name == "INT":
            os.write(fd, b"\x03")
        else:
            os.kill(pid, getattr(signal, "SIG" + name))
    # The terminal outlives the command: its settings after the command ended are what the
    # person is left with. Read them before closing our side.
    output = read_more(fd, output)
    _, status = os.waitpid(pid, 0)
    echo_after = echo_on(fd)
    print(json.dumps({
        "status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "output": output.decode("utf-8", "replace"),
        "echo_at_prompt": echoes,
        "echo_after": echo_after,
    }))


main()
