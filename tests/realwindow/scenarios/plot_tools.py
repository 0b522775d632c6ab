"""Decode and path work without modifier keys (issue 24, finding 3), and hovering a cloud point shows its training face
(finding 15): plain clicks of the real pointer on the pair plot's tool bar and plot, the keys T and Esc."""
from __future__ import annotations


def _plot_point(plot, fx: float, fy: float):
    """(the viewport's pixel, the data point) at fractions ``fx``, ``fy`` of the plot's view."""
    import pyqtgraph as pg

    vb = plot.getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    x, y = x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
    p = plot.mapFromScene(vb.mapViewToScene(pg.Point(x, y)))
    return (p.x(), p.y()), (x, y)


def _hover_target(pp):
    """A drawn cloud point in the left half of the view, 4 px clear of the others and 14 px of the orange faces:
    (its training index, its viewport pixel), or None."""
    import numpy as np
    import pyqtgraph as pg

    from gui.qt_cloud_hover import pixel_d2

    vb = pp.plot.getPlotItem().getViewBox()
    rect = vb.sceneBoundingRect()
    xy = pp._xy[pp._sample_idx]
    for k in range(len(xy)):
        sp = vb.mapViewToScene(pg.Point(*map(float, xy[k])))
        if not rect.contains(sp) or sp.x() > rect.center().x():
            continue
        if np.sort(pixel_d2(vb, xy, sp))[1] > 4 ** 2 and (
                not len(pp._gen_xy) or pixel_d2(vb, pp._gen_xy, sp).min() > 14 ** 2):
            p = pp.plot.mapFromScene(sp)
            return int(pp._sample_idx[k]), (p.x(), p.y())
    return None


def run(rw) -> dict:
    from gui.plot_tools import PlotMode

    w = rw.window
    pp, panel = w.pair_plot, w.path_panel
    vp = pp.plot.viewport()
    v: dict = {}
    rw.key("ctrl+2")  # the "Explore the cloud" workspace: the pair plot large
    rw.wait_idle()
    v["workspace"] = w.workspace()
    # Decode: the tool bar's button, then a plain click in the plot
    rw.click(pp.tool_bar.buttons[PlotMode.DECODE])
    v["decode mode"] = pp.tools.mode.value
    at, xy = _plot_point(pp.plot, 0.3, 0.6)
    rw.click(vp, at=at)
    vb = pp.plot.getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    v["decoded"] = None if pp.probe is None else [float(pp.probe.xy[0]), float(pp.probe.xy[1])]
    v["clicked"] = [float(xy[0]), float(xy[1])]
    v["pixel"] = [abs(x1 - x0) / max(1, vb.width()), abs(y1 - y0) / max(1, vb.height())]  # data units per pixel
    v["decoded face shown"] = pp.probe_float.isVisible()
    rw.shot("decode")
    # Path: the key T (the plot has the focus since the click), then two plain clicks; no Path panel in this workspace
    rw.key("t")
    v["path mode"] = pp.tools.mode.value
    for fx, fy in ((0.25, 0.3), (0.75, 0.7)):
        rw.click(vp, at=_plot_point(pp.plot, fx, fy)[0])
    rw.wait_until(lambda: panel.path is not None, 30, "the path decoded after its second click")
    rw.wait_idle()
    dock = w.docks["pathDock"]
    v["path panel shown"] = dock.isVisible() and not dock.visibleRegion().isEmpty()
    rects = panel.strip.face_rects()
    v["faces"] = [len(panel.path), panel.n.value(), len(rects)]
    v["faces inside the strip"] = all(panel.strip.rect().contains(r) for r in rects)
    v["strip shown"] = not panel.strip.visibleRegion().isEmpty()
    v["face px"] = rects[0].width() if rects else 0
    rw.process(300)  # the curve's range is updated when it is painted
    rw.shot("path")
    # Esc: back to pan/zoom (before the window's Esc, "Cancel running job")
    rw.key("Escape")
    v["after Esc"] = pp.tools.mode.value
    # hover a grey cloud point: its training face
    target = _hover_target(pp)
    v["hover target"] = None if target is None else target[0]
    if target is not None:
        rw.move_to(vp, at=target[1])
        rw.wait_until(lambda: pp.hover.label.isVisible(), 5, "the hover preview")
        v["hover shown"] = pp.hover.index
        v["hover ms"] = pp.hover.last_ms[-1] if pp.hover.last_ms else None
        rw.process(200)
        rw.shot("hover")
    return v
