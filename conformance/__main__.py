"""``python -m conformance``: the same as the ``heallog-conformance`` command."""

from conformance.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
