"""Charts as assets: each plot asset returns PNG bytes, which the IO manager stores as
`<warehouse>/runs/<run>/<asset>.png` (published with the tables), and shows the image in the
asset's Dagster metadata (the "[Show Markdown]" view, about 860 px wide at a 1,100 px window:
the house size below keeps every chart inside it).

Plots are drawn only from tables that carry no pupil identifiers (aggregates), so the image is
covered by the same disclosure control as the table it is drawn from; a chart of a synthetic
world says so on its face.
"""

from __future__ import annotations

import base64
import functools
import inspect
import io

import dagster as dg

DPI = 105
WIDTH = 8.0  # inches: 840 px, inside the UI's markdown view at a 1,100 px window


def pyplot():
    """matplotlib's pyplot on the file-only backend (no display in the SRS or CI), imported when a
    chart is drawn rather than when the code location loads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure(width: float = WIDTH, height: float = 5.0, ncols: int = 1, nrows: int = 1):
    """A new figure and its axes (the house size, so charts look alike and fit the UI)."""
    return pyplot().subplots(nrows=nrows, ncols=ncols, figsize=(min(width, WIDTH), height), squeeze=False)


def mark_synthetic(fig, synthetic: bool) -> None:
    """A visible mark on a chart drawn from a synthetic world (never on real extracts)."""
    if synthetic:
        fig.text(
            0.5,
            0.5,
            "SYNTHETIC DATA",
            rotation=28,
            ha="center",
            va="center",
            fontsize=54,
            color="#9a9a9a",
            alpha=0.18,
            weight="bold",
            zorder=0,
        )
        fig.text(0.99, 0.005, "synthetic data: not real pupils", ha="right", va="bottom", fontsize=7, color="#7a7a7a")


def render(fig) -> bytes:
    """PNG bytes of a figure (metadata stripped so reruns give identical files); closes it."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    pyplot().close(fig)
    return buf.getvalue()


def image_metadata(png: bytes, title: str) -> dict:
    """Metadata entries that show the chart in the Dagster UI."""
    data = base64.b64encode(png).decode("ascii")
    return {
        "chart": dg.MetadataValue.md(f"![{title}](data:image/png;base64,{data})"),
        "chart_bytes": dg.MetadataValue.int(len(png)),
    }


def chart_asset(title: str, *, group: str, disclosure: str = "srs_only", **asset_kwargs):
    """Declare a chart asset: the decorated function draws from its inputs and returns PNG bytes,
    which the IO manager stores as `<asset>.png` and the UI shows in the metadata. Owners, tags
    (stage, disclosure class) and code version as for table assets."""
    from . import governance
    from .table_assets import code_version, source_reference

    def decorate(fn):
        @functools.wraps(fn)
        def compute(*args, **kwargs):
            png = fn(*args, **kwargs)
            return dg.Output(png, metadata=image_metadata(png, title))

        compute.__signature__ = inspect.signature(fn).replace(return_annotation=dg.Output[bytes])
        name = fn.__name__
        return dg.asset(
            name=name,
            group_name=group,
            kinds={"matplotlib", "png"},
            metadata=source_reference(fn),
            owners=governance.owners(name, group),
            code_version=code_version(fn),
            tags={"stage": group, "disclosure": governance.disclosure_class(name, None, disclosure)},
            **asset_kwargs,
        )(compute)

    return decorate
