"""The theme's numbers: type scale by window size, 15 mm targets, large text, WCAG contrast, window fit, fonts."""
from __future__ import annotations

import pytest

from screens.fonts import FONT_NAMES, has_cjk, language_fonts
from screens.icons import codepoints, icon
from screens.screen_fit import window_size
from screens.theme import HIGH_CONTRAST, NORMAL, TEXT_PAIRS, TYPE_SCALE, ThemeSpec, contrast_ratio

SIZES = [(1080, 1920), (1920, 1080), (1280, 800), (800, 1280), (768, 1366)]


def test_body_text_is_32_px_and_titles_and_amounts_48_px_on_a_1080x1920_portrait_kiosk():
    spec = ThemeSpec(1080, 1920)
    assert spec.portrait
    assert (spec.font_px("s"), spec.font_px("m"), spec.font_px("xl"), spec.font_px("xxl")) == (24, 32, 48, 72)


@pytest.mark.parametrize("size", SIZES)
def test_nothing_a_resident_reads_is_below_24_px_at_any_window_size(size):
    spec = ThemeSpec(*size)
    assert min(spec.font_px(level) for level in TYPE_SCALE) >= 24
    assert spec.min_read_px == spec.font_px("s")


def test_sizes_scale_with_the_short_side_of_the_window():
    big, small = ThemeSpec(1080, 1920), ThemeSpec(800, 1280)
    assert small.font_px("xl") == round(48 * 800 / 1080)
    assert small.font_px("xl") < big.font_px("xl")
    assert ThemeSpec(1920, 1080).font_px("m") == 32 and not ThemeSpec(1920, 1080).portrait


@pytest.mark.parametrize("size", SIZES)
def test_large_text_multiplies_every_level_by_one_and_a_half(size):
    normal, large = ThemeSpec(*size), ThemeSpec(*size, large_text=True)
    for level in TYPE_SCALE:
        assert abs(large.font_px(level) - 1.5 * normal.font_px(level)) <= 1


@pytest.mark.parametrize("diagonal", [15.6, 21.5, 32.0])
@pytest.mark.parametrize("size", SIZES)
def test_touch_targets_are_at_least_15_mm_on_the_configured_panel(size, diagonal):
    spec = ThemeSpec(*size, diagonal_in=diagonal)
    assert spec.touch_px / spec.px_per_mm >= 15.0


def test_a_21_5_inch_1080x1920_panel_has_about_4_px_per_mm():
    assert ThemeSpec(1080, 1920, 21.5).px_per_mm == pytest.approx(4.03, abs=0.01)
    assert ThemeSpec(1080, 1920, 21.5).touch_px == 61


@pytest.mark.parametrize("fg,bg", TEXT_PAIRS)
def test_normal_palette_meets_wcag_aa_for_every_text_pair(fg, bg):
    assert contrast_ratio(NORMAL[fg], NORMAL[bg]) >= 4.5, (fg, bg)


@pytest.mark.parametrize("fg,bg", TEXT_PAIRS)
def test_high_contrast_palette_meets_wcag_aaa_for_every_text_pair(fg, bg):
    assert contrast_ratio(HIGH_CONTRAST[fg], HIGH_CONTRAST[bg]) >= 7.0, (fg, bg)


def test_contrast_ratio_matches_the_wcag_definition():
    assert contrast_ratio((0, 0, 0, 1), (1, 1, 1, 1)) == pytest.approx(21.0)
    assert contrast_ratio((1, 1, 1, 1), (1, 1, 1, 1)) == pytest.approx(1.0)
    assert contrast_ratio((0.463, 0.463, 0.463), (1, 1, 1)) == pytest.approx(4.54, abs=0.02)  # #767676


def test_the_window_opens_at_the_reference_size_of_the_screens_orientation_when_it_fits():
    assert window_size(0, 0, "auto", False, (2160, 3840)) == (1080, 1920)
    assert window_size(0, 0, "auto", False, (2560, 1440)) == (1920, 1080)
    assert window_size(0, 0, "portrait", False, None) == (1080, 1920)


def test_the_window_is_never_larger_than_the_screen_and_keeps_its_shape():
    w, h = window_size(0, 0, "portrait", False, (1920, 1080))
    assert h <= 1080 and w <= 1920 and abs(w / h - 1080 / 1920) < 0.01
    assert window_size(1280, 800, "auto", False, (1024, 768)) == (1024, 640)
    assert window_size(1280, 800, "auto", False, (1280, 800)) == (1280, 800)
    assert window_size(1280, 800, "auto", True, (1366, 768)) == (1366, 768)


def test_a_window_with_a_title_bar_leaves_room_for_it_and_the_desktop_panel():
    w, h = window_size(0, 0, "landscape", False, (1920, 1080), borderless=False)
    assert h <= 1080 - 96 and abs(w / h - 16 / 9) < 0.01
    assert window_size(1280, 800, "auto", False, (1920, 1080), borderless=False) == (1280, 800)


def test_each_language_gets_its_own_face_and_chinese_in_english_falls_back_to_a_cjk_face(tmp_path):
    files = language_fonts("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", cache=tmp_path)
    sc, tc, latin = (files[FONT_NAMES[k]] for k in ("zh_Hans", "zh_Hant", "en"))
    assert "NotoSansCJKSC" in sc.regular and "NotoSansCJKTC" in tc.regular and "NotoSans-Regular" in latin.regular
    assert sc.bold.endswith("Bold.otf") and latin.bold.endswith("Bold.ttf")
    from fontTools.ttLib import TTFont
    assert TTFont(tc.regular)["name"].getDebugName(1) == "Noto Sans CJK TC"
    assert has_cjk("Heyue 和悦") and not has_cjk("Heyue Garden ¥1,148.46")


def test_the_pin_dots_are_drawn_with_a_face_that_has_them():
    from fontTools.ttLib import TTFont

    files = language_fonts("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    latin, sc = files[FONT_NAMES["en"]].regular, files[FONT_NAMES["zh_Hans"]].regular
    assert ord("●") not in TTFont(latin).getBestCmap() and ord("●") in TTFont(sc).getBestCmap()
    assert has_cjk("●●●●")  # so an English PIN pad draws its dots with the CJK face, never as boxes


def test_icons_come_by_name_from_the_material_design_icons_css():
    assert len(codepoints()) > 1000
    assert icon("cash") == "\uf114" and icon("") == ""
    with pytest.raises(KeyError):
        icon("no-such-icon")
