"""Keypads never move under the finger: the entry field has its place before the first key press.

The key positions are read from the window (the hook's `find`, X11 coordinates) before the first press, after it,
and across steps that keep the keypad (unit -> PIN); on the REAL kiosk a unit number and PIN tapped by real X clicks at
8 taps a second, at positions found once before the first tap, sign in and show exactly what was tapped."""
from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.e2e.harness import KioskProcess, RealKioskProcess
from tests.support.x_pointer import XPointer

pytestmark = pytest.mark.xvfb
DIGITS = tuple("1234567890")
TAP_INTERVAL_S = 0.125  # 8 taps a second


def key_positions(app: KioskProcess, labels: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Where each key is now, once the layout has settled."""
    app.wait_layout(labels[0])
    found = {label: app.cmd(cmd="find", text=label) for label in labels}
    missing = [label for label, f in found.items() if not f.get("ok")]
    assert not missing, f"keys not shown: {missing}"
    return {label: (f["x"], f["y"]) for label, f in found.items()}


def wait_exact(app: KioskProcess, text: str) -> None:
    """Until a visible text is exactly `text` (the entry field showing what was typed)."""
    app.wait_until(lambda: text in app.state().get("texts", ()), 10, f"exactly {text!r} on screen")


def settled_positions(app: KioskProcess, labels: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Key positions after any re-layout the last press caused (two equal readings in a row)."""
    last: dict[str, tuple[int, int]] = {}

    def same() -> dict[str, tuple[int, int]] | None:
        nonlocal last
        now = key_positions(app, labels)
        stable = now == last
        last = now
        return now if stable else None

    return app.wait_until(same, 10, "the keypad's layout")


@pytest.fixture
def english(display):
    with KioskProcess(display, language="en") as app:
        app.wait_for_text("Hello, Green Lake Garden")
        yield app


def test_unit_keypad_keys_stay_put_from_the_first_press_to_the_pin(english):
    english.click("Sign in with unit number and PIN")
    english.click("Use the keypad")
    keys = (*DIGITS, "-", "Delete", "Next")
    before = key_positions(english, keys)
    english.cmd(cmd="tap", text="1")
    wait_exact(english, "1")
    assert settled_positions(english, keys) == before
    for key in "-0302":
        english.cmd(cmd="tap", text=key)
    wait_exact(english, "1-0302")
    assert settled_positions(english, keys) == before
    english.cmd(cmd="tap", text="Next")
    english.wait_for_text("Please enter your PIN")
    pin_keys = (*DIGITS, "Delete", "Next")
    on_pin_step = settled_positions(english, (*pin_keys, "Clear"))
    assert {k: on_pin_step[k] for k in pin_keys} == {k: before[k] for k in pin_keys}
    assert on_pin_step["Clear"] == before["-"]  # the dash key becomes Clear in the same place
    english.cmd(cmd="tap", text="1")
    wait_exact(english, "●")
    assert settled_positions(english, pin_keys) == {k: before[k] for k in pin_keys}


def test_staff_pin_pad_keys_stay_put_after_the_first_press(english):
    english.cmd(cmd="go", route="staff_unlock")
    keys = (*DIGITS, "Clear", "Delete")
    before = key_positions(english, keys)
    english.cmd(cmd="tap", text="2")
    wait_exact(english, "●")
    assert settled_positions(english, keys) == before


def test_step_keypads_keep_their_keys_after_the_first_press(english):
    """The generic steps screen (direct debit account number) and the callback phone number."""
    english.cmd(cmd="card", uid="A1B2C3D4")
    english.wait_for_route("household")
    english.click("Direct debit")
    english.wait_for_text("Please choose your bank")
    english.cmd(cmd="tap", text="ICBC")
    english.wait_for_text("Please enter your account number")
    keys = (*DIGITS, "Clear", "Delete")
    before = key_positions(english, keys)
    english.cmd(cmd="tap", text="6")
    wait_exact(english, "6")
    assert settled_positions(english, keys) == before

    english.cmd(cmd="go", route="callback")
    english.wait_for_route("callback")
    english.cmd(cmd="tap", text="Repairs")
    english.wait_for_text("Please enter your phone number")
    keys = (*DIGITS, "Clear", "Delete")
    before = key_positions(english, keys)
    english.cmd(cmd="tap", text="1")
    wait_exact(english, "1")
    assert settled_positions(english, keys) == before


def tap_at_speed(app: KioskProcess, positions: list[tuple[int, int]],
                 checks: dict[int, Callable[[], object]] | None = None) -> None:
    """Real X clicks (XTest, in this process: no xdotool start per tap) on a fixed schedule, one every 125 ms;
    `checks[i]` reads the screen in the slot of tap i, just before it (the tap before it had its 125 ms to land, as
    a finger's would)."""
    with XPointer(app.display) as pointer:
        start = time.monotonic()
        for i, (x, y) in enumerate(positions):
            delay = start + i * TAP_INTERVAL_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if checks and i in checks:
                checks[i]()
            pointer.click(x, y)
        elapsed = time.monotonic() - start
    assert elapsed < len(positions) * TAP_INTERVAL_S + 0.5, f"tapping took {elapsed:.2f} s: slower than 8 a second"


def test_unit_number_and_pin_tapped_at_eight_a_second_sign_in_on_the_real_kiosk(display, tmp_path):
    with RealKioskProcess(display, tmp_path / "data", language="en") as real:
        real.wait_for_text("Hello, Heyue Garden", 30)
        real.click("Sign in with unit number and PIN")
        real.click("Use the keypad")
        keys = key_positions(real, (*DIGITS, "-", "Next"))  # found once, before the first tap; never again
        unit, pin = "1-0101", "123456"
        taps = [keys[c] for c in unit] + [keys["Next"]] + [keys[c] for c in pin] + [keys["Next"]]
        seen: dict[str, list[str]] = {}

        def look(name: str) -> Callable[[], object]:
            return lambda: seen.setdefault(name, real.state()["texts"])

        tap_at_speed(real, taps, {len(unit): look("unit"), len(unit) + 1 + len(pin): look("pin")})
        state = real.wait_for_route("household", 20)
        assert state["identified"]
        assert unit in seen["unit"]  # exactly what was tapped, no key lost or doubled
        assert "●" * len(pin) in seen["pin"]


def test_staff_pin_tapped_at_eight_a_second_opens_maintenance_on_the_real_kiosk(display, tmp_path):
    with RealKioskProcess(display, tmp_path / "data", language="en") as real:
        real.wait_for_text("Hello, Heyue Garden", 30)
        real.wait_layout("EN")
        for x in (20, 1260, 20, 1260):  # the hidden corners
            real.click_at(x, 20)
        real.wait_for_route("staff_unlock")
        keys = key_positions(real, (*DIGITS, "Sign in"))
        pin = "246810"
        seen: dict[str, list[str]] = {}
        tap_at_speed(real, [keys[c] for c in pin] + [keys["Sign in"]],
                     {len(pin): lambda: seen.setdefault("pin", real.state()["texts"])})
        state = real.wait_for_route("staff_home", 20)
        assert state["staff"]
        assert "●" * len(pin) in seen["pin"]
