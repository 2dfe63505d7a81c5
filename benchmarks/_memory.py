"""Model-attributable memory: the peak RSS a model adds on top of its framework.

Peak RSS (`ru_maxrss`) of a benchmark process is dominated by importing TensorFlow,
PyTorch or JAX (0.4-1 GB) and says little about the model. The workers therefore

1. import the framework and warm it up (a one-unit model trained for one step and
   predicted once with the same compile settings, so the trainer, the optimizer and
   the compiler are loaded),
2. call `MemoryProbe.start()`: garbage-collects, hands the C heap's free pages back to
   the system (glibc `malloc_trim(0)`; otherwise the model's allocations reuse memory
   the imports and the warm-up freed, which RSS already counts, and are not seen),
   resets the kernel's high-water mark
   (`/proc/self/clear_refs` with "5", Linux >= 4.0) and reads the current RSS as the
   baseline,
3. build, compile, train and predict the measured model,
4. call `MemoryProbe.stop()`: model peak = high-water mark since the reset - baseline.

Where the high-water mark cannot be reset (not Linux), the fall-back is `ru_maxrss`
minus the baseline RSS, which includes whatever transient peak the imports had (an
upper bound; `model_peak_method` says which was used). Standard library only: the
tinyBIG worker imports this module under the tinyBIG Python.
"""

import ctypes
import gc
import resource
import sys


def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _maxrss_kb():
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform == "darwin" else kb  # macOS reports bytes


def _trim_heap():
    """glibc `malloc_trim(0)`; False where there is no glibc."""
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


class MemoryProbe:
    """Measures the peak RSS added between `start()` and `stop()` (both in MB)."""

    def __init__(self):
        self.baseline_kb = None
        self.before_kb = None
        self.method = None

    def start(self):
        gc.collect()
        _trim_heap()
        self.before_kb = _maxrss_kb()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.method = "hwm_reset"
        except OSError:
            self.method = "maxrss_minus_baseline"
        self.baseline_kb = _status_kb("VmRSS") or _maxrss_kb()
        return self

    def stop(self):
        """Dict with `baseline_rss_mb`, `model_peak_mb`, `model_peak_method`, `peak_rss_mb`."""
        peak_kb = _status_kb("VmHWM") if self.method == "hwm_reset" else None
        peak_kb = peak_kb or _maxrss_kb()
        return {
            "baseline_rss_mb": round(self.baseline_kb / 1024, 1),
            "model_peak_mb": round(max(0.0, peak_kb - self.baseline_kb) / 1024, 1),
            "model_peak_method": self.method,
            # peak of the whole process, imports included (the reset also resets
            # ru_maxrss, hence the value read before it)
            "peak_rss_mb": round(max(peak_kb, _maxrss_kb(), self.before_kb) / 1024, 1),
        }
