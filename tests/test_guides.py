"""Run every guide with tiny settings so the guides never rot."""

import pathlib
import runpy

import pytest

GUIDES = sorted((pathlib.Path(__file__).resolve().parents[1] / "guides").glob("*.py"))


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.stem)
def test_guide_runs(guide, monkeypatch):
    monkeypatch.setenv("ARTIFEX_GUIDE_QUICK", "1")
    runpy.run_path(str(guide), run_name="__main__")
