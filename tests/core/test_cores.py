"""Reading whether a core is idle: other programs' CPU time counts, this process's own does not."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from automlops.core import cores

_SPIN = "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture
def fresh_readings() -> None:
    cores._last.clear()
    yield
    cores._last.clear()


@pytest.mark.usefixtures("fresh_readings")
def test_other_programs_busy_on_every_core_leave_no_core_idle() -> None:
    """One busy loop per core in other processes: over the next second the machine is full, so no second
    thread would run, whatever this process was doing."""
    spinners = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(cores.cores())]
    try:
        time.sleep(0.5)
        cores.idle_cores()  # the first reading opens the window
        time.sleep(cores.WINDOW + 0.5)
        idle = cores.idle_cores()
        assert idle < cores.MIN_IDLE_CORES - 0.5, idle  # about one core short: others fill every core
        assert not cores.threads_pay()  # within the window: the same answer
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def test_this_process_own_cpu_time_is_taken_out_of_the_machine_busy_time(monkeypatch: pytest.MonkeyPatch,
                                                                           fresh_readings: None) -> None:
    """Over two seconds the machine was busy for 3.5 CPU seconds, 3 of them this process's own (a fit on two
    threads, say): other programs used a quarter of a core, so the cores are idle but for that quarter and ours."""
    import types

    import psutil

    clock = {"wall": 100.0, "busy": 50.0, "own": 10.0}

    def cpu_times() -> types.SimpleNamespace:
        return types.SimpleNamespace(user=clock["busy"], nice=0.0, system=0.0, irq=0.0, softirq=0.0, steal=0.0)

    monkeypatch.setattr(psutil, "cpu_times", cpu_times)
    monkeypatch.setattr(os, "times", lambda: os.times_result((clock["own"], 0.0, 0.0, 0.0, 0.0)))
    monkeypatch.setattr(cores, "time", types.SimpleNamespace(monotonic=lambda: clock["wall"]))
    cores.idle_cores()
    clock.update(wall=102.0, busy=53.5, own=13.0)
    assert cores.idle_cores() == pytest.approx(cores.cores() - 1.0 - 0.25)
    clock.update(wall=102.5, busy=60.0, own=13.0)  # half a second later: too short a window, the same answer
    assert cores.idle_cores() == pytest.approx(cores.cores() - 1.0 - 0.25)


def test_the_first_reading_is_the_load_average_less_this_process(monkeypatch: pytest.MonkeyPatch,
                                                                   fresh_readings: None) -> None:
    """Before any window, the 1-minute load average decides; it counts this process too, so one busy core is ours."""
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    assert cores.idle_cores() == cores.cores() - 1.0
    cores._last.clear()
    monkeypatch.setattr(os, "getloadavg", lambda: (cores.cores() + 1.0, 1.0, 1.0))
    assert cores.idle_cores() == -1.0


def test_the_first_reading_is_taken_at_import_so_the_first_fit_gets_a_measured_window() -> None:
    """Imported at start-up, the module has its first reading already: a fit a second later is judged on the
    CPU time of that second, not on the lagging 1-minute load average of whatever ran before."""
    code = ("import time\nimport automlops.core.cores as c\nassert c._last, 'no first reading'\nfirst = dict(c._last)\n"
            "time.sleep(c.WINDOW + 0.1)\nc.idle_cores()\nprint(c._last['wall'] > first['wall'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
