"""A plot's part in the cloud selection: its Select tool's shapes turned into the session's selection, and the
selection drawn on it.

:class:`CloudSelector` joins one plot (the pair plot, the Atlas panel, the direction lab's map) to
``Session.cloud_selection``: a box, lasso or polygon drawn with the plot's Select tool (``gui/plot_tools.py``)
becomes a mask over every training z-point through ``engine.selection`` (the points' coordinates in that plot:
``coords()``), met with the current selection as the gesture asked (new, add, subtract, intersect); and whenever the
selection changes, from any view, the plot shows its members in colour over the rest, which its owner greys
(``grey(True)``). All N points are tested; a spread of at most ``max_points`` of the selected ones is drawn.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from . import plot_style as ps

#: The colour of selected z-points in every view (unselected ones are grey).
SELECTION_COLOUR = (0, 150, 120)
#: Selected points drawn per plot at most (a random spread of them; the masks and counts use all).
MAX_DRAWN = 6000


def mask_of(shape: str, vertices: np.ndarray, xy: np.ndarray, index=None) -> np.ndarray:
    """The points of ``xy`` (N, 2) inside a drawn ``shape`` ("box": its 4 corners; "lasso"/"polygon": its vertices);
    ``index``: an ``engine.selection.PointIndex`` of ``xy`` (a polygon then visits only its edges' bands)."""
    from engine.selection import from_box, from_polygon

    v = np.asarray(vertices, float).reshape(-1, 2)
    if shape == "box":
        return from_box(xy, v[:, 0].min(), v[:, 0].max(), v[:, 1].min(), v[:, 1].max())
    return from_polygon(xy, v, index=index)


class CloudSelector(QObject):
    """The Select tool of one plot and the selection's highlight on it (see the module's text)."""

    selected = Signal(float)  # milliseconds from the shape's end to the session's new selection (mask + every view)

    def __init__(self, session, plot, tools, coords: Callable[[], Optional[np.ndarray]], label: Callable[[], str],
                 grey: Optional[Callable[[bool], None]] = None, size: float = 4.0, z_value: float = -4,
                 alpha: int = 210) -> None:
        super().__init__(plot)
        self.session = session
        self.plot = plot
        self.coords = coords
        self.label = label
        self.grey = grey
        self.last_ms: list[float] = []
        self.item = pg.ScatterPlotItem(size=size, pen=None, brush=ps.brush(SELECTION_COLOUR, alpha))
        self.item.setZValue(z_value)
        plot.getPlotItem().addItem(self.item)
        self.active = False
        self.drawn = 0  # selected points drawn (the item holds MAX_DRAWN spots, the rest repeat them)
        self._index = None  # engine.selection.PointIndex of the last coordinates, kept while they are the same
        tools.selection_drawn.connect(self.select_shape)
        tools.mode_changed.connect(self._ready)
        tools.selection_cleared.connect(lambda: session.set_cloud_selection(None))
        session.cloud_selection_changed.connect(self.redraw)

    def select_shape(self, shape: str, vertices, op: str = "replace") -> Optional[int]:
        """Select the points inside a drawn shape (vertices in the plot's view coordinates), met with the current
        selection by ``op``; the number selected afterwards (None: this plot shows no points now)."""
        from engine.selection import apply

        xy = self.coords()
        s = self.session
        if xy is None or s.latents is None or len(xy) != len(s.latents):
            return None
        t0 = time.perf_counter()
        sel = apply(s.cloud_selection, mask_of(shape, vertices, xy, self.index(xy)), op, f"{shape} on {self.label()}")
        s.set_cloud_selection(sel)
        ms = (time.perf_counter() - t0) * 1000
        self.last_ms = (self.last_ms + [ms])[-200:]
        self.selected.emit(ms)
        return sel.count

    def _ready(self, mode) -> None:
        """Entering Select: the points sorted by y now (~0.1 s at 202,599 points), not in the first lasso."""
        from .plot_tools import PlotMode

        xy = self.coords() if mode is PlotMode.SELECT else None
        if xy is not None and len(xy):
            self.index(xy)

    def index(self, xy: np.ndarray):
        """The points sorted by y (``engine.selection.PointIndex``), made once per coordinate array."""
        from engine.selection import PointIndex

        if self._index is None or self._index.xy is not xy:
            self._index = PointIndex(xy)
        return self._index

    def redraw(self) -> None:
        """Show the session's selection: its members in colour (a spread of at most MAX_DRAWN), the rest greyed."""
        from engine.selection import spread

        sel = self.session.cloud_selection
        xy = self.coords() if sel is not None else None
        self.active = xy is not None and len(xy) == sel.n
        if self.active:
            idx = spread(sel.mask, MAX_DRAWN)
            self.drawn = len(idx)
            # always MAX_DRAWN spots, written in place (setData rebuilds every spot's style: ~5 ms per 1,000)
            pts = np.asarray(xy, float)[np.resize(idx, MAX_DRAWN)] if len(idx) else np.empty((0, 2))
            from .qt_pair_controls import move_points

            move_points(self.item, pts)
        else:
            self.drawn = 0  # (hidden, not emptied: the next selection is written into the same spots)
        self.item.setVisible(self.active)
        if self.grey is not None:
            self.grey(self.active)

    def drawn_points(self) -> int:
        """How many selected points this plot draws now (distinct ones)."""
        return self.drawn


def map_selection(panel) -> CloudSelector:
    """The Select tool on the direction lab's map (``gui.qt_directions.DirectionsPanel``): its points are every
    training z-point, so a lasso there selects in the cloud; the map's own points dim under a selection."""
    from .plot_tools import PlotMode, PlotToolBar, PlotTools

    panel.map_tools = PlotTools(panel.map_plot, modes=(PlotMode.PAN, PlotMode.SELECT))
    panel.map_tool_bar = PlotToolBar(panel.map_tools)

    kept: dict = {}

    def coords():
        lm, s = panel.latent_map, panel.session
        if lm is None or s.latents is None or len(lm.xy) != len(s.latents):
            return None
        if kept.get("map") is not lm:  # the same array while the map is the same (its PointIndex is kept)
            kept["map"], kept["xy"] = lm, np.asarray(lm.xy, float)
        return kept["xy"]

    def grey(on: bool) -> None:
        for it in panel.map_items:
            it.setOpacity(0.3 if on else 1.0)

    panel.map_hover = map_hover(panel, coords)
    return CloudSelector(panel.session, panel.map_plot, panel.map_tools, coords,
                         lambda: f"the {panel.latent_map.method} map" if panel.latent_map is not None else "the map",
                         grey=grey, size=3.0, z_value=5)


def map_hover(panel, coords):
    """Hover a point of the map: its training face (``gui.qt_cloud_hover.CloudHover``; a spread of 5,000 points is
    searched, as in the pair plot)."""
    from engine.selection import spread

    from .qt_cloud_hover import CloudHover

    session, kept = panel.session, {}

    def points():
        xy = coords()
        if xy is None:
            return None
        if kept.get("xy") is not xy:
            kept["xy"], kept["idx"] = xy, spread(np.ones(len(xy), bool), 5000)
        return xy[kept["idx"]], kept["idx"]

    def face(i: int) -> tuple:
        image, from_dataset = session.state.training_face(i)
        return image, f"#{i} · {'image' if from_dataset else 'decoded'}"

    hover = CloudHover(panel.map_plot, points, face)
    for sig in (session.model_changed, session.dataset_changed):
        sig.connect(hover.clear)
    return hover


def atlas_selection(panel, session) -> CloudSelector:
    """The Select tool on the Atlas panel (``gui.qt_atlas.AtlasPanel``): the training z-points placed on its plane
    (the cloud's coordinates on its two axes, kept per axes); the selected ones drawn over the faces."""
    cache: dict = {}

    def coords():
        s = session
        if s.latents is None or panel.stats is None or panel.stats is not s.stats:
            return None
        key = (id(s.latents), id(s.stats), tuple(panel.axes))
        if key not in cache:
            from engine.latent_stats import project

            cache.clear()
            cache[key] = np.asarray(project(s.latents, s.stats, tuple(panel.axes)), float)
        return cache[key]

    from engine.atlas import axis_label

    selector = CloudSelector(session, panel.plot, panel.tools, coords,
                             lambda: "the atlas, " + " × ".join(axis_label(a) for a in panel.axes),
                             size=4.0, z_value=5, alpha=90)  # the faces under it still show
    panel.layer.drawn.connect(lambda *_: selector.redraw())
    return selector
