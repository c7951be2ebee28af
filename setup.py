"""pip install .: the extension citadel._citadel and the citadel tool, built by the project's
CMake for the interpreter pip runs and shipped inside the package, whose `citadel` command
runs the tool (citadel/_tool.py).

The build folder: CITADEL_BUILD_DIR when set (an existing configured CMake build folder);
else build/ when ./scripts/run or ./scripts/test configured it for an interpreter of the same
ABI as this one (pip then builds only what is missing: seconds); else build/pip, configured
here (a first build: several minutes; `pip install -v` shows CMake's progress)."""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def tell(message, to_terminal=False):
    """A line for the user: pip shows the build's output only with -v, so a long build is
    also announced on the terminal, when there is one."""
    print(f"citadel: {message}", file=sys.stderr, flush=True)
    if to_terminal and not sys.stderr.isatty():
        try:
            with open("/dev/tty", "w") as terminal:
                terminal.write(f"citadel: {message}\n")
        except OSError:
            pass


def cached(build_dir, key):
    with open(os.path.join(build_dir, "CMakeCache.txt")) as cache:
        for line in cache:
            if line.startswith(key + ":"):
                return line.split("=", 1)[1].strip()
    return None


def same_abi(interpreter):
    """Whether an extension built for `interpreter` loads into this one (a venv's python and
    the interpreter it was made from do)."""
    if not interpreter or not os.path.exists(interpreter):
        return False
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    probe = subprocess.run([interpreter, "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and probe.stdout.strip() == suffix


def build_folder():
    chosen = os.environ.get("CITADEL_BUILD_DIR")
    if chosen:
        chosen = os.path.abspath(chosen)
        if not os.path.exists(os.path.join(chosen, "CMakeCache.txt")):
            raise RuntimeError(f"CITADEL_BUILD_DIR={chosen} is not a configured CMake build folder")
        tell(f"building in {chosen} (CITADEL_BUILD_DIR)")
        return chosen
    default = os.path.join(ROOT, "build")
    if os.path.exists(os.path.join(default, "CMakeCache.txt")) and \
            same_abi(cached(default, "CITADEL_PYTHON_EXECUTABLE")):
        tell(f"reusing the build in {default} (./scripts/run's): building only what is missing")
        return default
    own = os.path.join(ROOT, "build", "pip")
    tell(f"building citadel with CMake in {own} for {sys.executable}: a first build takes several minutes "
         "(pip install -v shows its progress; ./scripts/run first makes pip reuse build/ instead)", to_terminal=True)
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.check_call(["cmake", "-S", ROOT, "-B", own, *generator, "-DCMAKE_BUILD_TYPE=Release",
                           f"-DPython_EXECUTABLE={sys.executable}", "-DCITADEL_BUILD_TESTS=OFF",
                           "-DCITADEL_BUILD_EXAMPLES=OFF"])
    return own


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = build_folder()
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "citadel_python", "citadel_cli", "-j",
                               str(os.cpu_count() or 2)])
        built = glob.glob(os.path.join(build_dir, "python", "citadel", "_citadel*.so"))
        if not built:
            raise RuntimeError(f"the extension was not built in {build_dir}/python/citadel (is pybind11-dev installed?)")
        target = self.get_ext_fullpath(ext.name)
        package = os.path.dirname(target)
        os.makedirs(package, exist_ok=True)
        shutil.copyfile(built[0], target)
        # The tool, with its bundled data where it looks beside itself (../share/citadel).
        os.makedirs(os.path.join(package, "bin"), exist_ok=True)
        shutil.copy2(os.path.join(build_dir, "citadel"), os.path.join(package, "bin", "citadel"))
        os.makedirs(os.path.join(package, "share", "citadel"), exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, "data", "pima-indians-diabetes.csv"),
                        os.path.join(package, "share", "citadel", "pima-indians-diabetes.csv"))


setup(ext_modules=[Extension("citadel._citadel", sources=[])], cmdclass={"build_ext": CMakeBuild},
      options={"build": {"build_base": os.path.join("build", "setuptools")}})
