"""A lasso in the pair plot with the real pointer (issue 27, parts 1–2): the Select tool's button, then the left
button held down (xdotool mousedown), the pointer moved around a region in several steps, and released; the
selection must then show in every linked view: the pair plot's highlight (the rest greyed), the components
histogram's overlay, the Selection panel's count, faces and prevalence."""
from __future__ import annotations


def _ring_pixels(plot, k: int = 14, r: float = 0.28):
    """Screen pixels of a ring around the middle of the plot's view: ``r`` of its width and height."""
    import math

    vp = plot.viewport()
    cx, cy = vp.width() * 0.5, vp.height() * 0.5
    return [(int(cx + r * vp.width() * math.cos(2 * math.pi * i / k)),
             int(cy + r * vp.height() * math.sin(2 * math.pi * i / k))) for i in range(k + 1)]


def run(rw) -> dict:
    import numpy as np

    from gui.plot_tools import PlotMode

    w = rw.window
    pp, s = w.pair_plot, w.session
    vp = pp.plot.viewport()
    v: dict = {}
    rw.key("ctrl+2")  # "Explore the cloud": the pair plot, the components histogram and the Selection panel
    rw.wait_idle()
    v["workspace"] = w.workspace()
    rw.click(pp.tool_bar.buttons[PlotMode.SELECT])
    v["mode"] = pp.tools.mode.value
    v["shape"] = pp.tools.select_shape
    ring = _ring_pixels(pp.plot)
    rw.move_to(vp, at=ring[0])
    rw.xdotool("mousedown", 1)
    for p in ring[1:]:
        x, y = rw.point(vp, p)
        rw.xdotool("mousemove", x, y)
        rw.process(20)
    rw.xdotool("mouseup", 1)
    rw.process(300)
    sel = s.cloud_selection
    v["count"] = 0 if sel is None else sel.count
    v["n"] = len(s.latents)
    v["how"] = "" if sel is None else sel.how
    # the points inside the ring the pointer drew, by the engine's test on the plot's coordinates
    from engine.selection import from_polygon

    vb = pp.plot.getPlotItem().getViewBox()
    poly = [vb.mapSceneToView(pp.plot.mapToScene(*p)) for p in ring]
    expected = from_polygon(pp._xy, [(q.x(), q.y()) for q in poly])
    v["expected"] = int(expected.sum())
    v["highlight"] = pp.selector.drawn_points()
    v["greyed"] = pp.points_item.opacity() < 1.0
    x, y = w.components.sel_item.getData()
    v["histogram overlay"] = 0 if x is None else int(np.count_nonzero(y))
    panel = w.selection_panel
    v["panel count"] = panel.count_label.text()
    rw.wait_idle()
    rw.wait_until(lambda: panel.faces.count() > 0, 20, "the selection's faces")
    v["faces"] = panel.faces.count()
    v["faces of the selection"] = bool(sel is not None and sel.mask[panel.shown_indices].all())
    dock = w.docks["selectionDock"]
    v["panel shown"] = dock.isVisible() and not dock.visibleRegion().isEmpty()
    rw.process(300)
    rw.shot("lasso")
    # Esc in the Select tool: cleared everywhere
    rw.key("Escape")
    rw.process(200)
    v["after Esc"] = [s.cloud_selection is None, pp.selector.drawn_points(), panel.faces.count()]
    return v
