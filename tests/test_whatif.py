"""Stability, what would put an item first, and `msc-ev diff` (views/whatif.py).

Rankings are being re-tuned while the reasoning core is rewritten, so these tests pin the
contracts (fields, exit codes, messages, determinism, and that every suggestion really flips the
ranking when applied through an independent path) rather than today's scores.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev.advisor import stability as stability_module
from msc_ev.views import whatif as W
from msc_ev.advisor.consult import Constraints
from msc_ev.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


# ------------------------------------------------------------------------------------------
# weights


def test_with_weights_recomputes_strengths_and_leaves_the_original_alone(kb):
    # cai2020-t2-18: in-vivo, human donor, exosome -> 0.5 x 1.0 x 1.0
    assert kb.strength["cai2020-t2-18"] == 500
    weights = W.set_weight(kb.weights, ("model", "in-vivo"), 0.25)
    other = W.with_weights(kb, weights)
    assert other.strength["cai2020-t2-18"] == 250
    assert kb.strength["cai2020-t2-18"] == 500
    assert kb.weights["model"]["in-vivo"] == 0.5


def test_keep_selection_keeps_every_index_but_the_strengths(kb):
    other = W.with_weights(kb, W.set_weight(kb.weights, ("model", "in-vitro"), 0.9), keep_selection=True)
    assert other.category_evidence is kb.category_evidence
    assert other.strength["cai2020-t2-01"] == 900  # in-vitro, human, ev


def test_weight_leaves_are_the_certainty_strengths_only():
    weights = {"b": {"y": -0.3, "x": 1.0, "flag": True}, "a": 0.5, "category_limit": 12, "big": 3.0,
               "c": {"n_limit": 0.5}}
    assert W.weight_leaves(weights) == [(("a",), 0.5), (("b", "x"), 1.0), (("b", "y"), -0.3)]


def test_settings_are_seeded_and_stay_in_range(kb):
    leaves = W.weight_leaves(kb.weights)
    first = W.settings(kb.weights, 50, 0)
    assert first == W.settings(kb.weights, 50, 0)
    assert first != W.settings(kb.weights, 50, 1)
    for values in first:
        for (_, base), v in zip(leaves, values):
            assert -1 <= v <= 1
            assert (v > 0) == (base > 0) and (v < 0) == (base < 0)
            assert abs(v) <= abs(base) * 1.25 + 1e-9 and abs(v) >= abs(base) * 0.75 - 1e-9
    # every leaf really moves (not only the first few)
    assert all(len({round(v[i], 4) for v in first}) > 1 for i, (_, b) in enumerate(leaves) if 0 < abs(b) < 1)


@pytest.mark.parametrize("cfs, want", [
    ([0.5, 0.25], 0.625),
    ([0.25, 0.5], 0.625),
    ([-0.3], -0.3),
    ([0.079, 0.048, -0.04], 0.086675),
    ([0.14, -0.225], -0.098837209),
    ([], 0.0),
])
def test_cf_combine(cfs, want):
    assert W.cf_combine(cfs) == pytest.approx(want, abs=1e-9)


# ------------------------------------------------------------------------------------------
# stability


def test_no_spread_means_every_rank_is_kept(kb):
    adv = advisor.consult(kb, "perinatal brain injury")
    stab = W.stability(kb, adv, 10, 0, spread=0.0)
    assert stab.method == "rescored"
    for axis in ("sources", "routes", "engineering"):
        for r in adv.recs[axis]:
            want_top = 1.0 if r.rank == 1 else 0.0
            assert stab.per_item[(axis, r.id)] == {"rank_kept": 1.0, "top1": want_top, "samples": 10, "seed": 0}


def test_stability_fields_shares_and_determinism(kb):
    adv = advisor.consult(kb, "osteoarthritis")
    a = W.stability(kb, adv, 200, 0)
    b = W.stability(kb, adv, 200, 0)
    assert a.per_item == b.per_item
    assert a.method == "rescored" and a.samples == 200 and a.seed == 0
    assert "model.in-vivo" in a.perturbed and "rules.eng-fit" in a.perturbed
    for axis in ("sources", "routes", "engineering"):
        recs = adv.recs[axis]
        if not recs:
            continue
        # every setting has exactly one #1 on each axis
        assert sum(a.per_item[(axis, r.id)]["top1"] for r in recs) == pytest.approx(1.0)
        top = a.per_item[(axis, recs[0].id)]
        assert top["rank_kept"] == top["top1"]
        for r in recs:
            s = a.per_item[(axis, r.id)]
            assert set(s) == {"rank_kept", "top1", "samples", "seed"}
            assert 0 <= s["rank_kept"] <= 1 and 0 <= s["top1"] <= 1
    other = W.stability(kb, adv, 200, 1)
    assert other.per_item != a.per_item  # the seed matters (osteoarthritis' #1 is not robust)


def test_rescored_agrees_with_re_consulting(kb):
    # The fast path keeps the firings and redoes the arithmetic; re-consulting runs the engine for
    # every setting. They may differ only where integer rounding in the engine breaks a near-tie.
    for disease in ("perinatal-brain-injury", "osteoarthritis", "liver-fibrosis"):
        adv = advisor.consult(kb, disease)
        fast = W.stability(kb, adv, 20, 5)
        slow = W.stability(kb, adv, 20, 5, exact=True)
        assert (fast.method, slow.method) == ("rescored", "re-consulted")
        for key, s in fast.per_item.items():
            assert abs(s["rank_kept"] - slow.per_item[key]["rank_kept"]) <= 0.1, (disease, key)
            assert abs(s["top1"] - slow.per_item[key]["top1"]) <= 0.1, (disease, key)


def test_a_wrong_rescoring_model_is_caught_and_the_engine_is_used(kb, monkeypatch):
    adv = advisor.consult(kb, "perinatal brain injury")
    monkeypatch.setattr(stability_module, "_contribution_leaves", lambda *a, **k: [])  # pretend no weight matters
    stab = W.stability(kb, adv, 3, 0)
    assert stab.method == "re-consulted"
    assert ": predicted " in stab.note


def test_200_settings_take_at_most_a_second(kb):
    adv = advisor.consult(kb, "perinatal brain injury")
    W.stability(kb, adv, 5, 0)  # warm up
    t0 = time.perf_counter()
    stab = W.stability(kb, adv, 200, 0)
    elapsed = time.perf_counter() - t0
    assert stab.method == "rescored"
    assert elapsed <= 1.0, f"N=200 took {elapsed:.3f} s"


def test_advise_stability_json_is_byte_identical_and_carries_the_fields():
    a = run("advise", "osteoarthritis", "--stability", "--format", "json")
    b = run("advise", "osteoarthritis", "--stability", "--format", "json")
    assert a.exit_code == 0, a.output
    assert a.stdout == b.stdout
    doc = json.loads(a.stdout)
    assert doc["perturbation"]["range"] == "+/-25%"
    assert doc["perturbation"]["samples"] == 200 and doc["perturbation"]["seed"] == 0
    for axis in ("sources", "routes", "engineering"):
        for rec in doc[axis]:
            assert set(rec["stability"]) == {"rank_kept", "top1", "samples", "seed"}
            assert rec["stability"]["samples"] == 200 and rec["stability"]["seed"] == 0
    seeded = json.loads(run("advise", "osteoarthritis", "--stability", "--samples", "40", "--seed", "3",
                            "--format", "json").stdout)
    assert seeded["sources"][0]["stability"]["samples"] == 40
    assert seeded["sources"][0]["stability"]["seed"] == 3


def test_advise_stability_views_say_it_beside_the_score():
    md = run("advise", "perinatal brain injury", "--stability", "--samples", "20", "--format", "markdown")
    assert md.exit_code == 0
    assert "## Stability" in md.stdout
    assert re.search(r"^\| 1 \| `[a-z0-9-]+` \| -?\d\.\d{3} \| #1 in \d+% of settings \|$", md.stdout, re.M)
    assert re.search(r"^\| 2 \| `[a-z0-9-]+` \| -?\d\.\d{3} \| keeps #2 in \d+% of settings", md.stdout, re.M)
    rich = run("advise", "perinatal brain injury", "--stability", "--samples", "20")
    assert rich.exit_code == 0
    assert "Stability: 20 settings of all" in rich.stdout
    assert "% of settings" in rich.stdout


def test_batch_cell_names_each_axis_top_and_its_share(kb):
    adv = advisor.consult(kb, "perinatal brain injury")
    stab = W.stability(kb, adv, 10, 0, spread=0.0)
    tops = [adv.recs[a][0].id for a in ("sources", "routes", "engineering")]
    assert W.stability_cell(adv, stab) == "; ".join(f"{t} #1 in 100%" for t in tops)


def test_seed_without_stability_is_a_usage_error():
    r = run("advise", "osteoarthritis", "--seed", "4")
    assert r.exit_code == 2
    assert r.stderr.strip() == "msc-ev: --samples and --seed need --stability"


# ------------------------------------------------------------------------------------------
# what would put an item first: every suggestion is applied independently and must flip the ranking


def _overlay_study(tmp_path: Path, n: int, source: str, disease: str, model: str, route=None, eng=None) -> Path:
    d = tmp_path / "study"
    d.mkdir(exist_ok=True)
    refs, evs = [], []
    for i in range(1, n + 1):
        refs.append(f"  - key: teststudy{i}\n    authors: \"Test A, Test B\"\n    title: \"A test study\"\n"
                    f"    journal: \"Test\"\n    year: 2030\n    cited_in: {{}}\n")
        evs.append(f"  - id: test-study-{i}\n    source: {source}\n    vesicle: exosome\n    species: human\n"
                   f"    model: {model}\n    disease: {disease}\n    route: {route or 'null'}\n"
                   f"    engineering: [{eng or ''}]\n    effect: \"A test effect.\"\n    direction: supports\n"
                   f"    cites: [\"teststudy{i}\"]\n")
    (d / "s.yaml").write_text("references:\n" + "".join(refs) + "evidence:\n" + "".join(evs))
    return d


def test_evidence_suggestion_flips_the_ranking(kb, tmp_path):
    before = advisor.consult(kb, "perinatal-brain-injury")
    assert before.recs["sources"][0].id != "bm-msc"
    got = W.to_rank_first(kb, "perinatal-brain-injury", Constraints(), "bm-msc")
    assert got["kind"] == "evidence" and got["verified_top"] == "bm-msc"
    m = re.fullmatch(r"(one|two|three) (in-vitro|in-vivo|completed clinical) stud(?:y|ies) of bm-msc EVs "
                     r"for Perinatal brain injury(?: \(tier \d\))?", got["change"])
    assert m, got["change"]
    n = {"one": 1, "two": 2, "three": 3}[m.group(1)]
    model = {"completed clinical": "clinical-completed"}.get(m.group(2), m.group(2))
    other = advisor.load_kb(extra=[_overlay_study(tmp_path, n, "bm-msc", "perinatal-brain-injury", model)])
    assert advisor.consult(other, "perinatal-brain-injury").recs["sources"][0].id == "bm-msc"


def test_evidence_suggestion_for_a_route_flips_the_ranking(kb, tmp_path):
    got = W.to_rank_first(kb, "perinatal-brain-injury", Constraints(), "intravenous")
    assert got["kind"] == "evidence" and got["verified_top"] == "intravenous"
    top_source = advisor.consult(kb, "perinatal-brain-injury").recs["sources"][0].id
    assert f"giving {top_source} EVs by the intravenous route" in got["change"]
    n = {"one": 1, "two": 2, "three": 3}[got["change"].split()[0]]
    model = "clinical-completed" if "completed clinical" in got["change"] else got["change"].split()[1]
    other = advisor.load_kb(extra=[_overlay_study(tmp_path, n, top_source, "perinatal-brain-injury", model,
                                                  route="intravenous")])
    assert advisor.consult(other, "perinatal-brain-injury").recs["routes"][0].id == "intravenous"


@pytest.mark.parametrize("query, item, want", [
    ("parkinson's disease", "uc-msc", {"change": "excluding bm-msc",
                                       "kind": "constraint", "verified_top": "uc-msc"}),
    ("psoriasis", "bm-msc", {"change": "excluding ad-msc and uc-msc",
                             "kind": "constraint", "verified_top": "bm-msc"}),
])
def test_constraint_suggestion_flips_the_ranking(kb, query, item, want):
    # an ICD-10-CM disease: no evidence can be written for it, so a constraint is the smallest change
    assert W.to_rank_first(kb, query, Constraints(), item) == want
    excluded = tuple(want["change"].removeprefix("excluding ").replace(" and ", ", ").split(", "))
    after = advisor.consult(kb, query, Constraints(exclude_sources=excluded))
    assert after.recs["sources"][0].id == item


def test_route_constraint_suggestion_flips_the_ranking(kb):
    got = W.to_rank_first(kb, "parkinson's disease", Constraints(), "intravenous")
    assert got == {"change": "ruling out the intracerebral and intranasal routes", "kind": "constraint",
                   "verified_top": "intravenous"}
    allowed = tuple(r for r in sorted(kb.routes) if r not in ("intracerebral", "intranasal"))
    assert advisor.consult(kb, "parkinson's disease", Constraints(routes=allowed)).recs["routes"][0].id == "intravenous"


def test_weight_suggestion_flips_the_ranking(kb, tmp_path):
    # new evidence comes first in to_rank_first; the weight search on its own, where two candidates share a tier
    got = W._weight_change(kb, advisor.consult(kb, "allergic asthma"), "sources", "ad-msc")
    assert got == {"change": "in-vitro strength raised from 0.25 to 0.45 (weights.model.in-vitro)", "kind": "weight",
                   "verified_top": "ad-msc"}
    # "<label> raised|lowered from A to B (weights.GROUP.KEY)"
    path = got["change"].rsplit("(weights.", 1)[1].rstrip(")").split(".")
    value = got["change"].split(" to ")[-1].split(" ")[0]
    before = advisor.consult(kb, "allergic asthma").recs["sources"][0].id
    assert before != "ad-msc"
    overlay = tmp_path / "w"
    overlay.mkdir()
    (overlay / "w.yaml").write_text(f"weights:\n  {path[0]}:\n    {path[1]}: {value}\n")
    other = advisor.load_kb(extra=[overlay])
    assert advisor.consult(other, "allergic asthma").recs["sources"][0].id == "ad-msc"


def test_already_first_and_unreachable_give_none_and_say_which(kb):
    adv = advisor.consult(kb, "perinatal brain injury")
    top = adv.recs["sources"][0].id
    assert W.to_rank_first(kb, "perinatal brain injury", Constraints(), top) is None
    assert W.to_rank_first_text(adv, top, None) == f"{top} is already ranked first."
    # chorionic-plate MSCs for Parkinson's: no evidence reaches it, the disease is not curated (no
    # evidence can be added), and neither a constraint nor a weight creates support from nothing.
    pd = advisor.consult(kb, "parkinson's disease")
    assert W.to_rank_first(kb, "parkinson's disease", Constraints(), "cp-msc") is None
    assert W.to_rank_first_text(pd, "cp-msc", None).startswith("No single change tried")


def test_to_rank_first_text_names_the_kind():
    from types import SimpleNamespace

    adv = SimpleNamespace(recs={"sources": [], "routes": [], "engineering": []})
    txt = W.to_rank_first_text(adv, "ad-msc", {"change": "excluding bm-msc", "kind": "constraint",
                                               "verified_top": "ad-msc"})
    assert txt == "To rank first (a constraint, checked by re-running the consultation): excluding bm-msc."


# ------------------------------------------------------------------------------------------
# msc-ev diff


def test_diff_lists_what_a_new_paper_moves(tmp_path):
    overlay = _overlay_study(tmp_path, 1, "ad-msc", "knee-osteoarthritis", "in-vivo", route="intra-articular")
    before = advisor.consult(advisor.load_kb(), "knee-osteoarthritis").recs["sources"]
    assert before[0].id != "ad-msc"
    r = run("diff", str(overlay), "knee-osteoarthritis", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["compared"] == 1 and doc["changed"] == ["knee-osteoarthritis"]
    entry = doc["diseases"][0]
    ad = next(c for c in entry["changes"] if c["axis"] == "sources" and c["id"] == "ad-msc")
    assert ad["after"]["rank"] == 1 and ad["before"]["rank"] == next(x.rank for x in before if x.id == "ad-msc")
    added = entry["firings"]["added"]
    assert [(f["rule"], f["matched"]) for f in added] == [
        ("rel-self", ["disease:knee-osteoarthritis"]),
        ("sup-source", ["relation:knee-osteoarthritis", "ev:test-study-1"]),
        ("sup-route", ["relation:knee-osteoarthritis", "ev:test-study-1"])]
    assert entry["firings"]["removed"] == []
    assert doc["disclaimer"] == advisor.DISCLAIMER
    text = run("diff", str(overlay), "knee-osteoarthritis")
    assert text.stdout.startswith(f"Overlay {overlay}: 1 of 1 disease change rank or tier.\n")
    assert "  sources ad-msc: #" in text.stdout and "+ firing sup-source: matched" in text.stdout
    assert run("diff", str(overlay), "knee-osteoarthritis", "--exit-code").exit_code == 1


def test_diff_without_changes_exits_0_even_with_exit_code(tmp_path):
    d = tmp_path / "nothing"
    d.mkdir()
    (d / "r.yaml").write_text("references:\n  - key: unrelated2031\n    authors: \"X Y\"\n    title: \"T\"\n"
                              "    journal: \"J\"\n    year: 2031\n    cited_in: {}\n")
    r = run("diff", str(d), "stroke", "osteoarthritis", "--exit-code")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == f"Overlay {d}: 0 of 2 diseases change rank or tier."
    assert "No recommendation changes rank or tier." in r.stdout


def test_diff_errors(tmp_path):
    r = run("diff", str(tmp_path / "missing"))
    assert r.exit_code == 2
    assert r.stderr.strip() == f"msc-ev: overlay directory not found: {tmp_path / 'missing'}"
    empty = tmp_path / "e"
    empty.mkdir()
    (empty / "x.yaml").write_text("references:\n  - key: unrelated2031\n    authors: \"X\"\n    title: \"T\"\n"
                                  "    journal: \"J\"\n    year: 2031\n    cited_in: {}\n")
    r = run("diff", str(empty), "no such disease at all")
    assert r.exit_code == 1
    assert r.stderr.startswith("msc-ev: unknown disease: 'no such disease at all'")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "w.yaml").write_text("weights:\n  model:\n    in-vivo: 7\n")
    r = run("diff", str(bad), "stroke")
    assert r.exit_code == 2
    assert "weights.model.in-vivo: must be a number from 0 to 1, got 7" in r.stderr


def test_diff_of_a_weights_overlay_over_all_diseases(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "w.yaml").write_text("weights:\n  model:\n    in-vitro: 0.5\n")
    r = run("diff", str(d), "--format", "json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    kb = advisor.load_kb()
    assert doc["compared"] == len(kb.diseases)
    assert doc["changed"]  # raising in-vitro evidence moves something somewhere
    for e in doc["diseases"]:
        for c in e["changes"]:
            assert c["before"] != c["after"]


def test_batch_stability_adds_a_column_and_is_the_same_whatever_the_jobs(tmp_path):
    src = tmp_path / "d.txt"
    src.write_text("perinatal brain injury\nglioblastoma\nxyzzy\n")
    plain = run("batch", str(src), "-f", "csv")
    assert plain.stdout.splitlines()[0].split(",")[-2:] == ["message", "disclaimer"]
    one = run("batch", str(src), "-f", "csv", "--stability", "20", "--seed", "3")
    assert one.exit_code == 1  # the unknown row
    rows = list(__import__("csv").DictReader(io.StringIO(one.stdout)))
    assert list(rows[0])[-2:] == ["stability", "disclaimer"]
    adv = advisor.consult(advisor.load_kb(), "perinatal brain injury")
    stab = W.stability(advisor.load_kb(), adv, 20, 3)
    assert rows[0]["stability"] == W.stability_cell(adv, stab)
    assert rows[0]["stability"].startswith(f"{adv.recs['sources'][0].id} #1 in ")
    assert rows[2]["stability"] == ""  # no advice, no stability
    out = tmp_path / "o.csv"
    two = run("batch", str(src), "-o", str(out), "--stability", "20", "--seed", "3", "--jobs", "2")
    assert two.exit_code == 1 and out.read_text() == one.stdout
