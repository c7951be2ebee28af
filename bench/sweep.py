"""bench/compare --sweep: how the cost of W2's MLP grows with its hidden width, the batch
size and the number of training rows, for citadel and each PyTorch, one axis at a time with
the other two at W2's values. Each point is one process per system (citadel_bench sweep,
torch_bench.py sweep): one epoch of training, then the latency of predicting one batch (on
the rows axis: the time to predict all the rows)."""
import json
from pathlib import Path

from bench_rows import mlp_training_flops

# W2's values (hidden width 256, batch 128, 60,000 rows) except where an axis moves. Width and
# batch points train on 16,384 rows so that the widest networks and batch 1 take seconds.
AXES = {
    "width": {"label": "first hidden layer's width (the second is half)",
              "values": [128, 256, 512, 1024, 2048, 4096], "fixed": {"batch": 128, "rows": 16384}},
    "batch": {"label": "batch size (training and the predicted batch)",
              "values": [1, 4, 16, 64, 256, 1024], "fixed": {"width": 256, "rows": 16384}},
    "rows": {"label": "training rows (Fashion-MNIST repeated past 60,000)",
             "values": [1000, 10000, 100000, 1000000], "fixed": {"width": 256, "batch": 128}},
}
# The chart's two rows: training time, and inference (one batch's latency; on the rows
# axis, predicting all the rows).
TRAINING = ("train one epoch", "training time, one epoch (s)")
INFERENCE = {"width": ("predict latency", "predict latency, batch 128 (µs)"),
             "batch": ("predict latency", "predict latency, one batch (µs)"),
             "rows": ("predict all rows", "predict all rows, batches of 1,024 (s)")}



def point_settings(axis, value):
    settings = dict(AXES[axis]["fixed"])
    settings[axis] = value
    return settings


def run(threads_list, systems, measure, log):
    """systems: [(name, command prefix, env(threads))]; measure(command, env) -> (rows, rss).
    Returns a list of points: axis, value, threads, system, and one entry per metric."""
    points = []
    for axis, spec in AXES.items():
        for value in spec["values"]:
            settings = point_settings(axis, value)
            arguments = ["sweep", "--width", str(settings["width"]), "--batch", str(settings["batch"]),
                         "--rows", str(settings["rows"]), "--predict-all", "1" if axis == "rows" else "0"]
            for threads in threads_list:
                for name, prefix, env in systems:
                    log(f"  sweep {axis}={value} threads={threads} {name} ...")
                    rows, rss = measure(prefix + arguments + ["--threads", str(threads)], env(threads))
                    point = {"axis": axis, "value": value, "threads": threads, "system": name,
                             "settings": settings, "rss_mb": round(rss, 1)}
                    for row in rows:
                        point[row["metric"]] = row["value"]
                    if "train samples/s" in point:
                        point["train GFLOP/s"] = point["train samples/s"] * mlp_training_flops(settings["width"]) / 1e9
                    points.append(point)
    return points


def write_json(points, header, path):
    Path(path).write_text(json.dumps({"machine": header, "points": points}, indent=1) + "\n")


def write_chart(points, title, path):
    """One SVG: a column per axis, a row per metric, log axes, one line per system and
    thread count."""
    import matplotlib
    matplotlib.use("svg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small, searchable
    import matplotlib.pyplot as plt

    figure, grid = plt.subplots(2, len(AXES), figsize=(13, 7.5), squeeze=False)
    systems = sorted({p["system"] for p in points}, key=lambda s: (s != "citadel", s))
    threads_list = sorted({p["threads"] for p in points})
    for column, (axis, spec) in enumerate(AXES.items()):
        for row, (metric, metric_label) in enumerate((TRAINING, INFERENCE[axis])):
            plot = grid[row][column]
            for system in systems:
                for threads in threads_list:
                    line = sorted((p["value"], p[metric]) for p in points
                                  if p["axis"] == axis and p["system"] == system and p["threads"] == threads
                                  and metric in p)
                    if line:
                        plot.plot([v for v, _ in line], [m for _, m in line], marker="o", markersize=3,
                                  linestyle="-" if threads == threads_list[0] else "--",
                                  color=f"C{systems.index(system)}", label=f"{system}, {threads} thread(s)")
            plot.set_xscale("log")
            plot.set_yscale("log")
            plot.set_xticks(spec["values"], [f"{v:,}" for v in spec["values"]])
            plot.tick_params(axis="x", which="minor", labelbottom=False)
            plot.set_title(metric_label, fontsize=8)
            plot.grid(True, which="both", linewidth=0.3)
            if row == 1:
                plot.set_xlabel(spec["label"], fontsize=8)
            plot.tick_params(labelsize=7)
    handles, labels = grid[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=max(1, len(labels)), fontsize=8, frameon=False)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout(rect=(0, 0.05, 1, 0.96))
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)
