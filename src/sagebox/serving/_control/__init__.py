"""Runs in the ``sagebox serve`` process: supervisor, gateway, variants, routing, deployments."""
