"""HTTP plumbing shared by the server and worker processes: lean server, keep-alive pool."""
