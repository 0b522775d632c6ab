"""The Help menu's texts: a short tour of the panels and the list of keyboard shortcuts."""
from __future__ import annotations

TOUR_HTML = """
<h3>What am I looking at?</h3>
<p>An <b>autoencoder</b> squeezes each 64×64 face into a <b>z-vector</b> (256 numbers) and decodes it back.
The training faces' z-vectors form a <b>cloud</b>; a new face is made by picking a new point of that cloud
and decoding it. The panels show the cloud and how well each way of picking points (a <b>sampler</b>) works.</p>
<table cellspacing="4">
<tr><td valign="top"><b>Sampler</b></td><td>how new points are picked, its parameters, and <i>Generate</i>
(Ctrl+G or Enter in a field). <i>normal</i> is the measured best; <i>uniform</i> is the failing baseline.
“Condition on” fits the sampler only on faces with (or without) an attribute.</td></tr>
<tr><td valign="top"><b>Faces</b></td><td>the decoded faces. Click selects (framed in red), double-click
opens a face in the inspector. The line under the grid says which sampler made them and what to expect.</td></tr>
<tr><td valign="top"><b>Face inspector</b></td><td>one face large; its z-vector (orange bars) against the
training band (grey, mean ± 2 std); its place in the cloud; sliders that move it along the main directions
of the cloud (PC1 … PC8) or along an attribute (smile, glasses); the nearest training faces.</td></tr>
<tr><td valign="top"><b>Pair plot</b></td><td>the cloud seen from two axes: original components z<sub>i</sub>
or principal components PC<sub>k</sub>. Blue: density of the training points; dashed: confidence ellipses
at the σ-levels you type; orange: the current faces. A 2-D view hides most of the 256 directions: points
at the centre here can still lie outside the cloud (see PCA ▸ normality and Compare samplers).</td></tr>
<tr><td valign="top"><b>Components</b></td><td>one component's histogram with its Gaussian fit
(Left/Right step through them); orange ticks: the current faces.</td></tr>
<tr><td valign="top"><b>Correlations</b></td><td>how the components move together; click a cell to see that
pair in the pair plot.</td></tr>
<tr><td valign="top"><b>PCA</b></td><td>how many directions carry the variance, and how far the cloud is
from a Gaussian (fractions inside σ-levels, observed vs expected).</td></tr>
<tr><td valign="top"><b>Compare samplers</b></td><td>measures every sampler (fraction inside the cloud,
face-detector hit rate, and with a dataset open a Fréchet distance to real faces) and sweeps a
parameter; <i>Apply best value</i> sets it in the Sampler panel.</td></tr>
<tr><td valign="top"><b>Attributes</b></td><td>labelled attributes (smiling, male, glasses …) ranked by how
well the cloud separates them; click one to colour the cloud by it.</td></tr>
<tr><td valign="top"><b>Your photo</b></td><td>File ▸ Open photo (or drop an image on the window): the face
found and framed like the training faces, its reconstruction, how typical it is (a percentile of the
cloud), a star in the pair plot; <i>Inspect &amp; edit</i> moves it along any slider.</td></tr>
<tr><td valign="top"><b>Directions</b></td><td>directions found in the cloud (PCA, ICA, varimax, the decoder's
own, attribute and conditional ones), named by the attributes they move and measured; any one can become
an inspector slider; sets can be saved; a t-SNE or PCA map coloured by an attribute (view only).</td></tr>
<tr><td valign="top"><b>Model &amp; data</b></td><td>the model, its training history, training and encoding.</td></tr>
</table>
<p>Plots: the wheel zooms a plot once you have clicked it (before that it scrolls the panel); drag pans;
⟲ in a plot's corner, or right-click ▸ Reset view, brings the default view back.
Every panel is a dock: drag its title to move it; View ▸ Reset layout puts everything back.</p>
"""

#: Shortcuts that are not QActions of the window (keys handled inside panels).
PANEL_KEYS = (
    ("Enter (in a Sampler field)", "generate"),
    ("Left / Right, PgUp / PgDn (Components)", "previous / next component"),
    ("Delete (condition list)", "remove the selected condition"),
    ("Ctrl+click, Shift+click (Faces)", "select several faces"),
    ("Double-click (Faces)", "open the face in the inspector"),
)


def shortcuts_html(window) -> str:
    """Every window action that has a shortcut (read from the actions, so the list cannot go stale)."""
    from PySide6.QtGui import QKeySequence

    rows = []
    for action in window.actions():
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if keys:
            rows.append((" or ".join(keys), action.text().replace("&", "").rstrip("…").strip()))
    rows += list(PANEL_KEYS)
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"<h3>Keyboard shortcuts</h3><table cellspacing='4'>{body}</table>"
