"""How the inspector takes part in undo (a mixin of ``gui.qt_inspector.InspectorPanel``): its edits go to the
session as named steps ("PC3 to +1.20σ"), and an edit changed elsewhere (undo, redo, a session opened) moves its
sliders and shows the face it names."""
from __future__ import annotations

from typing import Optional

from .engine_bridge import Job

#: a slider's positions per unit (per σ along a principal axis)
SLIDER_STEPS = 100


class EditFollowing:
    """Undo steps of the inspector's edits, and the inspector following an edit changed elsewhere."""

    def slider_name(self, slider) -> str:
        """A slider's name as the undo step says it: PC3, an attribute, a direction."""
        if slider in self.sliders:
            return f"PC{self.sliders.index(slider) + 1}"
        for name, sl in self.attribute_sliders.items():
            if sl is slider:
                return name
        return next((d.name for d, sl in self.direction_sliders.values() if sl is slider), "edit")

    def _set_edit(self, z, label: Optional[str] = None) -> None:
        self._own_edit = True
        try:
            self.session.set_edited(z, label)
        finally:
            self._own_edit = False

    def _edited_from_session(self) -> None:
        """The edit changed elsewhere (undo, redo, a session opened): the sliders and the face follow it."""
        if getattr(self, "_own_edit", False) or self._base_t is None:
            return
        z = self.session.edited_z
        if z is None:
            self.show_current()
            return
        self._set_sliders(self._base_t, at=self._pca_coords(z))  # the face's base kept, the sliders where z is
        codec, focus = self.session.model.codec, self.session.focus()

        def done(img):
            if self.session.focus() == focus and self.session.edited_z is z:
                self.face.set_image(img)

        self.bridge.submit(Job("edit face", lambda progress, cancel: codec.decode(z[None, :])[0], on_done=done,
                               key="inspector-decode", quiet=True))
        self._draw_z(z)
        self._draw_place()
