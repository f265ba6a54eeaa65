"""Installing the project prints no setuptools deprecation warnings (they buried the README's output)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BUILD_METADATA = """
from setuptools import build_meta
print(build_meta.prepare_metadata_for_build_wheel("out"))
"""


def test_building_the_package_metadata_gives_no_deprecation_warning(tmp_path):
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for package in ("arena", "judges"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").touch()
    (tmp_path / "out").mkdir()
    result = subprocess.run([sys.executable, "-c", BUILD_METADATA], cwd=tmp_path, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "deprecat" not in output.lower(), output
    metadata = next((tmp_path / "out").glob("*.dist-info")) / "METADATA"
    assert "License-Expression: Apache-2.0" in metadata.read_text()
