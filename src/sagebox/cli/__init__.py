"""The ``sagebox`` command line (Typer + Rich). Heavy imports happen inside commands."""
