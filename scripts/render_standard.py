"""Write docs/standard.md from the catalogue (conformance/requirements.toml).

    python scripts/render_standard.py [--check]

The standard's text lives once, in the catalogue; this page is its rendering
(tests/core/test_standard.py fails when it is out of date). ``--check`` only
says whether the file is up to date (exit code 1 when not).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file from anywhere: the repo's packages

from conformance import standard  # noqa: E402

TARGET = ROOT / "docs" / "standard.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that docs/standard.md is up to date")
    args = parser.parse_args()
    text = standard.markdown()
    current = TARGET.read_text("utf-8") if TARGET.exists() else None
    if args.check:
        print("docs/standard.md is up to date" if current == text else "docs/standard.md is out of date")
        return 0 if current == text else 1
    TARGET.write_text(text, "utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
