"""The classroom page (`msc-ev explain DISEASE --format html -o page.html`).

The structural tests run everywhere. The browser tests drive the operating system's Chromium
(/usr/bin/chromium, or $MSC_EV_CHROMIUM) through Playwright, without downloading any browser;
they skip, saying why, when either is missing. Screenshots and a PDF print go to tests/artifacts/.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev.views.html_page import explain_html
from msc_ev.cli import app

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DISEASE = "perinatal brain injury"

runner = CliRunner()


@pytest.fixture(scope="module")
def consultation(kb):
    return advisor.consult(kb, DISEASE)


@pytest.fixture(scope="module")
def page_file(kb, consultation, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "page.html"
    path.write_text(explain_html(kb, consultation), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# structure (no browser)


def test_page_is_self_contained_and_deterministic(kb, consultation):
    page = explain_html(kb, consultation)
    assert page == explain_html(kb, consultation)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert "<link" not in page and "@import" not in page
    assert not re.search(r"""\ssrc\s*=""", page)  # no external script, image or frame
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"]  # the SVG namespace only
    assert page.count("<h1>") == 1
    assert page.count(html.escape(consultation.disclaimer)) == 2  # under the title and in the footer


def test_one_section_and_one_link_per_step_in_firing_order(kb, consultation):
    page = explain_html(kb, consultation)
    ids = re.findall(r'<section class="step" id="([^"]+)"', page)
    assert ids == ["facts", *(f"step-{s['step']}" for s in consultation.trace), "ranking"]
    rules = re.findall(r'<section class="step" id="step-\d+" data-step="\d+" data-rule="([^"]+)"', page)
    assert rules == [s["rule"] for s in consultation.trace]
    for sid in ids:
        assert f'<a href="#{sid}">' in page  # the step's own link in its heading
        assert f'<a class="node" href="#{sid}" data-target="{sid}"' in page  # its row in the graph


def test_certainty_arithmetic_is_on_the_page(kb, consultation):
    page = explain_html(kb, consultation)
    top = consultation.recs["sources"][0]
    assert f"<td class=\"cf\">{top.score:.3f}</td>" in page
    first = top.support[0]
    assert f"{first.rule} {first.cf:+.3f}" in page
    if len(top.support) > 1:
        assert re.search(rf"{first.cf:.3f} \+ [0-9.]+ x \(1 - {first.cf:.3f}\) = ", page)


def test_cli_writes_the_page(tmp_path):
    out = tmp_path / "page.html"
    r = runner.invoke(app, ["explain", DISEASE, "--format", "html", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert r.stderr.startswith(f"msc-ev: wrote {out} (")


def test_cli_output_needs_html_and_bad_input_is_one_message(tmp_path):
    r = runner.invoke(app, ["explain", DISEASE, "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 2
    assert r.stderr.strip() == "msc-ev: -o/--output is for --format html"
    r = runner.invoke(app, ["explain", "no such disease at all", "--format", "html"])
    assert r.exit_code == 1
    assert r.stderr.startswith("msc-ev: unknown disease: 'no such disease at all'")
    r = runner.invoke(app, ["explain", DISEASE, "--format", "html", "-o", str(tmp_path / "nodir" / "x.html")])
    assert r.exit_code == 2
    assert r.stderr.strip() == f"msc-ev: cannot write {tmp_path / 'nodir' / 'x.html'}: directory {tmp_path / 'nodir'} does not exist"


# ------------------------------------------------------------------------------------------
# in a real browser




@pytest.fixture
def page(browser, page_file):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(page_file.as_uri())
    pg.errors = errors
    yield pg
    ctx.close()


def _visible(pg) -> list[str]:
    return pg.eval_on_selector_all("section.step", "els => els.filter(e => !e.hidden && "
                                                  "getComputedStyle(e).display !== 'none').map(e => e.id)")


def test_loads_without_console_errors_and_shows_the_first_step(page):
    assert page.errors == []
    assert _visible(page) == ["facts"]
    assert page.text_content("#status") == f"Facts asserted (1 of {page.locator('section.step').count()})"
    assert page.is_disabled("#prev") and not page.is_disabled("#next")


def test_next_moves_through_every_firing_in_order_and_previous_comes_back(page, consultation):
    want = ["facts", *(f"step-{s['step']}" for s in consultation.trace), "ranking"]
    seen = [_visible(page)[0]]
    for _ in range(len(want) - 1):
        page.click("#next")
        vis = _visible(page)
        assert len(vis) == 1
        seen.append(vis[0])
        rule = page.get_attribute(f"#{vis[0]}", "data-rule")
        if vis[0].startswith("step-"):
            n = int(vis[0].split("-")[1])
            assert rule == consultation.trace[n - 1]["rule"]
            current = page.eval_on_selector_all("#chain .node.current", "els => els.map(e => e.dataset.target)")
            assert current == [vis[0]]
    assert seen == want
    assert page.is_disabled("#next")
    assert page.evaluate("location.hash") == "#ranking"
    back = []
    for _ in range(3):
        page.click("#prev")
        back.append(_visible(page)[0])
    assert back == want[-2:-5:-1]
    assert page.errors == []


def test_keyboard_arrows_home_and_end(page, consultation):
    n = len(consultation.trace)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert _visible(page) == ["step-2"]
    page.keyboard.press("ArrowLeft")
    assert _visible(page) == ["step-1"]
    page.keyboard.press("End")
    assert _visible(page) == ["ranking"]
    page.keyboard.press("ArrowRight")  # stays at the end
    assert _visible(page) == ["ranking"]
    page.keyboard.press("ArrowLeft")
    assert _visible(page) == [f"step-{n}"]
    page.keyboard.press("Home")
    assert _visible(page) == ["facts"]
    assert page.errors == []


def test_a_link_per_step_opens_that_step(browser, page_file, page):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = ctx.new_page()
    pg.goto(page_file.as_uri() + "#step-5")
    assert _visible(pg) == ["step-5"]
    ctx.close()
    page.click('#chain a.node[data-target="step-7"]')  # a row of the graph
    assert _visible(page) == ["step-7"]
    assert page.errors == []


def test_screenshots_at_1280x800(page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explain-step-0.png"))
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    shot = ARTIFACTS / "explain-step-10.png"
    page.screenshot(path=str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 1280 and int.from_bytes(data[20:24], "big") == 800


# -- accessibility basics


def _luminance(rgb: tuple[float, float, float]) -> float:
    def ch(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (ch(x) for x in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    parse = lambda s: tuple(float(x) for x in re.findall(r"[\d.]+", s)[:3])  # noqa: E731
    a, b = _luminance(parse(fg)), _luminance(parse(bg))
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_helper_against_known_values():
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert contrast("rgb(119, 119, 119)", "rgb(255, 255, 255)") == pytest.approx(4.48, abs=0.01)


def test_headings_labels_and_contrast(page):
    assert page.locator("h1").count() == 1
    levels = page.eval_on_selector_all("h1, h2, h3, h4", "els => els.map(e => Number(e.tagName[1]))")
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:]))  # no skipped heading level
    buttons = page.eval_on_selector_all("button", "els => els.map(e => [e.getAttribute('aria-label') || '', e.textContent.trim()])")
    assert buttons and all(label and text for label, text in buttons)
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_attribute("#chain", "role") == "img"
    assert page.text_content("#chain-title").startswith("The chain of rule firings")
    pairs = page.evaluate("""() => {
        const bg = el => { for (let e = el; e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor;
            if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
        const pick = sel => { const e = document.querySelector(sel); return e ? [sel, getComputedStyle(e).color, bg(e)] : [sel, null, null]; };
        return ['body', 'h1', 'header p', '.disclaimer', '.hint', '#status', '#next', '#prev',
                'section.step h2 a', 'section.step code', '.muted', '#chain text'].map(pick);
    }""")
    for sel, fg, bg in pairs:
        assert fg is not None, f"{sel} not on the page"
        if sel == "#chain text":
            fg = page.evaluate("getComputedStyle(document.querySelector('#chain text')).fill")
        ratio = contrast(fg, bg)
        assert ratio >= 4.5, f"{sel}: {fg} on {bg} has contrast {ratio:.2f}"
    # the disabled button too (Previous on the first step)
    fg, bg = page.evaluate("[getComputedStyle(document.querySelector('#prev')).color, "
                           "getComputedStyle(document.querySelector('#prev')).backgroundColor]")
    assert contrast(fg, bg) >= 4.5


def test_prints_every_step_readably(page, consultation):
    page.emulate_media(media="print")
    shown = page.eval_on_selector_all("section.step", "els => els.filter(e => getComputedStyle(e).display !== 'none').length")
    assert shown == len(consultation.trace) + 2  # every step, not only the current one
    assert page.evaluate("getComputedStyle(document.querySelector('.controls')).display") == "none"
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('section.step p')).fontSize)")
    assert size >= 13.3  # 10 pt
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "explain-print.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    page.screenshot(path=str(ARTIFACTS / "explain-print.png"), full_page=False)


def test_each_derived_contribution_shows_its_cf_tier_and_weights(kb):
    adv = advisor.consult(kb, "insulin resistance")
    page = explain_html(kb, adv)
    # sup-source on cai2020-54 (bm-msc; in vivo, mouse donor, exosome; the disease asked: tier 2)
    c = next(c for c in adv.find("bm-msc").support if c.evidence == ["cai2020-54"])
    assert (c.tier, round(c.cf, 3)) == (2, -0.32)
    assert ("<li><code>contribution:source:bm-msc:sup-source:cai2020-54</code> "
            "<span class=\"muted\">support for source bm-msc by rule sup-source from cai2020-54</span>"
            " <span class=\"cf\">CF -0.320</span>, tier 2 <span class=\"muted\">(weights used: model in-vivo 0.50 x "
            "species mouse 0.80 x vesicle exosome 1.00 x tier 2 0.80)</span></li>") in page


def test_a_group_of_diseases_is_named_on_the_page(kb):
    page = explain_html(kb, advisor.consult(kb, "insulin resistance"))
    assert ("<li><code>disease:same-organ+other-process</code> <span class=\"muted\">a group of diseases every "
            "rule treats alike: Graves&#x27; disease, Hashimoto&#x27;s thyroiditis</span></li>") in page
