"""Runs in a model worker process (``python -m sagebox.serving._worker.worker``)."""
