"""Speed of msc-ev (issue 6). Not a test: run it by hand and paste the table into the README.

    python bench/bench.py            # full run
    python bench/bench.py --quick    # fewer repetitions; under two minutes on 2 cores

What it measures:
1. one-shot ``msc-ev advise DISEASE --format json`` wall time (a fresh process each time) and the
   share of it that is start-up (everything but the consultation itself: interpreter, imports,
   loading and validating the knowledge base); ``--version`` is timed too (interpreter + imports);
2. in-process latency of one consultation (``advisor.consult``), p50 and p95, over every curated
   disease (by name, synonym and abbreviation) after one warm-up round;
3. batch throughput, ``msc-ev batch`` on 1,000 and 10,000 rows (a realistic mix: names, synonyms,
   typos, a few unknown and ambiguous) with ``--jobs 1`` and ``--jobs 2``;
4. per-consultation cost with the knowledge grown 10x and 100x by ``bench/synthetic.py``, the same
   queries as at 1x, and the ratio to 1x.

Targets (2-core machine): in-process p50 < 5 ms; 10,000 rows < 30 s with --jobs 1; per-consultation
cost at 100x within 2x of 1x.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from msc_ev import advisor  # noqa: E402
from msc_ev.advisor import engine  # noqa: E402

import synthetic  # noqa: E402

CLI = [sys.executable, "-c", "from msc_ev.cli import main; main()"]
QUERY = "perinatal brain injury"


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def wall(cmd: list[str], reps: int, env: dict) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def queries(kb) -> list[str]:
    """Every curated disease by id, name, each synonym and each abbreviation that is not ambiguous."""
    out = []
    for did in sorted(kb.diseases):
        d = kb.diseases[did]
        if "-syn" in did:
            continue
        out += [did, d["name"], *(d.get("synonyms") or ())]
    return out


def latency(kb, texts: list[str], rounds: int) -> tuple[list[float], float]:
    for t in texts:  # warm-up: name indexes, imports, first-call costs
        _try(kb, t)
    times, facts = [], []
    for _ in range(rounds):
        for t in texts:
            s = time.perf_counter()
            adv = _try(kb, t)
            times.append((time.perf_counter() - s) * 1000)
            if adv is not None:
                facts.append(adv.facts_asserted)
    return times, statistics.mean(facts) if facts else 0.0


def _try(kb, text):
    try:
        return advisor.consult(kb, text)
    except advisor.AdvisorError:
        return None


UNCURATED = ["Parkinson's disease", "psoriasis", "gout", "migraine", "celiac disease", "hepatitis B"]
GIBBERISH = ["xyzzy", "qwertyuiop", "foo bar baz", "zorblax"]
WORST = "no such disease {i}"  # a common word: the ICD-10-CM fallback scores thousands of codes


def batch_input(kb, n: int, path: Path, worst: bool = False) -> None:
    """n rows: curated names and synonyms in rotation; every 25th has a typo (fuzzy match); every
    50th is, in turn, ambiguous ("AD"), a disease the reviews never name (ICD-10-CM path) or
    gibberish (unknown). ``worst``: the unknown rows are "no such disease N" instead."""
    pool = queries(kb)
    rows = []
    for i in range(n):
        q = pool[i % len(pool)]
        if i % 50 == 49:
            j = i // 50
            q = ["AD", UNCURATED[j % len(UNCURATED)], GIBBERISH[j % len(GIBBERISH)]][j % 3]
            if worst and j % 3 == 2:
                q = WORST.format(i=i)
        elif i % 25 == 24 and len(q) > 8:
            q = q[:3] + q[4:]  # drop a letter: fuzzy match
        rows.append(q)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def run_batch(inp: Path, out: Path, jobs: int, env: dict) -> tuple[float, str]:
    t = time.perf_counter()
    p = subprocess.run([*CLI, "batch", str(inp), "-f", "csv", "-o", str(out), "--jobs", str(jobs)],
                       capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - t, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (under two minutes on 2 cores)")
    args = ap.parse_args()
    quick = args.quick
    env = dict(os.environ)
    rows: list[tuple[str, str, str]] = []  # (measure, value, note)
    t_all = time.perf_counter()
    print(f"# msc-ev benchmark ({'quick' if quick else 'full'}): Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()} {platform.system()}", file=sys.stderr)

    # 2 first: the in-process numbers are needed for the start-up share
    kb = advisor.load_kb()
    texts = queries(kb)
    times, facts1 = latency(kb, texts, 2 if quick else 5)
    p50, p95 = pct(times, 50), pct(times, 95)
    q_times, _ = latency(kb, [QUERY], 20 if quick else 50)
    q_ms = statistics.median(q_times)

    # 1 one-shot advise
    reps = 3 if quick else 7
    subprocess.run([*CLI, "advise", QUERY, "--format", "json"], stdout=subprocess.DEVNULL, env=env, check=True)
    t_adv = wall([*CLI, "advise", QUERY, "--format", "json"], reps, env)
    t_ver = wall([*CLI, "--version"], reps, env)
    t_kb = statistics.median(_time(lambda: advisor.load_kb()) for _ in range(3))
    rows.append(("one-shot `advise` wall time", f"{t_adv * 1000:.0f} ms",
                 f"median of {reps}; `--version` (interpreter + imports) {t_ver * 1000:.0f} ms"))
    rows.append(("  start-up share of it", f"{(t_adv - q_ms / 1000) / t_adv * 100:.0f} %",
                 f"all but the {q_ms:.1f} ms consultation; KB load+validate {t_kb * 1000:.0f} ms"))
    rows.append(("in-process consultation p50", f"{p50:.2f} ms",
                 f"{len(times)} consultations over {len(texts)} names/synonyms; target < 5 ms"))
    rows.append(("in-process consultation p95", f"{p95:.2f} ms", f"mean {statistics.mean(times):.2f} ms"))

    # 3 batch throughput
    with tempfile.TemporaryDirectory(prefix="msc-ev-bench-") as tmp:
        tmp = Path(tmp)
        for n, jobs_list in ((1000, (1, 2)), (10000, (1, 2))):
            inp = tmp / f"in{n}.txt"
            batch_input(kb, n, inp)
            for jobs in jobs_list:
                secs, summary = run_batch(inp, tmp / f"out{n}-{jobs}.csv", jobs, env)
                note = summary.split(" in ")[0].replace("batch: ", "")
                if n == 10000 and jobs == 1:
                    note += "; target < 30 s"
                rows.append((f"batch {n:,} rows, --jobs {jobs}", f"{secs:.1f} s ({n / secs:,.0f} rows/s)", note))
            same = (tmp / f"out{n}-1.csv").read_bytes() == (tmp / f"out{n}-2.csv").read_bytes()
            rows.append((f"batch {n:,} rows: --jobs 2 output", "identical" if same else "DIFFERS",
                         "byte for byte, compared with --jobs 1"))
        inp = tmp / "worst.txt"
        batch_input(kb, 1000, inp, worst=True)
        secs, summary = run_batch(inp, tmp / "worst.csv", 1, env)
        rows.append(("batch 1,000 rows, --jobs 1, worst unknowns", f"{secs:.1f} s ({1000 / secs:,.0f} rows/s)",
                     "the unknown rows are 'no such disease N' (slow ICD-10-CM fallback)"))
        for text in ("psoriasis", "xyzzy", "no such disease 49"):
            t_ms, _ = latency(kb, [text], 5)
            rows.append((f"  one consultation: {text!r}", f"{statistics.median(t_ms):.1f} ms",
                         "uncurated: ICD-10-CM path" if text == "psoriasis" else "unknown"))

        # 4 knowledge grown 10x and 100x
        base_texts = [d["name"] for k, d in sorted(kb.diseases.items())]
        ref_times, ref_facts = latency(kb, base_texts, 3 if quick else 10)
        ref = statistics.median(ref_times)
        rows.append(("per-consultation cost, knowledge 1x", f"{ref:.2f} ms",
                     f"{len(kb.diseases)} diseases, {len(kb.evidence)} evidence; "
                     f"{ref_facts:.0f} facts asserted on average"))
        for factor in (10, 100):
            d = synthetic.grow(factor, tmp / f"kb{factor}")
            t = time.perf_counter()
            big = advisor.load_kb(d)
            t_load = time.perf_counter() - t
            bt, bf = latency(big, base_texts, 3 if quick else 10)
            med = statistics.median(bt)
            rows.append((f"per-consultation cost, knowledge {factor}x", f"{med:.2f} ms ({med / ref:.2f}x of 1x)",
                         f"{len(big.diseases)} diseases, {len(big.evidence)} evidence; {bf:.0f} facts; "
                         f"load {t_load:.1f} s" + ("; target <= 2x" if factor == 100 else "")))
            del big

    w = [max(len(r[i]) for r in rows + [("measure", "value", "notes")]) for i in range(3)]
    print()
    print(f"| {'measure':<{w[0]}} | {'value':<{w[1]}} | {'notes':<{w[2]}} |")
    print(f"|{'-' * (w[0] + 2)}|{'-' * (w[1] + 2)}|{'-' * (w[2] + 2)}|")
    for r in rows:
        print(f"| {r[0]:<{w[0]}} | {r[1]:<{w[1]}} | {r[2]:<{w[2]}} |")
    print()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {_cpu()}; "
          f"engine salted re-runs: {engine.STATS['salted_reruns']}; benchmark took {time.perf_counter() - t_all:.0f} s")


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
