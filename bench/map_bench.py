"""Time of `msc-ev map` against `msc-ev batch --jobs 2` on the same rows. Not a test: run it by hand.

    python bench/map_bench.py            # a Markdown table on stdout, progress on stderr
    python bench/map_bench.py --json     # the figures as one JSON object
    python bench/map_bench.py --reps 5   # more rounds (default 3)

The rows: every curated disease (by id) and 1,000 distinct ICD-10-CM titles spread over the whole
code table (every k-th leaf code), one a line. Each round runs, one after the other, ``batch
--jobs 2 -f csv -o FILE`` and ``map`` in every format (csv, svg, html, rich into a file) with
``--jobs 1`` and ``--jobs 2``; the figures are medians over the rounds of the wall time of each child
process (its CPU time too), and the ratio of each ``map`` to ``batch --jobs 2`` (the goal: at most
2). Interleaving the commands round by round keeps a shared machine's load from favouring one of
them. The compile cache is a temporary ``MSC_EV_CACHE`` (the ICD-10-CM table is copied in from the
user's cache when there is one); one untimed run of each command comes first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from msc_ev import advisor

PY = sys.executable
CLI = [PY, "-c", "from msc_ev.cli import main; main()"]
N_ICD = 1000


def log(msg: str) -> None:
    print(f"map_bench: {msg}", file=sys.stderr, flush=True)


def rows(kb) -> list[str]:
    """Every curated disease id, then ``N_ICD`` distinct ICD-10-CM titles (every k-th leaf code)."""
    from msc_ev.advisor import icd

    out = sorted(kb.diseases)
    seen = {d.lower() for d in out} | {kb.diseases[d]["name"].lower() for d in out}
    titles = dict(icd.index().con.execute("SELECT code, title FROM codes WHERE leaf = 1 ORDER BY code"))
    codes = sorted(titles)
    step = max(1, len(codes) // (N_ICD + N_ICD // 10))
    n = 0
    for code in codes[::step]:
        t = titles[code]
        if n < N_ICD and t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
            n += 1
    return out


def child(cmd: list[str], env: dict) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"map_bench: {' '.join(cmd[3:])}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
        tmp = Path(tmp)
        cache = tmp / "cache"
        (cache / "msc-ev").mkdir(parents=True)
        from msc_ev.advisor import icd

        for p in icd.cache_dir().glob("icd10cm*"):
            shutil.copy2(p, cache / "msc-ev" / p.name)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["MSC_EV_CACHE"] = str(cache)
        kb = advisor.load_kb()
        lines = rows(kb)
        inp = tmp / "rows.txt"
        inp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cmds = {"batch --jobs 2": [*CLI, "batch", str(inp), "-f", "csv", "-o", str(tmp / "b.csv"), "--jobs", "2"]}
        for fmt, ext in (("csv", "csv"), ("svg", "svg"), ("html", "html"), ("rich", "txt")):
            for jobs in (1, 2):
                cmds[f"map -f {fmt} --jobs {jobs}"] = [*CLI, "map", str(inp), "-f", fmt, "-o",
                                                       str(tmp / f"m{jobs}.{ext}"), "--jobs", str(jobs)]
        for name, cmd in cmds.items():  # untimed: .pyc files, the compile cache, the ICD index
            log(f"warm-up: {name}")
            child(cmd, env)
        walls: dict[str, list[float]] = {k: [] for k in cmds}
        cpus: dict[str, list[float]] = {k: [] for k in cmds}
        load0 = os.getloadavg()[0]
        for rep in range(args.reps):
            for name, cmd in cmds.items():
                w, c, _ = child(cmd, env)
                walls[name].append(w)
                cpus[name].append(c)
            log(f"round {rep + 1} of {args.reps}: " + ", ".join(f"{k} {walls[k][-1]:.2f} s" for k in cmds))
        same = {fmt: (tmp / f"m1.{ext}").read_bytes() == (tmp / f"m2.{ext}").read_bytes()
                for fmt, ext in (("csv", "csv"), ("svg", "svg"), ("html", "html"), ("rich", "txt"))}
        sizes = {fmt: (tmp / f"m1.{ext}").stat().st_size
                 for fmt, ext in (("csv", "csv"), ("svg", "svg"), ("html", "html"), ("rich", "txt"))}
    base = statistics.median(walls["batch --jobs 2"])
    fig = {
        "python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_start": round(load0, 2),
        "load_avg_end": round(os.getloadavg()[0], 2), "rows": len(lines), "rows_curated": len(kb.diseases),
        "reps": args.reps,
        "wall_s": {k: round(statistics.median(v), 3) for k, v in walls.items()},
        "cpu_s": {k: round(statistics.median(v), 3) for k, v in cpus.items()},
        "ratio_to_batch_jobs2": {k: round(statistics.median(v) / base, 2) for k, v in walls.items()},
        "jobs_identical": same, "output_bytes": sizes,
    }
    if args.json:
        print(json.dumps(fig, indent=2))
        return
    print(f"{fig['rows']} rows ({fig['rows_curated']} curated, {fig['rows'] - fig['rows_curated']} ICD-10-CM titles); "
          f"median of {args.reps} rounds; {fig['cpus']} CPUs, load {fig['load_avg_start']} -> {fig['load_avg_end']}\n")
    print("| command | wall s | CPU s | / batch --jobs 2 |")
    print("|---|---|---|---|")
    for k in cmds:
        print(f"| {k} | {fig['wall_s'][k]:.2f} | {fig['cpu_s'][k]:.2f} | {fig['ratio_to_batch_jobs2'][k]:.2f} |")
    print(f"\n--jobs 1 and --jobs 2 outputs identical: {same}; sizes (bytes): {sizes}")


if __name__ == "__main__":
    main()
