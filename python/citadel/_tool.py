"""The `citadel` command of a pip-installed package: runs the citadel tool that setup.py ships
inside the package (citadel/bin/citadel), with the arguments given."""
import os
import sys


def main():
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "citadel")
    if not os.access(tool, os.X_OK):
        print(f"citadel: the tool is not in this package ({tool}); reinstall it with pip install .", file=sys.stderr)
        return 1
    os.execv(tool, ["citadel", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
