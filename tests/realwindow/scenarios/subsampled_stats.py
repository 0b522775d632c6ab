"""A large cloud's statistics say they are on a subsample (issue 26, part 2): the tiny model opened as if it were a
cloud of millions (the thresholds lowered in this process: statistics of more than 40 z-points on a seeded 60),
Explore the cloud chosen by a real click, the Components panel and then the PCA tab, clicked, say so."""
from __future__ import annotations

from engine import latent_stats as _ls

_ls.STATS_FULL_ROWS, _ls.STATS_SAMPLE_ROWS = 40, 60
_ls.load_stats = lambda *a, **k: None  # another scenario's cached (full) statistics are not read …
_ls.save_stats = lambda *a, **k: None  # … and these subsampled ones are not written for the next


def _button(root, text: str):
    from PySide6.QtWidgets import QAbstractButton

    return next(b for b in root.findChildren(QAbstractButton) if b.text().replace("&", "") == text and b.isVisible())


def run(rw) -> dict:
    from PySide6.QtWidgets import QTabBar

    w = rw.window
    st = w.session.stats
    out = {"n": st.n, "sample_rows": st.sample_rows}
    rw.click(_button(w.workspace_bar, "Explore the cloud"))
    rw.wait_until(lambda: w.workspace() == "explore", 10, "the Explore workspace")
    w.raise_dock("componentsDock")
    rw.process(400)
    out["components"] = w.components.info.text()
    bar = next(b for b in w.findChildren(QTabBar) if b.isVisible()
               and [b.tabText(i) for i in range(b.count())][-1:] == ["PCA"])
    rect = bar.tabRect(bar.count() - 1)
    rw.click(bar, at=(rect.center().x(), rect.center().y()))
    rw.wait_until(lambda: w.pca_panel.isVisible(), 10, "the PCA panel after a click on its tab")
    rw.process(300)
    out["pca"] = w.pca_panel.summary.text()
    rw.shot("subsampled-pca")
    return out
