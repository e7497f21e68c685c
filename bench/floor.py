"""Where the floor of a consultation is: the engine's C calls alone, and everything but the engine.

    python bench/floor.py

For every curated name and synonym (what ``bench.py`` times), with reuse off (every consultation runs
the engine), one consultation is run and every call it makes into durable-rules' C code is recorded (the asserts, the retractions, each "complete and
take the next action"). Then, for each query, the median of three runs of:

- ``consult``: ``advisor.consult`` as a user calls it;
- ``engine.run``: the engine run alone, Python glue around the C calls included;
- ``C alone``: the recorded calls replayed against the same ruleset with nothing between them (no
  action runs, no Python builds a fact): what durable-rules costs for this consultation at least;
- ``resolve+prepare+advice``: everything of ``consult`` except the engine run.

Times are CPU time of this process. bench.py calls :func:`measure` and reports its figures beside
the consultation's (``floor_*``). It prints one line; ``--json`` prints the figures as a JSON object.
"""

from __future__ import annotations

import importlib
import json
import os
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


def measure(kb=None) -> dict:
    """The figures (medians over bench.py's queries, reuse off: every consultation runs the engine)."""
    from msc_ev.advisor import reuse

    kb = kb or advisor.load_kb()
    was = os.environ.get(reuse.ENV)
    os.environ[reuse.ENV] = "1"
    try:
        return _measure(kb)
    finally:
        if was is None:
            os.environ.pop(reuse.ENV, None)
        else:
            os.environ[reuse.ENV] = was


def _measure(kb) -> dict:
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
        t = time.process_time()
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
        return time.process_time() - t

    def whole(text, _res) -> float:
        t = time.process_time()
        advisor.consult(kb, text)
        return time.process_time() - t

    def engine_alone(_text, res) -> float:
        facts = C.prepare(kb, res, cons)
        t = time.process_time()
        E.run(facts, kb.weights)
        return time.process_time() - t

    def without_engine(text, _res) -> float:
        t0 = time.process_time()
        res = advisor.resolve(kb, text)
        facts = C.prepare(kb, res, cons)
        t1 = time.process_time()
        ctx = E.run(facts, kb.weights)
        t2 = time.process_time()
        C.advice_from(kb, text, res, cons, facts, list(ctx.derived.values()), C.trace_of(ctx))
        return (t1 - t0) + (time.process_time() - t2)

    for log in calls:  # warm up
        replay(log)
    c_alone = [min(replay(log) for _ in range(3)) for log in calls]
    whole_run = [min(whole(*q) for _ in range(3)) for q in items]
    engine_run = [min(engine_alone(*q) for _ in range(3)) for q in items]
    rest = [min(without_engine(*q) for _ in range(3)) for q in items]
    ms = lambda xs: round(statistics.median(xs) * 1000, 3)  # noqa: E731
    return {"queries": len(items), "consult_p50_ms": ms(whole_run), "c_alone_p50_ms": ms(c_alone),
            "engine_run_p50_ms": ms(engine_run), "resolve_prepare_advice_p50_ms": ms(rest)}


def main() -> None:
    fig = measure()
    if "--json" in sys.argv[1:]:
        print(json.dumps(fig))
    else:
        print(f"{fig['queries']} queries, CPU medians (reuse off): consult {fig['consult_p50_ms']} ms; engine.run "
              f"{fig['engine_run_p50_ms']} ms, of which durable-rules' C calls alone {fig['c_alone_p50_ms']} ms; "
              f"resolve+prepare+advice {fig['resolve_prepare_advice_p50_ms']} ms")


if __name__ == "__main__":
    main()
