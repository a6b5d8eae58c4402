"""The notebooks headless, cold and warm, optionally side by side with another commit (printed figures).

Usage
-----
python benchmarks/bench_notebooks.py                          # demo, seed 0: all five, cold then warm
python benchmarks/bench_notebooks.py --notebooks 02 03        # some of them
python benchmarks/bench_notebooks.py --notebooks 05 --warm-only --peer e6c074a --rounds 2
python benchmarks/bench_notebooks.py --serial                 # parallel=False where a notebook has it
python benchmarks/bench_notebooks.py -p max_train_samples 10000   # any notebook parameter (JSON value)
python benchmarks/bench_notebooks.py --whole [--jobs 1]       # the whole `sm-nb run`, cold, as the README runs it

Each notebook runs with papermill (``sm_nb.run.run_notebook``) in a child process. **Cold**: the
child's ``SM_NB_CACHE`` is a fresh temporary folder into which the scenario is *linked* from the
usual cache (generated there first if needed, timed separately), so every network is trained from
scratch — a notebook reuses what the earlier ones trained, as in a normal run. **Warm**: the same
notebooks again on that cache (``--warm-only``: on the usual cache, nothing trained if it is
already there). ``--peer REF`` runs the same notebooks of the commit REF (a git worktree under
the system's temporary folder, its own scenario and experiment caches in the usual cache) warm,
alternating with ours ``--rounds`` times, so both see the same machine: this is how a change's
cost is measured on a shared 2-core machine whose speed drifts by ± 30 % over minutes.

Printed per notebook: wall time and CPU time (user + system of the child and its kernel, a measure
that depends little on other load), the load average, peak resident memory (``ru_maxrss`` of the
children, kernel included) and the experiments trained.
Targets (issue 11): scenario + five notebooks cold ≤ 5 min on 2 cores for ``demo``; (issue 9) the
gap handling and variants add at most 50 % to notebook 05's warm time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"01": "01_data.ipynb", "02": "02_band_selection.ipynb", "03": "03_auxiliary_selection.ipynb",
             "04": "04_triple_collocation.ipynb", "05": "05_downscaling_validation.ipynb"}


def _child(code: str, env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Run ``code`` in a fresh interpreter; return (wall s, CPU s of that child and its kernel,
    peak RSS GB of any child so far)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=cwd)
    _TREE_PEAK[0] = _watch_tree(proc)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"child failed with exit code {proc.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024**2


_TREE_PEAK = [0.0]  # GB: largest sum of resident memory over the last child and its kernels


def _watch_tree(proc: subprocess.Popen) -> float:
    """Wait for ``proc``, sampling the summed RSS of it and its descendants every 0.5 s (psutil)."""
    try:
        import psutil
    except ImportError:
        proc.wait()
        return float("nan")
    peak = 0
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.5)
    return peak / 1024**3


def _experiments(cache: Path) -> int:
    return len(list((cache / "experiments").glob("*/*/meta.json")))


def _code(name: str, out: Path, params: dict, scenario: tuple[str, int] | None = None) -> str:
    ensure = ""
    if scenario is not None:  # the peer's own scenario (its code may key it differently)
        ensure = ("from sm_nb.config import get_config\nfrom sm_nb.scenario.generate import ensure_scenario\n"
                  f"ensure_scenario(get_config({scenario[0]!r}), {scenario[1]}, progress=False)\n")
    return (f"{ensure}from pathlib import Path\nfrom sm_nb.run import notebooks_dir, run_notebook\n"
            f"run_notebook(notebooks_dir() / {name!r}, Path({str(out)!r}), {params!r})\n")


def _peer_tree(ref: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"smnb-peer-{ref}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), ref], cwd=ROOT, check=True,
                       capture_output=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="demo", choices=["mini", "demo", "full"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--notebooks", nargs="+", default=list(NOTEBOOKS), choices=list(NOTEBOOKS))
    ap.add_argument("--warm-only", action="store_true", help="no cold pass: run on the usual cache")
    ap.add_argument("--peer", default=None, metavar="REF", help="also run the notebooks of this commit, warm")
    ap.add_argument("--rounds", type=int, default=1, help="warm runs of each notebook (alternating with the peer)")
    ap.add_argument("--serial", action="store_true", help="run the notebooks with parallel=False")
    ap.add_argument("--whole", action="store_true",
                    help="time the whole `sm-nb run` cold instead (run_notebooks: chains side by side, HTML pages)")
    ap.add_argument("--jobs", type=int, default=None, help="with --whole: notebook chains at once (default: sm-nb run's)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary cache and outputs")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="notebook parameter; VALUE is parsed as JSON, else taken as a string")
    args = ap.parse_args()

    from sm_nb.config import get_config
    from sm_nb.scenario.generate import ensure_scenario, scenario_path

    cfg = get_config(args.config)
    t0 = time.perf_counter()
    source = ensure_scenario(cfg, args.seed, progress=False)  # the usual cache ($SM_NB_CACHE)
    t_scenario = time.perf_counter() - t0
    usual = dict(os.environ)
    tmp = Path(tempfile.mkdtemp(prefix="smnb-bench-nb-"))
    out = tmp / "out"
    params: dict = {"config": cfg.name, "seed": args.seed, "output_dir": str(out)}
    if args.serial:
        params["parallel"] = False
    for name, value in args.parameter:
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
    print(f"== notebooks {' '.join(args.notebooks)} on {cfg.name!r}, seed {args.seed}")
    print(f"scenario ready in {t_scenario:.1f} s ({source})")
    print(f"cores: {os.cpu_count()}, load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"parameters: {params}")
    peak = 0.0
    rows: list[tuple[str, str, str, float, float, int]] = []

    def run(label: str, which: str, key: str, env: dict[str, str], cwd: Path, cache: Path,
            scenario: tuple[str, int] | None = None) -> None:
        nonlocal peak
        n0 = _experiments(cache)
        wall, cpu, peak = _child(_code(NOTEBOOKS[key], out / label, params | {"output_dir": str(out / label)},
                                       scenario), env, cwd)
        rows.append((label, which, key, wall, cpu, _experiments(cache) - n0))
        print(f"  {label:5s} {which:5s} {NOTEBOOKS[key]:34s} {wall:7.1f} s wall {cpu:7.1f} s CPU  "
              f"new experiments {rows[-1][5]}", flush=True)

    usual_cache = Path(os.environ.get("SM_NB_CACHE", Path.home() / ".cache" / "sm_nb"))
    if not args.warm_only:
        env = {**usual, "SM_NB_CACHE": str(tmp)}
        os.environ["SM_NB_CACHE"] = str(tmp)
        target = scenario_path(cfg, args.seed)
        target.symlink_to(source, target_is_directory=True)
        print("cold (fresh experiment cache, scenario linked):")
        if args.whole:
            extra = {k: v for k, v in params.items() if k not in ("config", "seed", "output_dir")}
            code = (f"from sm_nb.run import run_notebooks\n"
                    f"run_notebooks({cfg.name!r}, {args.seed}, {str(out / 'whole')!r}, select={args.notebooks!r}, "
                    f"progress=False, parameters={extra!r}, jobs={args.jobs!r})\n")
            wall, cpu, peak = _child(code, env, ROOT)
            print(f"  sm-nb run (jobs={args.jobs or 'default'}), notebooks {' '.join(args.notebooks)}: {wall:.1f} s wall, "
                  f"{cpu:.1f} s CPU, {_experiments(tmp)} experiments trained; with the scenario step "
                  f"{wall + t_scenario:.1f} s; peak resident memory {peak:.2f} GB (largest process), "
                  f"{_TREE_PEAK[0]:.2f} GB summed over the run and its kernels (sampled every 0.5 s)")
            if not args.keep:
                scenario_path(cfg, args.seed).unlink()
                shutil.rmtree(tmp, ignore_errors=True)
            return
        for key in args.notebooks:
            run("ours", "cold", key, env, ROOT, tmp)
        warm_env, warm_cache = env, tmp
    else:
        warm_env, warm_cache = usual, usual_cache
    peer_env = None
    if args.peer:
        tree = _peer_tree(args.peer)
        peer_env = {**usual, "PYTHONPATH": str(tree), "SM_NB_NOTEBOOKS": str(tree / "notebooks")}
        print(f"peer {args.peer}: {tree} (its own scenario and experiments in {usual_cache})")
    print("warm:")
    for _ in range(args.rounds):
        for key in args.notebooks:
            if peer_env is not None:
                run("peer", "warm", key, peer_env, tree, usual_cache, (cfg.name, args.seed))
            run("ours", "warm", key, warm_env, ROOT, warm_cache)
    print("summary (median over rounds):")
    import statistics

    for key in args.notebooks:
        line = f"  {NOTEBOOKS[key]:34s}"
        for label, which in (("ours", "cold"), ("ours", "warm"), ("peer", "warm")):
            got = [(w, c) for lb, wh, k, w, c, _ in rows if (lb, wh, k) == (label, which, key)]
            if got:
                line += (f"  {label} {which} {statistics.median(w for w, _ in got):6.1f} s wall "
                         f"{statistics.median(c for _, c in got):6.1f} s CPU")
        print(line)
    cold = [r for r in rows if r[1] == "cold"]
    if cold:
        total = t_scenario + sum(r[3] for r in cold)
        print(f"cold total: {sum(r[3] for r in cold):.1f} s wall for the notebooks, {total:.1f} s with the scenario "
              f"step ({t_scenario:.1f} s; generation itself only when it was not cached)")
    print(f"peak resident memory {peak:.2f} GB (largest child, kernel included)")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.keep:
        if not args.warm_only:
            scenario_path(cfg, args.seed).unlink()
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")


if __name__ == "__main__":
    main()
