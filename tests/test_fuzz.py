"""Property-based fuzzing of the CLI entry points, in-process (docs/limits.md).

Every command is driven through typer's CliRunner with generated input, twice, and must:
exit 0, 1 or 2 (never anything else, never an uncaught exception); print no traceback; give the
same bytes both times (the batch summary's elapsed time aside); finish each run within
``PER_RUN`` seconds. The CI profile (tests/conftest.py) uses a fixed seed and a small budget;
``pytest tests/test_fuzz.py --hypothesis-profile=long`` explores far more.

Repeated constraint values: ``--exclude-source msc --exclude-source msc`` aborts the process inside
the rule engine (the lead is normalising constraints in the core), which would kill the test
run itself, so the strategies for ``advise`` and ``ask`` generate constraint lists WITHOUT
repeats (``unique=True``). Batch rows normalise their own constraint cells, so repeated values
are generated there.
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, strategies as st
from typer.testing import CliRunner

from msc_ev import cli
from msc_ev.advisor import kb as K
from msc_ev.advisor import kbcache

PER_RUN = 10.0  # seconds: generous for two shared cores; a typical run takes well under 1 s

SOURCES = ["bm-msc", "uc-msc", "wj-msc", "ad-msc", "es-msc", "msc", "menstrual-msc"]
ROUTES = ["intravenous", "intranasal", "intra-articular", "topical", "systemic"]
DISEASES = ["perinatal brain injury", "knee oa", "AD", "multiple sclerosis", "GVHD", "acute kidney injury",
            "osteoarthritis", "myocardial infarction", "xyzzy-not-a-disease", "alzheimers", "I63.9", "stroke"]

_TIMING = re.compile(r" in \d+\.\d\d s$", re.M)


def invoke_twice(args, stdin=None):
    """Run the CLI twice in-process; check the properties; return the first result."""
    outs = []
    for _ in range(2):
        runner = CliRunner()
        t = time.perf_counter()
        res = runner.invoke(cli.app, args, input=stdin)
        took = time.perf_counter() - t
        exc = res.exception
        assert exc is None or isinstance(exc, SystemExit), (args, repr(exc))
        assert res.exit_code in (0, 1, 2), (args, res.exit_code, res.stderr[-500:])
        both = res.stdout + res.stderr
        assert "Traceback" not in both, (args, both[-2000:])
        assert took < PER_RUN, (args, took)
        outs.append((res.exit_code, res.stdout, _TIMING.sub("", res.stderr)))
    assert outs[0] == outs[1], args
    return outs[0]


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Load the knowledge base and the ICD-10-CM tables once, so no fuzzed run pays for them."""
    CliRunner().invoke(cli.app, ["advise", "xyzzy-not-a-disease"])


# ------------------------------------------------------------------------------ strategies

text_arg = st.one_of(
    st.sampled_from(DISEASES),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=150, max_size=400),
    st.lists(st.sampled_from(["brain", "injury", "acute", "kidney", "of", "the", "disease"]), max_size=40)
    .map(" ".join),
)
def ids(pool):
    """Mostly known ids (so most runs reach the engine), sometimes anything."""
    return st.lists(st.one_of(st.sampled_from(pool), st.sampled_from(pool), st.text(max_size=12)),
                    max_size=3, unique=True)
population = st.sampled_from([None, "adult", "child", "neonate", "elderly", "martian", ""])


def constraint_args(exclude, routes, clinical, pop):
    args = []
    for s in exclude:
        args += ["--exclude-source", s]
    for r in routes:
        args += ["--route", r]
    if clinical:
        args.append("--clinical-only")
    if pop is not None:
        args += ["--population", pop]
    return args


# ------------------------------------------------------------------------------ advise and ask


@given(text=text_arg, exclude=ids(SOURCES), routes=ids(ROUTES), clinical=st.booleans(), pop=population,
       fmt=st.sampled_from(["json", "markdown", "rich"]))
def test_fuzz_advise(text, exclude, routes, clinical, pop, fmt):
    invoke_twice(["advise", "--format", fmt, *constraint_args(exclude, routes, clinical, pop), "--", text])


line = st.one_of(
    st.sampled_from(["why uc-msc", "why not bm-msc", "sources", "routes", "engineering", "help", "what if exclude uc-msc",
                     "cite cai2020:76", "how", "restart", "new", "exclude bm-msc", "population child", "", "quit"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
            max_size=50),
)


@given(disease=st.one_of(st.none(), st.sampled_from(DISEASES)),
       opening=st.sampled_from([[], [""], ["knee oa", ""], ["multiple sclerosis", "exclude bm-msc"], ["AD", "AD", ""]]),
       lines=st.lists(line, max_size=6))
def test_fuzz_ask(disease, opening, lines):
    # the opening answers the first questions (disease, constraints) so that the lines reach the commands
    args = ["ask"] + ([disease] if disease else [])
    invoke_twice(args, "\n".join(opening + lines) + "\n")


# ------------------------------------------------------------------------------ batch

cell = st.one_of(st.sampled_from(["", "bm-msc;bm-msc", "uc-msc", "true", "no", "maybe", "child", "x;y;;"]),
                 st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20))
row_text = st.one_of(st.sampled_from(DISEASES), st.text(max_size=30))


@st.composite
def batch_input(draw):
    fmt = draw(st.sampled_from(["text", "csv", "tsv", "json", "yaml", "raw"]))
    rows = draw(st.lists(row_text, max_size=6))
    if fmt == "text":
        return "text", "\n".join(r.replace("\n", " ") for r in rows) + "\n"
    if fmt in ("csv", "tsv"):
        import csv
        import io

        cols = draw(st.lists(st.sampled_from(["exclude_source", "route", "clinical_only", "population", "note",
                                              "status", "disease"]), max_size=4, unique=True))
        header = ["disease", *[c for c in cols if c != "disease"]]
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r, *[draw(cell) for _ in header[1:]]])
        return fmt, buf.getvalue()
    if fmt in ("json", "yaml"):
        items = draw(st.lists(st.one_of(row_text, st.integers(), st.none(),
                                        st.fixed_dictionaries({"disease": row_text},
                                                              optional={"exclude_source": cell, "route": cell,
                                                                        "population": cell, "tag": cell})),
                              max_size=6))
        import json

        data = items if draw(st.booleans()) else {"not": "a list"}
        return fmt, json.dumps(data) if fmt == "json" else yaml.safe_dump(data)
    return draw(st.sampled_from(["text", "csv", "tsv", "json", "yaml"])), draw(st.text(max_size=200))


@given(inp=batch_input(), out_fmt=st.sampled_from(["csv", "tsv", "json", "jsonl", "markdown"]),
       exclude=ids(SOURCES), top=st.integers(0, 4))
def test_fuzz_batch(inp, out_fmt, exclude, top):
    in_fmt, text = inp
    invoke_twice(["batch", "-", "--input-format", in_fmt, "--format", out_fmt, "--top", str(top),
                  *constraint_args(exclude, [], False, None)], text)


# ------------------------------------------------------------------------------ the knowledge loader


def _fresh(tmpdir: Path):
    kbcache.load_cached.cache_clear()  # a path reused by hypothesis must not hit a stale cache


yaml_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=12)),
    lambda kids: st.one_of(st.lists(kids, max_size=4),
                           st.dictionaries(st.one_of(st.sampled_from(["id", "name", "weights", "rules", "species",
                                                                      "evidence", "sources", "routes", "cites"]),
                                                     st.text(max_size=8)), kids, max_size=4)),
    max_leaves=20,
)


@given(doc=st.one_of(yaml_value.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
                     st.text(max_size=300)))
def test_fuzz_overlay_yaml(doc):
    d = Path(tempfile.mkdtemp(prefix="fuzz-ov-"))
    try:
        (d / "overlay.yaml").write_text(doc, encoding="utf-8")
        _fresh(d)
        code, _, err = invoke_twice(["--kb-extra", str(d), "kb", "stats"])
        assert code in (0, 2)
        if code == 2:
            assert err.startswith("msc-ev: knowledge base invalid: ")
    finally:
        shutil.rmtree(d)
        kbcache.load_cached.cache_clear()


SHIPPED_FILES = sorted(p.relative_to(K.SHIPPED).as_posix() for p in K.SHIPPED.rglob("*.yaml"))


def mutate(data: bytes, how: str, rnd: random.Random) -> bytes:
    lines = data.split(b"\n")
    i = rnd.randrange(len(lines))
    if how == "delete-line":
        del lines[i]
    elif how == "duplicate-line":
        lines.insert(i, lines[i])
    elif how == "swap-lines":
        j = rnd.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "indent":
        lines[i] = b"  " + lines[i]
    elif how == "dedent":
        lines[i] = lines[i].lstrip()
    elif how == "truncate":
        return data[: rnd.randrange(len(data) + 1)]
    elif how == "empty":
        return b""
    elif how == "garbage":
        pos = rnd.randrange(len(data) + 1)
        junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
        return data[:pos] + junk + data[pos:]
    elif how == "anchor-bomb":
        lines.insert(i, b"x: &x [" + b"1," * 50 + b"1]")
    return b"\n".join(lines)


MUTATIONS = ["delete-line", "duplicate-line", "swap-lines", "indent", "dedent", "truncate", "empty", "garbage",
             "anchor-bomb"]


@given(name=st.sampled_from(SHIPPED_FILES), how=st.sampled_from(MUTATIONS), seed=st.integers(0, 2**32 - 1))
def test_fuzz_mutated_knowledge(name, how, seed):
    d = Path(tempfile.mkdtemp(prefix="fuzz-kb-"))
    try:
        kb = d / "kb"
        shutil.copytree(K.SHIPPED, kb, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        f = kb / name
        f.write_bytes(mutate(f.read_bytes(), how, random.Random(seed)))
        _fresh(d)
        code, _, err = invoke_twice(["--kb", str(kb), "kb", "stats"])
        assert code in (0, 2)
        if code == 2:
            assert err.startswith("msc-ev: knowledge base invalid: "), err[:300]
    finally:
        shutil.rmtree(d)
        kbcache.load_cached.cache_clear()


@pytest.mark.parametrize("args,stdin", [
    (["advise", "--", " ".join(f"brain{i}" for i in range(5000))], None),
    (["batch", "-", "--input-format", "json"], "[" * 50_000 + "]" * 50_000),
    (["batch", "-", "--input-format", "yaml"], "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))),
])
def test_known_hostile_inputs_hold(args, stdin):
    code, out, err = invoke_twice(args, stdin)
    assert code == (1 if args[0] == "advise" else 2) and out == "" and "MAX_" in err and len(err) < 400
