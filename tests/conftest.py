import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent  # the repository (README, .ci, bench, shared/)

from msc_ev import advisor  # noqa: E402


@pytest.fixture(scope="session")
def kb():
    return advisor.load_kb()


@pytest.fixture(autouse=True)
def _icd_cache(tmp_path_factory, monkeypatch):
    # one ICD-10-CM cache per test session, outside the user's home
    monkeypatch.setenv("MSC_EV_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
