"""``sagebox serve`` (``python -m sagebox.serving._control.server``): supervisor and gateway.

One process per host and port: the gateway (on uvloop when installed) and the
supervisor share one event loop; worker processes are its children. SIGTERM or SIGINT stops
the workers, flushes data capture and writes the endpoint records, which stay in the metadata
store so that the next ``sagebox serve`` on the same port restores them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from sagebox.serving._http.auth import FAULT_INJECTION_ENV

__all__ = ["main", "run_server", "serve"]


async def run_server(
    host: str, port: int, exit_when_idle: bool = False, fault_injection: bool = False
) -> None:
    """Serve until SIGTERM/SIGINT (or, with ``exit_when_idle``, until the last endpoint goes).

    The admin token is made on first start (see :mod:`sagebox.serving._http.auth`); fault
    injection is allowed only with ``fault_injection`` (servers for tests and drills).

    Raises:
        PortInUseError: if ``host:port`` cannot be bound.
    """
    import errno

    from sagebox.errors import PortInUseError
    from sagebox.serving._control.gateway import Gateway
    from sagebox.serving._control.supervisor import Supervisor
    from sagebox.serving._http.auth import admin_token
    from sagebox.serving._http.server import drain, start_server
    from sagebox.session import Session

    session = Session()
    token = await asyncio.to_thread(admin_token, session.settings.home)
    supervisor = Supervisor(
        session, host, port, exit_when_idle=exit_when_idle, fault_injection=fault_injection
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, supervisor.shutdown.set)
    try:
        server = await start_server(
            Gateway(supervisor, token, fault_injection).handle, host=host, port=port
        )
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUseError(
                f"port {port} on {host} is already in use", hint="choose another with --port"
            ) from exc
        raise
    drills = " (fault injection on: for tests and drills only)" if fault_injection else ""
    print(f"sagebox serve: gateway on http://{host}:{port}{drills}", flush=True)
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
    parser.add_argument(
        "--enable-fault-injection",
        action="store_true",
        help=f"allow fault injection (tests and drills; or {FAULT_INJECTION_ENV}=1)",
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.exit_when_idle, args.enable_fault_injection)
    return 0


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    exit_when_idle: bool = False,
    fault_injection: bool = False,
) -> None:
    """Run the supervisor and gateway in the foreground until SIGTERM or SIGINT.

    Fault injection is on with ``fault_injection`` or ``SAGEBOX_ENABLE_FAULT_INJECTION=1``.

    Example:
        >>> serve("127.0.0.1", 8080)  # what ``sagebox serve --port 8080`` runs

    Raises:
        PortInUseError: if ``host:port`` cannot be bound.
    """
    from sagebox.serving._http.server import run

    faults = fault_injection or os.environ.get(FAULT_INJECTION_ENV, "") in ("1", "true", "yes")
    run(lambda: run_server(host, port, exit_when_idle, faults))


if __name__ == "__main__":
    sys.exit(main())
