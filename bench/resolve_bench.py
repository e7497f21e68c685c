"""Disease resolution figures. Not a test: run it by hand, paste into docs/resolution.md.

    python bench/resolve_bench.py            # about two minutes on 2 cores
    python bench/resolve_bench.py --runs 3   # fewer fresh processes

What it measures, each in a fresh process where it says so:
1. the first ICD-10-CM query with no cache (the one-time build of the SQLite index);
2. the first ICD-10-CM query with the cache (a fresh process: validate the file, open, query);
3. ``msc-ev advise DISEASE --format json`` wall time, curated vs ICD-10-CM disease (cold: a fresh
   process each run, the cache on disk), median of --runs, and the ratio (target <= 1.3);
4. in-process resolution latency over the test table (p50, p95, max; target < 50 ms);
5. a 10,000-word input (target < 1 s, refused with a message);
6. the alternative: rapidfuzz (WRatio and token_set_ratio) over the same terms, accuracy on the
   table's ICD-10-CM rows and time per query, next to the FTS5 resolver;
7. exact look-ups after start-up: every curated name and synonym, and 1,000 ICD-10-CM titles
   (every n-th code), p50 / p90 (target: 0.2 ms p50).

    python bench/resolve_bench.py --exact-only           # item 7 alone, a few seconds
    python bench/resolve_bench.py --answers before.json  # resolve() over the tables, the curated
                                                         # names, the thesaurus and 2,000 ICD-10-CM
                                                         # titles, for a before/after diff
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(cache: str) -> dict:
    env = dict(os.environ)
    env["MSC_EV_CACHE"] = cache
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def _py(code: str, cache: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], env=_env(cache), capture_output=True, text=True,
                         timeout=300)
    if out.returncode:
        raise SystemExit(out.stderr)
    return out.stdout.strip()


FIRST = ("import time; t = time.perf_counter(); from msc_ev import advisor; kb = advisor.load_kb(); "
         "t1 = time.perf_counter(); advisor.resolve(kb, 'heart failure'); "
         "print(round(time.perf_counter() - t1, 3), round(time.perf_counter() - t, 3))")


def _advise(disease: str, cache: str) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", "from msc_ev.cli import main; main()", "advise", disease,
                          "--format", "json"], env=_env(cache), capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise SystemExit(out.stderr)
    return time.perf_counter() - start


def _table():
    sys.path.insert(0, str(ROOT / "tests"))
    from test_resolve import TABLE, _accepted  # noqa: E402

    return TABLE, _accepted


def _rapidfuzz(kb, rows):
    try:
        from rapidfuzz import fuzz, process
    except ImportError:
        return None
    from msc_ev.advisor import icd
    from msc_ev.advisor.resolve import query_tokens

    idx = icd.index()
    terms = idx.con.execute("SELECT toks, code FROM terms ORDER BY rowid").fetchall()
    terms += [(" ".join(query_tokens(kb, t)), r["icd10cm"]) for r in kb.vocabulary.values() for t in r["terms"]]
    choices = [t for t, _ in terms]
    out = {}
    for name, scorer in (("WRatio", fuzz.WRatio), ("token_set_ratio", fuzz.token_set_ratio)):
        good, times = 0, []
        for typed, ok, accepted in rows:
            q = " ".join(query_tokens(kb, typed))
            start = time.perf_counter()
            best = process.extractOne(q, choices, scorer=scorer)
            times.append(time.perf_counter() - start)
            got = "icd10cm:" + terms[best[2]][1] if best else "none"
            good += accepted(got, ok)
        out[name] = (good, statistics.median(times))
    return out


def _titles(n: int) -> list[str]:
    """``n`` ICD-10-CM titles, every k-th code of the tabular list (not chapters or blocks)."""
    from msc_ev.advisor import icd

    rows = icd.index().con.execute("SELECT title FROM codes WHERE grouping = 0 ORDER BY code").fetchall()
    return [t for (t,) in rows[::max(1, len(rows) // n)][:n]]


def _curated_names(kb) -> list[str]:
    return [x for d in kb.diseases.values() for x in [d["name"], *(d.get("synonyms") or ())]]


def _exact(advisor, kb) -> None:
    for label, texts in (("curated names and synonyms", _curated_names(kb)), ("ICD-10-CM titles", _titles(1000))):
        for t in texts:  # start-up: index opened, lexicon built
            _resolve_quiet(advisor, kb, t)
        times = []
        for t in texts:
            start = time.perf_counter()
            _resolve_quiet(advisor, kb, t)
            times.append(time.perf_counter() - start)
        times.sort()
        p50, p90 = (times[min(len(times) - 1, int(f * len(times)))] * 1000 for f in (0.5, 0.9))
        print(f"| exact look-up, {len(times)} {label}: p50 / p90 | {p50:.3f} / {p90:.3f} ms |")


def _answers(advisor, kb, path: str) -> None:
    import json

    sys.path.insert(0, str(ROOT / "tests"))
    from test_phrasings import OWN, REVIEWS  # noqa: E402

    table, _ = _table()
    texts = [t for t, _ in table] + [r[0] for r in REVIEWS + OWN] + _curated_names(kb)
    texts += [a for d in kb.diseases.values() for a in d.get("abbreviations") or ()]
    texts += [t for r in kb.vocabulary.values() for t in r["terms"]] + _titles(2000)
    out = {}
    for t in dict.fromkeys(texts):
        try:
            r = advisor.resolve(kb, t)
            out[t] = {"id": r.id, "matched_by": r.matched_by, "notes": list(r.notes)}
        except (advisor.AmbiguousDisease, advisor.UnknownDisease) as exc:
            out[t] = {"error": exc.message()}
    Path(path).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(out)} answers written to {path}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--exact-only", action="store_true", help="only the exact look-ups (item 7)")
    ap.add_argument("--answers", metavar="FILE", help="write resolve() answers to FILE (JSON) and stop")
    args = ap.parse_args()

    if args.exact_only or args.answers:
        from msc_ev import advisor

        kb = advisor.load_kb()
        if args.answers:
            _answers(advisor, kb, args.answers)
        else:
            print("| measure | value |\n|---|---|")
            _exact(advisor, kb)
        return
    print("| measure | value |\n|---|---|")
    with tempfile.TemporaryDirectory() as cache:
        q, total = _py(FIRST, cache).split()
        print(f"| first ICD query, no cache (builds the index) | {q} s (process {total} s) |")
        q, total = _py(FIRST, cache).split()
        print(f"| first ICD query, cache on disk, fresh process | {float(q) * 1000:.0f} ms (process {total} s) |")
        size = sum(f.stat().st_size for f in Path(cache, "msc-ev").iterdir())
        print(f"| index size on disk | {size / 1e6:.1f} MB |")
        cur, icd_ = [], []
        for _ in range(args.runs):  # interleaved, so that load on the machine hits both alike
            cur.append(_advise("osteoarthritis", cache))
            icd_.append(_advise("Parkinson's disease", cache))
        mc, mi = statistics.median(cur), statistics.median(icd_)
        print(f"| advise, curated (osteoarthritis), cold, median of {args.runs} | {mc:.2f} s |")
        print(f"| advise, ICD-10-CM (Parkinson's disease), cold, median of {args.runs} | {mi:.2f} s |")
        print(f"| ratio ICD / curated (target <= 1.3) | {mi / mc:.2f} |")

        os.environ["MSC_EV_CACHE"] = cache
        from msc_ev import advisor

        kb = advisor.load_kb()
        table, accepted = _table()
        for typed, _ in table:
            _resolve_quiet(advisor, kb, typed)
        times = []
        good = 0
        for typed, ok in table:
            start = time.perf_counter()
            got = _resolve_quiet(advisor, kb, typed)
            times.append(time.perf_counter() - start)
            good += accepted(got, ok)
        times.sort()
        p = lambda f: times[min(len(times) - 1, int(f * len(times)))] * 1000  # noqa: E731
        print(f"| resolution after start-up, {len(times)} table rows: p50 / p95 / max | "
              f"{p(0.5):.1f} / {p(0.95):.1f} / {times[-1] * 1000:.1f} ms |")
        print(f"| table rows answered as a clinician would (FTS5 resolver) | {good} / {len(table)} |")
        text = " ".join(f"word{i}" for i in range(10_000))
        start = time.perf_counter()
        _resolve_quiet(advisor, kb, text)
        print(f"| 10,000-word input (refused with a message) | {(time.perf_counter() - start) * 1000:.1f} ms |")

        _exact(advisor, kb)
        rows = [(t, ok, accepted) for t, ok in table if not any("-" in a and ":" not in a for a in ok)]
        rf = _rapidfuzz(kb, rows)
        fts_good = sum(accepted(_resolve_quiet(advisor, kb, t), ok) for t, ok, _ in rows)
        print(f"| ICD-10-CM rows of the table: FTS5 resolver | {fts_good} / {len(rows)} |")
        if rf is None:
            print("| rapidfuzz | not installed (pip install rapidfuzz to compare) |")
        else:
            for name, (g, t) in rf.items():
                print(f"| ICD-10-CM rows: rapidfuzz extractOne, {name} | {g} / {len(rows)}, "
                      f"{t * 1000:.0f} ms per query |")


def _resolve_quiet(advisor, kb, text):
    try:
        return advisor.resolve(kb, text).id
    except advisor.AmbiguousDisease as exc:
        return "AMBIGUOUS:" + ",".join(c.removeprefix("icd10cm:") for c, _ in exc.candidates)
    except advisor.UnknownDisease:
        return "UNKNOWN"


if __name__ == "__main__":
    main()
