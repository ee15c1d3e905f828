"""The two kiosks the journey benchmark drives (bench/journeys.py), each with the person's hands at its devices:
  run   `kiosk run` on the wire-level simulators in separate processes, as hardware would be (bench/app.py's
        headline): a card is laid on the reader and notes go in through the simulators' command lines, and the
        simulators' work (parsing ESC/POS, drawing the receipt PNG, the card's RF answers) is not on the kiosk's CPU;
  demo  tests/e2e/real_app.py, what `kiosk demo` assembles: simulators inside the kiosk's process (their CPU and the
        GIL shared with the window), cards and notes through the demo bar, by clicks."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from bench.app import DeviceSimulators
from kiosk.i18n import translate
from tests.e2e.harness import KioskProcess, RealKioskProcess, demo_card


class Hands(Protocol):
    """The person at the devices: nothing done here is a tap on the kiosk's page."""

    def card(self, label: str, uid: str) -> None: ...
    def card_off(self) -> None: ...
    def note(self, yuan: int) -> None: ...


class DemoBarHands:
    """Cards and notes through `kiosk demo`'s demo bar (clicks on the bar, not on the kiosk's page)."""

    def __init__(self, app: KioskProcess, click: object) -> None:
        self.app, self.click = app, click

    def _press(self, caption: str) -> None:
        found = self.app.wait_layout(caption)
        self.click(found["x"], found["y"])  # type: ignore[operator]

    def card(self, label: str, uid: str) -> None:
        self._press(translate("Cards", self.app.language))
        self._press(demo_card(label, self.app.language))  # "1-0101 resident" as the list names it: "1-0101 住户卡"

    def card_off(self) -> None:
        self._press(translate("Take the card off", self.app.language))
        time.sleep(0.5)

    def note(self, yuan: int) -> None:
        self._press(f"¥{yuan}")


class SimulatorHands:
    """Cards and notes through the command lines of the simulators in their own processes."""

    def __init__(self, sims: DeviceSimulators) -> None:
        self.sims = sims

    def _tell(self, name: str, line: str) -> None:
        proc = self.sims.procs[[n for n, _ in self.sims.COMMANDS].index(name)]
        proc.stdin.write(line + "\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    def card(self, label: str, uid: str) -> None:
        self._tell("reader", f"present {uid}")

    def card_off(self) -> None:
        self._tell("reader", "remove")
        time.sleep(0.5)

    def note(self, yuan: int) -> None:
        self._tell("cash", f"insert {yuan}")


# a borderless window of exactly the asked size at the screen's corner (a decorated one keeps room for a title bar)
WINDOW = {"KIOSK_UI_FULLSCREEN": "0", "KIOSK_UI_BORDERLESS": "1"}


class RunKioskProcess(KioskProcess):
    """`kiosk run` (with the window hook) on the devices a site file names."""

    def __init__(self, display: str, data_dir: Path, config: Path, language: str, size: tuple[int, int]) -> None:
        super().__init__(display, language=language, size=size)
        self.data_dir, self.config = data_dir, config

    def __enter__(self) -> RunKioskProcess:
        super().__enter__()
        self.wait_until(lambda: self.state().get("services_ready"), 60, "the runtime behind the window")
        return self

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tests.support.hooked_kiosk", "run", "--data-dir", str(self.data_dir),
                "--config", str(self.config), "--language", self.language]

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        return dict(env, KIOSK_TEST_HOOK=self.sock_path, KIOSK_UI_DEFAULT_LANGUAGE=self.language,
                    KIOSK_UI_WIDTH=str(self.size[0]), KIOSK_UI_HEIGHT=str(self.size[1]), **WINDOW)


def seed(display: str, data_dir: Path, size: tuple[int, int], language: str) -> None:
    """A first start of `kiosk demo`'s assembly: the demo estate in the database, the demo cards issued and saved
    (<data dir>/demo-cards.json), as bench/app.py does before it measures an ordinary second start."""
    with RealKioskProcess(display, data_dir, language=language, size=size, env=WINDOW) as first:
        first.wait_until(lambda: first.state().get("step") == "ready", 30, "the attract page")


@contextmanager
def demo_kiosk(display: str, data_dir: Path, size: tuple[int, int], language: str,
               click: object) -> Iterator[tuple[KioskProcess, Hands]]:
    with RealKioskProcess(display, data_dir, language=language, size=size, env=WINDOW) as app:
        app.wait_for_text(translate("Cards", language), 30)  # the demo bar: the runtime and its simulators are up
        yield app, DemoBarHands(app, click)


@contextmanager
def run_kiosk(display: str, data_dir: Path, size: tuple[int, int], language: str,
              click: object) -> Iterator[tuple[KioskProcess, Hands]]:
    cards = data_dir / "demo-cards.json"
    with DeviceSimulators(data_dir, reader_cards=cards) as sims:
        with RunKioskProcess(display, data_dir, sims.config(), language, size) as app:
            app.wait_until(lambda: app.state().get("step") == "ready", 30, "the attract page")
            yield app, SimulatorHands(sims)


KIOSKS = {"run": run_kiosk, "demo": demo_kiosk}
