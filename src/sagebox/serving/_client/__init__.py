"""Runs in the user's process: endpoint and transform clients, the admin client."""
