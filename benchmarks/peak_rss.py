"""`python -m benchmarks.peak_rss OUT MODULE ARGS...`: run MODULE as `python -m` does, then
write its peak resident set size in bytes (VmHWM) to the file OUT.

A child's rusage (`ru_maxrss`) is no good here: at exec, Linux keeps the high-water mark of the
address space it replaces, so a child spawned by a process holding 500 MiB reports 500 MiB
whatever it used itself. VmHWM belongs to the address space made at exec alone.
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def vm_hwm(status: Path = Path("/proc/self/status")) -> int:
    """This process's peak resident set size, in bytes."""
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # the kernel counts kB
    raise RuntimeError(f"no VmHWM in {status}")


def main() -> None:
    out, module, *args = sys.argv[1:]
    atexit.register(lambda: Path(out).write_text(str(vm_hwm()), "ascii"))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
