"""Window-free UI tests: theme sizes, settings and font errors, the bridge, captions and catalogs."""
from __future__ import annotations

import ast
import re
import threading
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.errors import ConfigError, all_error_classes
from kiosk.i18n import LANGUAGES
from screens.bridge import UiBridge
from screens.labels import KV_CAPTIONS
from screens.theme import ThemeSpec
from screens.ui_settings import UiSettings, ui_settings_from

ROOT = Path(__file__).resolve().parents[2]


def test_missing_font_fails_with_the_setting_name(tmp_path):
    ui = UiSettings(font_path=str(tmp_path / "nope.ttc"))
    with pytest.raises(ConfigError) as info:
        ui.check_font()
    assert "ui.font_path" in str(info.value)


def test_settings_come_from_an_object_with_a_ui_section_or_a_mapping(monkeypatch):
    class Section:
        idle_timeout_s = 45.0
        fullscreen = True

    class Settings:
        ui = Section()
    assert ui_settings_from(Settings()).idle_timeout_s == 45.0
    assert ui_settings_from({"default_language": "en"}).default_language == "en"
    monkeypatch.setenv("KIOSK_UI_MAX_FPS", "30")
    assert ui_settings_from(None).max_fps == 30


def test_idle_warning_shorter_than_20_seconds_is_a_config_error():
    with pytest.raises(ConfigError):
        UiSettings(idle_warning_s=5)


def test_bridge_runs_posted_work_in_order_in_one_scheduled_drain():
    scheduled = []
    bridge = UiBridge(schedule=lambda fn, delay: scheduled.append(fn))
    out = []
    threads = [threading.Thread(target=bridge.post, args=(lambda i=i: out.append(i),)) for i in range(5)]
    for t in threads:
        t.start()
        t.join()
    assert len(scheduled) == 1
    scheduled[0](0)
    assert out == [0, 1, 2, 3, 4]


def test_bridge_delivers_device_events_to_handlers_on_the_ui_side():
    scheduled = []
    bridge = UiBridge(schedule=lambda fn, delay: scheduled.append(fn))
    seen = []
    bridge.on_event(seen.append)

    class Bus:
        def subscribe(self, callback):
            self.callback = callback
    bus = Bus()
    bridge.attach(bus)
    bus.callback("card")
    assert seen == []
    scheduled[0](0)
    assert seen == ["card"]


def test_every_kv_caption_is_listed_for_extraction():
    used = set()
    for kv in (ROOT / "screens").glob("*.kv"):
        used |= set(re.findall(r'root\.tr\("([^"]+)"', kv.read_text(encoding="utf-8")))
    assert used and used <= set(KV_CAPTIONS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_translates_every_ui_and_error_message(language):
    with open(ROOT / "kiosk" / "locale" / language / "LC_MESSAGES" / "kiosk.po", "rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string}
    wanted = {cls.message for cls in all_error_classes()} | set(KV_CAPTIONS) | _msgids_in(ROOT / "kiosk" / "flows") \
        | _msgids_in(ROOT / "screens")
    assert wanted - translated == set()
    assert (ROOT / "kiosk" / "locale" / language / "LC_MESSAGES" / "kiosk.mo").stat().st_size > 1000


def _msgids_in(folder: Path) -> set[str]:
    found = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    return found


def test_screens_import_no_devices_serial_or_sqlalchemy_and_flows_no_kivy():
    banned = {"screens": ("devices", "serial", "sqlalchemy", "escpos"), "kiosk/flows": ("kivy", "serial", "escpos",
                                                                                    "sqlalchemy", "devices")}
    for folder, names in banned.items():
        for path in (ROOT / folder).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for module in modules:
                    assert module.split(".")[0] not in names, f"{path} imports {module}"


def test_spoken_prompts_call_the_speech_program_once_per_new_prompt(tmp_path):
    from screens.speech import Speaker

    log = tmp_path / "said.txt"
    program = tmp_path / "fake-espeak"
    program.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
    program.chmod(0o755)
    speaker = Speaker(True, str(program))
    speaker.say("请刷卡", "zh_Hans")
    speaker.say("请刷卡", "zh_Hans")  # the same prompt is not repeated
    speaker.say("Please tap your card", "en")
    speaker.finish(5)
    speaker.close()
    lines = log.read_text(encoding="utf-8").splitlines()
    assert "-v en Please tap your card" in lines and lines.count("-v cmn 请刷卡") <= 1 and len(lines) <= 2


def test_speech_is_off_when_the_program_is_missing():
    from screens.speech import Speaker

    speaker = Speaker(True, "no-such-espeak-program")
    assert not speaker.active
    speaker.say("x", "en")


def test_bridge_subscribes_to_a_typed_event_bus_for_every_event():
    scheduled = []
    bridge = UiBridge(schedule=lambda fn, delay: scheduled.append(fn))
    seen = []
    bridge.on_event(seen.append)

    class TypedBus:
        def subscribe(self, event_type, callback):
            self.event_type, self.callback = event_type, callback
    bus = TypedBus()
    bridge.attach(bus)
    assert bus.event_type is object
    bus.callback("tap")
    scheduled[0](0)
    assert seen == ["tap"]


def test_site_ui_table_names_are_understood_and_the_panel_size_comes_from_its_width():
    class SiteUi:  # the shape of kiosk.settings.UiSettings
        language = "zh_Hant"
        fullscreen = True
        borderless = True
        show_cursor = False
        idle_timeout_s = 90
        idle_warning_s = 25
        font_path = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
        screen_width_mm = 476
        large_text = False
        high_contrast = True
        max_fps = 30
        spoken_prompts = True

    class Settings:
        ui = SiteUi()
    ui = ui_settings_from(Settings())
    assert (ui.default_language, ui.speech, ui.idle_timeout_s, ui.max_fps) == ("zh_Hant", True, 90, 30)
    spec = ThemeSpec(1920, 1080, ui.screen_diagonal_in, width_mm=ui.screen_width_mm)
    assert round(spec.px_per_mm * 25.4) == 102  # a 21.5" 1920x1080 panel is 476 mm wide
    assert spec.touch_px == 61  # 15 mm


def test_the_site_file_sets_the_idle_frame_rates(tmp_path):
    from kiosk import settings as settings_mod

    site = tmp_path / "site.toml"
    site.write_text("[ui]\nidle_fps = 4\nidle_poll_fps = 15\n", encoding="utf-8")
    ui = ui_settings_from(settings_mod.load(tmp_path / "data", str(site), with_secrets=False))
    assert (ui.idle_fps, ui.idle_poll_fps) == (4, 15)
    assert ui_settings_from(settings_mod.load(tmp_path / "data", with_secrets=False)).idle_fps == 2
