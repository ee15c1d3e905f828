"""UI settings read from any settings-like object (attribute `ui` or the object itself), with safe defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError
from screens.screen_fit import ORIENTATIONS

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


@dataclass(frozen=True)
class UiSettings:
    """Everything screens/ needs to know about the display and the kiosk's behaviour."""

    font_path: str = DEFAULT_FONT
    width: int = 0  # 0 (with height 0): the reference size of `orientation` that fits the screen (screen_fit)
    height: int = 0
    orientation: str = "auto"  # auto (the screen's own), portrait (1080x1920) or landscape (1920x1080)
    screen_diagonal_in: float = 21.5  # of the real panel: touch targets are 15 mm on it
    screen_width_mm: float = 0.0  # the panel's physical width, when known exactly (overrides the diagonal)
    fullscreen: bool = False
    borderless: bool = True
    show_cursor: bool = False
    max_fps: int = 60  # while the user is interacting
    idle_fps: int = 2  # after `active_window_s` without input, where input wakes the loop (X11)
    idle_poll_fps: int = 12  # the same where it can't (Wayland, KMS/DRM): idle frames poll for touches
    active_window_s: float = 2.0
    idle_timeout_s: float = 60.0
    idle_warning_s: float = 20.0
    staff_idle_timeout_s: float = 120.0
    notice_cycle_s: float = 12.0  # each change redraws the window (~40 ms of software GL)
    default_language: str = "zh_Hans"
    large_text: bool = False
    high_contrast: bool = False
    call_timeout_s: float = 20.0
    speech: bool = False  # spoken prompts through espeak-ng when it is installed
    speech_command: str = "espeak-ng"

    def __post_init__(self) -> None:
        if self.idle_warning_s < 20:
            raise ConfigError("ui.idle_warning_s must be >= 20", key="ui.idle_warning_s")
        if min(self.idle_fps, self.idle_poll_fps, self.max_fps) <= 0:
            raise ConfigError("frame rates must be positive", key="ui.max_fps / ui.idle_fps / ui.idle_poll_fps")
        if self.orientation not in ORIENTATIONS:
            raise ConfigError(f"ui.orientation must be one of {', '.join(ORIENTATIONS)}", key="ui.orientation")
        if self.screen_diagonal_in <= 0:
            raise ConfigError("ui.screen_diagonal_in must be positive", key="ui.screen_diagonal_in")

    def check_font(self) -> Path:
        """The font file; a missing one fails at start with the setting's name."""
        path = Path(self.font_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"font file not found: {path} (set ui.font_path to a CJK font such as "
                              f"{DEFAULT_FONT}; Debian package fonts-wqy-microhei)", key="ui.font_path")
        return path


# names used by kiosk.settings.UiSettings (the site's [ui] table) -> ours
ALIASES = {"language": "default_language", "spoken_prompts": "speech"}


def ui_settings_from(obj: Any) -> UiSettings:
    """Build UiSettings from `obj.ui` (or `obj`), a mapping, or None; KIOSK_UI_* env vars override for tests."""
    source = getattr(obj, "ui", obj)
    names = {f.name for f in fields(UiSettings)}
    values: dict[str, Any] = {}
    if isinstance(source, dict):
        items = dict(source)
    elif source is not None:
        items = {n: getattr(source, n) for n in (*names, *ALIASES) if hasattr(source, n)}
    else:
        items = {}
    for name, value in items.items():
        name = ALIASES.get(name, name)
        if name in names:
            values[name] = value
    for f in fields(UiSettings):
        env = os.environ.get(f"KIOSK_UI_{f.name.upper()}")
        if env is not None:
            values[f.name] = _coerce(env, f.type)
    return UiSettings(**values)


def _coerce(text: str, kind: Any) -> Any:
    kind = str(kind)
    if kind == "bool":
        return text.strip().lower() in ("1", "true", "yes", "on")
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    return text
