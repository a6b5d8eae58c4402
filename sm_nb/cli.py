"""The ``sm-nb`` command line: the notebook verbs for shell users.

Examples
--------
sm-nb scenario --config demo --seed 0
sm-nb run --config demo --seed 0 --output output/demo
sm-nb catalog
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .exceptions import SmNbError

__all__ = ["main", "build_parser"]


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed {text!r} is not an integer; expected a non-negative integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed {value} is negative; expected a non-negative integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sm-nb", description="Neural-network soil-moisture downscaling (Lv et al. 2021) with a synthetic Qinghai scenario.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("scenario", help="generate (or reuse the cached) synthetic scenario")
    s.add_argument("--config", default="demo", help="mini, demo or full (default demo)")
    s.add_argument("--seed", type=_seed, default=0)
    s.add_argument("--force", action="store_true", help="regenerate even if cached")
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("run", help="execute every notebook headless with papermill")
    r.add_argument("--config", default="demo")
    r.add_argument("--seed", type=_seed, default=0)
    r.add_argument("--output", default="output/demo", help="folder for executed notebooks, CSV tables and figures")
    r.add_argument("--notebooks", nargs="*", default=None, help="only these notebooks (name prefixes, e.g. 01 02)")
    r.add_argument("--kernel", default="python3")
    r.add_argument("--quiet", action="store_true")

    sub.add_parser("catalog", help="list the datasets of data_catalog.yaml")

    from .downscale import add_downscale_parser
    from .export import add_export_parser

    add_export_parser(sub)
    add_downscale_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "scenario":
            from .config import get_config
            from .scenario.generate import ensure_scenario

            path = ensure_scenario(get_config(args.config), args.seed, progress=not args.quiet, force=args.force)
            print(f"scenario {args.config!r} seed {args.seed}: {path}")
        elif args.command == "run":
            from .run import run_notebooks

            done = run_notebooks(args.config, args.seed, args.output, select=args.notebooks, kernel=args.kernel, progress=not args.quiet)
            print("executed notebooks:")
            for nb in done:
                print(f"  {nb}")
            print(f"results (executed notebooks, CSV tables, figures) are in {done[0].parent if done else args.output}")
        elif args.command in ("export-real-format", "downscale"):
            status = args.handler(args)
            if isinstance(status, int) and status:
                return status
        elif args.command == "catalog":
            from .catalog import load_catalog

            print(load_catalog())
    except SmNbError as exc:
        print(f"sm-nb {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
