"""Batch scoring (issue 6): inputs, outputs, statuses, exit codes, atomic writes, resume, jobs."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev import cli
from msc_ev.advisor import batch as B

TEXT = "perinatal brain injury\n# a comment\n\nAD\nxyzzy-not-a-disease\nknee oa\n"
EXPECT = [  # (input, status, disease_id, matched_by)
    ("perinatal brain injury", "ok", "perinatal-brain-injury", "exact"),
    ("AD", "ambiguous", None, None),
    ("xyzzy-not-a-disease", "unknown", None, None),
    ("knee oa", "ok", "knee-osteoarthritis", "synonym"),
]


def brief(rows):
    return [(r["input"], r["status"], r["disease_id"], r["matched_by"]) for r in rows]


def run_lib(kb, items, carried=(), **kw):
    buf = io.StringIO()
    outcome = B.run(kb, items, list(carried), stdout=buf, collect=True, **kw)
    return outcome, buf.getvalue()


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def counting(monkeypatch):
    """Count the consultations batch makes (in-process, --jobs 1)."""
    calls = []
    real = B.consult

    def wrapped(kb, text, constraints):
        calls.append(text)
        return real(kb, text, constraints)

    monkeypatch.setattr(B, "consult", wrapped)
    return calls


# ------------------------------------------------------------------------------ input formats


def test_text_input_skips_comments_and_keeps_order(kb, tmp_path):
    p = tmp_path / "list.txt"
    p.write_text(TEXT)
    items, carried = B.read_input(str(p))
    assert [(i.row, i.text) for i in items] == [(1, "perinatal brain injury"), (2, "AD"),
                                                (3, "xyzzy-not-a-disease"), (4, "knee oa")]
    assert carried == []
    outcome, _ = run_lib(kb, items, fmt="json")
    assert brief(outcome.rows) == EXPECT
    assert outcome.counts == {"rows": 4, "ok": 2, "unknown": 1, "ambiguous": 1, "error": 0}
    assert outcome.failed


def test_ok_row_content(kb):
    row = B.score_item(kb, B.Item(1, "perinatal brain injury"), advisor.Constraints(), top=2)
    adv = advisor.consult(kb, "perinatal brain injury")
    assert row["status"] == "ok" and row["message"] == ""
    assert [s["id"] for s in row["sources"]] == [r.id for r in adv.recs["sources"][:2]]
    assert row["sources"][0] == {"rank": 1, "id": "uc-msc", "name": adv.recs["sources"][0].name,
                                 "score": round(adv.recs["sources"][0].score, 3),
                                 "level": adv.recs["sources"][0].level}
    assert len(row["routes"]) == 2 and len(row["engineering"]) == 2
    assert row["cautions"] == [c["id"] for c in adv.cautions]
    assert 0 < len(row["citations"]) <= 5
    assert set(row["citations"]) <= set(adv.references)
    assert row["level"] in ("clinical-completed", "clinical-registered", "in-vivo")


def test_csv_carries_columns_and_applies_row_constraints(kb, tmp_path):
    p = tmp_path / "in.csv"
    p.write_text("id,Disease,exclude_source,clinical_only,population\n"
                 "a1,multiple sclerosis,,,\n"
                 "a2,multiple sclerosis,bm-msc;uc-msc,,\n"
                 "a3,multiple sclerosis,,maybe,\n"
                 "a4,multiple sclerosis,,,martian\n"
                 "a5,,,,\n")
    items, carried = B.read_input(str(p))
    assert carried == ["id", "exclude_source", "clinical_only", "population"]
    outcome, out = run_lib(kb, items, carried, fmt="csv", top=0)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4", "a5"]
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "error", "error"]
    ms = advisor.consult(kb, "multiple sclerosis")
    ms_ex = advisor.consult(kb, "multiple sclerosis", advisor.Constraints(("bm-msc", "uc-msc")))
    assert rows[0]["sources"] == "; ".join(f"{r.id} {r.score:.3f}" for r in ms.recs["sources"])
    assert rows[1]["sources"] == "; ".join(f"{r.id} {r.score:.3f}" for r in ms_ex.recs["sources"])
    assert {"bm-msc", "uc-msc"} <= {r.id for r in ms.recs["sources"]}
    assert not {"bm-msc", "uc-msc", "wj-msc"} & {s.split()[0] for s in rows[1]["sources"].split("; ")}
    assert rows[2]["message"] == "clinical_only must be true or false, got 'maybe'"
    assert rows[3]["message"].startswith("unknown population for --population: 'martian'")
    assert rows[4]["message"] == "empty 'disease' cell"
    assert all(r["disclaimer"] == advisor.DISCLAIMER for r in rows)
    assert list(rows[0])[:3] == ["row", "input", "id"] and list(rows[0])[-1] == "disclaimer"


def test_row_constraints_merge_with_run_constraints():
    base = advisor.Constraints(("es-msc",), ("intravenous",), True, "adult")
    c = B.row_constraints(base, {"exclude_source": "ad-msc; es-msc", "route": "", "clinical_only": "no",
                                 "population": "child"})
    assert c == advisor.Constraints(("es-msc", "ad-msc"), ("intravenous",), False, "child")
    assert B.row_constraints(base, {"route": "intranasal;topical"}).routes == ("intranasal", "topical")
    assert B.row_constraints(base, {}) == base


def test_tsv_input_and_clashing_column_names(kb, tmp_path):
    p = tmp_path / "in.tsv"
    p.write_text("disease\tstatus\nknee oa\tpending\nAD\tdone\n")
    items, carried = B.read_input(str(p))
    _, out = run_lib(kb, items, carried, fmt="tsv")
    rows = list(csv.DictReader(io.StringIO(out), delimiter="\t"))
    assert [(r["input"], r["input_status"], r["status"]) for r in rows] == [
        ("knee oa", "pending", "ok"), ("AD", "done", "ambiguous")]


@pytest.mark.parametrize("name,text", [
    ("in.yaml", "- perinatal brain injury\n- disease: AD\n  tag: x\n- 42\n- disease: knee oa\n  tag: y\n"),
    ("in.json", '["perinatal brain injury", {"disease": "AD", "tag": "x"}, 42, {"disease": "knee oa", "tag": "y"}]'),
])
def test_yaml_and_json_lists(kb, tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    items, carried = B.read_input(str(p))
    assert carried == ["tag"]
    outcome, out = run_lib(kb, items, carried, fmt="jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["row"], r["input"], r["status"], r["columns"]) for r in rows] == [
        (1, "perinatal brain injury", "ok", {}), (2, "AD", "ambiguous", {"tag": "x"}),
        (3, "42", "error", {}), (4, "knee oa", "ok", {"tag": "y"})]
    assert rows[2]["message"] == "item is a int, not a disease name or a mapping"


def test_input_format_option_overrides_extension(tmp_path):
    p = tmp_path / "list.dat"
    p.write_text("disease\nknee oa\n")
    assert [i.text for i in B.read_input(str(p))[0]] == ["disease", "knee oa"]  # text by default
    assert [i.text for i in B.read_input(str(p), "csv")[0]] == ["knee oa"]


# ------------------------------------------------------------------------------ CLI and exit codes


def test_cli_stdin_text_and_summary(runner):
    res = runner.invoke(cli.app, ["batch", "-", "-f", "jsonl"], input=TEXT)
    assert res.exit_code == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert brief(rows) == EXPECT
    assert all(r["disclaimer"] == advisor.DISCLAIMER for r in rows)
    err = res.stderr.strip().splitlines()
    assert len(err) == 1  # no progress bar when stderr is not a terminal
    assert err[0].startswith("batch: 4 rows: 2 ok, 1 unknown, 1 ambiguous, 0 error in ")


def test_cli_exit_0_when_all_ok(runner):
    res = runner.invoke(cli.app, ["batch", "-", "-f", "csv"], input="knee oa\nperinatal brain injury\n")
    assert res.exit_code == 0, res.stderr
    assert [r["disease_id"] for r in csv.DictReader(io.StringIO(res.stdout))] == [
        "knee-osteoarthritis", "perinatal-brain-injury"]


@pytest.mark.parametrize("args,stdin,msg", [
    (["batch", "NO-SUCH-FILE.txt"], None, "msc-ev: cannot read input NO-SUCH-FILE.txt"),
    (["batch", "-", "--input-format", "csv"], "name\nknee oa\n", "msc-ev: standard input: no 'disease' column"),
    (["batch", "-", "--input-format", "yaml"], "a: [", "msc-ev: standard input: not valid YAML"),
    (["batch", "-", "--exclude-source", "nope"], "knee oa\n", "msc-ev: unknown source for --exclude-source"),
    (["batch", "-", "--resume"], "knee oa\n", "msc-ev: --resume needs an output file"),
])
def test_cli_usage_errors_exit_2(runner, args, stdin, msg):
    res = runner.invoke(cli.app, args, input=stdin)
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(msg), res.stderr


def test_every_format_states_the_disclaimer(runner):
    for fmt in B.FORMATS:
        res = runner.invoke(cli.app, ["batch", "-", "-f", fmt], input="knee oa\n")
        assert res.exit_code == 0, (fmt, res.stderr)
        assert advisor.DISCLAIMER in res.stdout, fmt
    obj = json.loads(runner.invoke(cli.app, ["batch", "-", "-f", "json"], input="knee oa\nAD\n").stdout)
    assert list(obj) == ["rows", "summary", "constraints", "top", "disclaimer"]
    assert obj["summary"] == {"rows": 2, "ok": 1, "unknown": 0, "ambiguous": 1, "error": 0}
    md = runner.invoke(cli.app, ["batch", "-", "-f", "markdown"], input="knee oa\n").stdout
    assert "| 1 | knee oa | ok | `knee-osteoarthritis` Knee osteoarthritis | synonym |" in md


def test_jobs_2_is_byte_identical_to_jobs_1(runner, tmp_path):
    names = ["perinatal brain injury", "AD", "knee oa", "multiple sclerosis", "xyzzy-not-a-disease",
             "acute kidney injury", "osteoarthritis", "GVHD"] * 3
    p = tmp_path / "in.txt"
    p.write_text("\n".join(names) + "\n")
    outs = {}
    for jobs in ("1", "2"):
        o = tmp_path / f"out{jobs}.json"
        res = runner.invoke(cli.app, ["batch", str(p), "-f", "json", "-o", str(o), "--jobs", jobs])
        assert res.exit_code == 1, res.stderr
        outs[jobs] = o.read_bytes()
    assert outs["1"] == outs["2"]
    assert [r["input"] for r in json.loads(outs["2"])["rows"]] == names


# ------------------------------------------------------------------------------ nothing is lost


def _boom_after(monkeypatch, n):
    real = B.Writer.row
    seen = []

    def row(self, r):
        seen.append(r["row"])
        if len(seen) > n:
            raise RuntimeError("disk on fire")
        return real(self, r)

    monkeypatch.setattr(B.Writer, "row", row)


@pytest.mark.parametrize("existing", [None, "OLD CONTENT\n"])
def test_atomic_write_leaves_target_untouched_on_failure(kb, tmp_path, monkeypatch, existing):
    target = tmp_path / "out.csv"
    if existing is not None:
        target.write_text(existing)
    items = B.parse_text("knee oa\nperinatal brain injury\nmultiple sclerosis\n")
    _boom_after(monkeypatch, 1)
    with pytest.raises(RuntimeError, match="disk on fire"):
        B.run(kb, items, [], fmt="csv", output=str(target))
    if existing is None:
        assert not target.exists()
    else:
        assert target.read_text() == existing
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out.csv.part"] + (["out.csv"] if existing else []))  # no temp file left behind
    journal = [json.loads(line) for line in (tmp_path / "out.csv.part").read_text().splitlines()]
    assert [r["input"] for r in journal] == ["knee oa", "perinatal brain injury", "multiple sclerosis"]


def test_file_output_is_complete_and_journal_removed(kb, tmp_path):
    target = tmp_path / "out.jsonl"
    items = B.parse_text("knee oa\nAD\n")
    outcome = B.run(kb, items, [], fmt="jsonl", output=str(target))
    assert [json.loads(line)["status"] for line in target.read_text().splitlines()] == ["ok", "ambiguous"]
    assert not (tmp_path / "out.jsonl.part").exists()
    assert outcome.counts["rows"] == 2 and outcome.resumed == 0
    um = os.umask(0)
    os.umask(um)
    assert target.stat().st_mode & 0o777 == 0o666 & ~um  # not mkstemp's 0600


def test_resume_after_interruption_skips_done_rows(kb, tmp_path, counting):
    names = ["knee oa", "perinatal brain injury", "AD", "multiple sclerosis", "osteoarthritis"]
    items = B.parse_text("\n".join(names))
    full = tmp_path / "full.jsonl"
    B.run(kb, items, [], fmt="jsonl", output=str(full))
    assert len(counting) == 5
    lines = full.read_text().splitlines(keepends=True)
    # an interrupted run: two rows journalled, the third half written
    target = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.part").write_text("".join(lines[:2]) + lines[2][:40])
    counting.clear()
    outcome = B.run(kb, items, [], fmt="jsonl", output=str(target), resume=True)
    assert counting == ["AD", "multiple sclerosis", "osteoarthritis"]
    assert outcome.resumed == 2
    assert outcome.counts == {"rows": 5, "ok": 4, "unknown": 0, "ambiguous": 1, "error": 0}
    assert target.read_bytes() == full.read_bytes()
    assert not (tmp_path / "out.jsonl.part").exists()


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_resume_on_complete_output_does_nothing(kb, tmp_path, counting, fmt):
    items = B.parse_text("knee oa\nAD\n")
    target = tmp_path / f"out.{fmt}"
    B.run(kb, items, [], fmt=fmt, output=str(target))
    before = target.read_bytes()
    counting.clear()
    outcome = B.run(kb, items, [], fmt=fmt, output=str(target), resume=True)
    assert counting == []
    assert outcome.resumed == 2 and outcome.failed
    assert target.read_bytes() == before


def test_resume_with_grown_input_scores_only_new_rows(kb, tmp_path, counting):
    target = tmp_path / "out.csv"
    B.run(kb, B.parse_text("knee oa\n"), [], fmt="csv", output=str(target))
    counting.clear()
    B.run(kb, B.parse_text("knee oa\nperinatal brain injury\n"), [], fmt="csv", output=str(target), resume=True)
    assert counting == ["perinatal brain injury"]
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["row"], r["disease_id"]) for r in rows] == [("1", "knee-osteoarthritis"),
                                                           ("2", "perinatal-brain-injury")]


def test_resume_refuses_output_of_another_input(kb, tmp_path):
    target = tmp_path / "out.jsonl"
    B.run(kb, B.parse_text("knee oa\n"), [], fmt="jsonl", output=str(target))
    with pytest.raises(advisor.UsageError, match="row 1 holds 'knee oa' but input row 1 is 'AD'"):
        B.run(kb, B.parse_text("AD\n"), [], fmt="jsonl", output=str(target), resume=True)


def test_cli_resume_counts_resumed_rows(runner, tmp_path):
    p = tmp_path / "in.txt"
    p.write_text("knee oa\nperinatal brain injury\n")
    o = tmp_path / "out.csv"
    assert runner.invoke(cli.app, ["batch", str(p), "-o", str(o)]).exit_code == 0
    res = runner.invoke(cli.app, ["batch", str(p), "-o", str(o), "--resume"])
    assert res.exit_code == 0
    assert res.stderr.startswith("batch: 2 rows: 2 ok, 0 unknown, 0 ambiguous, 0 error (2 resumed) in ")


def test_jsonl_streams_row_by_row(kb, monkeypatch):
    buf = io.StringIO()
    seen = []
    real = B.consult

    def spy(kb_, text, constraints):
        seen.append(buf.getvalue().count("\n"))  # rows already written when this one starts
        return real(kb_, text, constraints)

    monkeypatch.setattr(B, "consult", spy)
    B.run(kb, B.parse_text("knee oa\nAD\nperinatal brain injury\n"), [], fmt="jsonl", stdout=buf)
    assert seen == [0, 1, 2]


def test_ctrl_c_stops_between_rows_and_keeps_finished_rows(kb, tmp_path, monkeypatch):
    import signal

    real = B.consult
    calls = []

    def interrupting(kb_, text, constraints):
        calls.append(text)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # arrives while this row is being scored
        return real(kb_, text, constraints)

    monkeypatch.setattr(B, "consult", interrupting)
    target = tmp_path / "out.csv"
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        B.run(kb, B.parse_text("knee oa\nperinatal brain injury\nmultiple sclerosis\n"), [], fmt="csv",
              output=str(target))
    assert calls == ["knee oa", "perinatal brain injury"]  # the row in progress finished, then it stopped
    assert not target.exists()
    journal = [json.loads(line) for line in (tmp_path / "out.csv.part").read_text().splitlines()]
    assert [(r["input"], r["status"]) for r in journal] == [("knee oa", "ok"), ("perinatal brain injury", "ok")]
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is back
