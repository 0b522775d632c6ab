"""Workspaces: task layouts of the window's docks, switched in one click (the workspace bar, Ctrl+1…Ctrl+5,
View ▸ Workspaces).

Each workspace is a row in :data:`WORKSPACES`: columns of dock groups, left to right; each column a stack of
groups, top to bottom; each group one dock or a few docks tabbed together (the first one raised). Every layout is
designed for a 1280×720 screen first: a column's ``width`` is its width there, and a larger window shares its
extra width by the columns' ``grow`` weights (the sampler column keeps its width, the faces and plots grow). A
group's ``share`` is its part of its column's height. Docks no workspace column names stay hidden; View ▸ a panel
shows it in the current workspace, tabbed with the workspace's ``guest`` dock (or its own group's).

:class:`gui.window_layout.DockLayout` builds these layouts, remembers each workspace's changes and keeps their
proportions across resizes; this module is the table only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: The width of the window the workspaces are designed for (their columns' ``width`` add up to it).
DESIGN_WIDTH = 1280


@dataclass(frozen=True)
class Group:
    """Docks tabbed together (the first is raised), with the group's share of its column's height."""
    docks: tuple[str, ...]
    share: float = 1.0


@dataclass(frozen=True)
class Column:
    """Groups stacked top to bottom; ``width`` at :data:`DESIGN_WIDTH`, ``grow`` its part of any extra width."""
    groups: tuple[Group, ...]
    width: int
    grow: float = 1.0


@dataclass(frozen=True)
class Workspace:
    key: str
    title: str  # as shown in the bar and the View menu ("&&" is a literal "&")
    columns: tuple[Column, ...]
    guest: str  # the dock a panel shown from the View menu is tabbed with, when it belongs to no group here
    help: str = ""

    def dock_names(self) -> tuple[str, ...]:
        return tuple(d for c in self.columns for g in c.groups for d in g.docks)

    def group_of(self, dock: str) -> Optional[Group]:
        return next((g for c in self.columns for g in c.groups if dock in g.docks), None)

    def widths(self, total: int) -> list[int]:
        """The columns' widths for a dock area ``total`` pixels wide: the designed widths, the extra (or the lack)
        shared by the ``grow`` weights; never below 120 px."""
        designed = sum(c.width for c in self.columns)
        extra = total - designed  # (negative on a narrower window: the growing columns give it up)
        grows = sum(c.grow for c in self.columns) or 1.0
        return [max(120, int(c.width + extra * c.grow / grows)) for c in self.columns]


def _ws(key, title, guest, help_, *columns) -> Workspace:
    return Workspace(key, title, tuple(columns), guest, help_)


def _col(width, grow, *groups) -> Column:
    return Column(tuple(groups), width, grow)


def _g(share, *docks) -> Group:
    return Group(tuple(docks), share)


#: The workspaces, in the bar's order (Ctrl+1 is the first).
WORKSPACES: tuple[Workspace, ...] = (
    _ws("generate", "Generate && inspect", "inspectorDock",
        "sample faces, look at them big, open one in the inspector and edit it",
        _col(275, 0, _g(1.0, "samplerDock", "modelDataDock")),
        _col(515, 3, _g(1.0, "faceGridDock", "photoDock")),
        _col(490, 2, _g(1.0, "inspectorDock"))),
    _ws("explore", "Explore the cloud", "atlasDock",
        "the training z-points and the faces in pairs of axes; the components, correlations and PCA; the atlas "
        "and paths drawn in the pair plot; a lasso's selection in every view",
        _col(700, 3, _g(1.0, "pairPlotDock")),
        _col(580, 2, _g(0.45, "componentsDock", "correlationsDock", "pcaDock"),
             _g(0.55, "selectionDock", "atlasDock", "pathDock"))),
    _ws("photo", "Your photo", "inspectorDock",
        "place a photo in the cloud: the photo and its nearest training faces, its place in the pair plot, its "
        "reconstruction edited in the inspector",
        _col(600, 1, _g(1.0, "photoDock")),
        _col(680, 2, _g(1.0, "pairPlotDock", "inspectorDock"))),
    _ws("directions", "Directions && attributes", "faceGridDock",
        "find named directions in the cloud and attribute directions; edit a face along them in the inspector",
        _col(640, 1, _g(1.0, "directionsDock", "attributesDock")),
        _col(640, 1, _g(1.0, "inspectorDock", "faceGridDock"))),
    _ws("compare", "Compare && report", "componentsDock",
        "compare the samplers' faces with real ones, and the report; a second model side by side",
        _col(275, 0, _g(1.0, "samplerDock", "modelDataDock")),
        _col(590, 2, _g(1.0, "compareDock", "twoModelsDock")),
        _col(415, 1, _g(0.5, "faceGridDock"), _g(0.5, "componentsDock"))),
)

BY_KEY = {w.key: w for w in WORKSPACES}


def workspace(key: str) -> Workspace:
    """The workspace ``key`` (the first one when there is no such key: an old or damaged setting)."""
    return BY_KEY.get(key, WORKSPACES[0])


def shortcut(index: int) -> str:
    """The key that switches to the ``index``-th workspace (0-based)."""
    return f"Ctrl+{index + 1}"
