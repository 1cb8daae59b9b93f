"""The wheel carries every shipped preset, so `from_preset` works after `pip install .`."""

import pathlib
import subprocess
import sys
import zipfile

import pytest

import artifex_keras as ak

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.jax_only
def test_wheel_contains_every_shipped_preset(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("artifex_keras-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for init in (ROOT / "artifex_keras").rglob("__init__.py"):
        assert init.relative_to(ROOT).as_posix() in names, f"add {init.parent.name} to pyproject's packages"
    for preset in ak.list_presets():
        for file in ("config.json", "metadata.json", "model.weights.h5"):
            assert f"artifex_keras/shipped_presets/{preset}/{file}" in names, (preset, file)


def test_every_shipped_preset_records_how_it_was_made():
    for preset in ak.list_presets():
        metadata = ak.preset_metadata(preset)
        for key in ("description", "family", "command", "training", "backend", "versions", "metrics"):
            assert key in metadata, (preset, key)
        assert metadata["command"].strip(), preset
