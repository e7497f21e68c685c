"""Speed and faithfulness of the what-if tools (docs/teaching.md). Not a test: run it by hand.

    python bench/whatif_bench.py            # every curated disease
    python bench/whatif_bench.py --quick    # 10 diseases; well under a minute on 2 cores

What it measures (in-process, after one warm-up consultation):
1. ``stability(N=200)`` per curated disease, rescored (the default): wall time including the one
   real consultation it checks the rescoring against; p50, p95 and max. Target: <= 1 s.
2. The same with every setting re-consulted through the engine (``exact=True``) for a few
   diseases, to show what the rescoring saves.
3. Agreement of rescored and re-consulted stability (N=50, same seed) over the diseases: the
   largest difference in ``rank_kept`` / ``top1`` and the share of items that differ at all.
4. ``to_rank_first`` for the #2 source of each disease: wall time and the kind found.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from msc_ev import advisor  # noqa: E402
from msc_ev.views import whatif as W  # noqa: E402
from msc_ev.advisor.consult import Constraints  # noqa: E402


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    kb = advisor.load_kb()
    diseases = sorted(kb.diseases)
    if args.quick:
        diseases = diseases[::max(1, len(diseases) // 10)][:10]
    advisor.consult(kb, diseases[0])  # warm-up (imports, engine host)
    print(f"# what-if bench: {len(diseases)} diseases, Python {platform.python_version()}, "
          f"{platform.machine()}, {len(W.weight_leaves(kb.weights))} weights perturbed")

    times, methods = [], {}
    for d in diseases:
        adv = advisor.consult(kb, d)
        t0 = time.perf_counter()
        s = W.stability(kb, adv, 200, 0)
        times.append(time.perf_counter() - t0)
        methods[s.method] = methods.get(s.method, 0) + 1
    print(f"1. stability N=200 rescored: p50 {statistics.median(times) * 1000:.1f} ms, "
          f"p95 {pct(times, 0.95) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms; methods {methods}")

    exact = []
    for d in diseases[:3]:
        adv = advisor.consult(kb, d)
        t0 = time.perf_counter()
        W.stability(kb, adv, 200, 0, exact=True)
        exact.append(time.perf_counter() - t0)
    print(f"2. stability N=200 re-consulted ({len(exact)} diseases): mean {statistics.mean(exact):.2f} s")

    worst, differ, total = 0.0, 0, 0
    for d in diseases:
        adv = advisor.consult(kb, d)
        fast = W.stability(kb, adv, 50, 11)
        slow = W.stability(kb, adv, 50, 11, exact=True)
        for k, a in fast.per_item.items():
            b = slow.per_item[k]
            gap = max(abs(a["rank_kept"] - b["rank_kept"]), abs(a["top1"] - b["top1"]))
            worst = max(worst, gap)
            differ += gap > 0
            total += 1
    print(f"3. rescored vs re-consulted, N=50: largest difference {worst:.3f}; "
          f"{differ} of {total} items differ at all")

    rt, kinds = [], {}
    for d in diseases:
        adv = advisor.consult(kb, d)
        if len(adv.recs["sources"]) < 2:
            continue
        item = adv.recs["sources"][1].id
        t0 = time.perf_counter()
        got = W.to_rank_first(kb, d, Constraints(), item)
        rt.append(time.perf_counter() - t0)
        k = got["kind"] if got else "none"
        kinds[k] = kinds.get(k, 0) + 1
    print(f"4. to_rank_first (#2 source), {len(rt)} diseases: p50 {statistics.median(rt) * 1000:.0f} ms, "
          f"max {max(rt) * 1000:.0f} ms; kinds {dict(sorted(kinds.items()))}")


if __name__ == "__main__":
    main()
