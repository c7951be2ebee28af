"""The documentation as tests: runs the code blocks of README.md and docs/*.md that are marked
runnable, against the build, the way a reader would type them, and fails naming the block's
file and line when one does not work.

Markers (HTML comments, invisible on the rendered page), on the line before a fenced block:
  <!-- test: run -->                  run the block: sh/bash with bash -e, python with the
                                      build's interpreter, cpp compiled against the build's
                                      headers and libcitadel.so, then run
  <!-- test: output of COMMAND -->    run COMMAND (bash); the block's lines must appear, in
                                      order and together, in what it prints
and, anywhere, a hidden step the following blocks rely on (files a reader would have):
  <!-- test: setup
  shell commands
  -->

The blocks of one page run in order in one temporary folder holding links to the build
(build/), data/ and examples/, with the build's citadel first on PATH and its Python package
on PYTHONPATH; each is bounded in time.

Usage: run_doc_blocks.py --source DIR --build DIR --python PYTHON [--kinds run,setup,output] FILE...
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

MARKER = re.compile(r"^<!-- test: (run|output of (?P<command>.+?)) -->\s*$")
SETUP = re.compile(r"^<!-- test: setup\s*$")
FENCE = re.compile(r"^```(?P<info>\S*)\s*$")
BLOCK_SECONDS = 120


class Block:
    def __init__(self, path, line, kind, language, text, command=None):
        self.path, self.line, self.kind, self.language, self.text, self.command = (path, line, kind, language, text,
                                                                                 command)

    def where(self):
        return f"{self.path}:{self.line}"


def blocks_of(path, display):
    """The marked blocks of one Markdown file, in order."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found, i = [], 0
    while i < len(lines):
        if SETUP.match(lines[i]):
            end = i + 1
            while end < len(lines) and lines[end].strip() != "-->":
                end += 1
            found.append(Block(display, i + 1, "setup", "sh", "\n".join(lines[i + 1:end]) + "\n"))
            i = end + 1
            continue
        marker = MARKER.match(lines[i])
        if marker:
            fence = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
            if not fence:
                raise SystemExit(f"{display}:{i + 1}: a test marker must stand right before a fenced code block")
            end = i + 2
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            if end == len(lines):
                raise SystemExit(f"{display}:{i + 2}: the code block is not closed")
            kind = "run" if marker.group(1) == "run" else "output"
            found.append(Block(display, i + 2, kind, fence.group("info"), "\n".join(lines[i + 2:end]) + "\n",
                               marker.group("command")))
            i = end + 1
            continue
        i += 1
    return found


def run(command, folder, environment, seconds=BLOCK_SECONDS, stdin=None):
    try:
        result = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=seconds,
                                input=stdin)
        return result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as expired:
        return None, expired.stdout or "", f"stopped after {seconds} s"


def execute(block, folder, environment, options):
    """None when the block works, else what went wrong."""
    if block.kind == "output":
        code, out, err = run(["bash", "-c", block.command], folder, environment)
        if code != 0:
            return f"`{block.command}` exited {code}:\n{tail(out + err)}"
        expected = [line.rstrip() for line in block.text.rstrip("\n").split("\n")]
        printed = [line.rstrip() for line in out.split("\n")]
        for start in range(len(printed) - len(expected) + 1):
            if printed[start:start + len(expected)] == expected:
                return None
        return (f"`{block.command}` does not print the block (README and the program drifted apart).\n"
                f"The block:\n{block.text}It printed:\n{tail(out, 40)}")
    if block.language in ("sh", "bash", "shell") or block.kind == "setup":
        code, out, err = run(["bash", "-e", "-o", "pipefail", "-s"], folder, environment, stdin=block.text)
    elif block.language == "python":
        code, out, err = run([options.python, "-c", block.text], folder, environment)
    elif block.language == "cpp":
        source = os.path.join(folder, f"block_{block.line}.cpp")
        with open(source, "w") as file:
            file.write(block.text)
        program = source[:-4]
        code, out, err = run(["c++", "-std=c++20", "-O1", f"-I{options.source}/include", f"-I{options.build}/include",
                              source, "-o", program, f"-L{options.build}", "-lcitadel",
                              f"-Wl,-rpath,{options.build}"], folder, environment)
        if code == 0:
            code, out, err = run([program], folder, environment)
    else:
        return f"cannot run a ```{block.language} block"
    if code != 0:
        return f"exited {code}:\n{tail(out + err)}"
    return None


def tail(text, lines=20):
    return "\n".join(text.rstrip("\n").split("\n")[-lines:]) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--kinds", default="run,setup,output")
    parser.add_argument("files", nargs="+")
    options = parser.parse_args()
    options.source, options.build = os.path.abspath(options.source), os.path.abspath(options.build)
    kinds = set(options.kinds.split(","))
    environment = dict(os.environ, PATH=options.build + os.pathsep + os.environ.get("PATH", ""),
                       PYTHONPATH=os.path.join(options.build, "python"), CITADEL_NUM_THREADS="2")
    failures, ran = [], 0
    for name in options.files:
        path = os.path.join(options.source, name)
        blocks = [b for b in blocks_of(path, name) if b.kind in kinds]
        if not blocks:
            continue
        with tempfile.TemporaryDirectory(prefix="citadel_docs_") as folder:
            for link, target in (("build", options.build), ("data", os.path.join(options.source, "data")),
                                 ("examples", os.path.join(options.source, "examples"))):
                os.symlink(target, os.path.join(folder, link))
            for block in blocks:
                started = time.monotonic()
                problem = execute(block, folder, environment, options)
                ran += 1
                seconds = time.monotonic() - started
                print(f"{'ok  ' if problem is None else 'FAIL'} {block.where()} ({block.kind}"
                      f"{' ' + block.language if block.language and block.kind != 'output' else ''}, {seconds:.1f} s)")
                if problem is not None:
                    failures.append(f"{block.where()}: the {block.kind} block {problem}")
    if ran == 0:
        print("no marked blocks in " + " ".join(map(shlex.quote, options.files)), file=sys.stderr)
        return 1
    for failure in failures:
        print("\n" + failure, file=sys.stderr)
    print(f"{ran - len(failures)} of {ran} blocks work")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
