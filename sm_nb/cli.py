"""The ``sm-nb`` command line: the notebook verbs for shell users.

Examples
--------
sm-nb scenario --config demo --seed 0
sm-nb run --config demo --seed 0 --output output/demo
sm-nb catalog
sm-nb export-real-format --config demo OUTDIR
sm-nb downscale --config demo --output output/sm.zarr --start 2017-07-01 --end 2017-07-31
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .exceptions import ConfigError, SmNbError

__all__ = ["main", "build_parser", "add_export_parser", "run_export", "add_downscale_parser", "run_downscale"]


def _integer(text: str, low: int, what: str, expected: str) -> int:
    """``text`` as an integer ≥ ``low``, else an argparse error naming ``what`` and ``expected``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} {text!r} is not an integer; expected {expected}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{what} {value} is {'negative' if low == 0 else 'not positive'}; "
                                         f"expected {expected}")
    return value


def _seed(text: str) -> int:
    return _integer(text, 0, "seed", "a non-negative integer")


def _jobs(text: str) -> int:
    return _integer(text, 1, "jobs", "a positive integer")


def _workers(text: str) -> int:
    return _integer(text, 1, "workers", "a positive integer")


def add_export_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``export-real-format`` verb to the ``sm-nb`` sub-command parsers.

    Parameters
    ----------
    subparsers : argparse sub-parsers action
        As returned by ``ArgumentParser.add_subparsers``.

    Returns
    -------
    argparse.ArgumentParser
        The verb's parser; its ``handler`` default is :func:`run_export`.
    """
    from .export import EXPORTERS

    p = subparsers.add_parser("export-real-format", help="write the synthetic scenario as real-format files plus a catalog")
    p.add_argument("outdir", help="output folder")
    p.add_argument("--config", default="demo", help="mini, demo or full (default demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--products", nargs="*", default=None, help=f"only these folders ({', '.join(EXPORTERS)})")
    p.add_argument("--start", default=None, help="first day to write (YYYY-MM-DD; default the scenario's first)")
    p.add_argument("--end", default=None, help="last day to write (YYYY-MM-DD)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=run_export)
    return p


def run_export(args: argparse.Namespace) -> int:
    """Handler of ``sm-nb export-real-format`` (:func:`sm_nb.export.export_real_format`); prints where the catalog is."""
    from .export import export_real_format

    time = None
    if args.start or args.end:
        time = (args.start or "1900-01-01", args.end or "2100-12-31")
    path = export_real_format(args.config, args.seed, args.outdir, products=args.products, time=time, progress=not args.quiet)
    print(f"real-format files and catalog written; use it with SM_NB_CATALOG={path}")
    return 0


def add_downscale_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sm-nb downscale`` (train on the final inputs, then downscale) to the sub-commands."""
    p = subparsers.add_parser("downscale", help="train the NN on the coarse grid and downscale it to the fine grid (zarr)")
    p.add_argument("--config", default="demo", help="mini, demo or full (default demo)")
    p.add_argument("--seed", type=_seed, default=0, help="scenario realisation (default 0)")
    p.add_argument("--random-state", type=_seed, default=None, help="network initialisation and sampling (default: the seed)")
    p.add_argument("--catalog", default=None, help="data_catalog.yaml (default $SM_NB_CATALOG or the shipped one)")
    p.add_argument("--output", required=True, help="zarr store to write (replaced atomically)")
    p.add_argument("--inputs", nargs="+", default=None, help="NN inputs (default the paper's final inputs, sm_nb.selection.FINAL_INPUTS)")
    p.add_argument("--start", default=None, help="first day (YYYY-MM-DD)")
    p.add_argument("--end", default=None, help="last day (YYYY-MM-DD)")
    p.add_argument("--variant", default="recommended",
                   help="recommended (default: chosen without the truth), paper, bilinear, scaled, within-cell or cross-scale; "
                        "--inputs, --start and --end apply to the paper's method")
    p.add_argument("--scheduler", default=None, help="address of a dask.distributed scheduler (tcp://host:8786)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_downscale)
    return p


def _day(text: str | None, what: str, days: pd.DatetimeIndex) -> pd.Timestamp | None:
    if text is None:
        return None
    valid = f"{days[0].date()} … {days[-1].date()}"
    try:
        day = pd.Timestamp(datetime.date.fromisoformat(text))
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a date; expected YYYY-MM-DD within the season {valid}") from None
    if day < days[0] or day > days[-1]:
        raise ConfigError(f"{what} {text} is outside the season; expected a day within {valid}")
    return day


def run_downscale(args: argparse.Namespace) -> int:
    """Handler of ``sm-nb downscale``: train (or load the cached network), downscale, print the store and its coverage."""
    from .selection import FINAL_INPUTS
    from .study import Study

    study = Study(args.config, args.seed, args.catalog, progress=not args.quiet)
    start, end = _day(args.start, "--start", study.days), _day(args.end, "--end", study.days)
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--start {args.start} is after --end {args.end}")
    client = None
    if args.scheduler:
        from dask.distributed import Client

        client = Client(args.scheduler)
    try:
        time = slice(start, end) if (start is not None or end is not None) else None
        if args.inputs and args.variant not in ("paper", "recommended"):
            raise ConfigError(f"--inputs applies to --variant paper (the paper's method); variant {args.variant!r} "
                              "uses the paper's final inputs and its family of networks")
        if args.variant == "paper" or args.inputs:
            result = study.train(args.inputs or FINAL_INPUTS, random_state=args.random_state)
            ds = study.downscale(result, output=args.output, time=time, progress=not args.quiet)
        else:
            if time is not None:
                raise ConfigError("--start/--end select days of the paper's product only; the gap-filled variants "
                                  "use the whole season (omit them, or pass --variant paper)")
            ds, choice = study.product(args.variant, output=args.output, progress=not args.quiet,
                                       random_state=args.random_state)
            print(f"variant {ds.attrs['variant']!r}: {ds.attrs['variant_description']}")
            print(f"recommended without the truth: {ds.attrs['recommended_without_truth']}")
    finally:
        if client is not None:
            client.close()
    print(f"downscaled {ds.sizes['time']} days on a {ds.sizes['lat']} × {ds.sizes['lon']} grid to {args.output}")
    print(f"coverage {ds.attrs['coverage_overall']:.1%} of {'land ' if 'variant' in ds.attrs else ''}pixel-days")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sm-nb", description="Neural-network soil-moisture downscaling (Lv et al. 2021) with a synthetic Qinghai scenario.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("scenario", help="generate (or reuse the cached) synthetic scenario")
    s.add_argument("--config", default="demo", help="mini, demo or full (default demo)")
    s.add_argument("--seed", type=_seed, default=0)
    s.add_argument("--force", action="store_true", help="regenerate even if cached")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--workers", type=_workers, default=None,
                   help="seasons generated side by side, one process each (default: one per core; "
                        "≈ 2.6 GB each on full)")

    r = sub.add_parser("run", help="execute every notebook headless with papermill")
    r.add_argument("--config", default="demo")
    r.add_argument("--seed", type=_seed, default=0, help="scenario realisation (default 0)")
    r.add_argument("--random-state", type=_seed, default=None, help="network initialisation and sampling (default: the seed)")
    r.add_argument("--output", default="output/demo", help="folder for executed notebooks, CSV tables and figures")
    r.add_argument("--notebooks", nargs="*", default=None, help="only these notebooks (name prefixes, e.g. 01 02)")
    r.add_argument("--kernel", default="python3")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="extra notebook parameter (VALUE read as YAML: 3, 0.5, true, [a, b]); given to the "
                        "notebooks that declare it, e.g. -p hidden_units 3 -p n_restarts 1")
    r.add_argument("--jobs", type=_jobs, default=None,
                   help="notebook chains (01-02 and 03-05) run side by side (default 2 with >= 2 cores; 1 = one by one)")
    r.add_argument("--no-html", action="store_true", help="skip the HTML pages and index.html")
    r.add_argument("--quiet", action="store_true")

    sub.add_parser("catalog", help="list the datasets of data_catalog.yaml")

    add_export_parser(sub)
    add_downscale_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "scenario":
            from .config import get_config
            from .scenario.generate import ensure_scenario

            path = ensure_scenario(get_config(args.config), args.seed, progress=not args.quiet, force=args.force,
                                   workers=args.workers)
            print(f"scenario {args.config!r} seed {args.seed}: {path}")
        elif args.command == "run":
            import yaml

            from .run import run_notebooks

            extra = {name: yaml.safe_load(value) for name, value in args.parameter}
            done = run_notebooks(args.config, args.seed, args.output, select=args.notebooks, kernel=args.kernel,
                                 progress=not args.quiet, random_state=args.random_state, parameters=extra,
                                 html=not args.no_html, jobs=args.jobs)
            print("executed notebooks:")
            for nb in done:
                print(f"  {nb}")
            folder = done[0].parent if done else args.output
            print(f"results (executed notebooks, CSV tables, figures) are in {folder}")
            if not args.no_html:
                print(f"open {folder}/index.html in a browser to read them without Jupyter")
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
