"""Training profiler: system metrics, framework phase timings, profiler rules and report.

Modules (imported on use, so that loading a rule does not load the plotting stack):
:mod:`sagebox.profiler.monitor` (``SystemMonitor``), :mod:`sagebox.profiler.data`
(``ProfileData``), :mod:`sagebox.profiler.rules` (CPUBottleneck, IOBottleneck,
LowGPUUtilization, StepOutlier, BatchSize) and :mod:`sagebox.profiler.report`
(``write_profiler_report``).

The package itself exports the rule statuses of a job as the report shows them (names listed
in ``__init__.pyi``, imported lazily on first use)::

    from sagebox.profiler import rule_evaluations, rule_rows

    rows = rule_rows(session.metadata.get_job(name), rule_evaluations(session, name))
"""

from __future__ import annotations

import lazy_loader

# The public names live in __init__.pyi; they are imported on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
