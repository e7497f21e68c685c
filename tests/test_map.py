"""The evidence map (`msc-ev map [FILE]`): CSV, Rich, SVG and HTML, the gaps view, an overlay.

The oracle for every cell is the consultation itself as the output contract gives it (`advise
--format json`, one call per disease): the map must show, for each candidate, that JSON's tier,
score and rank, and for a family the best-ranked option whose id starts with the family word.
Small goldens pin the exact bytes; the rankings are being corrected, so regenerate them after a
ranking change with

    PYTHONPATH=... python tests/test_map.py --regen

(it runs the CLI commands listed in GOLDEN and writes tests/golden/map/; review the diff).
The browser tests drive the system's Chromium through Playwright (MSC_EV_CHROMIUM), as
tests/test_html.py does, and skip saying why when either is missing.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev.cli import app

HERE = Path(__file__).resolve().parent
GOLDEN_DIR = HERE / "golden" / "map"
DISCLAIMER = advisor.DISCLAIMER

# the small list: five rows that map (one ICD-10-CM title, one with a per-row route) and five that do not
SMALL = ("disease,route,note\n"
         "perinatal brain injury,,first\n"
         "knee osteoarthritis,,\n"
         "glioblastoma,,\n"
         "no such disease at all,,\n"
         "AD,,ambiguous\n"
         ",,empty\n"
         "Crohn's disease,intravenous,one route\n"
         "heart failure,,icd\n"
         "[bold]<b>x</b>,,markup\n"
         "multiple sclerosis,nonsense-route,bad route\n")
OK_ROWS = {1: "perinatal-brain-injury", 2: "knee-osteoarthritis", 3: "glioblastoma", 7: "crohns-disease",
           8: "icd10cm:I50.9"}
# the columns, written out here (not read from the code under test): sources but the unstated one,
# routes, then the engineering category words (the design's list, in its order)
SOURCES = ["bm-msc", "uc-msc", "wj-msc", "ucb-msc", "ad-msc", "es-msc", "menstrual-msc", "chorion-msc",
           "placenta-msc", "cp-msc", "dental-msc", "fetal-msc"]
ROUTES = ["intravenous", "intraperitoneal", "intranasal", "intramyocardial", "intra-articular", "intracerebral",
          "subcutaneous", "topical", "inhalation", "intraocular", "periocular", "systemic", "implantation"]
FAMILIES = ["hydrogel", "scaffold", "drug-loading", "surface-targeting", "mirna", "gene-modification",
            "preconditioning", "co-therapy"]
COLUMNS = SOURCES + ROUTES + FAMILIES
TIER_RGB = {1: "rgb(0, 68, 27)", 2: "rgb(27, 120, 55)", 3: "rgb(33, 102, 172)", 4: "rgb(99, 99, 99)",
            5: "rgb(178, 24, 43)"}
TIER_HEX = {1: "#00441b", 2: "#1b7837", 3: "#2166ac", 4: "#636363", 5: "#b2182b"}

runner = CliRunner()


def run(*args, input=None):
    r = runner.invoke(app, list(args), input=input)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("map") / "small.csv"
    p.write_text(SMALL, encoding="utf-8")
    return p


def _advice(text: str, route: str | None = None) -> dict:
    args = ["advise", text, "--format", "json"] + (["--route", route] if route else [])
    code, out, err = run(*args)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def oracle() -> dict[int, dict]:
    """Row -> {column: (tier, score, rank, item)} from `advise --format json`."""
    texts = {1: ("perinatal brain injury", None), 2: ("knee osteoarthritis", None), 3: ("glioblastoma", None),
             7: ("Crohn's disease", "intravenous"), 8: ("heart failure", None)}
    out = {}
    for row, (text, route) in texts.items():
        adv = _advice(text, route)
        cells = {}
        for axis in ("sources", "routes"):
            for r in adv[axis]:
                cells[r["id"]] = (r["tier"], r["score"], r["rank"], r["id"])
        for r in adv["engineering"]:  # rank order: the first of a family is its best
            fam = max((f for f in FAMILIES if r["id"].startswith(f + "-")), key=len)
            cells.setdefault(fam, (r["tier"], r["score"], r["rank"], r["id"]))
        out[row] = {"cells": cells, "advice": adv}
    return out


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


# ------------------------------------------------------------------------------------------
# CSV


def test_csv_cells_are_each_consultations_tiers_and_scores(small, oracle):
    code, out, err = run("map", str(small), "--format", "csv")
    assert code == 1  # some rows failed, as batch says
    assert err.strip() == "map: 10 rows: 5 ok, 2 unknown, 1 ambiguous, 2 error"
    rows = _csv_rows(out)
    head = list(rows[0].keys())
    assert head[:9] == ["row", "input", "route", "note", "status", "disease_id", "disease_name", "organ", "processes"]
    assert head[9:9 + 2 * len(COLUMNS)] == [f"{c} {k}" for c in COLUMNS for k in ("tier", "score")]
    assert head[9 + 2 * len(COLUMNS):] == ["sources #1", "routes #1", "engineering #1", "message", "disclaimer"]
    assert [int(r["row"]) for r in rows] == list(range(1, 11))
    for r in rows:
        assert r["disclaimer"] == DISCLAIMER
        n = int(r["row"])
        if n not in OK_ROWS:
            assert r["status"] != "ok"
            assert all(r[f"{c} tier"] == "" == r[f"{c} score"] for c in COLUMNS)
            continue
        assert r["status"] == "ok" and r["disease_id"] == OK_ROWS[n]
        want = oracle[n]["cells"]
        for c in COLUMNS:
            if c in want:
                assert (int(r[f"{c} tier"]), float(r[f"{c} score"])) == want[c][:2], (n, c)
            else:
                assert r[f"{c} tier"] == "" == r[f"{c} score"], (n, c)  # no support: empty
        adv = oracle[n]["advice"]
        assert r["sources #1"] == adv["sources"][0]["id"]
        assert r["routes #1"] == adv["routes"][0]["id"]
        assert r["engineering #1"] == adv["engineering"][0]["id"]
    crohn = rows[6]
    assert [c for c in ROUTES if crohn[f"{c} tier"]] == ["intravenous"]  # the row's own route constraint


def test_bad_rows_get_what_batch_gives(small):
    _, bout, _ = run("batch", str(small), "--format", "csv")
    _, mout, _ = run("map", str(small), "--format", "csv")
    batch = {r["row"]: (r["input"], r["status"], r["message"], r["note"]) for r in _csv_rows(bout)}
    got = {r["row"]: (r["input"], r["status"], r["message"], r["note"]) for r in _csv_rows(mout)}
    assert got == batch
    assert got["6"][1:3] == ("error", "empty 'disease' cell")
    assert got["10"][1] == "error" and got["10"][2].startswith("unknown route for --route: 'nonsense-route'")


def test_csv_golden(small):
    assert run("map", str(small), "--format", "csv")[1] == (GOLDEN_DIR / "small.csv").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------
# Rich


def _rich(small, *extra, width=80) -> str:
    from rich.console import Console

    from msc_ev.terminal.map_command import gaps_view, map_view
    from msc_ev.views import evidence_map as M

    kb = advisor.load_cached()
    items, carried = advisor.batch.read_input(str(small))
    m = M.build(kb, items, advisor.Constraints(), group_by="organ" if "group" in extra else None, carried=carried)
    buf = io.StringIO()
    view = gaps_view(m) if "gaps" in extra else map_view(m, width)
    Console(file=buf, width=width, color_system=None).print(view)
    return buf.getvalue()


def test_rich_golden_fits_80_columns_and_cuts_nothing(small):
    text = _rich(small)
    assert text == (GOLDEN_DIR / "small-80.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "\u2026" not in text  # nothing cut with an ellipsis
    for name in ("Perinatal brain injury", "Knee osteoarthritis", "Glioblastoma", "Crohn's disease"):
        assert name in text
    assert re.search(r"│ Heart failure,\s+.*\n│ unspecified\s", text)  # a long name wraps in its cell
    for n in range(1, 4):
        assert f"MSC sources ({n} of 3)" in text
    assert "[bold]<b>x</b>" in text  # input shown as typed, not read as markup
    assert " ".join(DISCLAIMER.split()) in " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_rich_wraps_into_more_panels_when_narrower_and_fewer_when_wider(small):
    for width in (60, 120, 200):
        text = _rich(small, width=width)
        assert max(len(line) for line in text.splitlines()) <= width
        assert "\u2026" not in text
    assert "MSC sources (1 of" not in _rich(small, width=200)  # one panel per axis when it fits
    # the CLI at its default width, through a pipe
    code, out, _ = run("map", str(small))
    assert code == 1 and max(len(line) for line in out.splitlines()) <= 80


def test_rich_cells_show_tier_score_and_the_first(small, oracle):
    text = _rich(small, width=200)
    line = next(ln for ln in text.splitlines() if "Perinatal brain injury" in ln and "0." in ln)
    uc = oracle[1]["cells"]["uc-msc"]
    assert f"{uc[0]} {uc[1]:.2f}" + ("*" if uc[2] == 1 else "") in line


def test_group_by_organ_orders_rows_and_labels_groups(small, oracle):
    code, out, _ = run("map", str(small), "--format", "csv", "--group", "organ")
    rows = _csv_rows(out)
    ok = [r for r in rows if r["status"] == "ok"]
    organs = [r["organ"] for r in ok]
    assert organs == sorted(organs)
    assert [r["row"] for r in rows[len(ok):]] == ["4", "5", "6", "9", "10"]  # the failed rows after
    text = _rich(small, "group", width=200)
    for organ in set(organs):
        assert re.search(rf"^│ {re.escape(organ)}\s", text, re.M), organ
    code, out, err = run("map", str(small), "--group", "colour")
    assert code == 2


# ------------------------------------------------------------------------------------------
# gaps


def _want_gaps(oracle) -> list[tuple[int, str, str, list[str]]]:
    """(count, axis, column, diseases) from the consultations: no source at tier 1-3; a route or a
    family's best option at tier 4."""
    names = {1: "Perinatal brain injury", 2: "Knee osteoarthritis", 3: "Glioblastoma", 7: "Crohn's disease",
             8: "Heart failure, unspecified"}
    found: dict[tuple[str, str], list[str]] = {}
    for row in sorted(oracle):
        cells = oracle[row]["cells"]
        if not any(cells[s][0] <= 3 for s in SOURCES if s in cells):
            found.setdefault(("sources", "*"), []).append(names[row])
        for col in ROUTES + FAMILIES:
            if col in cells and cells[col][0] == 4:
                axis = "routes" if col in ROUTES else "engineering"
                found.setdefault((axis, col), []).append(names[row])
    order = {c: i for i, c in enumerate(["*"] + COLUMNS)}
    axes = {"sources": 0, "routes": 1, "engineering": 2}
    return sorted(((len(v), a, c, v) for (a, c), v in found.items()), key=lambda g: (-g[0], axes[g[1]], order[g[2]]))


def test_gaps_are_the_cells_without_direct_evidence_most_shared_first(small, oracle):
    code, out, err = run("map", str(small), "--gaps", "--format", "csv")
    assert code == 1
    rows = _csv_rows(out)
    assert list(rows[0].keys()) == ["axis", "column", "gap", "diseases", "count", "disclaimer"]
    got = [(int(r["count"]), r["axis"], r["column"], r["diseases"].split("; ")) for r in rows]
    assert got == _want_gaps(oracle)
    assert all(r["disclaimer"] == DISCLAIMER for r in rows)
    labels = {(r["axis"], r["column"]): r["gap"] for r in rows}
    if ("routes", "systemic") in labels:
        assert labels[("routes", "systemic")] == "route systemic (Systemic administration (unspecified)): by reach or transfer only"
    text = _rich(small, "gaps")
    assert text == (GOLDEN_DIR / "small-gaps-80.txt").read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) <= 80


def test_gaps_only_in_rich_or_csv(small, tmp_path):
    code, _, err = run("map", str(small), "--gaps", "--format", "svg")
    assert (code, err.strip()) == (2, "msc-ev: --gaps writes rich or csv, not svg (the html page lists the gaps too)")


# ------------------------------------------------------------------------------------------
# SVG


def test_svg_parses_names_every_disease_and_column_and_colours_by_tier(small, oracle):
    code, out, _ = run("map", str(small), "--format", "svg")
    assert code == 1
    root = ET.fromstring(out)
    ns = {"s": "http://www.w3.org/2000/svg"}
    diseases = [t.text for t in root.iterfind(".//s:text[@class='disease']", ns)]
    assert diseases == ["Perinatal brain injury", "Knee osteoarthritis", "Glioblastoma", "Crohn's disease",
                        "Heart failure, unspecified"]
    assert [t.text for t in root.iterfind(".//s:text[@class='col']", ns)] == COLUMNS
    rows = list(root.iterfind(".//s:g[@class='row']", ns))
    assert [g.get("data-disease") for g in rows] == list(OK_ROWS.values())
    for g, row in zip(rows, OK_ROWS):
        want = oracle[row]["cells"]
        got = {}
        for rect in g.iterfind("s:rect", ns):
            if (rect.get("class") or "").startswith("cell"):
                got[rect.get("data-col")] = rect
        assert set(got) == set(want)
        for col, rect in got.items():
            tier = want[col][0]
            assert rect.get("class") == f"cell t{tier}" and rect.get("fill") == TIER_HEX[tier]
        assert len(list(g.iterfind("s:circle[@class='top']", ns))) == 3  # a #1 per axis
    text = "".join(root.itertext())
    assert DISCLAIMER[:40] in text and "must not guide the care of any patient." in text


def test_svg_escapes_knowledge_and_input(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("Graves' disease\n", encoding="utf-8")
    out = run("map", str(p), "--format", "svg")[1]
    assert "Graves&#x27; disease" in out and ET.fromstring(out) is not None


# ------------------------------------------------------------------------------------------
# determinism and the command's edges


def test_every_format_is_byte_identical_and_jobs_do_not_matter(small, tmp_path):
    for fmt in ("csv", "svg", "html"):
        a = run("map", str(small), "--format", fmt)[1]
        b = run("map", str(small), "--format", fmt, "--jobs", "2")[1]
        assert a == b, fmt
        assert a == run("map", str(small), "--format", fmt)[1]


def test_output_file_format_from_extension_and_errors(small, tmp_path):
    out = tmp_path / "m.html"
    code, _, err = run("map", str(small), "-o", str(out))
    assert code == 1 and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert err.strip() == f"map: 10 rows: 5 ok, 2 unknown, 1 ambiguous, 2 error; wrote {out}"
    code, _, err = run("map", str(small), "-o", str(tmp_path / "m.svg"), "--format", "csv")
    assert (code, err.strip()) == (2, f"msc-ev: --format csv contradicts the extension of "
                                      f"{str(tmp_path / 'm.svg')!r} (svg); drop --format or change the file name")
    code, _, err = run("map", str(small), "-o", str(tmp_path / "nodir" / "m.csv"))
    assert (code, err.strip()) == (2, f"msc-ev: cannot write {tmp_path / 'nodir' / 'm.csv'}: directory "
                                      f"{tmp_path / 'nodir'} does not exist")  # the one writer's message
    code, _, err = run("map", str(tmp_path / "missing.txt"))
    assert code == 2 and err.startswith("msc-ev: cannot read input ") and len(err.strip().splitlines()) == 1
    code, _, err = run("map", "--exclude-source", "nonsense")
    assert code == 2 and err.startswith("msc-ev: unknown source")


def test_curated_map_when_no_file(kb):
    code, out, err = run("map", "--format", "csv")
    assert code == 0
    rows = _csv_rows(out)
    assert len(rows) == len(kb.diseases) and {r["disease_id"] for r in rows} == set(kb.diseases)
    names = [r["disease_name"].lower() for r in rows]
    assert names == sorted(names)
    assert err.strip() == f"map: {len(kb.diseases)} rows: {len(kb.diseases)} ok, 0 unknown, 0 ambiguous, 0 error"


# ------------------------------------------------------------------------------------------
# an overlay: what one new paper changes


NASTY = "J <script>alert(1)</script> & [bold]Co[/bold]"


@pytest.fixture(scope="module")
def overlay(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("overlay") / "paper"
    d.mkdir()
    (d / "s.yaml").write_text(
        "references:\n"
        "  - key: mapstudy1\n    authors: \"Test A, Test B\"\n    title: \"A test study\"\n"
        f"    journal: \"{NASTY}\"\n    year: 2030\n    cited_in: {{}}\n"
        "evidence:\n"
        "  - id: map-study-1\n    source: wj-msc\n    vesicle: exosome\n    species: human\n"
        "    model: in-vivo\n    disease: knee-osteoarthritis\n    route: intra-articular\n"
        "    engineering: []\n    effect: \"A test effect.\"\n    direction: supports\n"
        "    cites: [\"mapstudy1\"]\n", encoding="utf-8")
    return d


def _overlay_changes(small, overlay) -> dict[int, list[str]]:
    """Row -> the columns whose (tier, score, rank, item) differ between advise without and with it."""
    changed = {}
    for row, did in OK_ROWS.items():
        route = "intravenous" if row == 7 else None
        args = ["advise", did, "--format", "json"] + (["--route", route] if route else [])
        before = json.loads(run(*args)[1])
        after = json.loads(run("--kb-extra", str(overlay), *args)[1])
        cols = []
        for c in COLUMNS:
            def cell(adv):
                for axis in ("sources", "routes", "engineering"):
                    for r in adv[axis]:
                        if r["id"] == c or (axis == "engineering" and r["id"].startswith(c + "-")):
                            return (r["tier"], r["score"], r["rank"], r["id"])
                return None
            if cell(before) != cell(after):
                cols.append(c)
        changed[row] = cols
    return changed


def test_overlay_marks_every_changed_cell(small, overlay):
    want = _overlay_changes(small, overlay)
    assert "wj-msc" in want[2]  # the new study moves Wharton's jelly for knee osteoarthritis
    code, out, _ = run("--kb-extra", str(overlay), "map", str(small), "--format", "csv")
    rows = {int(r["row"]): r for r in _csv_rows(out)}
    assert list(rows[1].keys())[-2:] == ["changed by overlay", "disclaimer"]
    for row in OK_ROWS:
        assert rows[row]["changed by overlay"] == "; ".join(want[row]), row
    text = run("--kb-extra", str(overlay), "map", str(small))[1]
    n = sum(len(v) for v in want.values())
    assert f"! changed by the overlay {overlay} ({n} cells)" in " ".join(text.split())


# ------------------------------------------------------------------------------------------
# the page, in a real browser




@pytest.fixture(scope="module")
def page_files(small, overlay, tmp_path_factory):
    d = tmp_path_factory.mktemp("pages")
    plain, over = d / "map.html", d / "overlay.html"
    assert run("map", str(small), "--format", "html", "-o", str(plain))[0] == 1
    assert run("--kb-extra", str(overlay), "map", str(small), "--format", "html", "-o", str(over))[0] == 1
    return plain, over


def _open(browser, path):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    fetched: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("request", lambda r: fetched.append(r.url))
    pg.goto(path.as_uri())
    pg.wait_for_load_state("load")
    return ctx, pg, errors, fetched


def test_page_grid_has_rows_times_columns_and_nothing_is_fetched(browser, page_files):
    html = page_files[0].read_text(encoding="utf-8")
    assert "<link" not in html and not re.search(r"\ssrc\s*=", html)
    assert not re.search(r"https?://", html)
    assert html.count(escape(DISCLAIMER)) == 2  # under the title and in the footer
    ctx, pg, errors, fetched = _open(browser, page_files[0])
    try:
        assert errors == []
        assert fetched == [page_files[0].as_uri()]  # the page itself, nothing else
        n_rows = pg.locator("#grid tbody tr[data-row]").count()
        n_cols = pg.locator("#grid thead tr.cols th").count()
        assert (n_rows, n_cols) == (len(OK_ROWS), len(COLUMNS))
        assert pg.locator("#grid tbody td.cell").count() == n_rows * n_cols
        heads = pg.eval_on_selector_all("#grid thead tr.cols th", "els => els.map(e => e.textContent)")
        assert heads == COLUMNS
        failed = pg.eval_on_selector_all("#failed tbody tr td:nth-child(2)", "els => els.map(e => e.textContent)")
        assert failed == ["no such disease at all", "AD", "", "[bold]<b>x</b>", "multiple sclerosis"]
    finally:
        ctx.close()


def test_page_colours_follow_the_tiers(browser, page_files, oracle):
    ctx, pg, _, _ = _open(browser, page_files[0])
    try:
        got = pg.evaluate("""() => Array.from(document.querySelectorAll('#grid tbody tr[data-row]')).map(tr =>
            Array.from(tr.querySelectorAll('td.cell')).map(td => {
                const b = td.querySelector('b');
                return b ? [b.textContent, getComputedStyle(b).backgroundColor, td.classList.contains('top')] : null;
            }))""")
        for row, cells in zip(OK_ROWS, got):
            want = oracle[row]["cells"]
            for c, cell in zip(COLUMNS, cells):
                if c not in want:
                    assert cell is None, (row, c)
                    continue
                tier, _, rank, _ = want[c]
                assert cell == [str(tier), TIER_RGB[tier], rank == 1], (row, c)
    finally:
        ctx.close()


def _luminance(rgb):
    def ch(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (ch(x) for x in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_tier_colours_carry_white_digits_readably():
    for hexa in TIER_HEX.values():
        rgb = tuple(int(hexa[i:i + 2], 16) for i in (1, 3, 5))
        assert (1.05) / (_luminance(rgb) + 0.05) >= 4.5, hexa


def _sample(oracle):
    """Knee osteoarthritis (row 2) and its #1 source: the sampled cell."""
    adv = oracle[2]["advice"]
    rec = adv["sources"][0]
    return 1, COLUMNS.index(rec["id"]), rec, adv


def test_focus_shows_the_key_citation_and_enter_or_click_the_explanation(browser, page_files, oracle, kb):
    ri, ci, rec, adv = _sample(oracle)
    consultation = advisor.consult(kb, "knee osteoarthritis")
    arithmetic = next(r for r in consultation.recs["sources"] if r.id == rec["id"]).arithmetic
    ref = adv["references"][rec["key_citation"]]
    ctx, pg, errors, _ = _open(browser, page_files[0])
    try:
        cell = pg.locator("#grid tbody tr[data-row]").nth(ri).locator("td.cell").nth(ci).locator("button")
        # keyboard: tab from the cell before it, so focus (not the mouse) shows the tip
        pg.locator("#grid tbody tr[data-row]").nth(ri).locator("td.cell button").first.focus()
        for _ in range(50):
            if cell.evaluate("b => b === document.activeElement"):
                break
            pg.keyboard.press("Tab")
        assert cell.evaluate("b => b === document.activeElement")
        assert pg.is_visible("#tip")
        tip = pg.text_content("#tip")
        assert tip.startswith(f"Knee osteoarthritis / {rec['id']} - {rec['id']}: tier {rec['tier']} ({rec['basis']}), "
                              f"score {rec['score']:.3f}, rank 1 of {len(adv['sources'])}. Key citation: ")
        for review, n in ref["cited_in"].items():
            assert f"[{n}]" in tip
        assert f"{ref['year']}, {ref['journal']}" in tip
        pg.keyboard.press("Enter")
        detail = pg.text_content("#detail-body")
        assert f"Why {rec['id']} for Knee osteoarthritis?" in detail
        for c in rec["support"]:
            assert f"rule {c['rule']}: cf {c['cf']:+.3f}, tier {c['tier']} ({c['basis']})" in detail
        for line in arithmetic:
            assert line in detail
        assert pg.text_content("#detail-title") == f"Knee osteoarthritis / {rec['id']}"
        # a click on another cell shows that one instead
        other = pg.locator("#grid tbody tr[data-row]").nth(0).locator("td.cell.top button").first
        other.hover()
        assert pg.text_content("#tip").startswith("Perinatal brain injury / ")
        other.click()
        assert "Why " in pg.text_content("#detail-body") and "for Perinatal brain injury?" in pg.text_content("#detail-body")
        assert errors == []
    finally:
        ctx.close()


def test_overlay_page_shows_before_and_after_and_escapes(browser, page_files, oracle, overlay):
    html = page_files[1].read_text(encoding="utf-8")
    assert "<script>alert" not in html and "alert(1)" in html  # present, escaped in the data
    ctx, pg, errors, fetched = _open(browser, page_files[1])
    try:
        assert errors == [] and fetched == [page_files[1].as_uri()]
        summary = pg.text_content("#overlay-summary")
        assert summary.startswith(f"With the overlay {overlay}: ")
        row = pg.locator("#grid tbody tr[data-row]").nth(1)  # knee osteoarthritis
        wj = row.locator("td.cell").nth(COLUMNS.index("wj-msc"))
        assert "chg" in wj.get_attribute("class")
        wj.locator("button").hover()
        assert "(before the overlay: wj-msc: tier " in pg.text_content("#tip")
        assert NASTY in pg.text_content("#tip")  # the journal, shown as text
        wj.locator("button").click()
        heads = pg.eval_on_selector_all("#detail-body h3", "els => els.map(e => e.textContent)")
        assert heads[0].startswith("After the overlay: wj-msc: tier ")
        assert any(h.startswith("Before: wj-msc: tier ") for h in heads)
        assert pg.locator("#detail-body script").count() == 0
        before = oracle[2]["cells"]["wj-msc"]
        assert any(h.startswith(f"Before: wj-msc: tier {before[0]} ") for h in heads)
        n_changed = pg.locator("#grid td.cell.chg").count()
        assert summary.startswith(f"With the overlay {overlay}: {n_changed} cell")
    finally:
        ctx.close()


# ------------------------------------------------------------------------------------------
# goldens


GOLDEN = {  # file -> how it is made (see the module docstring)
    "small.csv": "msc-ev map small.csv --format csv",
    "small-80.txt": "map_view at width 80 (Console(width=80, color_system=None))",
    "small-gaps-80.txt": "gaps_view at width 80 (Console(width=80, color_system=None))",
}


def regen() -> None:
    import tempfile

    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        small = Path(d) / "small.csv"
        small.write_text(SMALL, encoding="utf-8")
        (GOLDEN_DIR / "small.csv").write_text(run("map", str(small), "--format", "csv")[1], encoding="utf-8")
        (GOLDEN_DIR / "small-80.txt").write_text(_rich(small), encoding="utf-8")
        (GOLDEN_DIR / "small-gaps-80.txt").write_text(_rich(small, "gaps"), encoding="utf-8")
    print(f"wrote {', '.join(GOLDEN)} in {GOLDEN_DIR}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        regen()
    else:
        print(__doc__)
