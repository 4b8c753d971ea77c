"""Whether this process may start threads, and still have memory to go on with once they run.

Under a small RLIMIT_AS or RLIMIT_DATA a thread may start and take, for its stack, the memory
the rest of the run needed. CPython then fails in ways no caller can contain: a MemoryError
raised over and over in a thread that never lets go of the GIL (so not even SIGTERM is
handled), or a segfault at exit. Whether the threads fit was decided by where the limit fell
against 8 MiB stacks: the whole suite under RLIMIT_AS 64, 72 or 80 MiB hung, under 60, 68 or 76
it passed. So room for the threads' stacks and ``SLACK`` bytes beside them is asked for first,
in one mapping that is given back at once; only then are the threads started (a process limit
such as RLIMIT_NPROC can still refuse them: ``threads_refused`` tries, for a caller that cannot
fall back once they are). Asking first matters: glibc keeps the stacks of
threads that have ended for reuse, so a thread started only to see whether it can be keeps its
stack for the rest of the run.
"""

from __future__ import annotations

import mmap
import resource
import threading

#: Kept back by the process that writes the results, from its start, for building, encoding
#: and writing them at the end (the document is under 200 KB of JSON, its records under 2 MiB
#: as Python objects): under a small RLIMIT_DATA the run itself may use up the rest.
RESULTS_RESERVE = 4 << 20

#: What a run needs beyond what it holds when its plugin starts: under a resource limit the
#: whole suite peaks 3 MiB above that (VmPeak against VmSize in /proc/self/status, on Linux with
#: glibc and CPython 3.11), with room to spare, and the results reserve.
RUN = (8 << 20) + RESULTS_RESERVE

#: What the threads leave free for everything else once they run: a run, and room for their
#: own allocations.
SLACK = RUN + (12 << 20)

#: A thread's stack where RLIMIT_STACK does not set it: glibc's default on 64-bit Linux is the
#: soft RLIMIT_STACK, else 2 MiB (ARCH_STACK_DEFAULT_SIZE); musl's 128 KiB and macOS's 512 KiB
#: are smaller. Overestimating only refuses threads a little sooner under a tight limit.
_STACK_UNLIMITED = 8 << 20

#: The most a thread's stack is taken to be: a huge soft RLIMIT_STACK (some set gigabytes)
#: would otherwise ask for more than the machine has, and refuse threads where no limit is set.
_STACK_MOST = 64 << 20


def _stack_size() -> int:
    chosen = threading.stack_size()
    if chosen:
        return chosen
    soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
    return _STACK_UNLIMITED if soft == resource.RLIM_INFINITY else min(soft, _STACK_MOST)


def _no_room(size: int, purpose: str) -> str:
    """Why ``size`` more bytes of private writable memory cannot be had ('' when they can)."""
    try:
        # Private and writable, so it counts against RLIMIT_DATA as well as RLIMIT_AS (and the
        # commit charge under strict overcommit); never touched, so it costs no pages.
        mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE).close()
    except OSError as error:
        why = error.strerror or error
        return f"no room for {size >> 20} MiB more, for {purpose} ({why})"
    return ""


def no_room_for_threads(count: int) -> str:
    """Why ``count`` more threads' stacks and ``SLACK`` do not fit in memory ('' when they do)."""
    return _no_room(count * _stack_size() + SLACK, f"{count} thread stacks and the rest of the run")


def threads_refused(count: int) -> str:
    """Why this process cannot run ``count`` more threads at once and go on ('' when it can):
    for a caller that cannot fall back once its threads are refused (xdist's controller)."""
    no_room = no_room_for_threads(count)
    if no_room:
        return no_room
    release = threading.Event()
    started: list[threading.Thread] = []
    try:
        for _ in range(count):
            thread = threading.Thread(target=release.wait, daemon=True)
            thread.start()
            started.append(thread)
    except RuntimeError as error:  # "can't start new thread"
        return f"{error}, after {len(started)} of {count}"
    finally:
        release.set()
        for thread in started:
            thread.join()
    return ""


def no_room_to_run() -> str:
    """Why this process has too little memory left for a run ('' when it has enough): a run
    that starts without it dies of a MemoryError in pytest itself, part of the way through."""
    return _no_room(RUN, "the checks and the results")


def reserve() -> bytearray:
    """``RESULTS_RESERVE`` bytes to hold until the results are written (none if even that fails)."""
    try:
        return bytearray(RESULTS_RESERVE)
    except MemoryError:
        return bytearray()
