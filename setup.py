"""The extension citadel._citadel, built by the project's CMake for the interpreter pip runs.

CITADEL_BUILD_DIR names an existing build folder to reuse (its configuration is kept);
otherwise build/pip is configured for this interpreter, without tests or examples."""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("CITADEL_BUILD_DIR")
        if build_dir:
            build_dir = os.path.abspath(build_dir)
            if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
                raise RuntimeError(f"CITADEL_BUILD_DIR={build_dir} is not a configured CMake build folder")
        else:
            build_dir = os.path.join(ROOT, "build", "pip")
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, *generator, "-DCMAKE_BUILD_TYPE=Release",
                                   f"-DPython_EXECUTABLE={sys.executable}", "-DCITADEL_BUILD_TESTS=OFF",
                                   "-DCITADEL_BUILD_EXAMPLES=OFF"])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "citadel_python", "-j",
                               str(os.cpu_count() or 2)])
        built = glob.glob(os.path.join(build_dir, "python", "citadel", "_citadel*.so"))
        if not built:
            raise RuntimeError(f"the extension was not built in {build_dir}/python/citadel (is pybind11-dev installed?)")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


setup(ext_modules=[Extension("citadel._citadel", sources=[])], cmdclass={"build_ext": CMakeBuild})
