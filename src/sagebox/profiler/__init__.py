"""Training profiler: system metrics, framework phase timings, profiler rules and report."""
