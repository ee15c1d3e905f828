"""Fewest taps, least waiting: the main resident journeys performed by real clicks on the real kiosk window.

Run: .venv/bin/python bench/journeys.py [--kiosk run|demo] [--size 1080x1920] [--language zh_Hans]
(starts its own Xvfb; not pytest). Kiosks (bench/journey_kiosks.py): `run`, the product on the wire-level
simulators in separate processes, cards and notes through their command lines (the default); `demo`, what
`kiosk demo` assembles, simulators in its process, cards and notes through the demo bar. Both on a fresh demo estate
(SQLite). Journeys, each from the household page after the sign-in it names:
  pay_all_from_card     tap the card; pay every bill due from its balance; back on the household page
  reprint_last_receipt  the same session: open My records, the newest record, reprint it (after a confirm), home
  top_up_100_cash       tap the card; top up ¥100 paid with one ¥100 note; back on the household page
  report_card_lost      sign in with unit number and PIN (the card is lost); choose the card; report it lost; done

A tap is a click on the kiosk's own page (never the demo bar). Waiting, per tap: from the click to the first frame
that shows the page answering it ready for the next tap (no call in flight, printer check done; the time its buffer
swap returned), less the device time in between: frames on a step where the person or a device acts (the card on
the reader while it is written, notes going in, a code to scan) and the kiosk's requests to a device (the card read
at a tap, the printer's status, the validator's commands), counted once where they overlap. After a card tap: from
the card event reaching the window to the household page ready. Times come from the kiosk's frame log
(screens/frame_log.py) and its devices' request log (DeviceSupervisor.requests), read through the test hook.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.journey_estate import EstateDb, settle_older_bills  # noqa: E402
from kiosk.flows import card_picker  # noqa: E402
from kiosk.flows.cards import CardLossFlow  # noqa: E402
from kiosk.flows.records import FEATURE_LABELS, PAYMENT_METHOD_LABELS, Feature, PaymentMethod  # noqa: E402
from kiosk.i18n import format_money, translate  # noqa: E402
from bench.journey_kiosks import KIOSKS, Hands, seed  # noqa: E402
from tests.e2e.harness import KioskProcess, Xvfb  # noqa: E402
from tests.support.x_pointer import XPointer  # noqa: E402

WAIT_TARGET_S = 1.0
TAP_TARGETS = {"pay_all_from_card": 3, "reprint_last_receipt": 6, "top_up_100_cash": 6, "report_card_lost": 6}
PAY_UNIT, TOP_UP_UNIT, LOST_UNIT = "1-0101", "2-0102", "1-0204"  # lost: two cards, so the card picker is walked
PIN = "123456"  # every demo household's PIN (kiosk.demo.estate.DEMO_HOUSEHOLD_PIN)
ANSWER_TIMEOUT_S = 60.0
READING_S = 0.3  # a pause before each tap, as a resident reads the page: the kiosk is idle when the finger lands


@dataclass
class Wait:
    """One thing the resident did (a tap on the page, or a card tap at the reader) and the wait that followed."""

    what: str
    tap: bool  # a tap on the kiosk's page (counted); False: a card tapped on the reader
    start: float  # wall time of the click / of the card event reaching the window
    answered: float  # the frame that showed the answer, ready for the next tap
    device_s: float  # spent on device steps in between (not the kiosk's time)
    answer: tuple[str, str]  # (route, step) of that frame
    frames: int = 0  # frames drawn from the tap to the answer, the answer's included
    swap_s: float = 0.0  # how long the answer frame's buffer swap took (software GL drawing it)

    @property
    def waiting_s(self) -> float:
        return max(0.0, self.answered - self.start - self.device_s)


@dataclass
class Journey:
    name: str
    waits: list[Wait] = field(default_factory=list)
    sign_in: list[Wait] = field(default_factory=list)  # a unit + PIN sign-in before it (reported on its own)

    @property
    def taps(self) -> int:
        return sum(w.tap for w in self.waits)

    @property
    def waiting_s(self) -> float:
        return sum(w.waiting_s for w in self.waits)

    @property
    def device_s(self) -> float:
        return sum(w.device_s for w in self.waits)

    @property
    def target(self) -> int:
        return TAP_TARGETS[self.name]

    def line(self) -> str:
        return (f"journey {self.name}: taps {self.taps} (target <= {self.target}), waiting {self.waiting_s:.2f} s "
                f"(target <= {WAIT_TARGET_S:.1f})")

    def detail(self) -> str:
        parts = [f"{w.what if w.tap else '[' + w.what + ']'} {w.waiting_s:.2f}"
                 + (f" (+{w.device_s:.2f} device)" if w.device_s >= 0.005 else "") + f" {w.frames}f" for w in self.waits]
        text = "    " + " | ".join(parts)
        if self.sign_in:
            text += (f"\n    before it, sign-in by unit number and PIN: {sum(w.tap for w in self.sign_in)} keypad taps, "
                     f"waiting {sum(w.waiting_s for w in self.sign_in):.2f} s (not counted in the journey)")
        return text

    @property
    def met(self) -> bool:
        return self.taps <= self.target and self.waiting_s <= WAIT_TARGET_S


def covered(spans: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] inside at least one of `spans`."""
    total, reach = 0.0, start
    for a, b in sorted((max(a, start), min(b, end)) for a, b in spans):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def answer(frames: dict[str, Any], start: float) -> tuple[float, float, tuple[str, str], float] | None:
    """(answered at, device seconds, (route, step), swap seconds) from the frame log after `start`, or None while the page has
    not answered yet. The answer is the first frame after `start` that is neither busy nor on a device step. Device
    time is what lies in between on a device step (the frames that asked the person to act at a device, until the
    next frame) or inside a request the kiosk made to a device (the card read and written, the printer's status,
    the validator's commands: DeviceSupervisor.requests), counted once where they overlap."""
    after = [m for m in frames["marks"] if m[0] > start]
    for i, (at, route, step, busy, stage, *swap) in enumerate(after):
        if not busy and not stage:
            spans = [(m[0], after[j + 1][0]) for j, m in enumerate(after[:i]) if m[4]]
            spans += [(a, b) for requests in frames.get("devices", {}).values() for a, b in requests]
            return at, covered(spans, start, at), (route, step), (swap or [0.0])[0]
    return None


class Driver:
    """Clicks captions of the real window (XTest, like a finger) and reads the answers from the frame log."""

    def __init__(self, app: KioskProcess, pointer: XPointer, hands: Hands, db: EstateDb) -> None:
        self.app, self.pointer, self.hands, self.db = app, pointer, hands, db
        self.language = app.language

    def t(self, msgid: str, **params: Any) -> str:
        return translate(msgid, self.language, **params)

    def frames(self) -> dict[str, Any]:
        return self.app.cmd(cmd="frames")

    def _answered(self, what: str, start: float, tap: bool, expect: tuple[str, str] | None,
                  on_device: dict[str, Callable[[], None]] | None = None) -> Wait:
        done: set[str] = set()
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            frames = self.frames()
            for stage, act in (on_device or {}).items():  # the person acts at a device when the page asks
                if stage not in done and any(m[0] > start and m[4] == stage for m in frames["marks"]):
                    done.add(stage)
                    act()
            found = answer(frames, start)
            if found is not None:
                at, device, shown, swap_s = found
                if expect is not None and shown != expect:
                    raise AssertionError(f"{what!r} answered with {shown}, expected {expect}")
                drawn = sum(start < t <= at + 1e-6 for t in frames.get("swaps", ()))
                return Wait(what, tap, start, at, device, shown, drawn, swap_s)
            time.sleep(0.05)
        raise AssertionError(f"no answer to {what!r} within {ANSWER_TIMEOUT_S} s: {self.app.state()}")

    def tap(self, caption: str, expect: tuple[str, str] | None = None,
            on_device: dict[str, Callable[[], None]] | None = None) -> Wait:
        """A resident's tap on the page; returns once the answer is drawn."""
        self.app.wait_layout(caption)
        time.sleep(READING_S)  # the resident reads before tapping
        found = self.app.cmd(cmd="find", text=caption)
        assert found.get("ok") and not found["disabled"], f"{caption!r}: {found}"
        start = time.time()
        self.pointer.click(found["x"], found["y"])
        return self._answered(caption, start, True, expect, on_device)

    def card(self, unit: str, expect: tuple[str, str] = ("household", "ready")) -> Wait:
        """The resident's card on the reader (not a tap on the page); the wait runs from its event reaching the
        window to the household page drawn ready."""
        before = len(self.frames()["events"])
        self.hands.card(f"{unit} resident", self.db.card_view(unit).card_uid)
        events = self.app.wait_until(lambda: (e := self.frames()["events"])[before:] and e, 30, "the card event")
        return self._answered(f"card {unit}", events[before][0], False, expect)

    def note(self, yuan: int) -> Callable[[], None]:
        return lambda: self.hands.note(yuan)

    def next_resident(self) -> None:
        """Between journeys: the card taken off and the session ended (what the idle timer does), attract again."""
        self.hands.card_off()
        self.app.cmd(cmd="go", route="attract")
        self.app.wait_for_route("attract")


def pay_all_from_card(d: Driver) -> Journey:
    j, db = Journey("pay_all_from_card"), d.db
    total = db.total_due(PAY_UNIT)
    j.waits.append(d.card(PAY_UNIT))
    j.waits.append(d.tap(d.t("Pay all {amount} from card balance", amount=format_money(total, d.language)),
                         ("pay_fees", "confirm")))
    j.waits.append(d.tap(d.t("Confirm and pay"), ("pay_fees", "done")))
    j.waits.append(d.tap(d.t("Done"), ("household", "ready")))
    assert db.total_due(PAY_UNIT) == 0, "bills still due after paying all"
    return j


def reprint_last_receipt(d: Driver) -> Journey:
    j, db = Journey("reprint_last_receipt"), d.db
    number, _amount = db.last_receipt(PAY_UNIT)
    printed = db.printed_count(number)
    j.waits.append(d.tap(d.t(FEATURE_LABELS[Feature.RECORDS]), ("records", "list")))
    j.waits.append(d.tap(d.t("Receipt {number}", number=number), ("records", "detail")))  # the newest row
    j.waits.append(d.tap(d.t("Reprint"), ("records", "reprint_confirm")))
    j.waits.append(d.tap(d.t("Print a copy"), ("records", "detail")))
    j.waits.append(d.tap(d.t("Done"), ("household", "ready")))
    d.app.wait_until(lambda: db.printed_count(number) > printed, 30, f"a copy of receipt {number}")
    return j


def top_up_100_cash(d: Driver) -> Journey:
    j, db = Journey("top_up_100_cash"), d.db
    before = db.balance(TOP_UP_UNIT)
    j.waits.append(d.card(TOP_UP_UNIT))
    j.waits.append(d.tap(d.t(FEATURE_LABELS[Feature.TOP_UP]), ("top_up", "amount")))
    j.waits.append(d.tap(format_money(10_000, d.language), ("top_up", "method")))
    j.waits.append(d.tap(d.t(PAYMENT_METHOD_LABELS[PaymentMethod.CASH]), ("top_up", "confirm")))
    j.waits.append(d.tap(d.t("Confirm and pay"), ("top_up", "done"), on_device={"insert_notes": d.note(100)}))
    j.waits.append(d.tap(d.t("Done"), ("household", "ready")))
    assert db.balance(TOP_UP_UNIT) == before + 10_000, "the card was not topped up by ¥100"
    return j


def report_card_lost(d: Driver) -> Journey:
    j, db = Journey("report_card_lost"), d.db
    j.sign_in.append(d.tap(d.t("Sign in with unit number and PIN"), ("identify", "choose")))
    j.sign_in.append(d.tap(d.t("Use the keypad"), ("identify", "unit")))
    j.sign_in += [d.tap(key, ("identify", "unit")) for key in LOST_UNIT]
    j.sign_in.append(d.tap(d.t("Next"), ("identify", "pin")))
    j.sign_in += [d.tap(key, ("identify", "pin")) for key in PIN]
    j.sign_in.append(d.tap(d.t("Next"), ("household", "ready")))
    card = db.card_view(LOST_UNIT)
    j.waits.append(d.tap(d.t(FEATURE_LABELS[Feature.CARD_LOSS]), ("card_loss", card_picker.PICK_STEP)))
    j.waits.append(d.tap(card_picker.card_name(card, d.language), ("card_loss", "menu")))
    j.waits.append(d.tap(d.t(CardLossFlow.ACTIONS["lost"]), ("card_loss", "confirm")))
    j.waits.append(d.tap(d.t("Confirm"), ("card_loss", "done")))
    j.waits.append(d.tap(d.t("Done"), ("goodbye", "")))
    assert db.card_status(LOST_UNIT) == "lost", "the card is not reported lost"
    return j


def run_journeys(d: Driver) -> list[Journey]:
    journeys = [pay_all_from_card(d), reprint_last_receipt(d)]  # the second goes on in the first one's session
    d.next_resident()
    journeys.append(top_up_100_cash(d))
    d.next_resident()
    journeys.append(report_card_lost(d))
    return journeys


def measure(kiosk: str, display: str, size: tuple[int, int], language: str) -> list[Journey]:
    """A fresh demo estate; the household that pays owes this month only (its card covers every bill due)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-journeys-{kiosk}-")) / "data"
    seed(display, data_dir, size, language)
    db = EstateDb(data_dir)
    settle_older_bills(db, PAY_UNIT)
    with XPointer(display) as pointer, KIOSKS[kiosk](display, data_dir, size, language, pointer.click) as (app, hands):
        journeys = run_journeys(Driver(app, pointer, hands, db))
        if os.environ.get("BENCH_JOURNEYS_DUMP"):  # the frame log and every wait, to see where a wait went
            dump = {**app.cmd(cmd="frames"), "waits": [[j.name, w.what, w.start, w.answered, w.device_s, w.frames,
                                                          w.swap_s] for j in journeys for w in j.sign_in + j.waits]}
            Path(os.environ["BENCH_JOURNEYS_DUMP"]).write_text(json.dumps(dump), encoding="utf-8")
        return journeys


def report(journeys: list[Journey], kiosk: str, size: tuple[int, int]) -> str:
    lines = [f"kiosk {kiosk}, window {size[0]}x{size[1]}"]
    for j in journeys:
        lines += [j.line(), j.detail()]
    met = all(j.met for j in journeys)
    lines.append(f"verdict: {'all journeys meet' if met else 'NOT all journeys meet'} their targets "
                 f"(pay all from card balance <= 3 taps after the card tap, every journey <= 6 taps, "
                 f"<= {WAIT_TARGET_S:.0f} s waiting)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", action="append", help="WIDTHxHEIGHT (repeatable; default 1080x1920 and 1280x800)")
    parser.add_argument("--kiosk", choices=sorted(KIOSKS), action="append", help="repeatable; default: run")
    parser.add_argument("--language", default="zh_Hans")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in (args.size or ["1080x1920", "1280x800"])]
    ok = True
    for kiosk in args.kiosk or ["run"]:
        for size in sizes:
            with Xvfb(size=size, own=True) as x:  # type: ignore[arg-type]  # a screen of the window's size
                journeys = measure(kiosk, x.display, size, args.language)  # type: ignore[arg-type]
            print(report(journeys, kiosk, size) + "\n", flush=True)  # type: ignore[arg-type]
            ok = ok and all(j.met for j in journeys)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
