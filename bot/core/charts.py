"""Report charts as PNG, drawn by matplotlib for both the web page and the monthly mail
(mail clients show PNG, not SVG). Pure: numbers in, image bytes out. matplotlib is loaded
on first use (the bot's other work never pays for it) and draws without a display (Agg).
"""

from __future__ import annotations

import io
import threading
from typing import Any

BLUE, GREEN, RED, GREY = "#2b6cb0", "#38a169", "#c53030", "#8a94a6"
_lock = threading.Lock()  # pyplot keeps global state: one figure at a time


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig, plt) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def bars(title: str, labels: list[str], series: dict[str, list[float]], *,
         colors: tuple[str, ...] = (BLUE, GREEN, RED, GREY), percent: bool = False,
         horizontal: bool = False) -> bytes:
    """A grouped bar chart: one bar per series per label."""
    with _lock:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7, 3.2))
        n = max(1, len(series))
        width = 0.8 / n
        for i, (name, values) in enumerate(series.items()):
            xs = [x + (i - (n - 1) / 2) * width for x in range(len(labels))]
            vals = [v if v is not None else 0 for v in values]
            if horizontal:
                ax.barh(xs, vals, height=width, label=name, color=colors[i % len(colors)])
            else:
                ax.bar(xs, vals, width=width, label=name, color=colors[i % len(colors)])
        if horizontal:
            ax.set_yticks(range(len(labels)), labels)
            ax.invert_yaxis()
        else:
            ax.set_xticks(range(len(labels)), labels, rotation=0 if len(labels) < 8 else 45)
        if percent:
            (ax.set_xlim if horizontal else ax.set_ylim)(0, 100)
        else:  # counts: whole numbers on the axis
            from matplotlib.ticker import MaxNLocator

            (ax.xaxis if horizontal else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, fontsize=11)
        ax.spines[["top", "right"]].set_visible(False)
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=9)
        return _png(fig, plt)
