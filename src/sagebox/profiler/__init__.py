"""Training profiler: system metrics, framework phase timings, profiler rules and report.

Modules (imported on use, so that loading a rule does not load the plotting stack):
:mod:`sagebox.profiler.monitor` (``SystemMonitor``), :mod:`sagebox.profiler.data`
(``ProfileData``), :mod:`sagebox.profiler.rules` (CPUBottleneck, IOBottleneck,
LowGPUUtilization, StepOutlier, BatchSize) and :mod:`sagebox.profiler.report`
(``write_profiler_report``).
"""
