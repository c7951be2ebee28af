#!/usr/bin/env bash
# pip installs the package offline into a fresh virtual environment (made with
# --system-site-packages for numpy), reusing the build folder given, and the reference
# program then runs from that environment, away from the source tree.
# Usage: pip_install_check.sh SOURCE_DIR BUILD_DIR PYTHON
set -euo pipefail
source_dir=$1 build_dir=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
cd "$source_dir"
CITADEL_BUILD_DIR="$build_dir" PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  timeout 600 "$work/venv/bin/pip" install --quiet --no-build-isolation "$source_dir"
cd "$work"
installed=$("$work/venv/bin/python" -c 'import citadel; print(citadel.__file__)')
[[ "$installed" == "$work/venv/"* ]] || { echo "citadel was imported from $installed, not the venv" >&2; exit 1; }
env -u PYTHONPATH "$work/venv/bin/python" "$source_dir/examples/first_network.py" > "$work/out.txt"
grep -q '^Epoch 10/10$' "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
echo "installed in $installed; the reference program ran"
