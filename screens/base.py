"""KioskScreen: a thin screen that copies its flow's view state into widgets and forwards touches."""
from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.i18n import translate


class KioskScreen(Screen):
    """Subclasses implement `render(view)`; kv rules read `root.view` for simple fields."""

    flow = ObjectProperty(None, allownone=True)
    view = ObjectProperty(None, allownone=True)
    lang = StringProperty("")  # kv binds button captions to it: root.tr("Back", root.lang)

    def bind_flow(self, flow: Any) -> None:
        self.flow = flow
        if flow is not None:
            flow.subscribe(self._on_view)
            self._on_view(flow.view())

    def _on_view(self, view: Any) -> None:
        """Draw the latest view once, just before the next frame: a flow that changes twice in a frame (loading,
        then the answer that came back within the runner's short wait) costs one render, of what is shown."""
        self._latest = view
        if getattr(self, "_render_trigger", None) is None:
            self._render_trigger = Clock.create_trigger(self._render_latest, -1)
        self._render_trigger()

    def _render_latest(self, _dt: float = 0.0) -> None:
        bridge = getattr(App.get_running_app(), "bridge", None)
        if bridge is not None and bridge.pending:  # an answer is queued for this frame: render after it
            self._render_trigger()
            return
        view, self._latest = getattr(self, "_latest", None), None
        if view is None:
            return
        self.lang = self.language
        self.view = view
        self.render(view)

    def render(self, view: Any) -> None:
        """Copy `view` into widgets built at runtime (lists); plain fields bind in kv."""

    @property
    def language(self) -> str:
        return App.get_running_app().session.language

    def tr(self, message: str, lang: str = "", **params: Any) -> str:
        """Caption for kv; msgids used this way are listed in screens/labels.py for extraction."""
        return translate(message, lang or self.language, **params)

    def act(self, method: str, *args: Any) -> None:
        """Forward a touch to the flow (kv: on_release: root.act("submit"))."""
        if self.flow is not None:
            getattr(self.flow, method)(*args)
