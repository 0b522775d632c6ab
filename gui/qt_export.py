"""Export helpers for every plot panel: PNG (at a chosen scale), SVG, the plotted data as CSV, and the clipboard
— pyqtgraph's exporters where they serve; face grids, atlases and strips (uint8 arrays) as PNG.

Files are written through ``engine.atomic_io`` (temp → fsync → rename). A panel adds the actions with
:func:`add_export_actions` (a context-menu entry list and/or a toolbar button menu)."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QWidget

from engine import atomic_io


def _plot_item(plot) -> pg.PlotItem:
    if isinstance(plot, pg.PlotWidget):
        return plot.getPlotItem()
    if isinstance(plot, pg.PlotItem):
        return plot
    raise TypeError(f"not a pyqtgraph plot: {type(plot).__name__}")


def plot_png_bytes(plot, scale: float = 2.0) -> bytes:
    """The plot rendered at ``scale`` × its on-screen size, as PNG bytes (pyqtgraph's ImageExporter)."""
    from pyqtgraph.exporters import ImageExporter

    item = _plot_item(plot)
    ex = ImageExporter(item)
    w = max(16, int(round(item.sceneBoundingRect().width() * float(scale))))
    ex.parameters()["width"] = w
    img: QImage = ex.export(toBytes=True)
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    buf.close()
    return bytes(ba.data())


def plot_svg_bytes(plot) -> bytes:
    """The plot as SVG: pyqtgraph's SVGExporter, or — where it cannot parse the paths this Qt writes
    (pyqtgraph 0.14 with Qt 6.11 raises in its path rewriting) — Qt's own QSvgGenerator over the same scene rect."""
    from pyqtgraph.exporters import SVGExporter

    item = _plot_item(plot)
    try:
        out = SVGExporter(item).export(toBytes=True)
        return out if isinstance(out, bytes) else bytes(out)
    except (ValueError, IndexError):
        pass
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    src = item.sceneBoundingRect()
    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QSize(int(src.width()), int(src.height())))
    gen.setViewBox(QRectF(0, 0, src.width(), src.height()))
    gen.setTitle("Latent Face Studio plot")
    painter = QPainter(gen)
    try:
        item.scene().render(painter, QRectF(0, 0, src.width(), src.height()), src)
    finally:
        painter.end()
    buf.close()
    return bytes(ba.data())


#: what a panel's plot item is, by the attribute that holds it (a CSV names its rows after the plotted items;
#: an item named where it was made, or in the plot's legend, keeps that name)
SERIES_NAMES = {
    "points_item": "training z-points (a sample)", "contour_item": "density contours", "centre_item": "cloud centre",
    "generated_item": "generated faces", "edited_item": "edited face", "selected_item": "selected face",
    "photo_item": "your photos", "path_item": "drawn path", "hist_item": "histogram (share of training z-points)",
    "fit_item": "Gaussian fit", "ticks_item": "generated faces", "marker": "chosen cell",
    "bars": "bars", "cum_item": "cumulative share of variance", "obs_bars": "observed share inside",
    "exp_bars": "expected share inside (Gaussian)", "md_hist": "histogram of squared Mahalanobis distances",
    "md_pdf": "χ² density (a Gaussian cloud)", "cloud_points": "training z-points", "band_hi": "training mean + 2σ",
    "band_lo": "training mean − 2σ", "z_bars": "this face's z", "place_cloud": "training z-points",
    "place_face": "this face", "place_edit": "edited face", "sweep_curve": "sweep", "curve": "Mahalanobis distance",
    "map_pick": "chosen point", "points": "attribute group", "group_items": "attribute group",
}
_KIND = {"BarGraphItem": "bars", "ScatterPlotItem": "points", "PlotCurveItem": "curve", "PlotDataItem": "curve"}


def _panel_names(plot) -> dict[int, str]:
    """id(item) → the name of the attribute that holds it, in the plot's widget or the panels around it."""
    names: dict[int, str] = {}

    def look(obj, helpers: bool) -> None:
        for attr, value in vars(obj).items():
            if isinstance(value, pg.GraphicsObject):
                names.setdefault(id(value), attr)
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, pg.GraphicsObject) for v in value):
                for k, v in enumerate(value):
                    names.setdefault(id(v), f"{attr}[{k}]")
            elif helpers and hasattr(value, "__dict__") and not isinstance(value, (QObject, type)):
                look(value, False)  # a helper object of the panel (an attribute layer, an atlas layer …)

    owner = plot if isinstance(plot, QObject) else None
    for _ in range(10):
        if owner is None:
            break
        look(owner, True)
        owner = owner.parent()
    return names


def _legend_names(item_of_plot: pg.PlotItem) -> dict[int, str]:
    legend = getattr(item_of_plot, "legend", None)
    out = {}
    for sample, label in getattr(legend, "items", []) if legend is not None else []:
        target = getattr(sample, "item", None)
        if target is not None and getattr(label, "text", ""):
            out[id(target)] = str(label.text)
    return out


def series_name(item, k: int, legend: dict[int, str], attrs: dict[int, str]) -> str:
    """An item's own name, else its legend label, else what its panel calls it, else its kind and number."""
    own = item.name() if hasattr(item, "name") else None
    if own:
        return str(own)
    if id(item) in legend:
        return legend[id(item)]
    attr = attrs.get(id(item))
    if attr:
        base, _, index = attr.partition("[")
        name = SERIES_NAMES.get(base, base.removesuffix("_item").replace("_", " ").strip())
        return f"{name} {int(index.rstrip(']')) + 1}" if index else name
    return f"{_KIND.get(type(item).__name__, 'series')} {k + 1}"


def plot_series(plot) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, x, y) of every data item of the plot (curves, scatters and bar graphs), as drawn; each named after
    what it shows (:func:`series_name`), two items of one name told apart by a number."""
    pi = _plot_item(plot)
    legend, attrs = _legend_names(pi), _panel_names(plot)
    raw = []
    listed = pi.listDataItems()
    bars = [i for i in pi.items if isinstance(i, pg.BarGraphItem) and i not in listed]
    for k, it in enumerate(list(listed) + bars):
        if isinstance(it, pg.BarGraphItem):
            x, y = it.opts.get("x"), it.opts.get("height")
        else:
            x, y = it.getData()
        if x is None or y is None:
            continue
        raw.append((series_name(it, k, legend, attrs), np.asarray(x, float), np.asarray(y, float)))
    counts: dict[str, int] = {}
    for name, _x, _y in raw:
        counts[name] = counts.get(name, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for name, x, y in raw:
        if counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} {seen[name]}"
        out.append((name, x, y))
    return out


def plot_csv_text(plot, x_label: Optional[str] = None, y_label: Optional[str] = None) -> str:
    """Long-format CSV of the plotted data: ``series,x,y`` (full float precision; NaN gaps kept empty)."""
    item = _plot_item(plot)
    xl = x_label or item.getAxis("bottom").labelText or "x"
    yl = y_label or item.getAxis("left").labelText or "y"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["series", xl, yl])
    for name, x, y in plot_series(plot):
        for a, b in zip(x, y):
            w.writerow([name, "" if not math.isfinite(a) else repr(float(a)), "" if not math.isfinite(b) else repr(float(b))])
    return buf.getvalue()


def save_plot(plot, path, scale: float = 2.0) -> Path:
    """By the file's suffix: .png (at ``scale``), .svg, or .csv (the data)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        atomic_io.write_bytes(path, plot_png_bytes(plot, scale))
    elif suffix == ".svg":
        atomic_io.write_bytes(path, plot_svg_bytes(plot))
    elif suffix == ".csv":
        atomic_io.write_text(path, plot_csv_text(plot))
    else:
        raise ValueError(f"{path}: export as .png, .svg or .csv")
    return path


def save_image(image: np.ndarray, path) -> Path:
    """A face grid, atlas mosaic or strip (H×W×3 uint8) as PNG."""
    atomic_io.save_png(path, np.asarray(image, np.uint8))
    return Path(path)


def copy_plot(plot, scale: float = 2.0) -> None:
    """The plot as an image on the clipboard."""
    img = QImage.fromData(plot_png_bytes(plot, scale), "PNG")
    QApplication.clipboard().setImage(img)


def copy_image(image: np.ndarray) -> None:
    a = np.ascontiguousarray(np.asarray(image, np.uint8))
    h, w = a.shape[:2]
    QApplication.clipboard().setImage(QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


#: The property naming the plot an export action exports (the command palette lists "PCA ▸ normality check ▸ …").
PLOT_NAME = "plotName"


def export_actions(parent: QWidget, plot, name: str, start_dir: Callable[[], str] = lambda: "") -> list[QAction]:
    """Actions "Export PNG (1×/2×/4×)…", "Export SVG…", "Export data (CSV)…", "Copy image" for ``plot``, owned by the
    plot (so the command palette names them after its panel: "Pair plot ▸ Export SVG…")."""
    acts = []
    owner = plot if isinstance(plot, QWidget) else parent

    def ask(suffix: str, filt: str) -> Optional[str]:
        base = str(Path(start_dir() or Path.home()) / f"{name}{suffix}")
        path, _ = QFileDialog.getSaveFileName(parent, f"Export {name}", base, filt)
        return path or None

    def save(suffix: str, filt: str, scale: float) -> None:
        p = ask(suffix, filt)
        if p:
            if Path(p).suffix.lower() != suffix:
                p += suffix
            save_plot(plot, p, scale)

    for text, suffix, filt, scale in (("Export PNG (1×)…", ".png", "PNG image (*.png)", 1.0),
                                      ("Export PNG (2×)…", ".png", "PNG image (*.png)", 2.0),
                                      ("Export PNG (4×)…", ".png", "PNG image (*.png)", 4.0),
                                      ("Export SVG…", ".svg", "SVG image (*.svg)", 1.0),
                                      ("Export data (CSV)…", ".csv", "CSV (*.csv)", 1.0)):
        a = QAction(text, owner)
        a.triggered.connect(lambda _=False, s=suffix, f=filt, k=scale: save(s, f, k))
        acts.append(a)
    c = QAction("Copy image", owner)
    c.triggered.connect(lambda _=False: copy_plot(plot))
    acts.append(c)
    for a in acts:
        a.setProperty(PLOT_NAME, name)
    return acts


def image_actions(parent: QWidget, image_source: Callable[[], Optional[np.ndarray]], name: str) -> list[QAction]:
    """"Export PNG…" and "Copy image" for a face grid / atlas / strip (``image_source()`` → H×W×3 uint8 or None)."""
    def save() -> None:
        img = image_source()
        if img is None:
            return
        path, _ = QFileDialog.getSaveFileName(parent, f"Export {name}", str(Path.home() / f"{name}.png"), "PNG image (*.png)")
        if path:
            save_image(img, path if path.lower().endswith(".png") else path + ".png")

    a = QAction("Export PNG…", parent)
    a.triggered.connect(lambda _=False: save())
    c = QAction("Copy image", parent)
    c.triggered.connect(lambda _=False: (lambda img: img is not None and copy_image(img))(image_source()))
    return [a, c]


def _place_export_button(plot) -> None:
    """Where no tick label lies: beside the reset-view button in the bottom axis' label row when that axis has a
    label (it is centred), else in the title row's left end when the plot has a title, else above the reset
    button (above it, in a small plot without either, it covered the left axis' lowest tick labels)."""
    btn = getattr(plot, "export_button", None)
    if btn is None:
        return
    reset = getattr(plot, "reset_button", None)
    pi = _plot_item(plot)
    bottom = pi.getAxis("bottom")
    has_label = bottom.isVisible() and bottom.label.isVisible() and bool(str(getattr(bottom, "labelText", "")).strip())
    has_title = pi.titleLabel.isVisible() and bool(str(pi.titleLabel.text).strip())
    if btn.size() != btn.sizeHint():
        btn.adjustSize()
    if reset is not None and has_label:
        # (qt_widgets.place_reset_button's spot: this filter may run before the reset button has moved)
        pos = QPoint(2 + reset.width() + 2, max(0, plot.height() - reset.height() - 2))
    elif has_title:
        pos = QPoint(2, 2)
    else:
        below = reset.height() + 4 if reset is not None else 2
        pos = QPoint(2, max(0, plot.height() - below - btn.height()))
    if btn.pos() != pos:
        btn.move(pos)
        btn.raise_()


class _ExportButtonPlacer(QObject):
    def __init__(self, plot) -> None:
        super().__init__(plot)
        self.plot = plot

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        from PySide6.QtCore import QEvent

        if ev.type() in (QEvent.Type.Resize, QEvent.Type.Show) and obj is self.plot:
            _place_export_button(self.plot)
        elif ev.type() == QEvent.Type.Paint and obj is self.plot.viewport():
            _place_export_button(self.plot)  # a title or an axis label set since (no event of its own says so)
        return False


def add_export_actions(plot: pg.PlotWidget, parent: QWidget, name: str, *, button: bool = True) -> QMenu:
    """Add the export actions to the plot's right-click menu and a small "⤓" button in its corner (above the
    reset-view button); return the QMenu. Plots set up with ``qt_widgets.setup_plot`` (whose right-click
    menu is built per click) get the export menu appended to that menu; others get pyqtgraph's ViewBox
    menu or a context menu of their own."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QToolButton

    menu = QMenu("Export", parent)
    for a in export_actions(parent, plot, name):
        menu.addAction(a)
    plot.export_menu = menu
    vb_menu = plot.getPlotItem().getViewBox().menu
    if hasattr(plot, "reset_view") and hasattr(plot, "_wheel_guard"):  # setup_plot's per-click menu
        def extend(ev) -> None:
            m = getattr(plot, "_context_menu", None)
            if ev.button() == Qt.MouseButton.RightButton and m is not None and not getattr(m, "_has_export", False):
                m.addSeparator()
                for a in menu.actions():
                    m.addAction(a)
                m._has_export = True
        plot.scene().sigMouseClicked.connect(extend)
    elif plot.getPlotItem().menuEnabled() and vb_menu is not None:
        vb_menu.addSeparator()
        vb_menu.addMenu(menu)
    else:
        plot.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        plot.customContextMenuRequested.connect(lambda pos: menu.exec(plot.mapToGlobal(pos)))
    if button:
        btn = QToolButton(plot)
        btn.setText("⤓")
        btn.setObjectName("exportButton")
        btn.setToolTip(f"export this plot ({name}): PNG, SVG, the plotted data as CSV, or copy it")
        btn.setAutoRaise(True)
        btn.setStyleSheet("QToolButton { background: rgba(255,255,255,200); border: 1px solid #bbb; border-radius: 3px;"
                          " padding: 0px 3px; font-size: 12px; } QToolButton:hover { background: #e8f0fa; }"
                          " QToolButton::menu-indicator { image: none; }")
        btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        btn.setMenu(menu)
        btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        plot.export_button = btn
        btn.show()  # a child made after its plot was shown stays hidden unless shown (the late panels' plots)
        placer = _ExportButtonPlacer(plot)
        plot.installEventFilter(placer)
        plot.viewport().installEventFilter(placer)
        plot._export_placer = placer
        _place_export_button(plot)
    return menu
