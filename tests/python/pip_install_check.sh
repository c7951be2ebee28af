#!/usr/bin/env bash
# pip installs the package offline into a fresh virtual environment (made with
# --system-site-packages for numpy), reusing the build folder given, and the reference
# program then runs from that environment, away from the source tree; the environment's
# `citadel` command runs the tool shipped in the package.
# Usage: pip_install_check.sh SOURCE_DIR BUILD_DIR PYTHON
set -euo pipefail
source_dir=$1 build_dir=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
cd "$source_dir"
# The source tree's own build/ is found without being named (README's way); another is named.
if [[ "$(realpath "$build_dir")" == "$(realpath "$source_dir/build")" ]]; then unset CITADEL_BUILD_DIR
else export CITADEL_BUILD_DIR="$build_dir"; fi
PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  timeout 600 "$work/venv/bin/pip" install -v --no-build-isolation "$source_dir" >"$work/pip.txt" 2>&1 ||
  { tail -n 40 "$work/pip.txt"; exit 1; }
grep -q "citadel: reusing the build in\|citadel: building in" "$work/pip.txt" ||
  { echo "pip did not say which build it used:" >&2; grep "citadel:" "$work/pip.txt" >&2; exit 1; }
cd "$work"
installed=$("$work/venv/bin/python" -c 'import citadel; print(citadel.__file__)')
[[ "$installed" == "$work/venv/"* ]] || { echo "citadel was imported from $installed, not the venv" >&2; exit 1; }
env -u PYTHONPATH "$work/venv/bin/python" "$source_dir/examples/first_network.py" > "$work/out.txt"
grep -q '^Epoch 10/10$' "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
echo "installed in $installed; the reference program ran"
# The console script: the tool from inside the package, its version the package's.
[[ -x "$work/venv/bin/citadel" ]] || { echo "pip installed no citadel command into the venv" >&2; exit 1; }
"$work/venv/bin/citadel" --help >"$work/help.txt"
grep -q "train" "$work/help.txt" || { cat "$work/help.txt"; exit 1; }
version=$("$work/venv/bin/python" -c 'import citadel; print(citadel.__version__)')
[[ "$("$work/venv/bin/citadel" --version)" == "citadel $version" ]] ||
  { echo "venv/bin/citadel --version: $("$work/venv/bin/citadel" --version), the package: $version" >&2; exit 1; }
# Its bundled data travels with it: a training run from an empty folder, with no arguments.
(cd "$work" && env -u PYTHONPATH "$work/venv/bin/citadel" train --epochs 1 --verbose 0 --no-save \
   --report "$work/train.json" >"$work/train.txt")
grep -q "Held-out test set" "$work/train.txt" || { cat "$work/train.txt"; exit 1; }
"$work/venv/bin/python" - "$work/train.json" "$work/venv/" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))["data"]
assert data.startswith(sys.argv[2]), f"the tool read {data}, not the data shipped in the package"
PY
echo "venv/bin/citadel runs the tool ($version) with its data"
