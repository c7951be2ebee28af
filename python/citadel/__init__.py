"""citadel: neural networks on the CPU, Keras-style, secure by design.

``citadel.keras`` mirrors ``tensorflow.keras``; ``citadel.protect``, ``citadel.attacks``,
``citadel.robustness``, ``citadel.privacy`` and ``citadel.provenance`` reach the library's protections. See docs/PYTHON.md.
"""
import os as _os
import sys as _sys

try:
    from citadel import _citadel
except ImportError as _error:  # the extension was not built, or built for another interpreter
    import glob as _glob
    _folder = _os.path.dirname(_os.path.abspath(__file__))
    if not _glob.glob(_os.path.join(_folder, "_citadel*")):
        raise ImportError(
            f"citadel: the extension citadel._citadel is not built in {_folder} (a build of the citadel tool "
            "alone does not make it): run ./scripts/run, or cmake --build build --target citadel_python") from None
    raise ImportError(
        f"citadel: cannot load its extension into {_sys.executable} "
        f"(Python {_sys.version.split()[0]}): {_error}. Build it with this interpreter "
        "(cmake -DPython_EXECUTABLE=...) or run Debian's /usr/bin/python3 with "
        "PYTHONPATH=build/python") from _error

SecurityError = _citadel.SecurityError
FileError = _citadel.FileError
__version__ = _citadel.__version__

# Keras HDF5 files are parsed in a fresh sandboxed process of the citadel tool: a pip-installed
# package ships its own (citadel/bin/citadel); a build tree's package uses the build's tool.
_shipped_tool = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "bin", "citadel")
if _os.access(_shipped_tool, _os.X_OK):
    _citadel.set_sandbox_executable(_shipped_tool)


def set_seed(seed):
    """Seeds citadel's generator: weight initialization, shuffling and dropout."""
    _citadel.set_seed(int(seed))


def num_threads():
    return _citadel.num_threads()


def set_num_threads(threads):
    _citadel.set_num_threads(int(threads))


from citadel import attacks, keras, privacy, protect  # noqa: E402  (after the extension loaded)

__all__ = ["SecurityError", "FileError", "set_seed", "num_threads", "set_num_threads", "keras", "protect", "attacks", "privacy", "__version__"]
