"""The system monitor: samples the machine every ``interval_s`` into the ``system`` stream.

One sample (see :mod:`sagebox.debugger.events`) holds CPU use per core and in total, memory,
disk and network throughput since the previous sample, and per GPU its utilisation and memory
use. GPUs are read with ``nvidia-smi`` when it is on the PATH, else through torch (only if the
process already imported torch and it sees a GPU); a machine without a GPU samples ``[]``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sagebox.debugger.events import EventWriter

__all__ = ["SystemMonitor", "gpu_sample"]

log = logging.getLogger(__name__)

_MB = 1024 * 1024
_SMI_QUERY = [
    "--query-gpu=index,utilization.gpu,memory.used,memory.total",
    "--format=csv,noheader,nounits",
]


class SystemMonitor:
    """A daemon thread that writes one system sample every ``interval_s`` seconds.

    It never raises into its caller: without psutil, or on a failing sample, it logs a
    warning and stops sampling; :meth:`stop` is safe to call from any thread, more than once.

    Args:
        out_dir: the debug directory (samples go to ``<out_dir>/system/<host>.jsonl``).
        host: this machine's name in the job.
        interval_s: seconds between samples (SageMaker's default is 500 ms).

    Example:
        >>> monitor = SystemMonitor(tmp_path / "debug", interval_s=0.5)
        >>> monitor.start()
        >>> monitor.stop()
    """

    def __init__(self, out_dir: str | Path, host: str = "algo-1", interval_s: float = 0.5) -> None:
        self.out_dir = Path(out_dir)
        self.host = host
        self.interval_s = max(0.01, float(interval_s))
        self.samples = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._smi = shutil.which("nvidia-smi")

    @property
    def running(self) -> bool:
        """Whether the sampling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start sampling (a no-op if already started)."""
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="sagebox-system-monitor", daemon=True
            )
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop sampling and wait (up to ``timeout_s``) for the last sample to be written."""
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def __enter__(self) -> SystemMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            import psutil
        except ImportError:
            log.warning("system monitor: psutil is not installed; no system metrics")
            return
        writer: EventWriter | None = None
        try:
            writer = EventWriter(self.out_dir, "system", self.host)
            psutil.cpu_percent(percpu=True)  # the first call only starts the measurement
            psutil.cpu_times_percent()
            last = time.monotonic()
            disk, net = _io_counters(psutil)
            while not self._stop.wait(max(0.0, last + self.interval_s - time.monotonic())):
                now = time.monotonic()
                elapsed = max(now - last, 1e-6)
                last = now
                cpu = [float(c) for c in psutil.cpu_percent(percpu=True)]
                times = psutil.cpu_times_percent()
                memory = psutil.virtual_memory()
                new_disk, new_net = _io_counters(psutil)
                writer.write(
                    {
                        "time": time.time(),
                        "interval": round(elapsed, 4),
                        "cpu": cpu,
                        "cpu_total": round(sum(cpu) / max(len(cpu), 1), 2),
                        "iowait": float(getattr(times, "iowait", 0.0)),
                        "memory_percent": float(memory.percent),
                        "memory_used_mb": round((memory.total - memory.available) / _MB, 1),
                        "disk_read_mb_s": _rate(disk, new_disk, 0, elapsed),
                        "disk_write_mb_s": _rate(disk, new_disk, 1, elapsed),
                        "net_recv_mb_s": _rate(net, new_net, 0, elapsed),
                        "net_sent_mb_s": _rate(net, new_net, 1, elapsed),
                        "gpu": gpu_sample(self._smi),
                    }
                )
                disk, net = new_disk, new_net
                self.samples += 1
        except Exception:  # the job matters more than its metrics
            log.warning("system monitor stopped after a failed sample", exc_info=True)
        finally:
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.close()


def _io_counters(psutil: Any) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(read, write) disk bytes and (received, sent) network bytes so far, None if unknown."""
    disk = net = None
    with contextlib.suppress(Exception):
        d = psutil.disk_io_counters()
        disk = (int(d.read_bytes), int(d.write_bytes)) if d is not None else None
    with contextlib.suppress(Exception):
        n = psutil.net_io_counters()
        net = (int(n.bytes_recv), int(n.bytes_sent)) if n is not None else None
    return disk, net


def _rate(
    before: tuple[int, int] | None, after: tuple[int, int] | None, index: int, seconds: float
) -> float:
    if before is None or after is None:
        return 0.0
    return round(max(0, after[index] - before[index]) / _MB / seconds, 4)


def gpu_sample(smi: str | None = None) -> list[dict[str, Any]]:
    """Per GPU ``{"index", "util", "memory_percent"}``; ``[]`` without a GPU.

    Uses ``nvidia-smi`` (path ``smi``) when given, else torch if this process already imported
    it and it sees a GPU (utilisation needs NVML through torch).
    """
    if smi:
        try:
            out = subprocess.run(
                [smi, *_SMI_QUERY], capture_output=True, text=True, timeout=5, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        gpus = []
        for line in out.strip().splitlines():
            parts = [p.strip() for p in line.split(",")]
            with contextlib.suppress(ValueError, IndexError):
                used, total = float(parts[2]), float(parts[3])
                gpus.append(
                    {
                        "index": int(parts[0]),
                        "util": float(parts[1]),
                        "memory_percent": round(100 * used / total, 2) if total else 0.0,
                    }
                )
        return gpus
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    gpus = []
    with contextlib.suppress(Exception):
        if not torch.cuda.is_available():
            return []
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            gpus.append(
                {
                    "index": index,
                    "util": float(torch.cuda.utilization(index)),
                    "memory_percent": round(100 * (total - free) / total, 2) if total else 0.0,
                }
            )
    return gpus
