"""How much of the machine is free: work that would only compete with the main work for a core
(a worker process, a writer thread) starts only when a core is idle. Standard library only."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the system says, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def spare_cpus() -> float:
    """Usable CPUs minus the 1-minute load average (the CPUs alone where there is none)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return usable_cpus() - load
