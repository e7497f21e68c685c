"""Where the floor of a consultation is: the engine's C calls alone, and everything but the engine.

    python bench/floor.py

For every curated name and synonym (what ``bench.py`` times), one consultation is run and every call
it makes into durable-rules' C code is recorded (the asserts, the retractions, each "complete and
take the next action"). Then, for each query, the median of three runs of:

- ``consult``: ``advisor.consult`` as a user calls it;
- ``C alone``: the recorded calls replayed against the same ruleset with nothing between them (no
  action runs, no Python builds a fact): what durable-rules costs for this consultation at least;
- ``resolve+prepare+advice``: everything of ``consult`` except the engine run.

The README's "Where the floor is" quotes its output. It prints one line; ``--json`` prints the
figures as a JSON object.
"""

from __future__ import annotations

import importlib
import json
import re
import statistics
import sys
import time

import bench  # bench/bench.py: this script's directory is on the path when it is run
from msc_ev import advisor
from msc_ev.advisor import engine as E

C = importlib.import_module("msc_ev.advisor.consult")  # the module (the package exports the function)


def _queries(kb) -> list[tuple[str, object]]:
    """bench.py's queries (every curated name and synonym) that resolve, with their resolution."""
    out = []
    for text in bench.queries(kb):
        try:
            out.append((text, advisor.resolve(kb, text)))
        except advisor.AdvisorError:
            pass
    return out


class _Recorder:
    """Stands in for durable-rules' C module during one run, writing down the calls that matter."""

    def __init__(self, real, log: list):
        self._real, self._log = real, log

    def __getattr__(self, name):
        fn = getattr(self._real, name)

        def call(*args):
            if name in ("assert_facts", "retract_fact"):
                self._log.append((name, args[1]))
            elif name == "complete_and_start_action":
                self._log.append((name, None))
            return fn(*args)

        return call


def main() -> None:
    kb = advisor.load_kb()
    cons = C.normalise_constraints(kb, C.Constraints())
    items = _queries(kb)
    real = E._C
    calls = []
    try:
        for _, res in items:
            log: list = []
            E._C = _Recorder(real, log)
            E.run(C.prepare(kb, res, cons), kb.weights)
            calls.append(log)
    finally:
        E._C = real
    handle = E.host().get_ruleset(E.RULESET)._handle

    def replay(log) -> float:
        t = time.perf_counter()
        state = real.assert_facts(handle, log[0][1])[1]
        real.start_action_for_state(handle, state)
        for name, js in log[1:]:
            if name == "assert_facts":
                real.assert_facts(handle, js)
            elif name == "retract_fact":
                real.retract_fact(handle, js)
            else:
                real.complete_and_start_action(handle, state)
        real.delete_state(handle, re.search(r'"sid":"([^"]+)"', log[0][1]).group(1))
        return time.perf_counter() - t

    def whole(text, _res) -> float:
        t = time.perf_counter()
        advisor.consult(kb, text)
        return time.perf_counter() - t

    def without_engine(text, _res) -> float:
        t0 = time.perf_counter()
        res = advisor.resolve(kb, text)
        facts = C.prepare(kb, res, cons)
        t1 = time.perf_counter()
        ctx = E.run(facts, kb.weights)
        t2 = time.perf_counter()
        C.advice_from(kb, text, res, cons, facts, list(ctx.derived.values()), C.trace_of(ctx))
        return (t1 - t0) + (time.perf_counter() - t2)

    for log in calls:  # warm up
        replay(log)
    c_alone = [min(replay(log) for _ in range(3)) for log in calls]
    whole_run = [min(whole(*q) for _ in range(3)) for q in items]
    rest = [min(without_engine(*q) for _ in range(3)) for q in items]
    ms = lambda xs: round(statistics.median(xs) * 1000, 3)  # noqa: E731
    fig = {"queries": len(items), "consult_p50_ms": ms(whole_run), "c_alone_p50_ms": ms(c_alone),
           "resolve_prepare_advice_p50_ms": ms(rest)}
    if "--json" in sys.argv[1:]:
        print(json.dumps(fig))
    else:
        print(f"{fig['queries']} queries, medians: consult {fig['consult_p50_ms']} ms; durable-rules' C calls "
              f"alone {fig['c_alone_p50_ms']} ms; resolve+prepare+advice {fig['resolve_prepare_advice_p50_ms']} ms")


if __name__ == "__main__":
    main()
