"""Batch scoring: inputs, outputs, statuses, exit codes, atomic writes, resume, jobs."""

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


def _journal_of(kb, lines, top=3):
    """A journal as an interrupted run leaves it: its header line (the options and knowledge of the
    run), then the row lines written so far."""
    header = B.journal_header(kb, advisor.Constraints(), top, None, [])
    return json.dumps(header, ensure_ascii=False, sort_keys=True) + "\n" + "".join(lines)


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
                                 "score": round(adv.recs["sources"][0].score, 3), "tier": 2,
                                 "level": adv.recs["sources"][0].level}
    assert row["level"] == "in-vivo"  # the top source's, from evidence for this disease
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
    assert rows[0]["sources"] == "; ".join(f"{r.id} T{r.tier} {r.score:.3f}" for r in ms.recs["sources"])
    assert rows[1]["sources"] == "; ".join(f"{r.id} T{r.tier} {r.score:.3f}" for r in ms_ex.recs["sources"])
    assert {"bm-msc", "uc-msc"} <= {r.id for r in ms.recs["sources"]}
    assert not {"bm-msc", "uc-msc", "wj-msc"} & {s.split()[0] for s in rows[1]["sources"].split("; ")}
    assert rows[2]["message"] == "clinical_only must be true or false, got 'maybe'"
    assert rows[3]["message"].startswith("unknown population for --population: 'martian'")
    assert rows[4]["message"] == "empty 'disease' cell"
    assert all(r["disclaimer"] == advisor.DISCLAIMER for r in rows)
    assert list(rows[0])[:3] == ["row", "input", "id"] and list(rows[0])[-1] == "disclaimer"


def _two_item_row():
    row = B._blank(B.Item(1, "some disease"), "ok", "")
    row.update(disease_id="some-disease", disease_name="Some disease", matched_by="exact", level="in-vivo",
               sources=[{"rank": 1, "id": "uc-msc", "name": "Umbilical cord MSC", "score": 0.8941, "tier": 2,
                         "level": "in-vivo"},
                        {"rank": 2, "id": "bm-msc", "name": "Bone marrow MSC", "score": 0.959, "tier": 3,
                         "level": "in-vitro"}])
    return row


@pytest.mark.parametrize("fmt", ["csv", "tsv", "markdown"])
def test_text_formats_write_each_item_with_its_tier_next_to_its_score(fmt):
    # the tier orders before the score does, so a text cell shows both: a lower score above a higher one
    buf = io.StringIO()
    B.Writer(fmt, buf, [], advisor.Constraints(), 2).write_all([_two_item_row()])
    assert "uc-msc T2 0.894; bm-msc T3 0.959" in buf.getvalue()
    if fmt != "markdown":
        rows = list(csv.DictReader(io.StringIO(buf.getvalue()), delimiter="," if fmt == "csv" else "\t"))
        assert (rows[0]["sources"], rows[0]["routes"]) == ("uc-msc T2 0.894; bm-msc T3 0.959", "")


def test_jsonl_keeps_the_structured_fields():
    buf = io.StringIO()
    B.Writer("jsonl", buf, [], advisor.Constraints(), 2).write_all([_two_item_row()])
    line = json.loads(buf.getvalue())
    assert line["sources"][1] == {"rank": 2, "id": "bm-msc", "name": "Bone marrow MSC", "score": 0.959, "tier": 3,
                                  "level": "in-vitro"}


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
    journal = B.read_journal(tmp_path / "out.csv.part")
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
    (tmp_path / "out.jsonl.part").write_text(_journal_of(kb, lines[:2]) + lines[2][:40])
    counting.clear()
    outcome = B.run(kb, items, [], fmt="jsonl", output=str(target), resume=True)
    assert counting == ["AD", "multiple sclerosis", "osteoarthritis"]
    assert outcome.resumed == 2
    assert outcome.counts == {"rows": 5, "ok": 4, "unknown": 0, "ambiguous": 1, "error": 0}
    assert target.read_bytes() == full.read_bytes()
    assert not (tmp_path / "out.jsonl.part").exists()


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_resume_on_a_finished_output_scores_every_row_again(kb, tmp_path, counting, fmt):
    """A finished output records neither the options nor the knowledge of its run: it cannot be
    checked, so nothing is taken from it."""
    items = B.parse_text("knee oa\nAD\n")
    target = tmp_path / f"out.{fmt}"
    B.run(kb, items, [], fmt=fmt, output=str(target))
    before = target.read_bytes()
    counting.clear()
    notices = []
    outcome = B.run(kb, items, [], fmt=fmt, output=str(target), resume=True, notice=notices.append)
    assert counting == ["knee oa", "AD"]
    assert notices == [f"--resume: no journal out.{fmt}.part (the run finished); scoring every row again"]
    assert outcome.resumed == 0 and outcome.failed
    assert target.read_bytes() == before


def test_resume_with_grown_input_scores_only_new_rows(kb, tmp_path, counting):
    target = tmp_path / "out.csv"
    B.run(kb, B.parse_text("knee oa\n"), [], fmt="jsonl", output=str(tmp_path / "first.jsonl"))
    (tmp_path / "out.csv.part").write_text(_journal_of(kb, [(tmp_path / "first.jsonl").read_text()]))
    counting.clear()
    B.run(kb, B.parse_text("knee oa\nperinatal brain injury\n"), [], fmt="csv", output=str(target), resume=True)
    assert counting == ["perinatal brain injury"]
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["row"], r["disease_id"]) for r in rows] == [("1", "knee-osteoarthritis"),
                                                           ("2", "perinatal-brain-injury")]


def test_resume_refuses_output_of_another_input(kb, tmp_path):
    target = tmp_path / "out.jsonl"
    B.run(kb, B.parse_text("knee oa\n"), [], fmt="jsonl", output=str(target))
    (tmp_path / "out.jsonl.part").write_text(_journal_of(kb, [target.read_text()]))
    with pytest.raises(advisor.UsageError, match="row 1 holds 'knee oa' but input row 1 is 'AD'"):
        B.run(kb, B.parse_text("AD\n"), [], fmt="jsonl", output=str(target), resume=True)


def test_cli_resume_counts_resumed_rows(runner, tmp_path, kb):
    p = tmp_path / "in.txt"
    p.write_text("knee oa\nperinatal brain injury\n")
    o = tmp_path / "out.csv"
    assert runner.invoke(cli.app, ["batch", str(p), "-o", str(tmp_path / "rows.jsonl")]).exit_code == 0
    (tmp_path / "out.csv.part").write_text(_journal_of(kb, [(tmp_path / "rows.jsonl").read_text()]))
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
    journal = B.read_journal(tmp_path / "out.csv.part")
    assert [(r["input"], r["status"]) for r in journal] == [("knee oa", "ok"), ("perinatal brain injury", "ok")]
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is back


# ------------------------------------------------------------------------------ hostile input


def _cli_error(res, code=2):
    """One message line on stderr, nothing on stdout, the exit code, no traceback."""
    assert res.exit_code == code, (res.exit_code, res.stderr, res.exception)
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), res.exception
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_output_to_a_directory_is_refused_before_scoring(runner, tmp_path, counting):
    p = tmp_path / "in.txt"
    p.write_text("knee oa\nAD\n")
    msg = _cli_error(runner.invoke(cli.app, ["batch", str(p), "-o", str(tmp_path)]))
    assert msg == f"msc-ev: cannot write {tmp_path}: it is a directory; give a file name (-o DIR/out.csv)"
    assert counting == []  # not one row scored
    assert sorted(x.name for x in tmp_path.iterdir()) == ["in.txt"]


def test_output_to_an_unwritable_place_is_refused_before_scoring(runner, tmp_path, counting):
    p = tmp_path / "in.txt"
    p.write_text("knee oa\n")
    msg = _cli_error(runner.invoke(cli.app, ["batch", str(p), "-o", "/proc/msc-ev-out.csv"]))
    assert msg == "msc-ev: cannot write /proc/msc-ev-out.csv: no file can be created in /proc (No such file or directory)"
    msg = _cli_error(runner.invoke(cli.app, ["batch", str(p), "-o", str(tmp_path / "no" / "out.csv")]))
    assert msg == f"msc-ev: cannot write {tmp_path / 'no' / 'out.csv'}: directory {tmp_path / 'no'} does not exist"
    assert counting == []


@pytest.mark.parametrize("name,text,where", [
    ("deep.json", "[" * 100_000 + "]" * 100_000, "deep.json:1:33"),
    ("deep.yaml", "- " * 40 + "x\n", "deep.yaml:1:65"),
    ("flow.yaml", "[" * 100_000 + "]" * 100_000, "flow.yaml:1:1001"),
])
def test_deeply_nested_input_is_one_message(runner, tmp_path, monkeypatch, name, text, where):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    msg = _cli_error(runner.invoke(cli.app, ["batch", name]))
    assert msg == f"msc-ev: {where}: nested deeper than 32 levels (limit MAX_DEPTH = 32)"


LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))


def test_billion_laughs_input_is_one_message(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lol.yaml").write_text(LAUGHS)
    msg = _cli_error(runner.invoke(cli.app, ["batch", "lol.yaml"]))
    assert msg == ("msc-ev: lol.yaml:7:12: more than 1,000,000 nodes once aliases are expanded "
                   "(limit MAX_NODES = 1,000,000)")
    (tmp_path / "many.yaml").write_text("- &x knee oa\n" + "- *x\n" * 101)
    msg = _cli_error(runner.invoke(cli.app, ["batch", "many.yaml"]))
    assert msg == "msc-ev: many.yaml:102:3: more than 100 alias uses (limit MAX_ALIASES = 100)"


def test_dev_zero_is_refused_by_size_before_parsing(runner):
    import time

    t = time.perf_counter()
    msg = _cli_error(runner.invoke(cli.app, ["batch", "/dev/zero"]))
    assert msg == "msc-ev: /dev/zero: larger than 33,554,432 bytes (limit MAX_INPUT_BYTES = 33,554,432)"
    assert time.perf_counter() - t < 10


def test_long_line_and_row_limits_name_the_place(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "long.txt").write_text("knee oa\n" + "x" * 20_000 + "\n")
    assert _cli_error(runner.invoke(cli.app, ["batch", "long.txt"])) == (
        "msc-ev: long.txt:2: line longer than 16,384 characters (limit MAX_LINE_CHARS = 16,384)")
    (tmp_path / "wide.csv").write_text("disease,note\nknee oa,\"" + "y\n" * 9000 + "\"\n")
    assert _cli_error(runner.invoke(cli.app, ["batch", "wide.csv"])) == (
        "msc-ev: wide.csv:9002: row longer than 16,384 characters (limit MAX_ROW_CHARS = 16,384)")
    (tmp_path / "bad.txt").write_bytes(b"knee oa\nAD\nGV\xffHD\n")
    assert _cli_error(runner.invoke(cli.app, ["batch", "bad.txt"])) == (
        "msc-ev: bad.txt:3:3: not UTF-8 text (byte 0xff: invalid start byte)")


def test_overlong_disease_text_is_an_error_row_and_the_batch_goes_on(runner):
    res = runner.invoke(cli.app, ["batch", "-", "-f", "jsonl"], input="knee oa\n" + "brain " * 100 + "\nAD\n")
    assert res.exit_code == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["ok", "error", "ambiguous"]
    assert rows[1]["message"] == "input: text of 599 characters is too long (limit MAX_QUERY_CHARS = 200)"


def test_repeated_and_overlong_constraint_values(runner):
    res = runner.invoke(cli.app, ["batch", "-", "-f", "jsonl", "--input-format", "csv"],
                        input="disease,exclude_source\nknee oa,bm-msc;bm-msc\n")
    assert res.exit_code == 0, res.stderr  # a repeated id counts once
    msg = _cli_error(runner.invoke(cli.app, ["batch", "-", "--exclude-source", "z" * 10_000], input="knee oa\n"))
    assert msg == ("msc-ev: --exclude-source: value 'zzzzzzzzzzzzzzzzzzzz'... (10,000 characters) is too long "
                   "(limit MAX_CONSTRAINT_CHARS = 64)")


# ------------------------------------------------------------------------------ streaming and resume


def _rss_peak_mb(fn):
    """Peak resident memory (MB) of this process while fn() runs (VmHWM, reset through clear_refs)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    fn()
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_memory_is_flat_in_the_number_of_rows(kb, tmp_path, monkeypatch, fmt):
    # the streaming machinery, not the engine: the per-row scorer is a cheap stand-in
    def cheap(kb_, item, base, top=3):
        row = B._blank(item, "ok", "")
        row.update(disease_id="knee-osteoarthritis", disease_name="Knee osteoarthritis", matched_by="exact",
                   sources=[{"rank": 1, "id": "bm-msc", "name": "Bone marrow MSC", "score": 0.5, "tier": 2,
                            "level": "in-vivo"}])
        return row

    monkeypatch.setattr(B, "score_item", cheap)
    peaks = {}
    for n in (1_000, 100_000):
        src = tmp_path / f"in{n}.txt"
        src.write_text("".join(f"disease number {i}\n" for i in range(n)))
        out = tmp_path / f"out{n}.{fmt}"

        def go():
            items, carried = B.read_input(str(src))
            outcome = B.run(kb, items, carried, fmt=fmt, output=str(out))
            assert outcome.counts["rows"] == n and outcome.rows == []

        peaks[n] = _rss_peak_mb(go)
    assert peaks[100_000] - peaks[1_000] < 50, peaks
    if fmt == "csv":
        with open(tmp_path / "out100000.csv") as fh:
            assert sum(1 for _ in fh) == 100_001
    else:
        assert len(json.loads((tmp_path / "out100000.json").read_text())["rows"]) == 100_000


def test_rows_are_written_as_they_complete_to_a_file(kb, tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    journal = tmp_path / "out.csv.part"
    seen = []
    real = B.consult

    def spy(kb_, text, constraints):
        seen.append(len(B.read_journal(journal)) if journal.exists() else None)
        return real(kb_, text, constraints)

    monkeypatch.setattr(B, "consult", spy)
    B.run(kb, B.parse_text("knee oa\nAD\nperinatal brain injury\n"), [], fmt="csv", output=str(target))
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("resume", [True, False])
def test_a_leftover_temporary_file_is_removed(runner, tmp_path, resume):
    p = tmp_path / "in.txt"
    p.write_text("knee oa\n")
    o = tmp_path / "out.csv"
    (tmp_path / ".out.csv.tmp").write_text("half a final write")  # a kill during the final write
    res = runner.invoke(cli.app, ["batch", str(p), "-o", str(o)] + (["--resume"] if resume else []))
    assert res.exit_code == 0, res.stderr
    assert res.stderr.splitlines()[0] == "msc-ev: removed .out.csv.tmp, left by an interrupted final write"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["in.txt", "out.csv"]


def test_resume_appends_to_the_journal_after_a_torn_line(kb, tmp_path, counting):
    items = B.parse_text("knee oa\nAD\nperinatal brain injury\n")
    full = tmp_path / "full.jsonl"
    B.run(kb, items, [], fmt="jsonl", output=str(full))
    lines = full.read_text().splitlines(keepends=True)
    target = tmp_path / "out.jsonl"
    journal = tmp_path / "out.jsonl.part"
    journal.write_text(_journal_of(kb, lines[:1]) + lines[1][:25])
    counting.clear()
    B.run(kb, items, [], fmt="jsonl", output=str(target), resume=True)
    assert counting == ["AD", "perinatal brain injury"]
    assert target.read_bytes() == full.read_bytes()


# ------------------------------------------------------------------------------ workers that die


def _abort_on_poison(state, item):
    """A worker scorer that crashes the process the way the engine does (SIGABRT) on one row."""
    if item.text == "poison":
        os.abort()
    return B._worker_score(state, item)


def test_a_worker_that_dies_is_an_error_row_and_the_batch_goes_on(kb, tmp_path):
    names = ["knee oa", "poison", "AD", "perinatal brain injury", "poison", "multiple sclerosis", "knee oa"]
    items = B.parse_text("\n".join(names))
    target = tmp_path / "out.jsonl"
    outcome = B.run(kb, items, [], fmt="jsonl", output=str(target), jobs=2,
                    worker=(B._worker_init, _abort_on_poison))
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["row"], r["input"], r["status"]) for r in rows] == [
        (1, "knee oa", "ok"), (2, "poison", "error"), (3, "AD", "ambiguous"), (4, "perinatal brain injury", "ok"),
        (5, "poison", "error"), (6, "multiple sclerosis", "ok"), (7, "knee oa", "ok")]
    assert rows[1]["message"] == "worker process died (SIGABRT) while scoring this row; the batch went on"
    assert outcome.counts == {"rows": 7, "ok": 4, "unknown": 0, "ambiguous": 1, "error": 2}


def test_a_death_mid_chunk_blames_the_row_it_was_on_and_scores_the_rest(kb, tmp_path):
    # 40 rows: a chunk holds 16, so the poisoned rows fall first, inside and last in their chunks;
    # the rows a worker finished before dying (their results not yet sent) are scored again
    names = ["knee oa"] * 40
    for i in (0, 16, 17, 30, 39):
        names[i] = "poison"
    items = B.parse_text("\n".join(names))
    target = tmp_path / "out.jsonl"
    outcome = B.run(kb, items, [], fmt="jsonl", output=str(target), jobs=2,
                    worker=(B._worker_init, _abort_on_poison))
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["row"] for r in rows] == list(range(1, 41))
    assert [r["row"] for r in rows if r["status"] == "error"] == [1, 17, 18, 31, 40]
    assert {r["status"] for r in rows if r["input"] == "knee oa"} == {"ok"}
    assert outcome.counts == {"rows": 40, "ok": 35, "unknown": 0, "ambiguous": 0, "error": 5}


_MAIN_SCRIPT = """\
import sys
from msc_ev.cli import main  # as the msc-ev console script does
if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    import probe
    from msc_ev import advisor
    from msc_ev.advisor import batch as B
    kb = advisor.load_kb()
    rows = B.run(kb, B.parse_text("knee oa\\nAD\\n"), [], fmt="jsonl", stdout=sys.stdout, jobs=2,
                 worker=(B._worker_init, probe.score), collect=True).rows
"""

_PROBE = """\
import sys
def score(state, item):
    return {"row": item.row, "input": item.text, "columns": {}, "status": "ok", "disease_id": None,
            "disease_name": None, "matched_by": None, "level": None, "sources": [], "routes": [],
            "engineering": [], "citations": [], "cautions": [],
            "message": "terminal imported" if "msc_ev.cli" in sys.modules or "typer" in sys.modules else "library only"}
"""


def test_workers_do_not_import_the_terminal_again(tmp_path):
    # spawn re-runs the parent's main module in each child unless told not to: for msc-ev that is
    # Typer, Rich and every command, about 0.1 s of CPU per worker
    import subprocess
    import sys

    (tmp_path / "main.py").write_text(_MAIN_SCRIPT)
    (tmp_path / "probe.py").write_text(_PROBE)
    done = subprocess.run([sys.executable, str(tmp_path / "main.py"), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["row"], r["message"]) for r in rows] == [(1, "library only"), (2, "library only")]


# ------------------------------------------------------------------------------ signals

SLOW_NAMES = ["perinatal brain injury", "multiple sclerosis", "knee oa", "acute kidney injury", "AD",
              "osteoarthritis", "GVHD", "xyzzy-not-a-disease"]


@pytest.mark.parametrize("sig,code,word", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")])
def test_signal_ends_workers_quietly_and_the_output_resumes(tmp_path, sig, code, word):
    import signal
    import subprocess
    import sys
    import time

    names = SLOW_NAMES * 25  # 200 rows: seconds of work, so the signal lands mid-run
    src = tmp_path / "in.txt"
    src.write_text("\n".join(names) + "\n")
    out = tmp_path / "out.csv"
    journal = tmp_path / "out.csv.part"
    cmd = [sys.executable, "-c", "from msc_ev.cli import main; main()", "batch", str(src), "-o", str(out),
           "--jobs", "2"]
    env = {**os.environ, "PYTHONWARNINGS": "default"}  # a leaked-semaphore or resource warning would show
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count("\n") >= 4:  # the header line and 3 rows
            break
        time.sleep(0.01)
    proc.send_signal(getattr(signal, sig))
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert stdout == ""
    assert stderr == f"msc-ev: {word}; finished rows are in {journal}: run again with --resume\n"
    assert not out.exists()
    done = len(B.read_journal(journal))
    assert 3 <= done < len(names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.csv.part"]
    res = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 1, res.stderr
    assert res.stderr.startswith(f"batch: 200 rows: 150 ok, 25 unknown, 25 ambiguous, 0 error ({done} resumed) in ")
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(int(r["row"]), r["input"]) for r in rows] == list(enumerate(names, 1))
    assert not journal.exists()


@pytest.mark.parametrize("after", [0.05, 0.1])  # seconds after the journal opens: workers are importing
def test_ctrl_c_to_the_process_group_while_workers_start_is_quiet(tmp_path, after):
    """A terminal's Ctrl-C reaches every process of the group, workers still importing included."""
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "in.txt"
    src.write_text("\n".join(SLOW_NAMES * 10) + "\n")
    out = tmp_path / "out.csv"
    journal = tmp_path / "out.csv.part"
    proc = subprocess.Popen([sys.executable, "-c", "from msc_ev.cli import main; main()", "batch", str(src),
                             "-o", str(out), "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not journal.exists() and time.monotonic() < deadline:  # the journal opens just before the workers
        time.sleep(0.002)
    time.sleep(after)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr == f"msc-ev: interrupted; finished rows are in {journal}: run again with --resume\n"


def test_resume_with_a_garbage_journal_rescores_from_the_first_bad_line(kb, tmp_path, counting):
    items = B.parse_text("knee oa\nAD\n")
    full = tmp_path / "full.jsonl"
    B.run(kb, items, [], fmt="jsonl", output=str(full))
    first = full.read_text().splitlines(keepends=True)[0]
    target = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.part").write_text(_journal_of(kb, [first]) + "[" * 100_000 + "\n" + "x" * 2_000_000)
    counting.clear()
    outcome = B.run(kb, items, [], fmt="jsonl", output=str(target), resume=True)
    assert counting == ["AD"] and outcome.resumed == 1
    assert target.read_bytes() == full.read_bytes()
