"""Measuring a benchmark's commands: wall, CPU and peak memory of one run."""

import os
import subprocess
import threading
import time


def timed(cmd):
    """Wall and CPU seconds and peak RSS (MB) of a command, and its output.

    The peak is the process's own high-water mark (VmHWM), read while it
    runs: getrusage's maxrss of a child forked from this (large) Python
    process starts at this process's size.
    """
    start = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    peak, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            try:
                with open(f"/proc/{child.pid}/status") as f:
                    hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
                peak[0] = max(peak[0], hwm)
            except (OSError, StopIteration, ValueError):
                pass
            done.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    done.set()
    watcher.join()
    wall = time.monotonic() - start
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed: {status}")
    return wall, usage.ru_utime + usage.ru_stime, peak[0] / 1024, out
