"""Where a benchmark's CPU went: per role (the servers it started, PostgreSQL, Redis) and
for the whole machine, between two readings.

    before = cpu_by_role({"web": gunicorn.pid, "worker": celery.pid})
    ...  # the run
    spent = cpu_spent(before, cpu_by_role({"web": gunicorn.pid, "worker": celery.pid}))
    # {"web": s, "worker": s, "postgres": s, "redis": s, "machine": s, "steal": s}
"""

from __future__ import annotations

import contextlib


def process_tree(pid: int) -> list:
    """The process `pid` and its children, as psutil processes (none once it has ended)."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children."""
    import psutil

    total = 0.0
    for proc in process_tree(pid):
        with contextlib.suppress(psutil.Error):  # a child that ended meanwhile
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def cpu_by_role(roots: dict[str, int]) -> dict:
    """CPU seconds (user + system) used so far per process, keyed by (role, pid): each root
    process and its children under the root's role, PostgreSQL's and Redis's processes
    under "postgres" and "redis"; and the busy time of all cores (/proc/stat) under
    "machine", the time the host gave to others under "steal"."""
    import psutil

    role_of = {proc.pid: role for role, pid in roots.items() for proc in process_tree(pid)}
    by_role: dict[str, dict] = {role: {} for role in [*roots, "postgres", "redis"]}
    for proc in psutil.process_iter(["pid", "name", "cpu_times"]):
        times, name = proc.info["cpu_times"], proc.info["name"] or ""
        if times is None:
            continue
        role = role_of.get(proc.info["pid"])
        if role is None and name.startswith("postgres"):
            role = "postgres"
        elif role is None and name.startswith("redis-server"):
            role = "redis"
        if role is not None:
            by_role[role][(role, proc.info["pid"])] = times.user + times.system
    # In the order of the roots, then PostgreSQL and Redis (the order `cpu_spent` keeps).
    totals: dict = {key: value for entries in by_role.values() for key, value in entries.items()}
    machine = psutil.cpu_times()
    totals["machine"] = machine.user + machine.system + machine.nice + machine.softirq + machine.irq
    # On a virtual machine, time the host gave to someone else while we had work: a run
    # that costs more CPU for the same code shows here if the host was busy.
    totals["steal"] = getattr(machine, "steal", 0.0)
    return totals


def cpu_spent(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per role between two `cpu_by_role` readings, per process alive at the
    end (a PostgreSQL backend that ended during the run is not counted, so PostgreSQL's
    figure is a floor), plus "machine" and "steal"."""
    spent: dict[str, float] = {}
    for key, seconds in after.items():
        if key not in ("machine", "steal"):
            spent[key[0]] = spent.get(key[0], 0.0) + seconds - before.get(key, 0.0)
    spent.setdefault("postgres", 0.0)
    spent.setdefault("redis", 0.0)
    spent["machine"] = after["machine"] - before["machine"]
    spent["steal"] = after["steal"] - before["steal"]
    return spent
