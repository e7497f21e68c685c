"""durable-rules' sharp edges, each met by advisor/engine.py, and the test that covers each.

Covered here: a session in which no rule ever matched (durable-rules crashes the process when it
deletes one): an empty fact set, facts no rule joins, and more such sessions than durable-rules'
1,024 live states. Each runs in a child process, so a crash fails the test instead of ending pytest.

Covered elsewhere (docs/performance.md lists them too):
- background threads and the global registry: the private host (tests/test_rules.py, every
  consultation of the suite runs on it; tests/test_batch.py runs workers in processes);
- 1,024 live sessions: test_more_sessions_than_durable_holds_live (here) and the batch tests;
- identity and 32-bit hash clashes: tests/test_rules.py::test_colliding_input_facts_both_survive,
  ::test_colliding_derived_facts_both_survive, ::test_without_the_guard_durable_really_loses_a_colliding_fact,
  ::test_a_duplicate_fact_is_an_error_not_a_crash;
- exceptions swallowed in actions: tests/test_rules.py::test_engine_hazards_action_errors_surface and
  ::test_ctrl_c_inside_a_rule_action_is_a_keyboard_interrupt_and_the_engine_stays_whole;
- lost facts: tests/test_rules.py::test_verify_reports_a_fact_the_engine_does_not_hold;
- a fact retracted in a round: tests/test_rules.py::test_a_fact_retracted_in_a_batch_is_not_matched_again_in_it.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from msc_ev import advisor
from msc_ev.advisor import engine

PRELUDE = textwrap.dedent("""
    from msc_ev import advisor
    from msc_ev.advisor import engine
    kb = advisor.load_kb()
""")


def _child(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MSC_EV_CACHE": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


@pytest.mark.parametrize("facts", [
    "[]",  # nothing at all
    "[{'id': 'route:nowhere', 'kind': 'route', 'route': 'nowhere', 'reaches': 0, 'invasive': 0}]",  # no rule joins it
    "[{'id': 'ctx', 'kind': 'context', 'type': 'x'}]",  # a kind no condition names: never handed over
])
def test_a_session_in_which_no_rule_matched_is_deleted_without_a_crash(facts, tmp_path):
    done = _child(f"""
        ctx = engine.run({facts}, kb.weights, verify=True)
        print(len(ctx.steps), len(ctx.derived), engine.STATS["guarded"])
    """, tmp_path)
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert done.stdout == "0 0 1\n"


def test_without_the_guard_durable_really_crashes(tmp_path):
    # the hazard itself: deleting a session in which no rule matched ends the process
    done = _child("""
        import orjson
        h = engine.host().get_ruleset(engine.RULESET)._handle
        fact = {'id': 'x', 'sid': 's1', 'kind': 'route', 'is_route': 1, 'route': 'nowhere', 'reaches': 0, 'invasive': 0}
        state = engine._C.assert_facts(h, orjson.dumps([fact]).decode())[1]
        assert engine._C.start_action_for_state(h, state) is None
        print('deleting', flush=True)
        engine._C.delete_state(h, 's1')
        print('survived', flush=True)
    """, tmp_path)
    assert done.stdout == "deleting\n"
    assert done.returncode != 0


def test_more_sessions_than_durable_holds_live(tmp_path):
    # 1,500 unmatched sessions and 1,500 consultations: every session is deleted, none is left live
    done = _child("""
        nowhere = [{'id': 'route:nowhere', 'kind': 'route', 'route': 'nowhere', 'reaches': 0, 'invasive': 0}]
        for i in range(1500):
            engine.run(nowhere, kb.weights)
        import importlib
        C = importlib.import_module('msc_ev.advisor.consult')
        facts = C.prepare(kb, advisor.resolve(kb, 'osteoarthritis'), C.Constraints())
        for i in range(1500):
            assert engine.run(facts, kb.weights).steps
        print(engine.STATS["guarded"], engine.STATS["consultations"])
    """, tmp_path)
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert done.stdout == "1500 3000\n"


def test_a_consultation_never_needs_the_guard(kb):
    import importlib

    C = importlib.import_module("msc_ev.advisor.consult")
    before = engine.STATS["guarded"]
    for did in sorted(kb.diseases):
        engine.run(C.prepare(kb, advisor.resolve(kb, did), C.Constraints()), kb.weights)
    assert engine.STATS["guarded"] == before
