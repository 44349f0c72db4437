"""Charts as pure functions: data in, matplotlib Figure out (nothing global is touched).

Sizes are in MB (10**6 bytes), stated on every axis. Where a 700 MB image meets a 5 MB one the
axis is logarithmic, and the brief's 15 MB limit is drawn as a line.
"""

from __future__ import annotations

import math
import textwrap
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..config import MB, SIZE_LIMIT_BYTES

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
    _literal_labels(ax)
    ax.set_xscale("log")
    ax.set_xlabel("uncompressed layer bytes (MB = 10^6 bytes, log scale)")
    ax.set_title(title)
    limit = SIZE_LIMIT_BYTES / MB
    ax.axvline(limit, color=LIMIT_COLOR, linestyle="--", linewidth=1.5)
    # Label the limit below the bars, in the axis margin, so it never covers a bar.
    ax.annotate(f"{limit:.0f} MB limit", xy=(limit, 0), xycoords=("data", "axes fraction"),
                xytext=(4, 3), textcoords="offset points", color=LIMIT_COLOR, ha="left",
                va="bottom", fontsize=10)
    ax.set_ylim(-0.9, max(ypos) + 0.5)
    ax.xaxis.set_major_formatter(FuncFormatter(_plain_number))
    ax.xaxis.set_minor_formatter(NullFormatter())
    for y, value in zip(ypos, values):
        ax.annotate(f"{value:,.1f} MB", xy=(value, y), xytext=(4, 0),
                    textcoords="offset points", va="center")
    if len(values) >= 2 and min(values) > 0:
        factor = values[0] / min(values)
        smallest = labels[values.index(min(values))]
        # The headline goes above the plot, wrapped to the figure's width, so long
        # (namespaced) tags never run into the limit label, the bars or the edge.
        fig.suptitle(textwrap.fill(f"{smallest}: {factor:.0f}x smaller than {labels[0]}", 60,
                                   break_on_hyphens=False),
                     fontsize=12, fontweight="bold")
    ax.set_xlim(min(min(values), limit) / 3, max(values) * 4)
    return fig


# --------------------------------------------------------------------------------------------
# Layer and content breakdowns (what made the bytes?)
# --------------------------------------------------------------------------------------------

#: Longest tick label before it is shortened with an ellipsis.
LABEL_MAX_CHARS = 45
#: At most this many bars in :func:`category_breakdown`; the rest become "other (N more)".
MAX_CATEGORIES = 10
LAYER_COLOR = "#2e86c1"
HIGHLIGHT_COLOR = "#e67e22"
STUB_COLOR = "#bdc3c7"
TITLE_SIZE = 14
LABEL_SIZE = 12
TICK_SIZE = 11
NOTE_SIZE = 10
_UNITS = (("GB", 10**9), ("MB", 10**6), ("kB", 10**3))


def human_bytes(n: int) -> str:
    """A byte count in decimal units, as a learner would say it.

    Whole bytes below 1 kB; kB with one decimal below 10 kB and none above; MB and GB with one
    decimal. A value that rounds up to 1000 of a unit moves to the next unit.

    Args:
        n: Number of bytes (negative values keep their sign).

    Returns:
        For example ``"0 B"``, ``"999 B"``, ``"1.0 kB"``, ``"12 kB"``, ``"4.9 MB"``,
        ``"612.4 MB"``, ``"2.3 GB"``.
    """
    n = int(n)
    sign, n = ("-", -n) if n < 0 else ("", n)
    if n < 1000:
        return f"{sign}{n} B"
    for unit, factor in reversed(_UNITS):  # kB, MB, GB
        exact = Decimal(n) / factor  # exact: factor is a power of ten; halves round up
        value = exact.quantize(Decimal("0.1"), ROUND_HALF_UP)
        if unit == "kB" and value >= 10:
            value = exact.quantize(Decimal("1"), ROUND_HALF_UP)
        if value < 1000 or unit == "GB":  # 999_960 B is "1.0 MB", not "1000 kB"
            break
    return f"{sign}{value:,} {unit}"


def _literal_labels(ax) -> None:
    """Tick labels shown as written: a ``$GOPATH`` in a RUN line is not TeX maths."""
    for label in ax.get_yticklabels():
        label.set_parse_math(False)


def _shorten(text: str, limit: int = LABEL_MAX_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with a trailing ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def _check_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} needs the column(s) {missing}; it has {list(frame.columns)}")
    if frame.empty:
        raise ValueError(f"{name} has no rows to plot")


def _stub_mb(max_mb: float) -> float:
    """Layers below this many MB are drawn as fixed-length stubs (1 kB for normal images)."""
    if max_mb >= 0.01 or max_mb <= 0:
        return 1e-3
    return 10.0 ** (math.floor(math.log10(max_mb)) - 1)


def _plain_number(value: float, _pos=None) -> str:
    """Tick text without powers of ten: 0.001, 0.1, 10, 1000."""
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:.10f}".rstrip("0").rstrip(".")


def _layer_xlim(max_mb: float) -> tuple[float, float]:
    """Log-axis limits: half a stub to the left, room for the size annotation to the right."""
    stub = _stub_mb(max_mb)
    return stub / 2, max(max_mb, stub * 10) * 12


def _draw_layers(ax, layers: pd.DataFrame, title: str, xlim: tuple[float, float],
                 stub: float) -> None:
    """One layer_breakdown panel on ``ax``: build order top to bottom, log x in MB."""
    instructions = [_shorten(text) for text in layers["instruction"].to_list()]
    sizes = [int(size) for size in layers["size_bytes"].to_list()]
    highlight = (layers["highlight"].fillna(False).astype(bool).to_list()
                 if "highlight" in layers.columns else [False] * len(sizes))
    ypos = list(range(len(sizes)))
    left = xlim[0]
    widths, colors, hatches = [], [], []
    for size, marked in zip(sizes, highlight):
        mb = size / MB
        is_stub = mb < stub
        widths.append((stub if is_stub else mb) - left)
        colors.append(HIGHLIGHT_COLOR if marked else STUB_COLOR if is_stub else LAYER_COLOR)
        hatches.append("//" if is_stub else None)
    bars = ax.barh(ypos, widths, left=left, color=colors, edgecolor="#34495e", linewidth=0.6,
                   height=0.7)
    for bar, hatch in zip(bars, hatches):
        bar.set_hatch(hatch)
    ax.set_yticks(ypos, instructions, fontsize=TICK_SIZE, family="monospace")
    _literal_labels(ax)
    for label, marked in zip(ax.get_yticklabels(), highlight):
        if marked:
            label.set_fontweight("bold")
    ax.set_ylim(len(sizes) - 0.5, -0.5)  # build order, top to bottom
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(FuncFormatter(_plain_number))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelsize=TICK_SIZE)
    ax.grid(axis="x", color="#d5d8dc", linewidth=0.6)
    ax.set_axisbelow(True)
    for y, size, width in zip(ypos, sizes, widths):
        text = human_bytes(size) + (" (metadata only)" if size == 0 else "")
        ax.annotate(text, xy=(left + width, y), xytext=(5, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=NOTE_SIZE)
    stub_text = f"{_plain_number(stub * 1000)} kB"
    ax.set_xlabel(f"layer size (MB = 10^6 bytes, log scale)\nhatched stubs: under {stub_text}, "
                  f"not to scale   |   sum of layers: {human_bytes(sum(sizes))}",
                  fontsize=LABEL_SIZE)
    ax.set_title(title, fontsize=TITLE_SIZE, fontweight="bold")


def layer_breakdown(layers: pd.DataFrame, title: str) -> Figure:
    """Horizontal bars of the bytes each Dockerfile step added, in build order.

    A 600 MB base layer and a 4 kB COPY share one chart, so the x axis is logarithmic (in MB).
    Steps that add no bytes (WORKDIR, EXPOSE, CMD...) and steps under 1 kB are still shown, as
    hatched stubs of fixed length; every bar is annotated with its real size ("0 B (metadata
    only)", "42 B", "17 kB", "685.0 MB").

    Args:
        layers: One row per history step, first row = the base (oldest), with columns
            ``instruction`` (str) and ``size_bytes`` (int); optional ``highlight`` (bool) draws
            that step in an accent colour with a bold label. ``layers.history_frame`` output
            fits as it is.
        title: Figure title.

    Returns:
        The Figure; the first step is the top bar.

    Raises:
        ValueError: ``layers`` lacks a required column or has no rows.
    """
    _check_columns(layers, ("instruction", "size_bytes"), "layers")
    max_mb = float(layers["size_bytes"].max()) / MB
    fig = Figure(figsize=(11, 1.9 + 0.5 * len(layers)), layout="constrained")
    ax = fig.add_subplot()
    _draw_layers(ax, layers, title, _layer_xlim(max_mb), _stub_mb(max_mb))
    return fig


def history_side_by_side(left: pd.DataFrame, right: pd.DataFrame, left_title: str,
                         right_title: str) -> Figure:
    """Two layer_breakdown panels in one figure, on one shared log x axis (MB).

    Meant for the single-stage image next to the multi-stage one: the same x scale and the same
    bar height in both panels, so which instruction made which bytes can be compared by eye.
    The panels are stacked (``left`` on top, ``right`` below) rather than put in two columns:
    with the instructions as labels, two columns would need a figure so wide that a notebook or
    projector shrinks its text below readable size, and stacking lines the x axes up exactly.

    Args:
        left: Layer rows of the first image, usually the single-stage one (columns as in
            :func:`layer_breakdown`).
        right: Layer rows of the second image, usually the multi-stage one.
        left_title: Title of the first (top) panel.
        right_title: Title of the second (bottom) panel.

    Returns:
        The Figure with two Axes: ``fig.axes[0]`` shows ``left``, ``fig.axes[1]`` ``right``.

    Raises:
        ValueError: Either frame lacks a required column or has no rows.
    """
    _check_columns(left, ("instruction", "size_bytes"), "left")
    _check_columns(right, ("instruction", "size_bytes"), "right")
    max_mb = float(max(left["size_bytes"].max(), right["size_bytes"].max())) / MB
    xlim, stub = _layer_xlim(max_mb), _stub_mb(max_mb)
    fig = Figure(figsize=(11, 3.6 + 0.5 * (len(left) + len(right))), layout="constrained")
    ax_left, ax_right = fig.subplots(2, 1, sharex=True, gridspec_kw={
        "height_ratios": [len(left), len(right)]})
    _draw_layers(ax_left, left, left_title, xlim, stub)
    _draw_layers(ax_right, right, right_title, xlim, stub)
    ax_left.tick_params(axis="x", labelbottom=True)  # sharex hid them; keep both readable
    return fig


def category_breakdown(categories: pd.DataFrame, title: str,
                       total_bytes: int | None = None) -> Figure:
    """Horizontal bars of what an image is made of, largest first, with size and percent.

    The x axis is linear, in MB; when the largest category is under 1 MB it switches to kB
    (stated on the axis label). More than :data:`MAX_CATEGORIES` rows are cut to the largest
    nine plus one "other (N more)" bar.

    Args:
        categories: Columns ``category`` (str) and ``size_bytes`` (int), one row per category
            (sorted largest first here anyway).
        title: Figure title.
        total_bytes: What the percentages are of (for example the image size); defaults to the
            sum of ``size_bytes``.

    Returns:
        The Figure; each bar is annotated like ``"229.8 MB (30.1%)"``.

    Raises:
        ValueError: ``categories`` lacks a required column or has no rows.
    """
    _check_columns(categories, ("category", "size_bytes"), "categories")
    ordered = categories.sort_values("size_bytes", ascending=False, kind="stable")
    names = [str(name) for name in ordered["category"].to_list()]
    sizes = [int(size) for size in ordered["size_bytes"].to_list()]
    total = int(sum(sizes) if total_bytes is None else total_bytes)
    if len(names) > MAX_CATEGORIES:
        rest = len(names) - (MAX_CATEGORIES - 1)
        names = names[:MAX_CATEGORIES - 1] + [f"other ({rest} more)"]
        sizes = sizes[:MAX_CATEGORIES - 1] + [sum(sizes[MAX_CATEGORIES - 1:])]
    unit, factor = ("MB", MB) if max(sizes) >= MB else ("kB", 10**3)
    values = [size / factor for size in sizes]
    fig = Figure(figsize=(11, 1.9 + 0.5 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    ypos = list(range(len(names)))
    colors = [STUB_COLOR if name.startswith("other (") else LAYER_COLOR for name in names]
    ax.barh(ypos, values, color=colors, edgecolor="#34495e", linewidth=0.6, height=0.7)
    ax.set_yticks(ypos, [_shorten(name) for name in names], fontsize=TICK_SIZE)
    _literal_labels(ax)
    ax.set_ylim(len(names) - 0.5, -0.5)  # largest on top
    top = max(values) if max(values) > 0 else 1.0
    ax.set_xlim(0, top * 1.3)
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda value, _pos: f"{value:,.2f}".rstrip("0").rstrip(".")))
    ax.tick_params(axis="x", labelsize=TICK_SIZE)
    ax.grid(axis="x", color="#d5d8dc", linewidth=0.6)
    ax.set_axisbelow(True)
    for y, size, value in zip(ypos, sizes, values):
        ax.annotate(f"{human_bytes(size)} ({_percent(size, total)})", xy=(value, y),
                    xytext=(5, 0), textcoords="offset points", va="center", ha="left",
                    fontsize=NOTE_SIZE)
    unit_text = "MB = 10^6 bytes" if unit == "MB" else "kB = 10^3 bytes"
    ax.set_xlabel(f"size ({unit_text})   |   percent of {human_bytes(total)}",
                  fontsize=LABEL_SIZE)
    ax.set_title(title, fontsize=TITLE_SIZE, fontweight="bold")
    return fig


def _percent(size: int, total: int) -> str:
    """``size`` as a percentage of ``total``: "30.1%", "<0.1%", or "n/a" for a zero total."""
    if total <= 0:
        return "n/a"
    share = 100 * size / total
    return "<0.1%" if 0 < share < 0.05 else f"{share:.1f}%"


# --------------------------------------------------------------------------------------------
# Build timelines (which step ran, which came from the cache, and when)
# --------------------------------------------------------------------------------------------

#: Bar colours of :func:`build_timeline`: a step that ran, one taken from the build cache,
#: and a FROM line (a base image or an earlier stage: neither ran nor was cached).
TIMELINE_COLORS = {"executed": "#e67e22", "cached": "#2e86c1", "base": "#bdc3c7"}
TIMELINE_LEGEND = {"executed": "executed (ran)", "cached": "cached (reused)",
                   "base": "FROM (base image / stage)"}
#: Shortest bar drawn, as a fraction of the x range: 0-s and cached steps stay visible.
TIMELINE_MIN_FRACTION = 0.006
#: Longest step label of a timeline (room for a stage prefix such as ``[stage-1] ``).
TIMELINE_LABEL_CHARS = 48


def _timeline_kind(step) -> str:
    if step.instruction.lstrip().upper().startswith("FROM "):
        return "base"
    return "cached" if step.cached else "executed"


def _timeline_label(step, limit: int = TIMELINE_LABEL_CHARS) -> str:
    """``[stage] INSTRUCTION`` on one line, shortened.

    ``--mount`` flags and a RUN's leading ``VAR=value`` assignments are dropped, so the
    command itself (``RUN go build -trimpath ...``) fits in the label.
    """
    import re as _re

    text = " ".join(_re.sub(r"\s--mount=\S+", "", " " + step.instruction).split())
    text = _re.sub(r"^(RUN\s+)(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+", r"\1", text)
    if step.stage:
        text = f"[{step.stage}] {text}"
    return _shorten(text, limit)


def _timeline_end(result) -> float:
    ends = [step.started_s + step.duration_s for step in result.steps]
    return max(ends + [result.duration_s, 0.0])


def _draw_timeline(ax, result, title: str, xmax: float) -> set[str]:
    """One build's timeline on ``ax``; returns the bar kinds drawn (for the legend)."""
    steps = sorted(result.steps, key=lambda step: (step.started_s, step.number))
    min_width = xmax * TIMELINE_MIN_FRACTION
    ypos = list(range(len(steps)))
    kinds = [_timeline_kind(step) for step in steps]
    widths = [max(step.duration_s, min_width) for step in steps]
    ax.barh(ypos, widths, left=[step.started_s for step in steps], height=0.7,
            color=[TIMELINE_COLORS[kind] for kind in kinds], edgecolor="#34495e",
            linewidth=0.6)
    ax.set_yticks(ypos, [_timeline_label(step) for step in steps], fontsize=TICK_SIZE,
                  family="monospace")
    _literal_labels(ax)
    ax.set_ylim(len(steps) - 0.5, -0.5)  # first step on top
    for y, step, kind, width in zip(ypos, steps, kinds, widths):
        if kind == "base":
            continue
        text = "cached" if kind == "cached" else f"{step.duration_s:.1f} s"
        if width > 0.3 * xmax:  # a long bar: the text goes inside, at its right end
            ax.annotate(text, xy=(step.started_s + width, y), xytext=(-5, 0),
                        textcoords="offset points", va="center", ha="right",
                        fontsize=NOTE_SIZE, color="white", fontweight="bold")
        else:
            ax.annotate(text, xy=(step.started_s + width, y), xytext=(4, 0),
                        textcoords="offset points", va="center", ha="left",
                        fontsize=NOTE_SIZE, color="#34495e",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5,
                              "alpha": 0.8})
    ax.axvline(result.duration_s, color="#34495e", linestyle="--", linewidth=1)
    ax.annotate(f"done {result.duration_s:.1f} s", xy=(result.duration_s, 1),
                xycoords=("data", "axes fraction"), xytext=(3, -3),
                textcoords="offset points", ha="left", va="top", fontsize=NOTE_SIZE,
                color="#34495e")
    ax.set_xlim(0, xmax)
    ax.tick_params(axis="x", labelsize=TICK_SIZE)
    ax.grid(axis="x", color="#d5d8dc", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("seconds since build start", fontsize=LABEL_SIZE)
    ax.set_title(title, fontsize=TITLE_SIZE, fontweight="bold")
    return set(kinds)


def _timeline_legend(fig, kinds: set[str]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=TIMELINE_COLORS[kind], edgecolor="#34495e",
                     label=TIMELINE_LEGEND[kind])
               for kind in ("executed", "cached", "base") if kind in kinds]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
               fontsize=NOTE_SIZE, frameon=False)


def _timeline_title(label: str, result) -> str:
    return f"{label}: {result.duration_s:.1f} s"


def build_timeline(result, title: str) -> Figure:
    """One horizontal bar per build step, from when it started for as long as it took.

    Bars start at ``step.started_s`` and are ``step.duration_s`` long (at least
    :data:`TIMELINE_MIN_FRACTION` of the x range, so cached and 0-s steps stay visible),
    coloured by what the builder did (executed, cached, or a FROM line), each annotated with
    its seconds or "cached". Steps are listed top to bottom in the order they started; labels
    are the instructions (``--mount`` flags and a RUN's ``VAR=value`` prefixes dropped),
    prefixed with BuildKit's stage name. A dashed line marks the end of the build (its total
    includes sending the context and writing the image).

    Args:
        result: A :class:`helpers.build.BuildResult` (either backend).
        title: Figure title.

    Returns:
        The Figure (one Axes; the legend below it).

    Raises:
        ValueError: ``result`` has no steps.
    """
    if not result.steps:
        raise ValueError("the build has no steps to plot")
    end = _timeline_end(result)
    fig = Figure(figsize=(11, 2.0 + 0.36 * len(result.steps)), layout="constrained")
    ax = fig.add_subplot()
    kinds = _draw_timeline(ax, result, title, max(end * 1.15, 0.1))
    _timeline_legend(fig, kinds)
    return fig


def build_timelines(results: Mapping[str, object], title: str) -> Figure:
    """Several builds' timelines stacked, on one shared x axis (seconds).

    Meant for the same edit under different Dockerfiles (or a cold build above a rebuild):
    the common scale shows at a glance which one spent its time where. Each panel is titled
    with its label and the build's total seconds.

    Args:
        results: Label -> :class:`helpers.build.BuildResult`, top panel first.
        title: Figure title (above all panels).

    Returns:
        The Figure, one Axes per build in the order given.

    Raises:
        ValueError: ``results`` is empty or a build has no steps.
    """
    if not results:
        raise ValueError("no builds to plot")
    for label, result in results.items():
        if not result.steps:
            raise ValueError(f"the build {label!r} has no steps to plot")
    xmax = max(max(_timeline_end(result) for result in results.values()) * 1.15, 0.1)
    counts = [len(result.steps) for result in results.values()]
    fig = Figure(figsize=(11, 1.4 + 0.9 * len(counts) + 0.3 * sum(counts)),
                 layout="constrained")
    axes = fig.subplots(len(counts), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": counts})[:, 0]
    kinds: set[str] = set()
    for ax, (label, result) in zip(axes, results.items()):
        kinds |= _draw_timeline(ax, result, _timeline_title(label, result), xmax)
        ax.tick_params(axis="x", labelbottom=True)
    fig.suptitle(title, fontsize=TITLE_SIZE, fontweight="bold")
    _timeline_legend(fig, kinds)
    return fig


# --------------------------------------------------------------------------------------------
# Go binary sizes by build flags (notebook 05, no Docker)
# --------------------------------------------------------------------------------------------

#: Bar colours of :func:`binary_sizes`: a static binary (runs in scratch) and a dynamic one.
LINKING_COLORS = {"static": "#28b463", "dynamic": "#e67e22"}


def binary_sizes(results, title: str = "Go server binary size by build flags") -> Figure:
    """Horizontal bars of the binary size each ``go build`` variant produced, in MB.

    The first variant is the baseline ("default"); every bar is annotated with its size and
    its percentage of the baseline ("4.9 MB, 67.2% of default"); a dashed line marks the
    baseline's size. Bars are coloured by linking:
    static (no ELF interpreter, no needed libraries) or dynamic, with a legend. A variant whose
    build failed keeps its row, without a bar, annotated "build failed".

    Args:
        results: ``helpers.lessons.goflags.results_frame`` output (columns ``variant``,
            ``size_bytes``, ``static``) or the list of ``FlagResult`` it is made from.
        title: Figure title.

    Returns:
        The Figure; the first variant is the top bar.

    Raises:
        ValueError: No rows, or a frame lacks a required column.
    """
    labels, sizes, static = _binary_rows(results)
    base = sizes[0] if sizes[0] else None
    values = [0.0 if size is None else size / MB for size in sizes]
    fig = Figure(figsize=(10, 1.9 + 0.55 * len(labels)), layout="constrained")
    ax = fig.add_subplot()
    ypos = list(range(len(labels)))
    colors = [LINKING_COLORS["static" if flag else "dynamic"] for flag in static]
    ax.barh(ypos, values, color=colors, edgecolor="#34495e", linewidth=0.6, height=0.65)
    ax.set_yticks(ypos, [_shorten(label) for label in labels], fontsize=TICK_SIZE,
                  family="monospace")
    _literal_labels(ax)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first variant on top
    top = max(values) if max(values) > 0 else 1.0
    ax.set_xlim(0, top * 1.45)
    if base:
        ax.axvline(base / MB, color="#34495e", linestyle="--", linewidth=1)
    for y, size, value in zip(ypos, sizes, values):
        ax.annotate(_binary_note(size, base, labels[0]), xy=(value, y), xytext=(5, 0),
                    textcoords="offset points", va="center", ha="left", fontsize=NOTE_SIZE,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5,
                          "alpha": 0.85})
    ax.tick_params(axis="x", labelsize=TICK_SIZE)
    ax.grid(axis="x", color="#d5d8dc", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("binary size (MB = 10^6 bytes)", fontsize=LABEL_SIZE)
    ax.set_title(title, fontsize=TITLE_SIZE, fontweight="bold")
    _linking_legend(fig, static)
    return fig


def _binary_rows(results) -> tuple[list[str], list[int | None], list[bool | None]]:
    """Labels, sizes (None: the build failed) and linking (None: no binary) of each variant."""
    if not isinstance(results, pd.DataFrame):
        from ..lessons.goflags import results_frame

        results = results_frame(list(results))
    _check_columns(results, ("variant", "size_bytes", "static"), "results")
    labels = [str(label) for label in results["variant"].to_list()]
    sizes = [None if pd.isna(size) else int(size) for size in results["size_bytes"].to_list()]
    static = [None if size is None else bool(flag)
              for size, flag in zip(sizes, results["static"].to_list())]
    return labels, sizes, static


def _binary_note(size: int | None, base: int | None, baseline: str) -> str:
    """The text beside a bar: its size and share of the baseline, or "build failed"."""
    if size is None:
        return "build failed"
    if base:
        return f"{human_bytes(size)}, {100 * size / base:.1f}% of {baseline}"
    return human_bytes(size)


def _linking_legend(fig: Figure, static: list[bool | None]) -> None:
    """One legend entry per linking kind present among the built variants."""
    from matplotlib.patches import Patch

    present = [flag for flag in static if flag is not None]
    notes = {"static": "no interpreter", "dynamic": "needs ld.so + libc"}
    handles = [Patch(facecolor=LINKING_COLORS[kind], edgecolor="#34495e",
                     label=f"{kind} ({notes[kind]})")
               for kind in ("static", "dynamic") if (kind == "static") in present]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
                   fontsize=NOTE_SIZE, frameon=False)
