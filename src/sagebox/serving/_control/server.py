"""``sagebox serve`` (``python -m sagebox.serving._control.server``): supervisor and gateway.

One process per host and port: the gateway (on uvloop when installed) and the
supervisor share one event loop; worker processes are its children. SIGTERM or SIGINT stops
the workers, flushes data capture and writes the endpoint records, which stay in the metadata
store so that the next ``sagebox serve`` on the same port restores them.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

__all__ = ["main", "run_server", "serve"]


async def run_server(host: str, port: int, exit_when_idle: bool = False) -> None:
    """Serve until SIGTERM/SIGINT (or, with ``exit_when_idle``, until the last endpoint goes).

    Raises:
        PortInUseError: if ``host:port`` cannot be bound.
    """
    import errno

    from sagebox.errors import PortInUseError
    from sagebox.serving._control.gateway import Gateway
    from sagebox.serving._control.supervisor import Supervisor
    from sagebox.serving._http.server import drain, start_server
    from sagebox.session import Session

    supervisor = Supervisor(Session(), host, port, exit_when_idle=exit_when_idle)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, supervisor.shutdown.set)
    try:
        server = await start_server(Gateway(supervisor).handle, host=host, port=port)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUseError(
                f"port {port} on {host} is already in use", hint="choose another with --port"
            ) from exc
        raise
    print(f"sagebox serve: gateway on http://{host}:{port}", flush=True)
    await supervisor.restore()
    ticks = loop.create_task(supervisor.run_ticks())
    await supervisor.shutdown.wait()
    ticks.cancel()
    server.close()
    await drain()
    await supervisor.stop_all()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description="sagebox serving supervisor and gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--exit-when-idle",
        action="store_true",
        help="exit once the last endpoint is deleted (auto-started servers)",
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.exit_when_idle)
    return 0


def serve(host: str = "127.0.0.1", port: int = 8080, exit_when_idle: bool = False) -> None:
    """Run the supervisor and gateway in the foreground until SIGTERM or SIGINT.

    Example:
        >>> serve("127.0.0.1", 8080)  # what ``sagebox serve --port 8080`` runs

    Raises:
        PortInUseError: if ``host:port`` cannot be bound.
    """
    from sagebox.serving._http.server import run

    run(lambda: run_server(host, port, exit_when_idle))


if __name__ == "__main__":
    sys.exit(main())
