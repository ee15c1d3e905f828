"""`kiosk demo --size/--orientation`: the window a person asked for, a window rather than full screen."""
from __future__ import annotations

import pytest

from kiosk.cli.app_cmds import _settings
from kiosk.cli.main import build_parser


def settings_for(tmp_path, *args):
    return _settings(build_parser().parse_args(["demo", "--data-dir", str(tmp_path), *args])).ui


def test_without_options_the_window_takes_the_reference_size_of_the_screens_orientation(tmp_path):
    ui = settings_for(tmp_path)
    assert (ui.orientation, ui.width, ui.height) == ("auto", 0, 0)


def test_size_asks_for_a_window_of_that_size(tmp_path):
    ui = settings_for(tmp_path, "--size", "1280x800")
    assert (ui.width, ui.height, ui.fullscreen) == (1280, 800, False)


def test_orientation_picks_the_reference_size_of_that_orientation(tmp_path):
    ui = settings_for(tmp_path, "--orientation", "portrait")
    assert (ui.orientation, ui.width, ui.height, ui.fullscreen) == ("portrait", 0, 0, False)


@pytest.mark.parametrize("bad", ["big", "1080", "0x1920", "1080x-1"])
def test_a_size_that_is_not_width_x_height_is_refused_by_the_parser(tmp_path, bad, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["demo", "--data-dir", str(tmp_path), "--size", bad])
    assert info.value.code == 2
    assert "is not a size like 1080x1920" in capsys.readouterr().err
