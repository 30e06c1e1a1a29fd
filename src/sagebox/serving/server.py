"""``python -m sagebox.serving.server --model-dir DIR --port P``: serve one model over HTTP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the app and run uvicorn until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--name", default="local")
    args = parser.parse_args(argv)

    import uvicorn

    from sagebox.serving.app import create_app

    app = create_app(args.model_dir, endpoint_name=args.name)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
