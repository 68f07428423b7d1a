"""Helpers shared by the benchmark scripts: timing statistics, tables, memory, paths.

The scripts import casebot (``bot``, ``index``) like any user; run them from the checkout as modules,
``python -m bench.NAME`` (``./dev`` installs casebot into .venv, editable).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: corpus/, tests/eval/, var/

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORK = Path(os.environ.get("CASEBOT_BENCH_DIR", "/tmp/casebot-bench"))
MODELS = ROOT / "var" / "models"  # the onnxruntime copy of the model, shared with `./dev ask` and the tests


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def spread(values: Sequence[float]) -> str:
    """``median [min-max] (n=...)`` of ``values``."""
    values = list(values)
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{_num(med)} [{_num(min(values))}-{_num(max(values))}] (n={len(values)})"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (pastes straight into docs/performance.md)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _status_mb(key: str) -> float:
    """One memory line of /proc/self/status (``VmRSS``, ``RssAnon``, ``VmHWM``), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    return _status_mb("VmRSS")


def private_rss_mb() -> float:
    """The anonymous (private) part of the resident memory, in MB: what memory-mapped index files
    do not count in (those pages are page cache, shared between processes and reclaimable)."""
    return _status_mb("RssAnon")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def load_average() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def header(title: str) -> None:
    import platform

    print(f"## {title}")
    print(f"{time.strftime('%Y-%m-%d %H:%M')} · {os.cpu_count()} CPUs · load average {load_average()} · "
          f"python {platform.python_version()}\n")
