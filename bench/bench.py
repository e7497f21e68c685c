"""Speed of msc-ev (docs/performance.md). Not a test: run it by hand on the CI machine.

    python bench/bench.py --json > bench/results.json   # every figure, one JSON object
    python bench/bench.py                               # the same figures as a Markdown table
    python bench/bench.py --quick --json                # fewer repetitions and rows (a few minutes)
    python bench/bench.py --cold-only                   # section 1 alone, as JSON (under a minute)
    python bench/bench.py --batch-100k                  # 100,000 rows with --jobs 2, as JSON (minutes)

The README's speed table is generated from the JSON by ``bench/readme_table.py`` (see there).
Progress goes to stderr; with ``--json`` stdout holds exactly one JSON object. Every time is a
median unless its name says p95. The machine is shared, so times are CPU time where that is what
is meant: ``*_cpu_ms`` are user+system CPU of a child process, in-process figures (consultations,
loads, JSON encoding) are CPU time of this process (``time.process_time``; on an idle machine the
same as wall time); batch rows per second and ``*_wall_ms`` are wall time. Child processes run
without ``PYTHONDONTWRITEBYTECODE`` and after one untimed run, so from .pyc files, as an installed
package does. The knowledge compile cache lives in a temporary ``MSC_EV_CACHE`` made for the run (the
ICD-10-CM table is copied in from the user's cache when there is one, else built once).

Figures (keys of the JSON object; ``target_*`` hold the speed targets):

1. cold start: ``cold_advise_cpu_ms``, one-shot ``msc-ev advise QUERY --format json`` in a fresh
   process with the compile cache warm (the fast path of ``cli.main``; ``cold_advise_typer_cpu_ms``: the
   same through Typer, ``MSC_EV_NO_FAST=1``); ``cold_deps_cpu_ms``, ``python -c "import durable.lang,
   typer, rich, yaml"``; ``cold_ratio`` = the first over the second (target <= 1.5);
   ``cold_advise_nocache_cpu_ms``, the same with an empty cache (reads and validates the YAML,
   writes the cache); ``cold_library_json_cpu_ms``, the same advice printed as JSON through the
   library alone (no Typer, no Rich: the floor a command line can reach); ``cold_version_cpu_ms``
   and ``python_bare_cpu_ms`` for scale;
2. knowledge load: ``kb_load_source_ms`` (read + validate + index) and ``kb_load_cache_ms`` at
   1x, 10x and 100x (``bench/synthetic.py``); target for 100x from the cache: < 500 ms;
3. in-process: ``consult_p50_ms``/``consult_p95_ms`` of ``advisor.consult`` over every curated
   name and synonym after a warm-up round with reuse off (every consultation runs the engine: the
   cost of a first-seen fact set; target p50 <= 1.8 ms), ``consult_reused_p50_ms``/``_p95_ms`` with
   reuse on (every call answered from the memo of advisor/reuse.py; target <= 0.4 ms),
   ``floor_*`` from ``bench/floor.py`` (durable-rules' C calls alone, engine.run alone, everything
   but the engine), ``json_encode_p50_ms`` for ``render.to_json(advice.as_json())`` (what
   ``--format json`` writes), and ``facts_asserted_mean``;
4. batch: ``msc-ev batch`` rows per second with ``--jobs 1`` and ``--jobs 2`` on a list of
   distinct diseases (curated names and synonyms, then ICD-10-CM titles; no row repeated), the
   scaling of ``--jobs 2`` (rows/s over twice the ``--jobs 1`` rate), CPU per row (all processes)
   and whether both outputs are byte-identical (target >= 2,000 rows/s with --jobs 2), the same with
   ``--no-reuse``; ``row_*``, where a row's time goes in one process (resolving the text, then the
   consultation; the distinct fact sets among the rows); and ``consult_icd_title_p50_ms``, one
   in-process consultation of an ICD-10-CM title with reuse off;
5. knowledge growth: ``per_consult_ms`` at 1x, 10x and 100x on the same queries (every 10th
   curated disease name, 9 names, as many rounds at every size, reuse off) and the ratios of 10x and
   100x to 1x (target <= 1.5).

``baseline_*`` is the slot for the plain-Python baseline that interprets the same rule
declarations without durable-rules: filled when ``msc_ev.rules.interpret.run`` exists (see
:func:`baseline_consult`), otherwise ``null`` with ``baseline_note`` saying why.
"""

from __future__ import annotations

import argparse
import gc
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import synthetic  # noqa: E402

from msc_ev import advisor  # noqa: E402
from msc_ev.advisor import kbcache  # noqa: E402
from msc_ev.views import render  # noqa: E402

PY = sys.executable
CLI = [PY, "-c", "from msc_ev.cli import main; main()"]
DEPS = [PY, "-c", "import durable.lang, typer, rich, yaml"]
QUERY = "perinatal brain injury"
# the floor for a one-shot JSON advice: the library alone, no Typer, no Rich
LIBRARY_JSON = [PY, "-c", "import sys\nfrom msc_ev import advisor\nfrom msc_ev.views.render import to_json\n"
                f"adv = advisor.consult(advisor.load_kb(), {QUERY!r})\n"
                "sys.stdout.write(to_json(adv.as_json()))"]
TARGETS = {
    "target_cold_ratio": 1.5,
    "target_consult_p50_ms": 1.8,
    "target_consult_reused_p50_ms": 0.4,
    "target_resolve_p50_ms": 0.2,
    "target_batch_rows_per_s_jobs2": 2000,
    "target_batch_scaling_jobs2": 0.8,
    "target_scale_ratio_100x": 1.5,
    "target_kb_load_cache_ms_100x": 500,
    "target_batch_100k_wall_s": 60,
}


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def reuse_off(off: bool) -> None:
    """Reuse of the engine's conclusions off (every consultation runs the engine) or on, for this
    process and the children started after (advisor/reuse.py)."""
    from msc_ev.advisor import reuse

    if off:
        os.environ[reuse.ENV] = "1"
    else:
        os.environ.pop(reuse.ENV, None)
    reuse.clear()


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def r(x: float | None, nd: int = 2):
    return None if x is None else round(x, nd)


# ------------------------------------------------------------------------- child processes


def child(cmd: list[str], env: dict, **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``cmd``; return its (CPU seconds, wall seconds, result). Children run one at a time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, check=False, **kw)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, done


def child_env() -> dict:
    """The environment of the timed children: this one without PYTHONDONTWRITEBYTECODE, so that they
    run from .pyc files as an installed package does (with it, every run compiles every module)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cold(cmd: list[str], env: dict, reps: int, setup=None) -> tuple[float, float]:
    """Median CPU and wall seconds of ``reps`` fresh runs of ``cmd`` (``setup()`` before each), after
    one untimed run that writes the .pyc files and warms the caches."""
    cpu, wall = [], []
    for i in range(reps + 1):
        if setup:
            setup()
        c, w, done = child(cmd, env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode:
            raise SystemExit(f"bench: {' '.join(cmd[3:]) or cmd}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
        if i:
            cpu.append(c)
            wall.append(w)
    return statistics.median(cpu), statistics.median(wall)


# ------------------------------------------------------------------------- in-process


def queries(kb) -> list[str]:
    """Every curated disease by id, name and each synonym (the clones of bench/synthetic.py left out)."""
    out = []
    for did in sorted(kb.diseases):
        d = kb.diseases[did]
        if "-syn" in did:
            continue
        out += [did, d["name"], *(d.get("synonyms") or ())]
    return out


def _try(fn, kb, text):
    try:
        return fn(kb, text)
    except advisor.AdvisorError:
        return None


def latency(fn, kb, texts: list[str], rounds: int) -> tuple[list[float], list]:
    """Milliseconds of ``fn(kb, text)`` for every text, ``rounds`` times, after one warm-up round."""
    for t in texts:
        _try(fn, kb, t)
    times, results = [], []
    for _ in range(rounds):
        for t in texts:
            s = time.process_time()
            res = _try(fn, kb, t)
            times.append((time.process_time() - s) * 1000)
            results.append(res)
    return times, results


def engine_consult(kb, text):
    return advisor.consult(kb, text)


def baseline_consult():
    """The plain-Python baseline, or (None, why not). It is a whole consultation like the engine's
    (resolve, prepare the facts, derive, rank) with ``msc_ev.rules.interpret.run`` deriving what
    durable-rules derives from the same declarations. The glue follows the rules package of the
    lead's rewrite (RULE_LIST, TIERS, actions.Weights.from_kb; consult.prepare and consult.rank);
    any mismatch leaves the slot empty with the reason instead of failing the benchmark."""
    try:
        from msc_ev.rules import interpret
        run = interpret.run
    except (ImportError, AttributeError) as exc:
        return None, f"msc_ev.rules.interpret.run not available ({exc.__class__.__name__})"
    try:
        from msc_ev import rules
        from msc_ev.advisor.consult import Constraints, prepare, rank
        from msc_ev.rules import actions

        def one(kb, text):
            w = kb.__dict__.get("_bench_weights")
            if w is None:
                w = kb.__dict__["_bench_weights"] = actions.Weights.from_kb(kb.weights, rules.TIERS)
            res = advisor.resolve(kb, text)
            facts = prepare(kb, res, Constraints())
            derived, _ = run(rules.RULE_LIST, facts, w)
            return rank(kb, derived, facts)

        one(advisor.load_kb(), QUERY)
        return one, None
    except Exception as exc:  # noqa: BLE001 - an API still moving: report, do not crash
        return None, f"interpret.run present but the glue failed: {exc.__class__.__name__}: {exc}"


def time_load(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        gc.collect()
        t = time.process_time()
        fn()
        times.append((time.process_time() - t) * 1000)
    return statistics.median(times)


# ------------------------------------------------------------------------- batch


def row_split(fig: dict, kb, rows: list[str]) -> None:
    """Where a batch row's time goes, in this process (CPU, reuse on, rows not seen before): resolving
    its text, and the consultation given that resolution (prepare, engine or reuse, the advice)."""
    from msc_ev.advisor import reuse

    reuse_off(False)
    res_t, rest_t = [], []
    for text in rows:
        s = time.process_time()
        try:
            res = advisor.resolve(kb, text)
        except advisor.AdvisorError:
            res = None
        res_t.append(time.process_time() - s)
        if res is not None:
            s = time.process_time()
            advisor.consult(kb, text, resolution=res)
            rest_t.append(time.process_time() - s)
    fig["row_resolve_mean_ms"] = r(statistics.mean(res_t) * 1000, 3)
    fig["row_resolve_p50_ms"] = r(pct(res_t, 50) * 1000, 3)
    fig["row_consult_mean_ms"] = r(statistics.mean(rest_t) * 1000, 3)
    fig["row_consult_p50_ms"] = r(pct(rest_t, 50) * 1000, 3)
    fig["row_distinct_fact_sets"] = reuse.STATS["misses"]
    fig["row_reused_share"] = r(reuse.STATS["hits"] / max(1, reuse.STATS["hits"] + reuse.STATS["misses"]), 3)
    reuse_off(False)


def distinct_rows(kb, n: int) -> list[str]:
    """``n`` distinct disease texts: curated names and synonyms, then ICD-10-CM titles spread over
    the whole code table (every k-th code), none repeated (case-insensitively). Beyond what those
    give (100,000 rows): the titles of the other codes, the inclusion terms of the table and the
    codes themselves (the billable ones first, then the categories above them), each as a user
    could type it."""
    from msc_ev.advisor import icd

    rows, seen = [], set()
    for did in sorted(kb.diseases):
        if "-syn" in did:
            continue
        d = kb.diseases[did]
        for q in (d["name"], *(d.get("synonyms") or ())):
            if q.lower() not in seen:
                seen.add(q.lower())
                rows.append(q)
    titles = dict(icd.index().con.execute("SELECT code, title FROM codes WHERE leaf = 1 ORDER BY code"))
    codes = sorted(titles)
    need = max(0, n - len(rows))
    step = max(1, len(codes) // (need + need // 10 + 1))  # slack for repeated titles
    for code in codes[::step]:
        if len(rows) >= n:
            break
        title = titles[code]
        if title.lower() not in seen:
            seen.add(title.lower())
            rows.append(title)
    if len(rows) < n:
        con = icd.index().con
        more = [t for (t,) in con.execute("SELECT title FROM codes ORDER BY code")]
        more += [t for (t,) in con.execute("SELECT toks FROM terms WHERE kind != 'title' ORDER BY rowid")]
        more += [c for (c,) in con.execute("SELECT code FROM codes ORDER BY leaf DESC, code")]
        for text in more:
            if len(rows) >= n:
                break
            if text.lower() not in seen:
                seen.add(text.lower())
                rows.append(text)
    return rows[:n]


def run_batch(inp: Path, out: Path, jobs: int, env: dict) -> tuple[float, float, str]:
    cpu, wall, done = child([*CLI, "batch", str(inp), "-f", "csv", "-o", str(out), "--jobs", str(jobs)], env,
                          capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"bench: batch --jobs {jobs}: exit {done.returncode}: {done.stderr[-500:]}")
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return wall, cpu, last.replace("batch: ", "").split(" in ")[0]


# ------------------------------------------------------------------------- main


def cold_start(fig: dict, env: dict, cache_root: Path, reps: int) -> None:
    """Section 1: one-shot commands in fresh processes (the compile cache warm unless said)."""
    fig["python_bare_cpu_ms"] = r(cold([PY, "-c", "pass"], env, reps)[0] * 1000, 1)
    fig["cold_deps_cpu_ms"] = r(cold(DEPS, env, reps)[0] * 1000, 1)
    adv = [*CLI, "advise", QUERY, "--format", "json"]
    c, w = cold(adv, env, reps)
    fig["cold_advise_cpu_ms"], fig["cold_advise_wall_ms"] = r(c * 1000, 1), r(w * 1000, 1)
    fig["cold_ratio"] = r(c * 1000 / fig["cold_deps_cpu_ms"])
    # the same through Typer (what every other command pays to start)
    fig["cold_advise_typer_cpu_ms"] = r(cold(adv, {**env, "MSC_EV_NO_FAST": "1"}, reps)[0] * 1000, 1)
    c, _ = cold(adv, env, 3, setup=lambda: [p.unlink() for p in (cache_root / "msc-ev").glob("*.pickle")])
    fig["cold_advise_nocache_cpu_ms"] = r(c * 1000, 1)
    fig["cold_version_cpu_ms"] = r(cold([*CLI, "--version"], env, reps)[0] * 1000, 1)
    fig["cold_library_json_cpu_ms"] = r(cold(LIBRARY_JSON, env, reps)[0] * 1000, 1)


def measure(quick: bool, cold_only: bool = False) -> dict:
    t_all = time.perf_counter()
    fig: dict = {
        "python": platform.python_version(), "cpus": os.cpu_count(), "cpu_model": _cpu(),
        "machine": f"{platform.machine()} {platform.system()}", "quick": quick,
        "version": advisor.__version__, "load_avg_start": r(os.getloadavg()[0]),
    }
    tmp = Path(tempfile.mkdtemp(prefix="msc-ev-bench-"))
    try:
        cache_root = tmp / "cache"
        _seed_icd(cache_root / "msc-ev")
        os.environ["MSC_EV_CACHE"] = str(cache_root)  # this process and every child
        env = child_env()

        # 2 knowledge load, 1x (also warms the compile cache for the cold runs)
        log("knowledge load 1x")
        fig["kb_load_source_ms_1x"] = r(time_load(lambda: advisor.load_kb(use_cache=False), 5 if quick else 9))
        advisor.load_kb()
        fig["kb_load_cache_ms_1x"] = r(time_load(lambda: kbcache.load(), 5 if quick else 9))
        assert kbcache.last["status"] == "hit", kbcache.last

        # 1 cold start
        log("cold start")
        cold_start(fig, env, cache_root, 5 if quick else 11)
        if cold_only:
            fig["took_s"] = round(time.perf_counter() - t_all)
            return fig
        advisor.load_kb()  # the cache again, for what follows

        # 3 in-process
        log("in-process latency")
        kb = advisor.load_kb()
        texts = queries(kb)
        reuse_off(True)  # first-seen: the engine runs for every consultation
        times, advs = latency(engine_consult, kb, texts, 2 if quick else 5)
        fig["consult_n"] = len(times)
        fig["consult_p50_ms"] = r(pct(times, 50), 3)
        fig["consult_p95_ms"] = r(pct(times, 95), 3)
        fig["consult_mean_ms"] = r(statistics.mean(times), 3)
        ok = [a for a in advs if a is not None]
        fig["facts_asserted_mean"] = r(statistics.mean(a.facts_asserted for a in ok), 1) if ok else None
        enc = []
        for a in ok[: len(texts)]:
            s = time.process_time()
            render.to_json(a.as_json())
            enc.append((time.process_time() - s) * 1000)
        fig["json_encode_p50_ms"] = r(pct(enc, 50), 3)
        import floor

        log("floor (C calls alone, engine.run alone)")
        fl = floor.measure(kb)
        fig.update({f"floor_{k}": v for k, v in fl.items() if k != "queries"})
        reuse_off(False)  # reused: after the warm-up round every consultation is answered from the memo
        times, _ = latency(engine_consult, kb, texts, 2 if quick else 5)
        fig["consult_reused_p50_ms"] = r(pct(times, 50), 3)
        fig["consult_reused_p95_ms"] = r(pct(times, 95), 3)
        from msc_ev.advisor import reuse

        fig["distinct_fact_sets_curated"] = reuse.STATS["misses"]
        base, why = baseline_consult()
        fig["baseline_note"] = why or "msc_ev.rules.interpret.run: resolve + prepare + interpret + rank, no durable-rules"
        if base:
            bt, _ = latency(base, kb, texts, 2 if quick else 5)
            fig["baseline_consult_p50_ms"] = r(pct(bt, 50), 3)
            fig["baseline_consult_p95_ms"] = r(pct(bt, 95), 3)
        else:
            fig["baseline_consult_p50_ms"] = fig["baseline_consult_p95_ms"] = None

        # 4 batch on distinct diseases
        n = 1000 if quick else 5000
        log(f"batch {n} distinct rows, --jobs 1 and 2, reuse on and off")
        rows = distinct_rows(kb, n)
        inp = tmp / "distinct.txt"
        inp.write_text("\n".join(rows) + "\n", encoding="utf-8")
        fig["batch_rows"] = len(rows)
        curated = set(texts)
        fig["batch_rows_curated"] = sum(1 for q in rows if q in curated)
        row_split(fig, kb, rows)
        rates = {}
        for jobs, off in ((1, False), (2, False), (2, True)):
            reuse_off(off)
            tag = f"jobs{jobs}" + ("_no_reuse" if off else "")
            secs, cpu, summary = run_batch(inp, tmp / f"out-{tag}.csv", jobs, child_env())
            rates[tag] = len(rows) / secs
            fig[f"batch_rows_per_s_{tag}"] = r(rates[tag], 0)
            fig[f"batch_cpu_ms_per_row_{tag}"] = r(cpu * 1000 / len(rows), 2)
            fig[f"batch_summary_{tag}"] = summary
        reuse_off(False)
        fig["batch_scaling_jobs2"] = r(rates["jobs2"] / (2 * rates["jobs1"]))
        icd_rows = [q for q in rows if q not in curated][:100]
        if icd_rows:
            reuse_off(True)
            it, _ = latency(engine_consult, kb, icd_rows, 1)
            fig["consult_icd_title_p50_ms"] = r(pct(it, 50), 3)
            reuse_off(False)
        one = (tmp / "out-jobs1.csv").read_bytes()
        fig["batch_jobs2_identical"] = one == (tmp / "out-jobs2.csv").read_bytes() == \
            (tmp / "out-jobs2_no_reuse.csv").read_bytes()

        # 5 knowledge growth (and its load)
        log("knowledge 1x, 10x, 100x")
        names = [d["name"] for _, d in sorted(kb.diseases.items())]
        # the same sample of curated names at every size: every 10th (the clones share organ system
        # and process with the originals, so every clone of a relative is a relative too)
        sample = names[::10]
        reps = 3 if quick else 10
        reuse_off(True)  # the engine runs every time: what grows with the knowledge is measured
        t1, res1 = latency(engine_consult, kb, sample, reps)
        fig["per_consult_ms_1x"] = r(statistics.median(t1), 3)
        fig["facts_asserted_1x"] = r(statistics.mean(a.facts_asserted for a in res1 if a), 1)
        if base:
            fig["baseline_per_consult_ms_1x"] = r(statistics.median(latency(base, kb, sample, reps)[0]), 3)
        else:
            fig["baseline_per_consult_ms_1x"] = None
        fig["kb_diseases_1x"], fig["kb_evidence_1x"] = len(kb.diseases), len(kb.evidence)
        for factor in (10, 100):
            d = synthetic.grow(factor, tmp / f"kb{factor}")
            fig[f"kb_load_source_ms_{factor}x"] = r(time_load(lambda: advisor.load_kb(d, use_cache=False), 1), 0)
            advisor.load_kb(d)  # builds the cache
            fig[f"kb_load_cache_ms_{factor}x"] = r(time_load(lambda: kbcache.load(d), 3), 1)
            assert kbcache.last["status"] == "hit", kbcache.last
            big = advisor.load_kb(d)
            fig[f"kb_diseases_{factor}x"], fig[f"kb_evidence_{factor}x"] = len(big.diseases), len(big.evidence)
            log(f"knowledge {factor}x: {len(big.diseases)} diseases, {len(sample)} consultations")
            bt, bres = latency(engine_consult, big, sample, reps)  # as many rounds as at 1x
            fig[f"per_consult_ms_{factor}x"] = r(statistics.median(bt), 3)
            fig[f"facts_asserted_{factor}x"] = r(statistics.mean(a.facts_asserted for a in bres if a), 1)
            fig[f"kb_diseases_{factor}x"], fig[f"kb_evidence_{factor}x"] = len(big.diseases), len(big.evidence)
            if base:
                fig[f"baseline_per_consult_ms_{factor}x"] = r(statistics.median(latency(base, big, sample, reps)[0]), 3)
            else:
                fig[f"baseline_per_consult_ms_{factor}x"] = None
            del big, bres
        reuse_off(False)
        fig["scale_ratio_10x"] = r(fig["per_consult_ms_10x"] / fig["per_consult_ms_1x"])
        fig["scale_ratio_100x"] = r(fig["per_consult_ms_100x"] / fig["per_consult_ms_1x"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    fig["load_avg_end"] = r(os.getloadavg()[0])
    fig.update(TARGETS)
    fig["took_s"] = round(time.perf_counter() - t_all)
    return fig


def _seed_icd(dest: Path) -> None:
    """Copy the user's ICD-10-CM table into the run's cache (building it takes seconds)."""
    from msc_ev.advisor import icd

    dest.mkdir(parents=True, exist_ok=True)
    for p in icd.cache_dir().glob("icd10cm*"):
        if p.is_file():
            shutil.copy2(p, dest / p.name)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def batch_100k() -> dict:
    """``msc-ev batch`` of 100,000 distinct rows with ``--jobs 2``: wall time, rows per second, and the
    largest resident set of any of its processes (target: under 60 s, with flat memory)."""
    kb = advisor.load_kb()
    tmp = Path(tempfile.mkdtemp(prefix="msc-ev-bench-"))
    try:
        rows = distinct_rows(kb, 100_000)
        inp = tmp / "rows.txt"
        inp.write_text("\n".join(rows) + "\n", encoding="utf-8")
        env = child_env()
        child([*CLI, "advise", QUERY, "--format", "json"], env, capture_output=True)  # .pyc and caches
        cpu, wall, done = child([*CLI, "batch", str(inp), "-f", "csv", "-o", str(tmp / "out.csv"), "--jobs", "2"],
                                env, capture_output=True, text=True)
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return {"batch_100k_rows": len(rows), "batch_100k_distinct": len({q.lower() for q in rows}),
                "batch_100k_wall_s": r(wall, 1), "load_avg": r(os.getloadavg()[0]),
                "batch_100k_rows_per_s": r(len(rows) / wall, 0), "batch_100k_cpu_s": r(cpu, 1),
                "batch_100k_max_rss_mb": r(rss_kb / 1024, 1), "batch_100k_exit": done.returncode,
                "batch_100k_summary": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "",
                "target_batch_100k_wall_s": 60}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and rows")
    ap.add_argument("--json", action="store_true", help="print every figure as one JSON object")
    ap.add_argument("--cold-only", action="store_true",
                    help="only the one-shot figures of section 1 (seconds, not minutes); implies --json")
    ap.add_argument("--batch-100k", action="store_true",
                    help="only 100,000 distinct rows with --jobs 2 (minutes); implies --json")
    args = ap.parse_args()
    if args.batch_100k:
        sys.stdout.write(json.dumps(batch_100k(), indent=2) + "\n")
        return
    fig = measure(args.quick, args.cold_only)
    if args.json or args.cold_only:
        sys.stdout.write(json.dumps(fig, indent=2) + "\n")
    else:
        import readme_table

        sys.stdout.write(readme_table.render(fig))


if __name__ == "__main__":
    main()
