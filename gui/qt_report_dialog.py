"""File ▸ Export report…: which parts the report has, each with the time it is expected to take, before any work.

The parts are the workflow's (``engine.workflows.report.REPORT_PARTS``), their times its estimates
(``engine.workflows.estimates.expected_report_parts``). The slow sampler comparison is never ticked by default;
without a dataset folder it cannot be chosen, and says why."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from engine.workflows.estimates import Expected, about
from engine.workflows.report import REPORT_PARTS

#: ticked unless the user says otherwise (the comparison takes minutes: asked for, never assumed)
DEFAULT_PARTS = ("statistics", "faces", "atlas")


def part_text(title: str, e: Expected) -> str:
    """A part's line: "Faces of each sampler — about 20 s the first time for this model (fitting …), then a few
    seconds"."""
    if e.first_time and e.cached_seconds is not None:
        what = f" ({e.what})" if e.what else ""
        return f"{title} — {e.duration()} the first time for this model{what}, then {about(e.cached_seconds)}"
    return f"{title} — {e.duration()}"


class ReportDialog(QDialog):
    """The report's parts as check boxes with their expected times, and the total of those ticked."""

    def __init__(self, parent, estimates: dict[str, Expected], has_data: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.estimates = estimates
        lay = QVBoxLayout(self)
        intro = QLabel("What should the report include? The times are estimates for this computer.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.boxes: dict[str, QCheckBox] = {}
        for part in REPORT_PARTS:
            box = QCheckBox(part_text(part.title, estimates[part.name]))
            box.setObjectName(f"part-{part.name}")
            box.setToolTip(part.help)
            box.setChecked(part.name in DEFAULT_PARTS)
            if part.needs_data and not has_data:
                box.setChecked(False)
                box.setEnabled(False)
                box.setText(f"{part.title} — needs the dataset folder (File ▸ Open dataset folder…)")
            box.toggled.connect(self._update_total)
            self.boxes[part.name] = box
            lay.addWidget(box)
        self.total = QLabel("")
        self.total.setObjectName("reportTotal")
        lay.addWidget(self.total)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Choose folder…")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._update_total()

    def parts(self) -> list[str]:
        """The ticked parts' names, in page order."""
        return [name for name, box in self.boxes.items() if box.isChecked() and box.isEnabled()]

    def expected(self) -> Expected:
        """The time the ticked parts are expected to take together."""
        total = Expected(0.0)
        for name in self.parts():
            total = total + self.estimates[name]
        return total

    def _update_total(self, *_) -> None:
        chosen = self.parts()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(chosen))
        self.total.setText(f"Expected: {self.expected().duration()}" if chosen else "Choose at least one part.")
