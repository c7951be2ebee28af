"""A build folder whose Python package lacks its extension (the tool built alone, as
./scripts/run used to) or could not be configured: importing citadel says what is missing
and how to build it, instead of importing an empty namespace package."""
import os
import shutil
import subprocess
import sys

import citadel


def import_error(folder):
    result = subprocess.run([sys.executable, "-c", "import citadel.keras"], capture_output=True, text=True,
                            timeout=60, env=dict(os.environ, PYTHONPATH=str(folder)))
    assert result.returncode != 0
    return result.stderr


def test_the_package_without_its_extension_names_the_build_step(tmp_path):
    package = os.path.dirname(citadel.__file__)
    shutil.copytree(package, tmp_path / "citadel", ignore=shutil.ignore_patterns("_citadel*", "__pycache__"))
    error = import_error(tmp_path)
    assert "ImportError: citadel: the extension citadel._citadel is not built" in error, error
    assert "./scripts/run" in error and "--target citadel_python" in error, error
    assert "No module named 'citadel.keras'" not in error

