"""Show figures and tables in a notebook without touching pyplot's global state.

Charts are plain ``matplotlib.figure.Figure`` objects (see :mod:`helpers.ui.charts`); this turns
them into PNG output that renders in JupyterLab, in nbclient-executed notebooks and on GitHub,
and closes nothing global because nothing global was opened.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def show_figure(fig: Figure, dpi: int = 110) -> None:
    """Display ``fig`` as a PNG image in the notebook (or say where it would be, outside one)."""
    from IPython.display import Image, display

    display(Image(data=figure_png(fig, dpi)))
