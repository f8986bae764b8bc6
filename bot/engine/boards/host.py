"""What this machine is, as runs record it (a local device's results mean something on this CPU only)."""

from __future__ import annotations

import platform
from pathlib import Path


def host_cpu() -> str:
    """The CPU model, from /proc/cpuinfo (or what the platform says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
