"""What the benchmarks read from /proc: memory (VmRSS, VmHWM), CPU times, children, open files, load;
how many evicted file pages were read back (/proc/vmstat); and from /sys, how much free memory a VM
has handed back to its host.

The one home of /proc parsing for bench/ (and for tests/support/live.py, which finds gunicorn's
workers with `children`). Standard library only: the child programs import it before they measure
their baseline memory.
"""

import contextlib
import os

Pid = int | str  # a process id, or "self"


def status(field: str, pid: Pid = "self") -> int | None:
    """A /proc/PID/status field in bytes (VmRSS, VmHWM, ...), None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def own_status(field: str) -> int:
    """A /proc/self/status field in bytes; the field must exist."""
    value = status(field)
    if value is None:
        raise RuntimeError(field)
    return value


def reset_peak(pid: Pid) -> bool:
    """Reset a process's VmHWM to its current RSS (`5` into clear_refs); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (all their threads), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers of its master)."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found.update(int(word) for word in f.read().split())
    if not found:  # kernels without the children file: scan /proc for the parent id
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            # "pid (comm) state ppid ...": comm may contain spaces and parentheses
            with contextlib.suppress(NameError, IndexError, ValueError):
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry))
    return sorted(found)


def open_files(pid: int) -> list[str]:
    """The paths a process's file descriptors point to (empty if it is gone)."""
    targets = []
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return targets


def load_average() -> list[str]:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg writes them."""
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def cpu_pressure() -> list[str] | None:
    """The `some` line of /proc/pressure/cpu split in words (["some", "avg10=...", ...]), if any."""
    try:
        with open("/proc/pressure/cpu") as f:
            return f.readline().split()
    except OSError:
        return None


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return None


REPORTED_KIB = "/sys/module/page_reporting/parameters/reported_kib"


def memory_handed_back() -> int | None:
    """Bytes of free memory this kernel has handed back to its hypervisor since boot (free page
    reporting: the host then backs each such page anew when it is next touched, which is what
    makes a VM's fresh page-cache pages dear), None where the kernel does not report."""
    try:
        with open(REPORTED_KIB) as f:
            return int(f.read()) * 1024
    except (OSError, ValueError):
        return None


def file_refaults() -> int | None:
    """Bytes of file pages read back after the kernel had evicted them (/proc/vmstat
    workingset_refault_file): a file read or written a minute before that is cold again, as DAMON
    reclaim on the bench VM makes it (docs/crypto-speed.md); None where the kernel does not count."""
    try:
        with open("/proc/vmstat") as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == "workingset_refault_file":
                    return int(value) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None
    return None
