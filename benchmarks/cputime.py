"""CPU seconds of a whole process tree: run one command and count every process it starts, however it ends.

    python benchmarks/cputime.py OUT.json -- COMMAND [ARGS...]

The wrapper makes itself a *child subreaper* (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``), then forks and
execs the command. A process whose parent exits without waiting for it (a Jupyter kernel, a pool worker,
a double-forked helper) is then re-parented to the wrapper instead of to init, and the wrapper waits for
it. The kernel adds a process's user and system time to its parent's ``RUSAGE_CHILDREN`` when the parent
waits for it, so after the wrapper has reaped every descendant, ``getrusage(RUSAGE_CHILDREN)`` is the CPU
time of the whole tree (the wrapper's own time is not in it). Descendants still running 60 s after the
command ends are killed and reaped (they are counted up to then).

Writes ``{"returncode", "wall_seconds" (until the command exits), "all_reaped_seconds", "user_seconds", "sys_seconds", "cpu_seconds", "subreaper",
"max_rss_mb"}`` to OUT.json; the command's stdout and stderr pass through. Without a subreaper (not
Linux) orphans are not counted: ``subreaper`` is then false and the figure is a lower bound.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
GRACE_SECONDS = 60


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux); False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_all(deadline: float) -> None:
    """Wait for every remaining descendant; after ``deadline`` kill those still running (each by its pid)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                _kill_children()
                deadline = float("inf")
            time.sleep(0.05)


def _kill_children() -> None:
    """SIGKILL this process's direct children (orphans re-parented here), by pid from /proc."""
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = fh.read().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if ppid == me:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    out, cmd = argv[0], argv[2:]
    subreaper = become_subreaper()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the command
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    wall = time.perf_counter() - start
    reap_all(time.monotonic() + GRACE_SECONDS)
    reaped = time.perf_counter() - start
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc = os.waitstatus_to_exitcode(status)
    with open(out, "w") as fh:
        json.dump({"returncode": rc, "wall_seconds": wall, "all_reaped_seconds": reaped, "user_seconds": ru.ru_utime, "sys_seconds": ru.ru_stime,
                   "cpu_seconds": ru.ru_utime + ru.ru_stime, "subreaper": subreaper,
                   "max_rss_mb": ru.ru_maxrss / 1024}, fh)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
