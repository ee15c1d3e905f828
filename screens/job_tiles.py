"""The jobs as tiles on the attract and household pages, and the one map from a job (or a page's pictogram) to its
Material Design icon name (screens.icons draws it in the theme's colours).

Main jobs (kiosk.flows.jobs.MAIN_JOBS) are large IconTiles in rows, fewer in the first row so the first jobs get
the widest tiles; the other jobs share a second row of smaller tiles. A tile that is off shows why on its second
line (IconTile.detail)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from screens.widgets import IconTile

# job (its route) or pictogram -> MDI name (MDI 1.6.50, names as in the package's CSS)
ICONS: dict[str, str] = {
    "pay_fees": "cash-multiple",
    "top_up": "credit-card",
    "card_loss": "credit-card-off",
    "bookings": "calendar-check",
    "parking": "parking",
    "records": "history",
    "notices": "bullhorn",
    "directory": "phone-classic",
    "member_events": "star-circle",
    "callback": "phone-in-talk",
    "direct_debit": "bank",
    "finish": "logout",
    "card_reader": "nfc",  # where to tap the card
    "keypad": "dialpad",
    "unit": "home",
    "pin": "lock",
    "checking": "timer-sand",
    "refused": "alert",
    "closed": "clock-alert",
    "idle": "timer-sand",
}


def icon_name(key: str) -> str:
    """The MDI name for a job or pictogram key ('' when it has none)."""
    return ICONS.get(key, "")


def row_sizes(count: int, cols: int) -> list[int]:
    """How many tiles each row holds: at most `cols`, as even as can be, the first rows the shorter (7 in 4
    columns: 3 then 4), so the first jobs get the widest tiles."""
    if count <= 0:
        return []
    rows = math.ceil(count / max(1, cols))
    base, extra = divmod(count, rows)
    return [base] * (rows - extra) + [base + 1] * extra


class SmallTile(ButtonBehavior, BoxLayout):
    """A job of the second row: a small icon above its caption, and why it is off (layout in job_tiles.kv)."""

    icon = StringProperty("")
    text = StringProperty("")
    detail = StringProperty("")
    key = StringProperty("")


class TileRow(BoxLayout):
    """One row of tiles; its least height is its tallest tile's. Rows of large tiles share the room the page
    leaves them; a row of small tiles keeps its least height."""

    flexible = BooleanProperty(True)


class JobTiles(BoxLayout):
    """Rows of large tiles for the main jobs, then rows of small tiles for the others (and any `extras`, such as
    the household page's Done). `handler(key)` gets the tapped tile's key. Rebuilt only when what it shows
    changes: the attract page renders again at every notice rotation."""

    cols = NumericProperty(4)  # large tiles a row holds at most
    more_cols = NumericProperty(5)  # small tiles a row holds at most
    handler = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[Any, ...] | None = None
        # the text size sets both column counts: one rebuild before the next frame, not one per count
        self._rebuild_soon = Clock.create_trigger(self._rebuild, -1)
        self.bind(cols=self._rebuild_soon, more_cols=self._rebuild_soon, spacing=self._cap)

    def show(self, jobs: Sequence[Any], extras: Sequence[tuple[str, str]] = ()) -> None:
        """`jobs`: kiosk.flows.jobs.Job records; `extras`: (key, caption) small tiles after the others."""
        wanted = (tuple(jobs), tuple(extras))
        if wanted != self._shown:
            self._shown = wanted
            self._rebuild()

    def _rebuild(self, *_args: Any) -> None:
        self._rebuild_soon.cancel()
        if self._shown is None:
            return
        jobs, extras = self._shown
        self.clear_widgets()
        main = [self._large(j) for j in jobs if j.main]
        more = [self._small(j.key, j.label, j.detail, j.enabled) for j in jobs if not j.main]
        more += [self._small(key, caption, "", True) for key, caption in extras]
        for tiles, cols, flexible in ((main, int(self.cols), True), (more, int(self.more_cols), False)):
            start = 0
            for size in row_sizes(len(tiles), cols):
                row = TileRow(flexible=flexible)
                for tile in tiles[start:start + size]:
                    row.add_widget(tile)
                start += size
                row.bind(minimum_height=self._cap, size_hint_max_y=self._cap)
                self.add_widget(row)
        self._cap()

    def _cap(self, *_args: Any) -> None:
        """No taller than its rows may grow: what the page leaves over goes under the tiles, not into them."""
        rows = list(self.children)
        if not rows:
            self.size_hint_max_y = None
            return
        self.size_hint_max_y = sum(r.size_hint_max_y or r.minimum_height for r in rows) + \
            self.spacing * (len(rows) - 1)

    def _tapped(self, tile: Any) -> None:
        if self.handler is not None:
            self.handler(tile.key)

    def _large(self, job: Any) -> IconTile:
        tile = IconTile(icon=icon_name(job.key), text=job.label, detail=job.detail, key=job.key,
                        disabled=not job.enabled, role="primary" if job.key == "pay_fees" and job.enabled else "plain")
        tile.bind(on_release=self._tapped)
        return tile

    def _small(self, key: str, caption: str, detail: str, enabled: bool) -> SmallTile:
        tile = SmallTile(icon=icon_name(key), text=caption, detail=detail, key=key, disabled=not enabled)
        tile.bind(on_release=self._tapped)
        return tile


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
