"""Is a core idle right now? Whether a second thread will speed a fit up or slow it down.

LightGBM, KMeans and BLAS split their work between threads that meet at a barrier after every
block of work (a histogram, a block of distances), and each waits there for the slowest. On an
idle machine a fit on two cores is faster than on one. On a machine whose other cores are busy
with other programs, one of the threads is often not running: the others spin at every barrier
until the scheduler gives it a turn. ``benchmarks/threads_under_load.py`` (two cores; LightGBM,
300 rounds on 30,000 rows; other processes keeping a share of the cores busy):

=====================  ======  ======  ======  ======  ======
other programs' cores  0       0.25    0.5     0.75    1
two threads / one      0.63    0.88    0.99    1.54    9.75
=====================  ======  ======  ======  ======  ======

With two other trainings running, LightGBM took 0.7–0.9 s on one thread and 3.9–9.9 s on two, and
KMeans on 40,000 rows 0.03–0.09 s against 0.4–0.8 s. CatBoost's threads do not wait like that (two
threads were 0.57–0.99 of one thread's time at every load above), so it keeps them.

So a LightGBM or clustering fit takes a second thread only while at least half a core is idle
(:data:`MIN_IDLE_CORES`). :func:`idle_cores` answers from the CPU time the *other* processes of
the machine used recently: the machine's busy time (``/proc/stat``, through psutil) less this
process's own (``os.times``: every thread of ours, the fit's included), over the time since the
previous question (at least :data:`WINDOW` seconds; a question sooner gets the previous answer).
The load average would count this process itself, whose own threads are exactly what is being
decided; the first reading, taken when this module is imported (start-up, before any fit), falls
back to it, less the one core this process keeps busy.
"""

from __future__ import annotations

import os
import time

__all__ = ["MIN_IDLE_CORES", "WINDOW", "cores", "idle_cores", "threads_pay"]

MIN_IDLE_CORES = 0.5  # idle cores (besides the one this process runs on) for a second thread to pay off (table above)
WINDOW = 1.0  # seconds of CPU accounting an answer needs; a question sooner gets the previous answer
_last: dict[str, float] = {}  # the previous reading: wall clock, machine busy seconds, own CPU seconds, answer


def cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy since boot (every core), or ``None`` if unknown."""
    try:
        import psutil

        t = psutil.cpu_times()
    except Exception:  # no psutil, or no /proc: the load average decides
        return None
    return sum(float(getattr(t, field, 0.0)) for field in ("user", "nice", "system", "irq", "softirq", "steal"))


def _own_seconds() -> float:
    times = os.times()
    return float(times.user + times.system)


def _others_from_load() -> float:
    """Cores busy with other work, from the 1-minute load average less this process's one busy core."""
    try:
        return max(0.0, os.getloadavg()[0] - 1.0)
    except OSError:  # no load average on this system: assume idle
        return 0.0


def idle_cores() -> float:
    """Cores not used by other processes, less the one this process runs on (negative: oversubscribed)."""
    now, busy, own = time.monotonic(), _busy_seconds(), _own_seconds()
    if busy is None:
        return cores() - 1.0 - _others_from_load()
    if not _last:
        answer = cores() - 1.0 - _others_from_load()
    elif now - _last["wall"] < WINDOW:
        return _last["answer"]
    else:
        others = max(0.0, (busy - _last["busy"]) - (own - _last["own"])) / (now - _last["wall"])
        answer = cores() - 1.0 - others
    _last.update(wall=now, busy=busy, own=own, answer=answer)
    return answer


def threads_pay() -> bool:
    """True when a second thread can run beside this process's own: at least :data:`MIN_IDLE_CORES` idle."""
    return cores() > 1 and idle_cores() >= MIN_IDLE_CORES


idle_cores()  # the first reading, at import: a fit a second or more later is judged on a measured window
