"""``python -m stock_vs_app setup|run|worker``: see the package's docstring."""

import argparse
import sys
import traceback
from pathlib import Path

from . import ROOT
from . import __doc__ as package_doc
from .driver import run
from .sites import setup, worker


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stock_vs_app", description=package_doc.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup")
    p.add_argument("site")
    p = sub.add_parser("run")
    p.add_argument("app_site")
    p.add_argument("stock_site")
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    p = sub.add_parser("worker")
    p.add_argument("site")
    p.add_argument("kind", choices=("app", "stock"))
    args = parser.parse_args(argv)
    if args.command == "setup":
        return setup(args.site)
    if args.command == "worker":
        return worker(args.site, args.kind)
    try:
        return run(args.app_site, args.stock_site, args.results)
    except Exception as exc:
        print(f"FAILED: the app vs stock benchmark did not finish: {str(exc).strip().splitlines()[-1]}",
              file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
