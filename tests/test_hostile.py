"""What a hostile user tried, run as real commands on real FIFOs, device nodes, symbolic links,
read-only files, a full device, a closed or broken standard output and odd terminal settings.

Each case checks the exact line on standard error, the exit code, and that the target, the input or
the file a link names is left as it was. "Read-only" means a file whose mode has no write bit:
root may write anything, so for root that is the only meaning it can have (the CLI refuses such a
target for every user; for others the system's own permission check applies too).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from msc_ev import advisor
from msc_ev.advisor import batch as B
from msc_ev.advisor import batch_pool

CLI = [sys.executable, "-c", "from msc_ev.cli import main; main()"]
DISCLAIMER = advisor.DISCLAIMER
FIFO_HINT = "it is a FIFO (named pipe), not a regular file; write to standard output instead (no -o, or -o -)"


def run(args, cwd, *, stdin=None, env=None, timeout=120, **kw):
    e = {**os.environ, "COLUMNS": "100", **(env or {})}
    e.pop("MSC_EV_NO_FAST", None)
    capture = kw.pop("capture", True)
    return subprocess.run([*CLI, *args], cwd=cwd, input=stdin, capture_output=capture, env=e, timeout=timeout, **kw)


def one_line(res, code: int) -> str:
    """The only line on standard error (no traceback), after checking the exit code."""
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == code, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------------------------------ targets

WRITERS = [
    (["advise", "asthma", "-f", "json", "-o", "{t}"]),
    (["advise", "asthma", "-f", "markdown", "-o", "{t}"]),
    (["advise", "asthma", "-o", "{t}"]),
    (["kb", "dump", "-o", "{t}"]),
    (["cite", "cai2020:1", "-f", "ris", "-o", "{t}"]),
    (["explain", "asthma", "-f", "html", "-o", "{t}"]),
    (["batch", "in.txt", "-o", "{t}"]),
]


def _args(row, target):
    return [a.replace("{t}", str(target)) for a in row]


@pytest.fixture
def place(tmp_path):
    (tmp_path / "in.txt").write_text("asthma\nknee oa\n")
    return tmp_path


@pytest.mark.parametrize("row", WRITERS, ids=[" ".join(r[:2]) + (" " + r[3] if len(r) > 4 else "") for r in WRITERS])
def test_a_fifo_target_is_refused_and_stays_a_fifo(place, row):
    fifo = place / "pipe"
    os.mkfifo(fifo)
    res = run(_args(row, "pipe"), place, timeout=60)  # writing to it would block: the timeout would fire
    assert one_line(res, 2) == f"msc-ev: cannot write pipe: {FIFO_HINT}"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert res.stdout == b""


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
@pytest.mark.parametrize("row", WRITERS[:1] + WRITERS[3:], ids=["advise", "kb dump", "cite", "explain html", "batch"])
def test_a_device_target_is_refused_and_stays_a_device(place, row):
    # a private copy of /dev/full (major 1, minor 7): a regression replaces it, not the system's
    node = place / "full"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    res = run(_args(row, "full"), place)
    assert one_line(res, 2) == ("msc-ev: cannot write full: it is a character device, not a regular file; "
                                "write to standard output instead (no -o, or -o -)")
    st = os.lstat(node)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 7)


def test_links_to_a_fifo_to_nothing_and_a_directory_are_refused(place):
    os.mkfifo(place / "pipe")
    (place / "to-pipe").symlink_to("pipe")
    (place / "to-nothing").symlink_to("missing.json")
    res = run(["advise", "asthma", "-f", "json", "-o", "to-pipe"], place, timeout=60)
    assert one_line(res, 2) == ("msc-ev: cannot write to-pipe: it is a symbolic link to a FIFO (named pipe); "
                                "write to standard output instead (no -o, or -o -)")
    res = run(["advise", "asthma", "-f", "json", "-o", "to-nothing"], place)
    assert one_line(res, 2) == "msc-ev: cannot write to-nothing: it is a symbolic link to a missing file"
    assert not (place / "missing.json").exists()
    res = run(["kb", "dump", "-o", str(place)], place)
    assert one_line(res, 2) == f"msc-ev: cannot write {place}: it is a directory; give a file name (-o DIR/out.csv)"


def test_a_link_to_a_regular_file_replaces_that_file_and_keeps_the_link(place):
    (place / "real.json").write_text("old\n")
    os.chmod(place / "real.json", 0o640)
    (place / "link.json").symlink_to("real.json")
    res = run(["advise", "asthma", "-f", "json", "-o", "link.json"], place)
    assert res.returncode == 0 and res.stderr == b""
    assert (place / "link.json").is_symlink()
    assert json.loads((place / "real.json").read_text())["query"]["disease"]["id"] == "asthma"
    assert stat.S_IMODE(os.stat(place / "real.json").st_mode) == 0o640


@pytest.mark.parametrize("row", WRITERS, ids=[" ".join(r[:2]) + (" " + r[3] if len(r) > 4 else "") for r in WRITERS])
def test_a_read_only_target_is_refused_and_left_alone(place, row):
    ro = place / "ro.out"
    ro.write_text("keep me\n")
    os.chmod(ro, 0o444)
    res = run(_args(row, "ro.out"), place)
    assert one_line(res, 2) == "msc-ev: cannot write ro.out: it is read-only (mode 0444)"
    assert ro.read_text() == "keep me\n" and stat.S_IMODE(ro.stat().st_mode) == 0o444


@pytest.mark.parametrize("row", WRITERS, ids=[" ".join(r[:2]) + (" " + r[3] if len(r) > 4 else "") for r in WRITERS])
def test_an_existing_file_keeps_its_mode_and_a_new_one_gets_the_umask(place, row):
    old = place / "old.out"
    old.write_text("previous\n")
    os.chmod(old, 0o604)
    res = run(_args(row, "old.out"), place, preexec_fn=lambda: os.umask(0o077))
    assert res.returncode in (0, 1), res.stderr
    assert old.read_text() != "previous\n"
    assert stat.S_IMODE(old.stat().st_mode) == 0o604
    res = run(_args(row, "new.out"), place, preexec_fn=lambda: os.umask(0o027))
    assert res.returncode in (0, 1), res.stderr
    assert stat.S_IMODE((place / "new.out").stat().st_mode) == 0o640  # 0666 & ~027, not 0600 nor 0644
    left = sorted(p.name for p in place.iterdir())
    assert left == ["in.txt", "new.out", "old.out"]  # no temporary or probe file left behind


@pytest.mark.parametrize("where,why", [("/proc", "No such file or directory"), ("/sys", "Permission denied")])
def test_explain_html_into_proc_or_sys_is_one_line(place, where, why):
    if not os.path.isdir(where):
        pytest.skip(f"no {where}")
    res = run(["explain", "asthma", "-f", "html", "-o", f"{where}/p.html"], place)
    line = one_line(res, 2)
    assert line.startswith(f"msc-ev: cannot write {where}/p.html: no file can be created in {where} (")
    if os.geteuid() == 0:
        assert line.endswith(f"({why})")


def test_batch_refuses_to_write_over_its_input(place):
    before = (place / "in.txt").read_bytes()
    res = run(["batch", "in.txt", "-o", "in.txt"], place)
    assert one_line(res, 2) == "msc-ev: cannot write in.txt: it is the input file; give another output name"
    (place / "alias.txt").symlink_to("in.txt")
    res = run(["batch", "alias.txt", "-o", "in.txt"], place)  # the same file under another name
    assert one_line(res, 2) == "msc-ev: cannot write in.txt: it is the input file; give another output name"
    assert (place / "in.txt").read_bytes() == before
    os.link(place / "in.txt", place / "out.part")  # the journal would be the input
    res = run(["batch", "in.txt", "-o", "out", "--resume"], place)
    assert one_line(res, 2) == "msc-ev: cannot use the journal out.part: it is the input file; give another output name"
    assert (place / "in.txt").read_bytes() == before


def test_the_journal_never_follows_a_link_nor_waits_on_a_fifo(place):
    (place / "victim").write_text("precious\n")
    (place / "out.csv.part").symlink_to("victim")
    for extra in ([], ["--resume"]):
        res = run(["batch", "in.txt", "-o", "out.csv", *extra], place)
        assert one_line(res, 2) == "msc-ev: cannot use the journal out.csv.part: it is a symbolic link; remove it"
    assert (place / "victim").read_text() == "precious\n"
    (place / "out.csv.part").unlink()
    os.mkfifo(place / "out.csv.part")
    t0 = time.monotonic()
    res = run(["batch", "in.txt", "-o", "out.csv"], place, timeout=60)
    assert one_line(res, 2) == ("msc-ev: cannot use the journal out.csv.part: it is a FIFO (named pipe), not a "
                                "regular file; remove it")
    assert time.monotonic() - t0 < 30
    (place / "out.csv.part").unlink()
    (place / "out.csv.part").mkdir()
    res = run(["batch", "in.txt", "-o", "out.csv", "--resume"], place)
    assert one_line(res, 2) == ("msc-ev: cannot use the journal out.csv.part: it is a directory, not a regular "
                                "file; remove it")
    assert not (place / "out.csv").exists()


def test_a_journal_opened_by_the_library_refuses_a_link_swapped_in_after_the_check(tmp_path):
    from msc_ev.advisor import fileio

    (tmp_path / "victim").write_text("precious\n")
    (tmp_path / "j.part").symlink_to("victim")
    with pytest.raises(fileio.OutputError, match=r"^cannot use j: it is a symbolic link; remove it$"):
        fileio.open_journal(tmp_path / "j.part", None, "j")
    assert (tmp_path / "victim").read_text() == "precious\n"


# ------------------------------------------------------------------------------------------ stdout

FULL = "/dev/full"
needs_full = pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full")


@needs_full
@pytest.mark.parametrize("args", [["advise", "asthma", "-f", "json"], ["advise", "asthma"],
                                  ["advise", "asthma", "-f", "markdown"], ["kb", "dump"], ["kb", "stats"],
                                  ["batch", "in.txt"], ["batch", "in.txt", "-f", "json"],
                                  ["cite", "asthma", "-f", "bibtex"], ["explain", "asthma", "-f", "mermaid"]])
def test_a_full_standard_output_is_one_line_and_exit_2(place, args):
    with open(FULL, "w") as full:
        res = run(args, place, stdout=full, stderr=subprocess.PIPE, capture=False)
    assert one_line(res, 2) == "msc-ev: cannot write to standard output: No space left on device"
    assert stat.S_ISCHR(os.stat(FULL).st_mode)


@pytest.mark.parametrize("args", [["advise", "asthma", "-f", "json"], ["advise", "asthma"], ["kb", "dump"],
                                  ["batch", "in.txt"], ["why", "asthma", "bm-msc"]])
def test_a_closed_standard_output_is_one_line_and_exit_2(place, args):
    res = run(args, place, stdout=None, stderr=subprocess.PIPE, capture=False, preexec_fn=lambda: os.close(1))
    assert one_line(res, 2) == "msc-ev: cannot write to standard output: it is closed"


def test_a_closed_standard_output_does_not_stop_a_file_output(place):
    res = run(["advise", "asthma", "-f", "json", "-o", "a.json"], place, stdout=None, stderr=subprocess.PIPE,
              capture=False, preexec_fn=lambda: os.close(1))
    assert (res.returncode, res.stderr) == (0, b"")
    assert json.loads((place / "a.json").read_text())["disclaimer"] == DISCLAIMER


def test_a_broken_pipe_is_one_line_and_exit_2(place):
    e = {**os.environ}
    proc = subprocess.Popen([*CLI, "kb", "dump"], cwd=place, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
    proc.stdout.close()  # the reader goes away before the megabyte of JSON is written
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 2
    assert err == "msc-ev: cannot write to standard output: Broken pipe\n"


def test_an_ascii_output_encoding_still_gives_the_whole_answer(place):
    wide = "ａｓｔｈｍａ"  # full-width letters
    utf8 = run(["advise", wide, "-f", "json"], place)
    ascii_ = run(["advise", wide, "-f", "json"], place, env={"PYTHONIOENCODING": "ascii"})
    assert (utf8.returncode, ascii_.returncode, ascii_.stderr) == (0, 0, b"")
    assert ascii_.stdout.isascii()
    assert json.loads(ascii_.stdout) == json.loads(utf8.stdout)  # the same content, JSON escapes instead
    assert json.loads(ascii_.stdout)["query"]["text"] == wide
    for args in (["advise", wide], ["advise", wide, "-f", "markdown"], ["why", wide, "bm-msc"], ["cite", wide],
                 ["batch", "-"]):
        res = run(args, place, stdin=wide.encode() + b"\n", env={"PYTHONIOENCODING": "ascii", "LANG": "C"})
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr.decode()
        words = DISCLAIMER.split()
        text = " ".join(res.stdout.decode("ascii").replace("|", " ").replace("_", " ").replace('"', " ").split())
        assert " ".join(words[-6:]) in text  # the last words of the disclaimer: nothing was cut off


def test_a_narrow_terminal_still_gets_every_column(place):
    wide = run(["advise", "asthma"], place, env={"COLUMNS": "80"})
    for cols in ("20", "1"):
        narrow = run(["advise", "asthma"], place, env={"COLUMNS": cols})
        assert narrow.returncode == 0
        assert narrow.stdout == wide.stdout  # drawn 80 columns wide, ids included
    assert b"bm-msc" in wide.stdout and b"intravenous" in wide.stdout


# ------------------------------------------------------------------------------------------ limits


def test_jobs_is_capped_at_the_cores_and_the_rows_before_any_worker_starts(kb, monkeypatch):
    import io

    started = []
    real = batch_pool.WorkerPool.__init__

    def spy(self, n, *a, **k):
        started.append(n)
        return real(self, n, *a, **k)

    monkeypatch.setattr(batch_pool.WorkerPool, "__init__", spy)
    cores = len(os.sched_getaffinity(0))
    t0 = time.monotonic()
    out = B.run(kb, B.parse_text("asthma\nknee oa\nAD\n"), [], jobs=100_000, fmt="jsonl", stdout=io.StringIO())
    assert started == [min(cores, 3)]
    assert out.counts == {"rows": 3, "ok": 2, "unknown": 0, "ambiguous": 1, "error": 0}
    assert time.monotonic() - t0 < 60
    started.clear()
    B.run(kb, B.parse_text("asthma\n"), [], jobs=1000, fmt="jsonl", stdout=io.StringIO())
    assert started == []  # one row: no worker process at all


BIG = "9" * 5000  # over Python's own 4,300-digit limit, which raises a ValueError


def test_numbers_longer_than_the_limit_are_one_line(place):
    (place / "big.yaml").write_text(f"- disease: asthma\n  x: {BIG}\n")
    (place / "big.json").write_text('[{"disease": "asthma", "x": ' + BIG + "}]")
    res = run(["batch", "big.yaml"], place)
    assert one_line(res, 2) == "msc-ev: big.yaml:2:6: a number of 5,000 characters (limit MAX_NUMBER_DIGITS = 100)"
    res = run(["batch", "big.json"], place)
    assert one_line(res, 2) == "msc-ev: big.json:1:29: a number of 5,000 digits (limit MAX_NUMBER_DIGITS = 100)"
    (place / "ov").mkdir()
    (place / "ov" / "w.yaml").write_text(f"weights:\n  model:\n    in-vivo: {BIG}\n")
    res = run(["--kb-extra", "ov", "advise", "asthma", "-f", "json"], place)
    assert res.returncode == 2 and "Traceback" not in res.stderr.decode()
    assert res.stderr.decode().splitlines() == [
        "msc-ev: knowledge base invalid: 1 error",
        "ov/w.yaml:3:14: yaml: a number of 5,000 characters (limit MAX_NUMBER_DIGITS = 100)"]
    for args, what in ((["kb", "show", f"cai2020:{BIG}"], "id"), (["cite", f"cai2020:{BIG}"], "reference")):
        line = one_line(run(args, place), 1)
        assert line == f"msc-ev: unknown {what}: 'cai2020:{BIG[:192]}'... (5,008 characters)"


# ------------------------------------------------------------------------------------------ silent wrong output


def _interrupted_journal(place, extra=()):
    """A journal left by a run stopped with SIGTERM after a few rows."""
    names = ["perinatal brain injury", "multiple sclerosis", "knee oa", "asthma", "AD", "osteoarthritis"] * 40
    (place / "many.txt").write_text("\n".join(names) + "\n")
    proc = subprocess.Popen([*CLI, "batch", "many.txt", "-o", "out.csv", *extra], cwd=place,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = place / "out.csv.part"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (journal.exists() and journal.read_text().count("\n") >= 3):
        time.sleep(0.01)
    proc.terminate()
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    return journal


def test_resume_refuses_a_journal_started_with_other_options_or_knowledge(place):
    journal = _interrupted_journal(place)
    before = journal.read_bytes()
    res = run(["batch", "many.txt", "-o", "out.csv", "--resume", "--top", "5"], place)
    assert one_line(res, 2) == ("msc-ev: --resume: out.csv.part was started with other options or knowledge: "
                                "top 3 (now 5); run with the same ones, or without --resume")
    res = run(["batch", "many.txt", "-o", "out.csv", "--resume", "--route", "IV"], place)
    assert one_line(res, 2) == ("msc-ev: --resume: out.csv.part was started with other options or knowledge: "
                                'routes [] (now ["intravenous"]); run with the same ones, or without --resume')
    (place / "ov").mkdir()
    (place / "ov" / "w.yaml").write_text("weights:\n  model:\n    in-vivo: 0.4\n")
    res = run(["--kb-extra", "ov", "batch", "many.txt", "-o", "out.csv", "--resume"], place)
    assert one_line(res, 2) == ("msc-ev: --resume: out.csv.part was started with other options or knowledge: "
                                "another knowledge base (its files or --kb/--kb-extra differ); run with the same "
                                "ones, or without --resume")
    assert journal.read_bytes() == before and not (place / "out.csv").exists()
    res = run(["batch", "many.txt", "-o", "out.csv", "--resume"], place)
    assert res.returncode == 1, res.stderr
    assert res.stderr.decode().startswith("batch: 240 rows: 200 ok, 0 unknown, 40 ambiguous, 0 error (")
    whole = run(["batch", "many.txt"], place)
    assert (place / "out.csv").read_bytes() == whole.stdout  # one answer, not two mixed


def test_resume_refuses_a_journal_without_its_header(place, kb):
    (place / "rows.jsonl").write_bytes(run(["batch", "in.txt", "-f", "jsonl"], place).stdout)
    (place / "out.csv.part").write_bytes((place / "rows.jsonl").read_bytes())  # rows, no header line
    res = run(["batch", "in.txt", "-o", "out.csv", "--resume"], place)
    assert one_line(res, 2) == ("msc-ev: --resume: out.csv.part does not start with the header of an msc-ev "
                                "batch journal; remove it or run without --resume")


def test_a_misspelled_rule_weight_in_an_overlay_stops_advise_and_diff_at_the_overlay_line(place):
    (place / "ov").mkdir()
    (place / "ov" / "w.yaml").write_text("# mine\nweights:\n  rules:\n    gen-preconditioning-ischemai: 0.5\n")
    want = ["msc-ev: knowledge base invalid: 1 error",
            "ov/w.yaml:4:5: weights.rules.gen-preconditioning-ischemai: no rule with this id takes a weight"]
    for args in (["--kb-extra", "ov", "advise", "asthma", "-f", "json"], ["--kb-extra", "ov", "advise", "asthma"],
                 ["diff", "ov", "asthma"], ["--kb-extra", "ov", "kb", "check"], ["--kb-extra", "ov", "batch", "in.txt"]):
        res = run(args, place)
        assert res.returncode == 2 and res.stdout == b"", args
        assert res.stderr.decode().splitlines() == want, args


def test_batch_and_advise_agree_when_no_candidate_is_left(place):
    adv = run(["advise", "asthma", "--clinical-only", "-f", "json"], place)
    line = one_line(adv, 1)
    assert line == ("msc-ev: no candidate left for Asthma (asthma) with --clinical-only (no clinical study, trial "
                    "or case report in the knowledge base); nothing to rank")
    res = run(["batch", "-", "--clinical-only", "-f", "jsonl"], place, stdin=b"asthma\n")
    assert res.returncode == 1
    row = json.loads(res.stdout)
    assert (row["status"], row["disease_id"], row["sources"], row["message"]) == (
        "error", "asthma", [], line.removeprefix("msc-ev: "))
    assert res.stderr.decode().startswith("batch: 1 row: 0 ok, 0 unknown, 0 ambiguous, 1 error in ")


def test_an_unterminated_csv_quote_is_an_error_at_its_line(place):
    (place / "q.csv").write_text('disease,note\nasthma,fine\nknee oa,"never closed\nsepsis,x\nburn,y\n')
    res = run(["batch", "q.csv"], place)
    assert one_line(res, 2) == "msc-ev: q.csv:3: unterminated quoted field: the quote opened on this line is never closed"
    assert res.stdout == b""
    (place / "ok.csv").write_text('disease,note\nasthma,"two\nlines"\nknee oa,x\n')  # closed: fine
    res = run(["batch", "ok.csv", "-f", "jsonl"], place)
    assert res.returncode == 0
    assert [json.loads(x)["columns"]["note"] for x in res.stdout.splitlines()] == ["two\nlines", "x"]


# ------------------------------------------------------------------------------------------ raw text

EVIL = {
    "title": "Title \x1b]0;pwned\x07 with <script>alert(1)</script> & more",
    "journal": "J Evil\nER  - \nTY  - JOUR",
    "name": "Evil\n}\ndisease \x1b[2J <b>x</b>",
    "effect": "Effect \x1b#8 text <img src=x onerror=alert(1)>",
}


@pytest.fixture
def evil(place):
    ov = place / "ov"
    ov.mkdir()
    q = lambda s: json.dumps(s)  # noqa: E731  (a JSON string is a YAML double-quoted scalar)
    (ov / "x.yaml").write_text(f"""references:
  - key: evil2020
    authors: "Evil A, Doer B"
    title: {q(EVIL["title"])}
    journal: {q(EVIL["journal"])}
    year: 2020
    cited_in: {{}}
diseases:
  - id: evil-disease
    name: {q(EVIL["name"])}
    synonyms: ["evilitis"]
    parent: null
    organ: cartilage-joint
    processes: [degeneration]
    icd10cm: null
evidence:
  - id: evil-ev-1
    source: bm-msc
    vesicle: exosome
    species: human
    model: in-vivo
    disease: evil-disease
    route: null
    engineering: []
    effect: {q(EVIL["effect"])}
    direction: supports
    cites: ["evil2020"]
""")
    (place / "ev.txt").write_text("evilitis\n")
    return place


RAW_COMMANDS = [["advise", "evilitis"], ["advise", "evilitis", "-f", "markdown"], ["why", "evilitis", "bm-msc"],
                ["why", "evilitis", "bm-msc", "-f", "markdown"], ["cite", "evil2020"], ["cite", "evil2020", "-f", "markdown"],
                ["cite", "evilitis"], ["cite", "evilitis", "-f", "markdown"], ["cite", "evil2020", "-f", "ris"],
                ["cite", "evil2020", "-f", "bibtex"], ["kb", "show", "evil2020"], ["kb", "show", "evil-ev-1"],
                ["kb", "show", "evil-disease"], ["kb", "search", "evil"], ["explain", "evilitis"],
                ["explain", "evilitis", "-f", "markdown"], ["explain", "evilitis", "-f", "mermaid"],
                ["explain", "evilitis", "-f", "dot"], ["batch", "ev.txt"], ["batch", "ev.txt", "-f", "tsv"],
                ["batch", "ev.txt", "-f", "markdown"]]


@pytest.mark.parametrize("args", RAW_COMMANDS, ids=[" ".join(a) for a in RAW_COMMANDS])
def test_escape_sequences_in_knowledge_never_reach_the_output_raw(evil, args):
    res = run(["--kb-extra", "ov", *args], evil, env={"TERM": "xterm"})
    assert res.returncode == 0, res.stderr
    out = res.stdout + res.stderr
    assert b"\x1b" not in out and b"\x07" not in out
    if "markdown" in args:
        assert b"<script" not in out and b"<img" not in out and b"<b>" not in out
    if "ris" in args:
        lines = res.stdout.decode().splitlines()
        assert [x for x in lines if x.startswith(("TY  -", "ER  -"))] == ["TY  - JOUR", "ER  - "]  # one record
        assert "T2  - J Evil\\nER  - \\nTY  - JOUR" in lines
    if "bibtex" in args:
        assert "  journal = {J Evil\\textbackslash{}nER  - \\textbackslash{}nTY  - JOUR}," in res.stdout.decode()
    if "mermaid" in args or "dot" in args:
        first, second = res.stdout.decode().splitlines()[:2]
        assert first.startswith(("%% Reasoning graph for Evil\\n}\\ndisease \\x1b[2J",
                                 "// Reasoning graph for Evil\\n}\\ndisease \\x1b[2J"))
        assert second in ("flowchart LR", "digraph reasoning {")


def test_markdown_shows_knowledge_html_as_text(evil):
    res = run(["--kb-extra", "ov", "cite", "evil2020", "-f", "markdown"], evil)
    md = res.stdout.decode()
    assert "Title \\x1b]0;pwned\\x07 with &lt;script>alert(1)&lt;/script> & more" in md


def test_json_keeps_the_text_exactly(evil):
    res = run(["--kb-extra", "ov", "advise", "evilitis", "-f", "json"], evil)
    adv = json.loads(res.stdout)
    assert adv["query"]["disease"]["name"] == EVIL["name"]
    assert EVIL["title"] in [r["title"] for r in adv["references"].values()]
    assert b"\\u001b" in res.stdout and b"\x1b" not in res.stdout  # JSON escapes control characters itself


def test_a_typed_escape_sequence_is_shown_escaped(place):
    for args in (["advise", "asthma\x1b]0;owned\x07"], ["advise", "\x1b[2Jasthma", "-f", "markdown"],
                 ["why", "asthma\x1b#8", "bm-msc"], ["kb", "show", "x\x1b[2J"], ["cite", "y\x1b]0;t\x07"]):
        res = run(args, place)
        assert b"\x1b" not in res.stdout + res.stderr, args
    res = run(["batch", "-", "-f", "csv"], place, stdin=b"asthma \x1b[2J\n")
    assert b"\x1b" not in res.stdout and b"asthma \\x1b[2J" in res.stdout


def test_messages_echo_at_most_200_characters_of_the_input(place):
    long = "x" * 120_000
    res = run(["advise", long, "-f", "json"], place)
    line = one_line(res, 1)
    assert len(line) < 400
    res = run(["advise", long], place)
    assert len(res.stderr) < 400
    res = run(["ask"], place, stdin=("y" * 1_000_000 + "\nquit\n").encode())
    assert res.returncode == 0
    assert b"y" * 201 not in res.stdout and b"'" + b"y" * 200 + b"'... (1,000,000 characters)" in res.stdout.replace(b"\n", b"")
    assert len(res.stdout) < 5000
