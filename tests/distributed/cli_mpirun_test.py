"""`citadel train` under mpirun, as a user runs it (CTest: cli.mpirun).

1. Two ranks train the model one process trains (same seed, same global batch): the
   per-epoch history and the held-out figures agree within float tolerance, and rank 0
   alone writes the report and the model.
2. A rank that fails with an error ends the whole job: a non-zero exit and a message
   naming the rank, within seconds, the model file that was there before left intact.
3. A rank killed mid-run ends the job likewise, and no file is torn or left half-written.

Usage: cli_mpirun_test.py CITADEL_BINARY MPIRUN [MPIRUN_ARGS...]
"""
import json
import os
import subprocess
import sys
import tempfile
import time

citadel, mpirun = sys.argv[1], sys.argv[2:]
common = ["--epochs", "6", "--seed", "3", "--verbose", "0", "--batch-size", "25"]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def run(command, timeout=120):
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return result, time.monotonic() - started


with tempfile.TemporaryDirectory() as folder:
    path = lambda name: os.path.join(folder, name)

    alone, _ = run([citadel, "train", *common, "--report", path("one.json"), "--save", path("one.safetensors")])
    check(alone.returncode == 0, "one process: exit %d: %s" % (alone.returncode, alone.stderr))
    group, seconds = run([*mpirun, "-np", "2", citadel, "train", *common, "--report", path("two.json"),
                          "--save", path("two.safetensors")])
    check(group.returncode == 0, "two ranks: exit %d: %s" % (group.returncode, group.stderr))
    print("two ranks trained in %.1f s" % seconds)
    if alone.returncode == 0 and group.returncode == 0:
        one, two = (json.load(open(path(name))) for name in ("one.json", "two.json"))
        check(two.get("mpi_processes") == 2, "the report does not say it ran on 2 processes")
        check("mpi_processes" not in one, "a single process reported mpi_processes")
        for name, values in one["history"].items():
            for epoch, (a, b) in enumerate(zip(values, two["history"][name])):
                check(abs(a - b) <= 1e-4 * max(1.0, abs(a)),
                      "history %s epoch %d: %r alone, %r on two ranks" % (name, epoch + 1, a, b))
        for name in ("loss", "accuracy"):
            check(abs(one[name] - two[name]) <= 1e-4, "test %s: %r alone, %r on two ranks" % (name, one[name], two[name]))
        check(os.path.exists(path("two.safetensors")), "rank 0 did not save the model")

    # Commands other than train refuse to run N times over the same outputs.
    info, _ = run([*mpirun, "-np", "2", citadel, "info", path("one.safetensors")])
    check(info.returncode != 0 and "only `citadel train`" in info.stderr,
          "citadel info on 2 ranks: exit %d, %r" % (info.returncode, info.stderr[-500:]))

    # 1b. A Functional model of two inputs (docs/CLI.md, "Models of several inputs"): each rank
    # shards both inputs' rows, and two ranks train what one process trains.
    with open(path("kinds.csv"), "w") as f:
        f.write("x1,shade,x2,label\n")
        for i in range(80):
            x1, x2, dark = i % 10 - 5, (i * 7) % 11 - 5, i % 3 == 0
            f.write("%d,%s,%d,%s\n" % (x1, "dark" if dark else "light", x2,
                                          "yes" if x1 + x2 + (4 if dark else -2) > 0 else "no"))
    inputs = [{"class_name": "InputLayer", "name": name, "config": {"batch_input_shape": [None, 2], "name": name},
               "inbound_nodes": []} for name in ("numeric", "shade")]
    dense = lambda name, source, units, activation: {
        "class_name": "Dense", "name": name, "config": {"name": name, "units": units, "activation": activation},
        "inbound_nodes": [[[source, 0, 0, {}]]]}
    graph = {"class_name": "Functional", "config": {"name": "two_inputs", "layers": inputs + [
        dense("n", "numeric", 4, "relu"), dense("c", "shade", 3, "linear"),
        {"class_name": "Concatenate", "name": "both", "config": {"name": "both", "axis": -1},
         "inbound_nodes": [[["n", 0, 0, {}], ["c", 0, 0, {}]]]},
        dense("out", "both", 1, "sigmoid")],
        "input_layers": [["numeric", 0, 0], ["shade", 0, 0]], "output_layers": [["out", 0, 0]]}}
    with open(path("two_inputs.json"), "w") as f:
        json.dump(graph, f)
    graph_run = [citadel, "train", *common, "--data", path("kinds.csv"), "--categorical", "shade",
                 "--model-config", path("two_inputs.json"), "--no-save"]
    alone, _ = run([*graph_run, "--report", path("graph_one.json")])
    group, _ = run([*mpirun, "-np", "2", *graph_run, "--report", path("graph_two.json")])
    check(alone.returncode == 0 and group.returncode == 0,
          "two-input graph: exit %d alone, %d on two ranks: %s" % (alone.returncode, group.returncode,
                                                                  (alone.stderr + group.stderr)[-500:]))
    if alone.returncode == 0 and group.returncode == 0:
        one, two = (json.load(open(path(name))) for name in ("graph_one.json", "graph_two.json"))
        check(two.get("mpi_processes") == 2, "the two-input run does not say it ran on 2 processes")
        check(len(one["history"]["loss"]) == 6 == len(two["history"]["loss"]), "two-input run: not 6 epochs")
        for epoch, (a, b) in enumerate(zip(one["history"]["loss"], two["history"]["loss"])):
            check(abs(a - b) <= 1e-4 * max(1.0, abs(a)), "two-input loss epoch %d: %r alone, %r on two ranks"
                  % (epoch + 1, a, b))
    for name in ("kinds.csv", "two_inputs.json", "graph_one.json", "graph_two.json"):
        if os.path.exists(path(name)):
            os.remove(path(name))

    # 2. rank 1 reads a file that is not there: the job ends, naming it.
    with open(path("one.safetensors"), "rb") as f:
        good = f.read()
    with open(path("keep.safetensors"), "wb") as f:
        f.write(good)
    long_run = ["train", "--epochs", "100000", "--seed", "3", "--verbose", "0", "--save", path("keep.safetensors")]
    before = sorted(os.listdir(folder))
    failed, seconds = run([*mpirun, "-np", "1", citadel, *long_run, ":", "-np", "1", citadel, *long_run,
                           "--data", path("missing.csv")], timeout=60)
    check(failed.returncode != 0, "a failing rank left the job exiting 0")
    check("rank 1 of 2" in failed.stderr and "missing.csv" in failed.stderr,
          "no message naming the rank and the file: %r" % failed.stderr[-2000:])
    check(seconds < 30, "the job took %.0f s to end after a rank failed" % seconds)

    # 3. rank 1 killed (SIGKILL) two seconds into a run that would take hours.
    killed, seconds = run([*mpirun, "-np", "1", citadel, *long_run, ":", "-np", "1", "timeout", "-s", "KILL", "2",
                           citadel, *long_run], timeout=60)
    check(killed.returncode != 0, "a killed rank left the job exiting 0")
    check(seconds < 30, "the job took %.0f s to end after a rank was killed" % seconds)
    with open(path("keep.safetensors"), "rb") as f:
        check(f.read() == good, "the model file that was there before changed")
    check(sorted(os.listdir(folder)) == before, "files left behind: %s" % sorted(set(os.listdir(folder)) - set(before)))
    print("failing rank: exit %d; killed rank: exit %d after %.1f s" % (failed.returncode, killed.returncode, seconds))

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
