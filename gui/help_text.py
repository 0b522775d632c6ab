"""The help window's texts: one topic per panel, plot tool, gesture and workspace, in plain words, and the
keyboard shortcut list read from the window's own actions (so it cannot go stale).

A topic is a :class:`Topic` (a key, the section it is listed under, its title, its text as simple HTML and the
docks it explains, so that F1 over a panel opens that panel's topic). ``gui/qt_help.py`` shows them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    key: str
    section: str
    title: str
    html: str
    docks: tuple[str, ...] = ()

    def text(self) -> str:
        """The topic's HTML, its tables read from the tools' and workspaces' own declarations."""
        if "{" not in self.html:
            return self.html
        return self.html.replace("{tools}", tools_html()).replace("{workspaces}", workspaces_html())

    def plain(self) -> str:
        """The text without its markup (what the search looks in)."""
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", self.text())).replace("&amp;", "&")


START, PANELS, PLOTS, WORKSPACES, KEYS = "Start here", "Panels", "Plots: tools and gestures", "Workspaces", "Keys"

TOPICS: tuple[Topic, ...] = (
    Topic("overview", START, "What am I looking at?", """
<p>An <b>autoencoder</b> squeezes each small face picture into a short list of numbers (256 for the default model), its <b>z-vector</b>, and
turns such a list back into a face. The z-vectors of the training faces form a <b>cloud</b> of points. A new
face is made by picking a new point of that cloud and decoding it.</p>
<p>A <b>sampler</b> is a way of picking those points. Some stay inside the cloud and give faces; some miss it
and give mud. The panels let you generate faces, see where they lie in the cloud, edit one face, and measure
which sampler works best.</p>
<p>Start with <b>Generate</b> (Ctrl+G): the Faces grid fills. Double-click a face to open it in the Face
inspector. Press <b>F1</b> over any panel to read its help.</p>"""),
    Topic("words", START, "Words and units", """
<table cellspacing="4">
<tr><td valign="top"><b>z-vector, z-point</b></td><td>the numbers the model uses for one face (a point of the
cloud).</td></tr>
<tr><td valign="top"><b>component z<sub>i</sub></b></td><td>one of those numbers, i counted from 0.</td></tr>
<tr><td valign="top"><b>principal axis PC<sub>k</sub></b></td><td>the directions along which the cloud is widest;
PC1 is the widest.</td></tr>
<tr><td valign="top"><b>σ (sigma)</b></td><td>one standard deviation: how far the training faces typically lie
from their average along an axis. ±2σ holds about 95 % of them along one axis.</td></tr>
<tr><td valign="top"><b>σ-levels of an ellipse</b></td><td>in the pair plot, an ellipse at level 2 reaches
2σ along every direction of the two axes shown (<i>per axis</i>); the <i>same share in 2-D</i> choice draws
instead the ellipse that holds the same share of faces in two dimensions as ±level·σ holds on one axis.</td></tr>
<tr><td valign="top"><b>Mahalanobis distance</b></td><td>how far a point lies from the cloud's centre,
measured in σ along every direction at once (0 = the centre). It grows with the number of components, so
the <i>percentile</i> says more.</td></tr>
<tr><td valign="top"><b>percentile</b></td><td>the share of training faces that lie closer to the centre
than this one.</td></tr>
<tr><td valign="top"><b>attribute amount</b></td><td>on an attribute slider, 1 = the average difference
between the faces that have the attribute (smiling) and those that lack it.</td></tr>
<tr><td valign="top"><b>direction amount</b></td><td>on a direction slider, 1 = one σ of the cloud along that
direction.</td></tr>
<tr><td valign="top"><b>separation</b></td><td>how far apart the faces with and without an attribute lie,
in σ: 0 = mixed, above 1 = clearly apart.</td></tr>
<tr><td valign="top"><b>probe accuracy</b></td><td>how often a simple linear classifier tells from the
z-vector alone whether a face has the attribute (0.50 = guessing).</td></tr>
<tr><td valign="top"><b>correlation r</b></td><td>from −1 to +1: how much two components rise and fall
together (0 = not at all).</td></tr>
</table>"""),
    Topic("sampler", PANELS, "Sampler", """
<p>How new points are picked. Choose a sampler, set its values, and press <b>Generate</b> (Ctrl+G, F5, or
Enter in any field). <i>normal</i> is the measured best; <i>uniform</i> is the deliberately failing baseline.
Each value's tooltip says what it does; <i>defaults</i> resets them.</p>
<p><b>Faces</b> sets how many, <b>Seed</b> makes a result repeatable (the same seed and values give the same
faces). <b>Condition on attributes</b> fits the sampler only on training faces that have (or lack) an
attribute, for example only smiling faces.</p>""", ("samplerDock",)),
    Topic("faces", PANELS, "Faces", """
<p>The decoded faces. Click selects a face (red frame); Ctrl+click or Shift+click selects several;
double-click opens a face in the Face inspector. The line under the grid says which sampler made them and
what to expect of it. File ▸ Save image set (Ctrl+S) writes them with their z-vectors;
Save selected faces (Ctrl+Shift+S) only the selection.</p>""", ("faceGridDock",)),
    Topic("inspector", PANELS, "Face inspector", """
<p>One face large, and what it is made of: its z-vector (orange bars) against the range of the training faces
(grey band, average ± 2σ), its place in the cloud, and the nearest training faces (with a dataset open).</p>
<p>The <b>sliders</b> edit the face live: along the principal axes PC1 … PC8 (in σ, ±3), along an attribute
(pick one, <i>add slider</i>; 1 = the average difference between faces with and without it), or along a
direction of the Directions panel. The edited face is marked in the pair plot.</p>
<p><b>Before</b> (or the key B, once you clicked the inspector) shows the face before its edits in place of the
edited one; <b>Side by side</b> shows both. <i>Save this face…</i> writes the face shown.</p>""", ("inspectorDock",)),
    Topic("pairplot", PANELS, "Pair plot", """
<p>The cloud seen along two axes at a time: components z<sub>i</sub> or principal axes PC<sub>k</sub>
(pick them above the plot). Blue: where the training faces lie (darker = more); dashed lines: ellipses at the
σ-levels you type (see <i>Words and units</i>); orange: the faces in the grid; red: the selected face;
a magenta star: your photo.</p>
<p>Two axes hide all the others: a point at the centre here can still lie outside the cloud (the PCA panel and
Compare samplers measure that). The check boxes show or hide each layer, <i>atlas</i> tiles the view with
decoded faces, and <i>colour by</i> colours the cloud by an attribute.</p>
<p>Use the plot tools (Pan, Decode, Path) to move around, decode any point, or draw a path. Rest the
pointer on a training point for a moment: its training face appears beside it.</p>""",
          ("pairPlotDock",)),
    Topic("components", PANELS, "Components", """
<p>One component's histogram over the training faces, with the bell curve that fits it best. Orange ticks:
the faces in the grid. Left / Right (or PgUp / PgDn) step through the components.</p>""", ("componentsDock",)),
    Topic("correlations", PANELS, "Correlations", """
<p>How the components rise and fall together: the cell in row i, column j is the correlation r of
z<sub>i</sub> and z<sub>j</sub> (red +, blue −, white 0). Hover a cell to read i, j and r; the wheel zooms
once the matrix was clicked, and dragging moves it; ⟲ shows the whole matrix again.</p>
<p>The list beside it holds the strongest pairs; click a column title to sort it (by r, by strength, or by
component). Clicking a row, or a cell of the matrix, marks that cell and shows the pair in the pair plot.</p>""",
          ("correlationsDock",)),
    Topic("pca", PANELS, "PCA", """
<p>How many directions carry the variety of the faces (the share of variance per principal axis, and the
running total), and how far the cloud is from a perfect bell shape: the share of training faces inside each
σ-level, observed against what a bell shape would give.</p>""", ("pcaDock",)),
    Topic("compare", PANELS, "Compare samplers", """
<p>Measures every sampler on the same number of faces: the share that lands inside the cloud, how often a
face detector finds a face, and, with a dataset open, how close the faces are to real ones (Fréchet
distance, lower is better). A <b>sweep</b> tries several values of one parameter; <i>Apply best value</i> sets
the best one in the Sampler panel. Each column's tooltip says what it measures.</p>""", ("compareDock",)),
    Topic("twomodels", PANELS, "Two models", """
<p>File ▸ Compare with another model… puts a second model (B) beside the open one (A). The faces both encoded
are matched by file name, and B's cloud is lined up with A's on them: <b>R²</b> says how much of B's z a linear
map from A's z explains on faces kept out of the fit (1 = all), the <b>canonical correlations</b> how closely
the two clouds move together along their best-matched directions. <b>Neighbour overlap</b>: for each face, the
share of its 10 nearest faces the two models agree on (the histogram; 1 = the same neighbours). The table also
gives each model's attribute judges (0.50 = guessing) and sampler quality side by side. Below, one face as A and B
decode it, and as B decodes A's z carried over by the map; <i>Least overlap</i> steps through the faces the two
models place most differently.</p>""", ("twoModelsDock",)),
    Topic("attributes", PANELS, "Attributes", """
<p>The model's labelled attributes (smiling, male, glasses …), ranked by how well the cloud tells the faces
with and without them apart: <b>separation</b> (in σ; above 1 = clearly apart) and <b>probe accuracy</b> (0.50
= guessing; <i>Measure probe accuracy</i> fills it in, about 2 s per attribute). Click a row: the pair plot
shows that attribute on the two axes that separate it best, coloured by it. <i>Generate faces with it</i>
makes a grid from faces that have it. <i>All faces</i> moves every face of the grid along the chosen attribute
at once (1 = the average difference between faces with and without it); <i>Reset grid</i> brings the faces
back as generated.</p>""", ("attributesDock",)),
    Topic("photo", PANELS, "Your photo", """
<p>File ▸ Open photo (Ctrl+P), or drop an image on the window: the face is found, framed the way the training
faces were framed, encoded and placed in the cloud (a magenta star in the pair plot). The panel shows the
crop beside its reconstruction, how typical the face is (its percentile among the training faces) and the
nearest training faces.</p>
<p>When no face is found, click <i>Frame the centre square instead</i>, or tick <i>Centre square (no
detection)</i> before opening a photo. <i>Inspect &amp; edit</i> moves the face along any slider of the
inspector; <i>Save…</i> writes the results to a new folder.</p>""", ("photoDock",)),
    Topic("directions", PANELS, "Directions", """
<p>Finds directions in the cloud with the method you choose (principal axes, independent components, the
decoder's own, attribute directions …), names each by the attributes it changes most, and measures it in a
table (hover a column title for what it measures; click it to sort). Any direction can become a slider in
the inspector, or move every face of the grid at once (<i>All faces</i>, in σ; <i>Reset grid</i> undoes it);
sets can be saved and loaded. The <i>Map</i> page shows the whole cloud flattened to two
dimensions, coloured by an attribute (a view only).</p>""", ("directionsDock",)),
    Topic("path", PANELS, "Path", """
<p>A strip of faces decoded along a path through the cloud, with the Mahalanobis distance along it (how far
from the centre each face lies). The path is either the line drawn in the pair plot with the Path tool, or
the inspected face → another selected face. <i>straight</i> walks a straight line; <i>along the ellipse</i>
keeps the distance from the centre changing evenly.</p>""", ("pathDock",)),
    Topic("atlas", PANELS, "Atlas", """
<p>A plane of the cloud tiled with decoded faces: each tile is the face at that point. Pan and zoom, and
the faces are decoded again for the new view. <i>grid</i> sets faces per row; <i>others at</i> decides
where the other numbers stay (the cloud's centre, or the inspected face). The Decode tool shows the
face under the pointer.</p>""", ("atlasDock",)),
    Topic("bookmarks", PANELS, "Bookmarks", """
<p>Named views to come back to in one click: <i>Add bookmark</i> (Ctrl+B, also Edit ▸ Add bookmark) keeps the
pair plot's axes and zoom, the σ-levels, the current face (or photo) and selection, the inspector's edit, the
sampler and its fields, and the workspace, under a name like “PC3 × PC6, face 4”. Click a bookmark (or
double-click, or Enter) to go back to it; F2 or <i>Rename</i> renames it, <i>Delete</i> forgets it. Adding,
renaming and deleting are steps of Edit ▸ Undo, and bookmarks are kept in session files.</p>""", ("bookmarksDock",)),
    Topic("selection", PANELS, "Selection", """
<p>Training z-points picked with the Select tool (S) of the pair plot, the Atlas or the direction lab's map:
drag a <i>Box</i> or a <i>Lasso</i>, or click a <i>Polygon</i>'s vertices (double-click closes it); drag a
range on the Components histogram. Shift adds, Ctrl subtracts, Shift+Ctrl intersects (or the tool bar's
New / + / − / ∩); Esc clears. Every view shows the same selection: its points in green, the rest greyed;
its histogram beside the cloud's; here its size, some of its faces (the training images when the dataset
is open, their reconstructions when not) and the attributes whose share in it differs most from the whole
set's.</p>""", ("selectionDock",)),
    Topic("model", PANELS, "Model & data", """
<p>The open model (its size, its number of training faces, its training losses) and the open dataset, with
the actions that change them: open a model or dataset, train a new model (Ctrl+T), encode a dataset
(Ctrl+E; it asks which folder), import labels.</p>
<p>The File menu also imports a model from other formats (Import model…) and exports one (Export model…),
writes a report (Export report… asks which parts to include, each with the time it takes) and films a movie
(Export movie…: the centre, the inspected face or the whole grid moving along any direction or attribute, or
a path between two faces).</p>""", ("modelDataDock",)),
    Topic("tools", PLOTS, "Plot tools: Pan, Decode, Path", """
<p>The pair plot (under the plot) and the atlas (above it) have tool buttons; the tool you pick decides what a click or
drag does. Click the plot first, then its keys work too.</p>
{tools}
<p><i>→ inspector</i>, under the pair plot, opens the decoded face in the Face inspector. Many Linux desktops
take Alt+drag to move windows: use the Decode tool there.</p>"""),
    Topic("gestures", PLOTS, "Mouse and wheel in plots", """
<table cellspacing="4">
<tr><td valign="top"><b>wheel</b></td><td>zooms a plot once you have clicked it; before that it scrolls the
panel it sits in. Sliders, number fields and lists ignore the wheel until you click them, so scrolling
never changes a value by accident.</td></tr>
<tr><td valign="top"><b>drag</b></td><td>moves the view (Pan tool); right-drag zooms one axis.</td></tr>
<tr><td valign="top"><b>⟲</b> (bottom-left corner)</td><td>back to the plot's default view; also right-click ▸
Reset view.</td></tr>
<tr><td valign="top"><b>⤓</b></td><td>export the plot: PNG, SVG, its data as CSV (columns named after the
plotted items), or copy it.</td></tr>
<tr><td valign="top"><b>hover</b></td><td>most plots show the value under the pointer below them.</td></tr>
</table>"""),
    Topic("docks", PLOTS, "Panels and layout", """
<p>Every panel can be moved: drag its title bar to another edge, or onto another panel to share its place as a
tab. View lists every panel (tick one to show it); View ▸ Reset layout puts everything back. The window
remembers its layout when you close it.</p>"""),
    Topic("workspaces", WORKSPACES, "Workspaces", """
<p>A workspace is a layout of panels for one task. Switch with the workspace bar under the menu, View, or the
keys below:</p>
{workspaces}
<p>Each workspace remembers your changes (moved or resized panels, across restarts); View ▸ Reset layout
resets the current one only. View ▸ a panel shows it in the current workspace.</p>"""),
)

def _rows(rows) -> str:
    import html

    return "<table cellspacing='4'>" + "".join(
        f"<tr><td valign='top'><b>{html.escape(k, False)}</b></td><td>{html.escape(v, False)}</td></tr>" for k, v in rows) + "</table>"


def tools_html() -> str:
    """The plot tools, their keys and what each does (``gui/plot_tools.MODE_INFO``, the buttons' own tooltips)."""
    from .plot_tools import MODE_INFO, PlotMode

    rows = [(f"{name} ({key})", tip.split(": ", 1)[-1]) for mode, (name, key, tip) in MODE_INFO.items()
            if mode is not PlotMode.SELECT]
    return _rows(rows + [("Esc", "back to Pan (while a job runs and no tool is on, Esc cancels the job)")])


def workspaces_html() -> str:
    """Every workspace, its key, what it is for and its panels (``gui/workspaces.WORKSPACES``)."""
    from .workspaces import WORKSPACES, shortcut

    title_of = {d: t.title for t in TOPICS for d in t.docks}
    rows = []
    for i, ws in enumerate(WORKSPACES):
        panels = ", ".join(title_of.get(d, d) for d in ws.dock_names())
        rows.append((f"{ws.title.replace('&&', '&')} ({shortcut(i)})", f"{ws.help}. Panels: {panels}."))
    return _rows(rows)


#: keys and mouse gestures handled inside panels (not actions of the window)
PANEL_KEYS = (
    ("Enter (in a Sampler field)", "generate"),
    ("Left / Right, PgUp / PgDn (Components)", "previous / next component"),
    ("Delete (condition list)", "remove the selected condition"),
    ("Ctrl+click, Shift+click (Faces)", "select several faces"),
    ("Double-click (Faces)", "open the face in the inspector"),
    ("P / D / T / S, Esc (a plot you clicked)", "plot tool: Pan / Decode / Path / Select; Esc: back to Pan "
                                                 "(in Select: clears the selection)"),
    ("Alt+click, Alt+drag (pair plot, atlas)", "decode the point under the pointer (any tool)"),
    ("Shift+click (pair plot)", "add a bend to the drawn path (any tool)"),
    ("Wheel (a plot you clicked)", "zoom"),
    ("Drag / right-drag (plots)", "move the view / zoom one axis"),
    ("Click (Correlations matrix or list)", "show that pair in the pair plot"),
    ("B (Face inspector)", "before / after: the face before its edits"),
    ("F1 over a panel", "this help, at that panel's topic"),
)


def dock_of(obj):
    """The panel (QDockWidget) ``obj`` is or sits in (through its parents), or None."""
    from PySide6.QtWidgets import QDockWidget

    w = obj
    while w is not None and not isinstance(w, QDockWidget):
        w = w.parent()
    return w


def panel_name(obj, default: str = "window") -> str:
    """The title of the panel ``obj`` sits in (``default`` outside any panel)."""
    w = dock_of(obj)
    return w.windowTitle().replace("&&", "&") if w is not None else default


def plain_text(text: str) -> str:
    """A menu or button text without its mnemonic markers (``&Open`` → ``Open``; ``&&`` stays one ``&``)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


def action_keys(action) -> str:
    """An action's shortcuts as the user reads them (``Ctrl+G or F5``), "" when it has none."""
    from PySide6.QtGui import QKeySequence

    fmt = QKeySequence.SequenceFormat.NativeText
    return " or ".join(k.toString(fmt) for k in action.shortcuts() if not k.isEmpty())


def action_shortcuts(window) -> list[tuple[str, str]]:
    """(keys, what it does) for every QAction and QShortcut of the window and its panels that has a key, read
    from the actions and shortcuts themselves (a key without a text of its own is named by its panel)."""
    from PySide6.QtGui import QAction, QKeySequence, QShortcut

    fmt = QKeySequence.SequenceFormat.NativeText
    rows, seen = [], set()
    for action in list(window.actions()) + window.findChildren(QAction):
        keys = action_keys(action)
        if not keys or id(action) in seen:
            continue
        seen.add(id(action))
        row = (keys, plain_text(action.text()).rstrip("…").strip() or action.toolTip())
        if row not in rows:
            rows.append(row)
    for sc in window.findChildren(QShortcut):
        key = sc.key().toString(fmt)
        if key:
            row = (key, sc.whatsThis() or f"a key of the {panel_name(sc.parent())} panel")
            if row not in rows:
                rows.append(row)
    return rows


def shortcuts_html(window) -> str:
    """Every shortcut of the window (its actions) and the keys and gestures of the panels, as one table."""
    import html

    def table(rows) -> str:
        return "".join(f"<tr><td><b>{html.escape(k, False)}</b></td><td>{html.escape(v, False)}</td></tr>" for k, v in rows)

    described = {k.split(" (")[0] for k, _v in PANEL_KEYS}  # a panel's key explained below is not listed twice
    rows = [(k, v) for k, v in action_shortcuts(window) if k not in described]
    return (f"<h3>Keyboard shortcuts</h3><table cellspacing='4'>{table(rows)}</table>"
            f"<h3>Keys and mouse inside panels</h3><table cellspacing='4'>{table(PANEL_KEYS)}</table>")
