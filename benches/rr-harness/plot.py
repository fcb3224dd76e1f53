#!/usr/bin/env python3
"""Plot rr-bench results: convergence time, reflector CPU and peak RSS per shape.

    python3 plot.py results.json rr-convergence.png

Needs matplotlib (pip install matplotlib). rr-bench runs it itself after a run.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["ours", "bird", "gobgp", "frr", "ideal"]
COLORS = {"ours": "#d62728", "bird": "#1f77b4", "gobgp": "#2ca02c", "frr": "#ff7f0e", "ideal": "#7f7f7f"}


def label(shape):
    return f"K={shape['k']:,}\nN={shape['n']:,}"


def main(src, dst):
    with open(src) as f:
        report = json.load(f)
    rows = report["rows"]
    timeout = 300.0
    words = report.get("command", "").split()
    if "--timeout" in words:
        timeout = float(words[words.index("--timeout") + 1])
    shapes = []
    for r in rows:
        key = (r["shape"]["k"], r["shape"]["n"])
        if key not in [(s["k"], s["n"]) for s in shapes]:
            shapes.append(r["shape"])
    reflectors = [name for name in ORDER if any(r["reflector"] == name for r in rows)]
    by = {(r["shape"]["k"], r["shape"]["n"], r["reflector"]): r for r in rows}

    panels = [
        ("seconds", "time to converge (s, log)", True),
        ("cpu_seconds", "reflector CPU (s, log)", True),
        ("peak_rss_mib", "reflector peak RSS (MiB)", False),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 5))
    width = 0.8 / max(len(reflectors), 1)
    for ax, (field, title, log) in zip(axes, panels):
        for i, name in enumerate(reflectors):
            xs, ys, hatches = [], [], []
            for j, s in enumerate(shapes):
                row = by.get((s["k"], s["n"], name))
                if row is None:
                    continue
                value = row.get(field)
                timed_out = row["status"] != "ok"
                if field == "seconds" and timed_out:
                    value = timeout
                if value is None or value <= 0:
                    value = 1e-3 if log else 0
                xs.append(j + (i - (len(reflectors) - 1) / 2) * width)
                ys.append(value)
                hatches.append("//" if timed_out else "")
            bars = ax.bar(xs, ys, width, label=name, color=COLORS.get(name, None))
            for bar, hatch in zip(bars, hatches):
                bar.set_hatch(hatch)
        ax.set_xticks(range(len(shapes)))
        ax.set_xticklabels([label(s) for s in shapes])
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(reflectors),
        title="hatched: timed out (time drawn at the limit)",
        fontsize=9,
        title_fontsize=9,
    )
    machine = report.get("machine", {})
    fig.suptitle(
        "Route reflector convergence: one loadgen, K clients, N prefixes"
        f" ({machine.get('cpus', '?')} CPUs, {report.get('pinning', '')})"
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
