"""``python -m benchmarks.tune METHOD``: a tuning sweep of a tutorial that loses nothing.

A method's candidate settings are declared in ``benchmarks/tuning/METHOD.toml``: named
configurations, each a small change to a base, of the knobs that its tutorial declares
(``tutorial.knobs(...)`` in ``tutorials/METHOD_digits.py``)::

    epochs = 30                 # of each run (default: the tutorial's)
    timeout_minutes = 20        # each run's limit
    [base]                      # the knobs every configuration starts from (default: none,
    lr = 0.12                   # i.e. the tutorial's values)
    [configs.t02]
    note = "teacher temperature 0.02"
    knobs = { teacher_temp = 0.02 }   # also: epochs, timeout_minutes

Each configuration runs alone, as its own process (the tutorial itself, with
``LIGHTLY_MIN_KNOBS`` set), under a wall-clock limit, and prints a line per epoch. As soon
as a run ends, finished or not, one JSON line is appended to
``benchmarks/results/tuning_log.jsonl``: its settings, seed and epochs, the held-out kNN and
linear probe per epoch and at the end (of the teacher too, where there is one), the
collapse monitors, wall seconds, the machine's load and the commit.

A configuration whose seed is in the log already is skipped, so a sweep stopped at any
moment (a signal, ``kill -9``, a machine gone) continues where it stopped when started
again; the tutorial of a killed sweep dies with it. A run cut short by the sweep's own
SIGINT or SIGTERM is logged as ``stopped`` and runs again.

    python -m benchmarks.tune dino                  # each configuration once, seed 0
    python -m benchmarks.tune dino --seeds 3        # seeds 0-2 of the best one so far
    python -m benchmarks.tune dino --seeds 3 --only d4,d7
    python -m benchmarks.tune dino --status         # what ran, best first; runs nothing
    python -m benchmarks.tune dino --background     # the same, detached: prints how to follow
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import fcntl
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TUNING = ROOT / "benchmarks" / "tuning"
LOG = ROOT / "benchmarks" / "results" / "tuning_log.jsonl"
OUTPUT = ROOT / "benchmarks" / ".scratch" / "tune"  # each run's stdout, and the background log


class SweepError(Exception):
    """A sweep that cannot start: bad configuration file, or another sweep on the log."""


class Stopped(Exception):
    """The sweep was asked to stop (SIGINT, SIGTERM)."""


def _stop(signum: int, frame: Any) -> None:
    raise Stopped(signal.Signals(signum).name)


# The configurations ------------------------------------------------------------------------


def read_sweep(method: str, path: Path | None = None) -> dict[str, Any]:
    """The sweep of ``method``: ``tutorial`` (its path), ``epochs``, ``timeout_minutes`` and
    ``configs`` (name -> ``{"note", "knobs", "epochs"}``), from its TOML file."""
    path = path or TUNING / f"{method}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in TUNING.glob("*.toml"))) or "none"
        raise SweepError(f"No sweep file {path}: write one (sweeps there: {known}).")
    try:
        declared = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SweepError(f"{path}: {error}") from None
    tutorial = Path(declared.get("tutorial", f"tutorials/{method}_digits.py"))
    tutorial = tutorial if tutorial.is_absolute() else ROOT / tutorial
    if not tutorial.is_file():
        raise SweepError(f"{path}: its tutorial {tutorial} does not exist.")
    configs = declared.get("configs", {})
    if not configs:
        raise SweepError(f"{path} declares no [configs.NAME] table.")
    epochs, timeout = declared.get("epochs"), declared.get("timeout_minutes", 30)
    base = declared.get("base", {})  # what every configuration starts from
    sweep = {"method": method, "file": path, "tutorial": tutorial, "base": base, "configs": {}}
    for name, config in configs.items():
        unknown = sorted(set(config) - {"note", "knobs", "epochs", "timeout_minutes"})
        if unknown:
            raise SweepError(f"{path}: [configs.{name}] has unknown keys {unknown}.")
        sweep["configs"][name] = {
            "note": config.get("note", ""),
            "knobs": config.get("knobs", {}),
            "epochs": config.get("epochs", epochs),
            "timeout_minutes": config.get("timeout_minutes", timeout),
        }
    return sweep


# The log -----------------------------------------------------------------------------------


def read_log(log: Path = LOG) -> list[dict[str, Any]]:
    """Every record of the log; a last line cut short (a kill during the write) is ignored."""
    if not log.exists():
        return []
    records = []
    for line in log.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def append_record(record: dict[str, Any], log: Path = LOG) -> None:
    """Appends ``record`` as one line, on a line of its own, and flushes it to the disk."""
    line = json.dumps(record) + "\n"
    with log.open("ab") as stream:
        if stream.tell() > 0:
            with log.open("rb") as reader:
                reader.seek(-1, os.SEEK_END)
                if reader.read(1) != b"\n":  # a line cut short: start a new one
                    line = "\n" + line
        stream.write(line.encode())
        stream.flush()
        os.fsync(stream.fileno())


def done(records: list[dict[str, Any]], method: str, name: str, seed: int) -> dict | None:
    """The record of configuration ``name`` of ``method`` with ``seed``, if it ran to its end
    (finished, failed or out of time); a run that the sweep's stop cut short runs again."""
    for record in records:
        key = (record.get("method"), record.get("name"), record.get("seed"))
        if key == (method, name, seed) and record.get("status") != "stopped":
            return record
    return None


def tutorial_knobs(tutorial: Path) -> dict[str, Any] | None:
    """The knobs that ``tutorial`` declares and their defaults, read from its source (the
    literal keywords of its ``tutorial.knobs(...)`` call); None if it declares none."""
    for node in ast.walk(ast.parse(tutorial.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "knobs":
            return {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    return None


def check_unchanged(records: list[dict[str, Any]], sweep: dict[str, Any]) -> None:
    """A configuration in the log must still mean what it ran: the same changes, and the
    same settings once applied to the tutorial's knobs as they are now. A changed one needs a
    new name, so that every name in the log (and on the docs' pages) means one setting."""
    defaults = tutorial_knobs(sweep["tutorial"])
    for record in records:
        if record.get("method") != sweep["method"] or record.get("source") != "benchmarks.tune":
            continue
        config = sweep["configs"].get(record["name"])
        if config is None:
            continue
        if config["knobs"] != record["changes"]:
            raise SweepError(
                f"[configs.{record['name']}] in {sweep['file'].name} changes "
                f"{config['knobs']}, but the log's run {record['name']} changed "
                f"{record['changes']}: give the new setting a new name."
            )
        now = {**(defaults or {}), **sweep.get("base", {}), **config["knobs"]}
        ran = record.get("knobs") or {}
        # Knobs that the tutorial declares now and did then (a knob added since kept the
        # tutorial as it was at its default).
        differ = ", ".join(
            f"{k} {ran[k]!r} then, {now[k]!r} now" for k in sorted(set(ran) & set(now))
            if ran[k] != now[k]
        )  # fmt: skip
        if differ:
            raise SweepError(
                f"The log's run {record['name']} ran other settings than [configs."
                f"{record['name']}] gives with the tutorial's knobs today ({differ}): give "
                "that configuration a new name."
            )


def commit() -> dict[str, Any]:
    """The commit that ran, and whether the code it ran differed from it."""

    def git(*args: str) -> str:
        answer = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return answer.stdout.strip() if answer.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "lightly_min", "tutorials", "benchmarks/tuning")
    return {"commit": git("rev-parse", "HEAD") or None, "uncommitted_changes": bool(changed)}


# One run -----------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the sweep dies (Linux), so that a killed
    sweep leaves no tutorial running."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_config(
    sweep: dict[str, Any], name: str, seed: int, smoke: bool = False, log: Path = LOG,
    threads: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Runs configuration ``name`` with ``seed`` as its own process (with ``threads`` torch
    threads, or torch's default); returns and logs its record, whatever the run's end
    (``status``: finished, failed or timeout)."""
    config, method = sweep["configs"][name], sweep["method"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUTPUT) as scratch:
        progress, results = Path(scratch, "progress.jsonl"), Path(scratch, "results.json")
        stdout = OUTPUT / f"{method}-{name}-seed{seed}.out"
        environment = {
            **os.environ, "LIGHTLY_MIN_SEED": str(seed), "LIGHTLY_MIN_RESULTS": str(results),
            "LIGHTLY_MIN_PROGRESS": str(progress),
            "LIGHTLY_MIN_KNOBS": json.dumps({**sweep.get("base", {}), **config["knobs"]}),
            "MPLBACKEND": "Agg",
        }  # fmt: skip
        environment.pop("LIGHTLY_MIN_RUN_TUTORIALS", None)  # never the docs' stored outputs
        if config["epochs"] is not None:
            environment["LIGHTLY_MIN_EPOCHS"] = str(config["epochs"])
        if smoke:
            environment["LIGHTLY_MIN_SMOKE"] = "1"
        if threads is not None:
            environment["OMP_NUM_THREADS"] = environment["MKL_NUM_THREADS"] = str(threads)
        limit = config["timeout_minutes"] * 60
        start, load = time.perf_counter(), os.getloadavg()[0]
        with stdout.open("w") as out:
            child = subprocess.Popen(
                [sys.executable, str(sweep["tutorial"])], cwd=scratch, env=environment,
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            )  # fmt: skip
            status, shown, stopped = None, 0, None
            while status is None:
                try:
                    child.wait(timeout=2)
                    status = "finished" if child.returncode == 0 else "failed"
                except subprocess.TimeoutExpired:
                    if time.perf_counter() - start > limit:
                        status = "timeout"
                except Stopped as signal_name:  # logged, then the sweep stops
                    status, stopped = "stopped", signal_name
                if status in ("timeout", "stopped"):
                    child.kill()
                    child.wait()
                shown = _print_progress(progress, name, seed, shown)
        epochs = [json.loads(line) for line in _lines(progress)]
        record = _record(sweep, name, seed, status, epochs, results, stdout)
        record |= {
            "wall_seconds": round(time.perf_counter() - start, 1),
            "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
            "timeout_minutes": config["timeout_minutes"], "smoke": smoke,
            "threads": threads or os.cpu_count(),
        }  # fmt: skip
    append_record(record, log)
    if stopped is not None:
        raise Stopped(str(stopped))
    return record


def _lines(path: Path) -> list[str]:
    """The whole lines of a file that another process appends to."""
    if not path.exists():
        return []
    text = path.read_text()
    return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]


def _print_progress(progress: Path, name: str, seed: int, shown: int) -> int:
    """Prints the epochs of ``progress`` after the first ``shown``; returns how many now."""
    lines = _lines(progress)
    for line in lines[shown:]:
        epoch = json.loads(line)
        numbers = [f"kNN {epoch['knn']:.3f}", f"linear {epoch['linear_probe']:.3f}"]
        if "teacher_knn" in epoch:
            numbers.append(f"teacher kNN {epoch['teacher_knn']:.3f}")
        skip = {"epoch", "knn", "linear_probe", "teacher_knn", "teacher_linear_probe", "seconds"}
        numbers += [f"{k.replace('_', '-')} {v:.4g}" for k, v in epoch.items() if k not in skip]
        print(f"  {name} seed {seed}, epoch {epoch['epoch']}: {', '.join(numbers)} "
              f"({epoch['seconds']:.0f} s)", flush=True)  # fmt: skip
    return len(lines)


def _record(
    sweep: dict[str, Any], name: str, seed: int, status: str, epochs: list[dict[str, Any]],
    results: Path, stdout: Path,
) -> dict[str, Any]:  # fmt: skip
    """The log's record of one run, from the tutorial's results (where it finished) and its
    per-epoch lines (also where it did not)."""
    config = sweep["configs"][name]
    per_epoch = {key: [epoch.get(key) for epoch in epochs] for key in (epochs[0] if epochs else {})}
    per_epoch.pop("epoch", None)
    record: dict[str, Any] = {
        "name": name, "method": sweep["method"], "note": config["note"],
        "changes": config["knobs"], "seed": seed, "status": status,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": "benchmarks.tune", **commit(),
        "epochs_planned": config["epochs"], "epochs": len(epochs),
        "knn_per_epoch": per_epoch.pop("knn", []),
        "linear_probe_per_epoch": per_epoch.pop("linear_probe", []),
        "seconds_per_epoch": per_epoch.pop("seconds", []),
    }  # fmt: skip
    for key in ("teacher_knn", "teacher_linear_probe"):
        if key in per_epoch:
            record[f"{key}_per_epoch"] = per_epoch.pop(key)
    record["loss_per_epoch"] = per_epoch.pop("loss", [])
    record["monitors_per_epoch"] = per_epoch  # z_std and the method's own
    if status == "finished":
        run = json.loads(results.read_text())
        record |= {
            "knobs": run.get("knobs", {}), "epochs_planned": run["epochs"],
            "knn": run["trained"]["knn"], "linear_probe": run["trained"]["linear_probe"],
            "random_init_knn": run["random_init"]["knn"],
            "random_init_linear_probe": run["random_init"]["linear_probe"],
            "pixels_knn": run["pixels"]["knn"], "minutes": run["minutes"],
        }  # fmt: skip
        if "teacher" in run:
            record["teacher_knn"] = run["teacher"]["knn"]
            record["teacher_linear_probe"] = run["teacher"]["linear_probe"]
    else:
        record["error"] = stdout.read_text()[-2000:]
    return record


# The sweep ---------------------------------------------------------------------------------


def final_knn(record: dict[str, Any]) -> float | None:
    """A run's held-out kNN after its last epoch; None if it did not finish. (Records from
    before this sweep have no status, and their ``knn`` holds the kNN's settings.)"""
    if record.get("status", "finished") != "finished":
        return None
    if isinstance(record.get("knn"), (int, float)):
        return record["knn"]
    curve = record.get("knn_per_epoch")
    return curve[-1] if curve else None


def score(records: list[dict[str, Any]], name: str) -> float:
    """A configuration's mean final kNN over its finished seeds (-1 if none finished)."""
    finals = [final_knn(r) for r in records if r["name"] == name]
    finals = [value for value in finals if value is not None]
    return statistics.fmean(finals) if finals else -1.0


def plan(
    sweep: dict[str, Any], records: list[dict[str, Any]], seeds: int, only: list[str] | None,
    best: int,
) -> list[tuple[str, int]]:  # fmt: skip
    """The (configuration, seed) pairs to run: every configuration with seed 0; with more
    seeds, those of ``only``, else the ``best`` configurations by their seed-0 kNN."""
    names = list(sweep["configs"])
    for name in only or []:
        if name not in sweep["configs"]:
            raise SweepError(
                f"No configuration {name} in {sweep['file'].name}: {', '.join(names)}."
            )
    mine = [r for r in records if r.get("method") == sweep["method"]]
    if only:
        names = only
    elif seeds > 1:
        names = sorted(names, key=lambda n: score(mine, n), reverse=True)[:best]
    return [(name, seed) for name in names for seed in range(seeds)]


def status_table(method: str, records: list[dict[str, Any]]) -> str:
    """What ran for ``method``, one row per configuration, best mean final kNN first."""
    mine = [r for r in records if r.get("method") == method]
    names = sorted({r["name"] for r in mine}, key=lambda n: score(mine, n), reverse=True)
    rows = [("run", "seeds", "epochs", "kNN", "linear", "teacher kNN", "init kNN", "min", "note")]
    for name in names:
        runs = [r for r in mine if r["name"] == name]
        finished = [r for r in runs if r.get("status", "finished") == "finished"]

        def mean(key: str, runs: list[dict[str, Any]] = finished) -> str:
            if key == "knn":
                values = [v for v in map(final_knn, runs) if v is not None]
            else:
                values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
            if not values:
                return "-"
            spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            return f"{statistics.fmean(values):.3f}{spread}"

        unfinished = {r.get("status") for r in runs} - {"finished", None}
        seeds = f"{len(finished)}" + (f" (+{', '.join(sorted(unfinished))})" if unfinished else "")
        minutes = [r["wall_seconds"] / 60 for r in runs if r.get("wall_seconds")]
        epochs = max((r.get("epochs") or len(r.get("knn_per_epoch", [])) for r in runs), default=0)
        rows.append((
            name, seeds, str(epochs), mean("knn"), mean("linear_probe"), mean("teacher_knn"),
            mean("random_init_knn", runs), f"{statistics.fmean(minutes):.1f}" if minutes else "-",
            runs[-1].get("note", ""),
        ))  # fmt: skip
    if len(rows) == 1:
        return f"No {method} run in the log yet."
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
        for row in rows
    )


def sweep_main(args: argparse.Namespace) -> int:
    log = args.log
    if args.status:  # also for a method tuned before this sweep existed
        print(status_table(args.method, read_log(log)))
        return 0
    sweep = read_sweep(args.method, args.file)
    log.parent.mkdir(parents=True, exist_ok=True)
    lock = (log.parent / f".{log.name}.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SweepError(f"Another sweep is writing {log}: wait for it to end.") from None
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)
    records = read_log(log)
    check_unchanged(records, sweep)
    todo = plan(sweep, records, args.seeds, args.only, args.best)
    failed = 0
    for number, (name, seed) in enumerate(todo, 1):
        if done(records, args.method, name, seed):
            print(f"[{number}/{len(todo)}] {name} seed {seed}: in the log already, skipped")
            continue
        config = sweep["configs"][name]
        print(f"[{number}/{len(todo)}] {name} seed {seed}: {config['note'] or config['knobs']} "
              f"(at most {config['timeout_minutes']} minutes)", flush=True)  # fmt: skip
        record = run_config(sweep, name, seed, args.smoke, log, args.threads)
        records.append(record)
        if record["status"] == "finished":
            teacher = f", teacher {record['teacher_knn']:.3f}" if "teacher_knn" in record else ""
            print(f"  {name} seed {seed}: kNN {record['knn']:.3f}, linear "
                  f"{record['linear_probe']:.3f}{teacher} "
                  f"(random init {record['random_init_knn']:.3f}), "
                  f"{record['wall_seconds'] / 60:.1f} min; logged", flush=True)  # fmt: skip
        else:
            failed += 1
            out = OUTPUT / f"{args.method}-{name}-seed{seed}.out"
            print(f"  {name} seed {seed}: {record['status']} after {record['epochs']} epochs "
                  f"(logged; its output: {out})", flush=True)  # fmt: skip
    print(status_table(args.method, read_log(log)))
    return 1 if failed else 0


def background(argv: list[str], method: str) -> int:
    """Starts this sweep again, detached from the terminal; prints how to follow it."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    out = OUTPUT / f"{method}.log"
    command = [sys.executable, "-m", "benchmarks.tune", *[a for a in argv if a != "--background"]]
    with out.open("a") as stream:
        child = subprocess.Popen(
            command, cwd=ROOT, stdout=stream, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    print(f"Sweep started in the background (pid {child.pid}). Follow it: tail -f {out}")
    print(f"What ran so far: python -m benchmarks.tune {method} --status")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tune", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("method", help="a method with a benchmarks/tuning/METHOD.toml")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0 to N-1 (default 1)")
    parser.add_argument("--only", type=lambda s: s.split(","), help="comma-separated names")
    parser.add_argument("--best", type=int, default=1,
                        help="with --seeds > 1 and no --only: how many of the best")  # fmt: skip
    parser.add_argument("--status", action="store_true", help="print what ran; run nothing")
    parser.add_argument("--background", action="store_true", help="run detached")
    parser.add_argument("--threads", type=int,
                        help="torch threads per run (default: torch's, one per core)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="tiny runs (to test the sweep)")
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)  # tests: another sweep
    parser.add_argument("--log", type=Path, default=LOG, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke and args.log == LOG:  # tiny runs never join the real log
        args.log = OUTPUT / "smoke_log.jsonl"
    if args.seeds < 1 or args.best < 1:
        parser.error("--seeds and --best take a number of at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        if args.background and not args.status:
            read_sweep(args.method, args.file)  # a bad file fails here, not in the log
            return background(argv, args.method)
        return sweep_main(args)
    except SweepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Stopped) as stop:
        print(f"Stopped ({stop or 'SIGINT'}); the log holds every run so far, the one cut "
              "short too, and the same command continues with that one.", flush=True)  # fmt: skip
        return 143 if str(stop) == "SIGTERM" else 130


if __name__ == "__main__":
    sys.exit(main())
