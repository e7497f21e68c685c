"""Fuzz and kill-cycle benchmark (docs/limits.md): how many inputs per second, how many failures, rows lost.

    python bench/fuzz_bench.py                     # both parts, default budgets
    python bench/fuzz_bench.py --examples 200      # more fuzz inputs per entry point
    python bench/fuzz_bench.py --cycles 20         # more kill cycles

Part 1 runs the property tests of tests/test_fuzz.py (advise, ask, batch, overlay YAML, mutated
knowledge) with ``--examples`` inputs each and a random seed, counting every input tried
(each is run twice, in-process) and every property that failed.

Part 2 is the kill cycle: ``msc-ev batch IN -o OUT --jobs 2`` in a subprocess, ``kill -9`` of
the parent at a random moment, ``--resume``, again, ``--cycles`` times, then a last ``--resume``
to the end. The output must hold every input row exactly once, in order, byte-identical to an
uninterrupted run: rows lost and rows duplicated are counted (both must be 0).

Results go to bench/results/fuzz.json and a summary to standard output.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def fuzz(examples: int) -> dict:
    from hypothesis import HealthCheck, settings

    sys.path.insert(0, str(ROOT / "tests"))
    import test_fuzz as F  # noqa: E402

    counted = {"inputs": 0}
    real = F.invoke_twice

    def counting(args, stdin=None):
        counted["inputs"] += 1
        return real(args, stdin)

    F.invoke_twice = counting
    F.CliRunner().invoke(F.cli.app, ["advise", "xyzzy-not-a-disease"])  # warm: knowledge and ICD tables
    per = {}
    failures = []
    t_all = time.perf_counter()
    for name in ("test_fuzz_advise", "test_fuzz_ask", "test_fuzz_batch", "test_fuzz_overlay_yaml",
                 "test_fuzz_mutated_knowledge"):
        fn = settings(max_examples=examples, derandomize=False, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))(getattr(F, name))
        before, t = counted["inputs"], time.perf_counter()
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - a failed property is the measurement
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append({"test": name, "error": f"{type(exc).__name__}: {str(exc)[:500]}"})
        took = time.perf_counter() - t
        n = counted["inputs"] - before
        per[name] = {"inputs": n, "seconds": round(took, 2), "inputs_per_second": round(n / took, 1) if took else None}
    total = time.perf_counter() - t_all
    return {"examples_per_test": examples, "inputs": counted["inputs"], "seconds": round(total, 2),
            "inputs_per_second": round(counted["inputs"] / total, 1), "failures": len(failures),
            "failure_details": failures, "per_test": per}


NAMES = ["perinatal brain injury", "multiple sclerosis", "knee oa", "acute kidney injury", "AD",
         "osteoarthritis", "GVHD", "xyzzy-not-a-disease"]


def _cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", "from msc_ev.cli import main; main()", "batch", str(src), "-o", str(out),
            "--jobs", "2", *extra]


def _lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return fh.read().count(b"\n")
    except OSError:
        return 0


def kill_cycles(cycles: int, rows: int, seed: int) -> dict:
    rnd = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="msc-ev-kill-"))
    names = [NAMES[i % len(NAMES)] for i in range(rows)]
    src = work / "in.txt"
    src.write_text("\n".join(names) + "\n")
    ref, out = work / "ref.csv", work / "out.csv"
    t = time.perf_counter()
    subprocess.run(_cmd(src, ref), capture_output=True, check=False)
    ref_seconds = time.perf_counter() - t
    killed = finished_early = 0
    journal_rows = []
    noise = []
    for i in range(cycles):
        args = _cmd(src, out, "--resume") if i else _cmd(src, out)
        part = work / "out.csv.part"
        have = _lines(part)
        goal = have + rnd.randint(1, max(1, rows // (cycles + 1)))  # kill after this many journalled rows
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while p.poll() is None and _lines(part) < goal:
            time.sleep(0.005)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            killed += 1
        else:
            finished_early += 1
        _, err = p.communicate()
        if err and "batch:" not in err:
            noise.append(err[:300])
        journal_rows.append(_lines(part) if part.exists() else None)
        if out.exists() and not part.exists():
            break
    last = subprocess.run(_cmd(src, out, "--resume"), capture_output=True, text=True)
    got = list(csv.DictReader(io.StringIO(out.read_text()))) if out.exists() else []
    seen = [int(r["row"]) for r in got]
    lost = len(set(range(1, rows + 1)) - set(seen))
    dup = len(seen) - len(set(seen))
    wrong = sum(1 for r in got if names[int(r["row"]) - 1] != r["input"])
    leftovers = sorted(p.name for p in work.iterdir() if p.name not in ("in.txt", "ref.csv", "out.csv"))
    return {"rows": rows, "cycles": killed + finished_early, "killed": killed, "finished_before_kill": finished_early,
            "journal_rows_after_each_cycle": journal_rows, "final_exit": last.returncode,
            "rows_lost": lost, "rows_duplicated": dup, "rows_wrong": wrong,
            "identical_to_uninterrupted_run": out.exists() and out.read_bytes() == ref.read_bytes(),
            "leftover_files": leftovers, "stderr_noise": noise, "uninterrupted_seconds": round(ref_seconds, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=60, help="fuzz inputs per entry point (default 60)")
    ap.add_argument("--cycles", type=int, default=10, help="kill cycles (default 10)")
    ap.add_argument("--rows", type=int, default=400, help="rows in the kill-cycle input (default 400)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--skip-fuzz", action="store_true")
    ap.add_argument("--skip-kill", action="store_true")
    a = ap.parse_args(argv)
    os.environ.setdefault("MSC_EV_CACHE", str(Path(tempfile.gettempdir()) / "msc-ev-bench-cache"))
    res = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
           "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    if not a.skip_fuzz:
        res["fuzz"] = fuzz(a.examples)
        f = res["fuzz"]
        print(f"fuzz: {f['inputs']} inputs in {f['seconds']} s = {f['inputs_per_second']}/s, failures {f['failures']}")
        for k, v in f["per_test"].items():
            print(f"  {k}: {v['inputs']} inputs, {v['inputs_per_second']}/s")
        for d in f["failure_details"]:
            print(f"  FAILED {d['test']}: {d['error'][:200]}")
    if not a.skip_kill:
        res["kill"] = k = kill_cycles(a.cycles, a.rows, a.seed)
        print(f"kill -9 cycles: {k['cycles']} ({k['killed']} killed), rows {k['rows']}, lost {k['rows_lost']}, "
              f"duplicated {k['rows_duplicated']}, identical to an uninterrupted run: "
              f"{k['identical_to_uninterrupted_run']}, leftover files {k['leftover_files']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(res, indent=2) + "\n")
    ok = res.get("fuzz", {}).get("failures", 0) == 0 and (
        "kill" not in res or (res["kill"]["rows_lost"] == 0 and res["kill"]["rows_duplicated"] == 0
                              and res["kill"]["identical_to_uninterrupted_run"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
