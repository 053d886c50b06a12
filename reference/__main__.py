"""Command line: `python -m reference serve ...` and `python -m reference seed-user ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_DATA_DIR = ".data"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m reference", description="HealLog reference server")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR, help="SQLite file, generated secret, embedded Redis data"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes on the same socket, Redis and SQLite (default 1)"
    )

    seed = commands.add_parser("seed-user", help="create a verified account (e.g. pro plan or admin role)")
    seed.add_argument("--email", required=True)
    secret = seed.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password", help="the password (visible in `ps`: prefer --password-stdin)")
    secret.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    seed.add_argument("--full-name", default="Seeded User")
    seed.add_argument("--plan", default="basic")
    seed.add_argument("--role", default="doctor")
    seed.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        from reference.serve import serve

        return serve(args.host, args.port, Path(args.data_dir), args.workers)
    from reference import seed

    return seed.run(args)


if __name__ == "__main__":
    sys.exit(main())
