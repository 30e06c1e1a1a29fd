"""Runs in the job runner: the ``batch-transform`` job kind and its record I/O."""
