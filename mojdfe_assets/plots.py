"""Charts as assets: each plot asset returns PNG bytes, which the IO manager stores as
`<warehouse>/<asset>.png`, and shows the image in the asset's Dagster metadata.

Plots are drawn only from tables that carry no pupil identifiers (aggregates), so the image is
covered by the same disclosure control as the table it is drawn from.
"""

from __future__ import annotations

import base64
import functools
import inspect
import io

import dagster as dg
import matplotlib

matplotlib.use("Agg")  # no display in the SRS or CI
import matplotlib.pyplot as plt  # noqa: E402


def figure(width: float = 8.0, height: float = 5.0, ncols: int = 1, nrows: int = 1):
    """A new figure and its axes (the house size, so charts look alike in the UI)."""
    return plt.subplots(nrows=nrows, ncols=ncols, figsize=(width, height), squeeze=False)


def render(fig) -> bytes:
    """PNG bytes of a figure (metadata stripped so reruns give identical files); closes it."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def image_metadata(png: bytes, title: str) -> dict:
    """Metadata entries that show the chart inline in the Dagster UI."""
    data = base64.b64encode(png).decode("ascii")
    return {"chart": dg.MetadataValue.md(f"![{title}](data:image/png;base64,{data})"),
            "chart_bytes": dg.MetadataValue.int(len(png))}


def chart_asset(title: str, *, group: str, **asset_kwargs):
    """Declare a chart asset: the decorated function draws from its inputs and returns PNG bytes,
    which the IO manager stores as `<warehouse>/<asset>.png` and the UI shows in the metadata."""

    def decorate(fn):
        @functools.wraps(fn)
        def compute(*args, **kwargs):
            png = fn(*args, **kwargs)
            return dg.Output(png, metadata=image_metadata(png, title))

        compute.__signature__ = inspect.signature(fn).replace(return_annotation=dg.Output[bytes])
        from .table_assets import source_reference

        return dg.asset(name=fn.__name__, group_name=group, kinds={"matplotlib", "png"}, metadata=source_reference(fn),
                        **asset_kwargs)(compute)

    return decorate
