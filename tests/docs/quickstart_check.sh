#!/usr/bin/env bash
# What ./scripts/run builds makes everything README's quick start then uses: the citadel tool
# and the Python package (`PYTHONPATH=build/python /usr/bin/python3 examples/first_network.py`
# right after it). Reads the targets from scripts/run and asks Ninja which commands building
# them from nothing runs. Usage: quickstart_check.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1 build_dir=$2
targets=$(sed -n 's/^cmake --build build --target \([A-Za-z0-9_]*\( [A-Za-z0-9_]\+\)*\).*/\1/p' "$source_dir/scripts/run")
[[ -n "$targets" ]] || { echo "scripts/run names no target to build" >&2; exit 1; }
# shellcheck disable=SC2086  # the targets are words
commands=$(ninja -C "$build_dir" -t commands $targets)
need() {  # pattern, what it is
  grep -q -- "$1" <<<"$commands" || { echo "scripts/run builds '$targets', which does not make $2" >&2; exit 1; }
}
need "-o citadel " "the citadel tool (build/citadel)"
need "python/citadel/_citadel" "the Python extension (build/python/citadel/_citadel*.so)"
need "python/citadel/keras/models.py" "the pure-Python modules (build/python/citadel/keras)"
echo "scripts/run builds '$targets': the tool, the extension and the Python modules"
