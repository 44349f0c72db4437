"""The class report's charts, as pure functions: tables in, matplotlib Figure out.

:func:`pass_rate_chart` draws the share of learners passing each check (required checks and
advice in two colours, the count beside each bar); :func:`class_grid` draws learners x checks,
one coloured cell per latest status. Both take the tables of
:class:`helpers.classroom.classreport.ClassReport` (``pass_rates()``, ``statuses()``) and
touch nothing global, like :mod:`helpers.ui.charts`.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from ..classroom.classreport import MISSING

REQUIRED_COLOR = "#2e86c1"
ADVICE_COLOR = "#aab7b8"
#: Status -> colour, in the order of the grid's values; MISSING: a check that never ran.
STATUS_COLORS = {"pass": "#28b463", "fail": "#c0392b", "skip": "#f5b041", MISSING: "#e5e7e9"}
#: A grid taller than this many learners gets no text in its cells (the colours say it).
GRID_TEXT_MAX_LEARNERS = 40


def _empty(fig: Figure, title: str) -> Figure:
    """A titled figure that says there is nothing to draw yet (never an error)."""
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no check records yet", ha="center", va="center", fontsize=12,
            color="#7f8c8d", transform=ax.transAxes)
    return fig


def pass_rate_chart(rates: pd.DataFrame, title: str = "Learners passing each check") -> Figure:
    """Horizontal bars: the share of learners whose latest attempt passes each check.

    Args:
        rates: ``ClassReport.pass_rates()``: columns ``check``, ``required``, ``passing``,
            ``learners`` and ``share`` (0..1), one row per check, in the order drawn top down.
        title: Figure title.
    """
    fig = Figure(figsize=(8, 1.8 + 0.35 * max(len(rates), 1)), layout="constrained")
    if rates.empty or not rates["learners"].max():
        return _empty(fig, title)
    ax = fig.add_subplot()
    ypos = list(range(len(rates)))[::-1]
    colors = [REQUIRED_COLOR if required else ADVICE_COLOR for required in rates["required"]]
    ax.barh(ypos, rates["share"].to_list(), color=colors)
    labels = [check if required else f"{check} (advice)"
              for check, required in zip(rates["check"], rates["required"])]
    ax.set_yticks(ypos, labels)
    for y, row in zip(ypos, rates.itertuples(index=False)):
        ax.annotate(f"{row.passing}/{row.learners}", xy=(row.share, y), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=9)
    ax.set_xlim(0, 1.12)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    learners = int(rates["learners"].max())
    ax.set_xlabel(f"learners whose latest attempt passes (% of {learners} learner(s))")
    ax.set_title(title)
    fig.legend(handles=[Patch(color=REQUIRED_COLOR, label="required"),
                        Patch(color=ADVICE_COLOR, label="advice")],
               loc="outside lower center", ncols=2, fontsize=9)
    return fig


def class_grid(statuses: pd.DataFrame, title: str = "Latest status: learners x checks") -> Figure:
    """A grid with one row per learner and one column per check, coloured by status.

    Args:
        statuses: ``ClassReport.statuses()``: index = learners, columns = check ids, values
            ``pass``, ``fail``, ``skip`` or ``-`` (never ran).
        title: Figure title.
    """
    rows, columns = statuses.shape
    fig = Figure(figsize=(max(6.0, 1.6 + 0.75 * columns), 1.8 + 0.32 * max(rows, 1)),
                 layout="constrained")
    if rows == 0 or columns == 0:
        return _empty(fig, title)
    order = list(STATUS_COLORS)
    codes = statuses.apply(lambda col: col.map(lambda s: order.index(s if s in order
                                                                     else MISSING)))
    ax = fig.add_subplot()
    ax.imshow(codes.to_numpy(), cmap=ListedColormap(list(STATUS_COLORS.values())),
              vmin=0, vmax=len(order) - 1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(columns), [str(c) for c in statuses.columns], rotation=40, ha="right")
    ax.set_yticks(range(rows), [str(i) for i in statuses.index])
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_parse_math(False)
    ax.set_xticks([x - 0.5 for x in range(1, columns)], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, rows)], minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    if rows <= GRID_TEXT_MAX_LEARNERS:
        for (y, x), status in pd.DataFrame(statuses.to_numpy()).stack().items():
            ax.text(x, y, str(status), ha="center", va="center", fontsize=8, color="white"
                    if status in ("pass", "fail") else "#333333")
    ax.set_xlabel("check id")
    ax.set_ylabel("learner (namespace)")
    ax.set_title(title)
    fig.legend(handles=[Patch(color=color, label="never ran" if status == MISSING else status)
                        for status, color in STATUS_COLORS.items()],
               loc="outside lower center", ncols=len(STATUS_COLORS), fontsize=9)
    return fig
