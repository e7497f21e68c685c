import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent  # the repository (README, .ci, bench, docs)

from msc_ev import advisor  # noqa: E402


@pytest.fixture(scope="session")
def kb():
    return advisor.load_kb()


@pytest.fixture(autouse=True)
def _icd_cache(tmp_path_factory, monkeypatch):
    # one ICD-10-CM cache per test session, outside the user's home
    monkeypatch.setenv("MSC_EV_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


# hypothesis profiles (tests/test_fuzz.py): "ci" is the default, a fixed seed and a small budget so
# the fuzz file stays under a minute; "long" (pytest --hypothesis-profile=long) explores for real.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=15, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long", derandomize=False, deadline=None, max_examples=1000, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("ci")


# The operating system's Chromium, driven by Playwright (tests/test_html.py, tests/test_map.py): Playwright
# downloads no browser here; the flags keep it off the closed network.
CHROMIUM = os.environ.get("MSC_EV_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _browser_or_skip():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium, or set MSC_EV_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install playwright)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
