"""Charts as pure functions: data in, matplotlib Figure out (nothing global is touched).

Sizes are in MB (10**6 bytes), stated on every axis. Where a 700 MB image meets a 5 MB one the
axis is logarithmic, and the brief's 15 MB limit is drawn as a line.
"""

from __future__ import annotations

from typing import Mapping

from matplotlib.figure import Figure

from .config import MB, SIZE_LIMIT_BYTES

LIMIT_COLOR = "#c0392b"
BAR_COLORS = ("#7f8c8d", "#2e86c1", "#28b463", "#af7ac5")


def size_comparison(sizes: Mapping[str, int], title: str = "Image size: single-stage vs "
                    "multi-stage") -> Figure:
    """Horizontal bars of image sizes on a log scale, with the 15 MB limit and the reduction.

    Args:
        sizes: Image label -> size in bytes, largest (the original) first.
        title: Figure title.

    Returns:
        The Figure; save it with ``fig.savefig(path)`` or show it in a notebook.
    """
    labels = list(sizes)
    values = [sizes[label] / MB for label in labels]
    fig = Figure(figsize=(8, 1.2 + 0.7 * len(labels)), layout="constrained")
    ax = fig.add_subplot()
    ypos = list(range(len(labels)))[::-1]
    ax.barh(ypos, values, color=[BAR_COLORS[i % len(BAR_COLORS)] for i in range(len(labels))])
    ax.set_yticks(ypos, labels)
    ax.set_xscale("log")
    ax.set_xlabel("image size (MB = 10^6 bytes, log scale)")
    ax.set_title(title)
    limit = SIZE_LIMIT_BYTES / MB
    ax.axvline(limit, color=LIMIT_COLOR, linestyle="--", linewidth=1.5)
    ax.annotate(f"{limit:.0f} MB limit", xy=(limit, max(ypos) + 0.45), color=LIMIT_COLOR,
                ha="left", va="top", xytext=(4, 0), textcoords="offset points")
    for y, value in zip(ypos, values):
        ax.annotate(f"{value:,.1f} MB", xy=(value, y), xytext=(4, 0),
                    textcoords="offset points", va="center")
    if len(values) >= 2 and min(values) > 0:
        factor = values[0] / min(values)
        ax.text(0.99, 0.02, f"{factor:.0f}x smaller", transform=ax.transAxes, ha="right",
                va="bottom", fontsize=12, fontweight="bold")
    ax.set_xlim(min(min(values), limit) / 3, max(values) * 4)
    return fig
