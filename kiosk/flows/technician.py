"""Technician journey: each device's driver / port / speed from lists, a real test, then an atomic save.

devices -> (device) driver -> port -> speed -> test (run it, see firmware / UID / status / identity)
-> use it -> devices ... -> save. A changed device must pass its test before the file can be saved.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from kiosk.flows.records import StaffRole
from kiosk.flows.staff import DEVICE_NAMES
from kiosk.flows.staff_tools import StaffStepFlow
from kiosk.flows.steps import Option, StepView
from kiosk.flows.tool_records import DeviceChoice, DeviceOptions, DeviceTestResult, SavedConfig, SerialPortView
from kiosk.i18n import N_

NOT_ATTACHED = "-"
SCANNER_PROMPTS = {"test": N_("{device}: tap Test now, then hold a payment code under the scanner"),
                   "sending": N_("Hold a payment code under the scanner now")}


class TechnicianFlow(StaffStepFlow):
    route = "staff_devices"
    title = N_("Device setup")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.options: dict[str, DeviceOptions] = {}
        self.ports: tuple[SerialPortView, ...] = ()
        self.chosen: dict[str, DeviceChoice] = {}  # device -> the choice the technician made (changed ones)
        self.tested: dict[str, DeviceTestResult] = {}  # device -> last test of its chosen setting
        self.device = ""
        self.draft: DeviceChoice | None = None
        self.saved: SavedConfig | None = None

    def loaded(self) -> None:
        staff = self.session.staff
        if staff is None or staff.role not in (StaffRole.TECHNICIAN, StaffRole.ADMIN):
            self.step = "denied"
            return
        self.step = "loading"
        self.call("device_options", self.services.device_options, self._options, self.fail)

    def _options(self, options: tuple[DeviceOptions, ...]) -> None:
        self.options = {o.current.device: o for o in options}
        self.call("serial_ports", self.services.serial_ports, self._ports, self.fail)

    def _ports(self, ports: tuple[SerialPortView, ...]) -> None:
        self.ports, self.step = ports, "devices"

    def current(self, device: str) -> DeviceChoice:
        return self.chosen.get(device) or self.options[device].current

    # --- choosing --------------------------------------------------------------------------------
    def choose(self, key: str) -> None:
        if self.step == "devices" and key in self.options:
            self.device, self.draft = key, self.current(key)
            self.go_step("driver")
        elif self.step == "driver" and self.draft is not None:
            self.draft = replace(self.draft, driver=key)
            self.go_step("port")
        elif self.step == "port" and self.draft is not None:
            self.draft = replace(self.draft, url="" if key == NOT_ATTACHED else key)
            speeds = self.options[self.device].speeds if self.draft.driver != "hid" else ()  # a keyboard wedge has none
            self.go_step("speed" if speeds and self.draft.url else "test")
        elif self.step == "speed" and self.draft is not None:
            self.draft = replace(self.draft, baud=int(key))
            self.go_step("test")

    def primary(self) -> None:
        if self.step == "test" and self.draft is not None:
            if not self.draft.url:  # not attached: nothing to test
                self._use()
                return
            staff_id, draft = self.staff_id, self.draft
            self.tested.pop(self.device, None)
            self.history.append(self.step)
            self.step = "sending"
            self.call("test_device", lambda: self.services.test_device(staff_id, draft), self._tested, self.fail,
                      timeout_s=30)
        elif self.step == "result":
            result = self.tested.get(self.device)
            if result is not None and result.ok:
                self._use()
                return
            self.go_step("test")
            return
        elif self.step == "devices" and self._can_save:
            staff_id, choices = self.staff_id, tuple(self.chosen.values())
            self.history.append(self.step)
            self.step = "sending"
            self.call("save_device_config", lambda: self.services.save_device_config(staff_id, choices),
                      self._saved, self.fail)
        elif self.step in ("saved", "failed", "denied"):
            self.ctx.navigate("staff_home")
            return
        self.changed()

    def _tested(self, result: DeviceTestResult) -> None:
        self.tested[self.device], self.step = result, "result"

    def _use(self) -> None:
        assert self.draft is not None
        if self.draft != self.options[self.device].current:
            self.chosen[self.device] = self.draft
        else:
            self.chosen.pop(self.device, None)
        self.history.clear()
        self.step = "devices"
        self.changed()

    def _saved(self, saved: SavedConfig) -> None:
        self.saved, self.step = saved, "saved"

    @property
    def _can_save(self) -> bool:
        return bool(self.chosen) and all(not c.url or (d in self.tested and self.tested[d].ok)
                                         for d, c in self.chosen.items())

    # --- view --------------------------------------------------------------------------------------
    def _describe(self, c: DeviceChoice) -> str:
        if not c.url:
            return self.t(N_("Not attached"))
        baud = f"{c.baud} bps" if c.baud and not (c.device == "scanner" and c.driver == "hid") else ""
        return " · ".join(p for p in (c.driver, c.url, baud) if p)

    def _error_words(self, result: DeviceTestResult) -> str:
        """The failed test's line in the kiosk's language (E6300's message in Chinese on a Chinese screen), the
        technical detail as it came; the English text when the services sent no msgid."""
        if not result.error_message:
            return result.error_text
        try:
            words = self.t(result.error_message, **dict(result.error_params))
        except (KeyError, IndexError, ValueError):
            words = self.t(result.error_message)
        return words + result.error_detail

    def view(self) -> StepView:
        name = self.t(DEVICE_NAMES.get(self.device, self.device)) if self.device else ""
        prompts = {"loading": N_("Loading, please wait"), "devices": N_("Tap a device to change or test it"),
                   "driver": N_("{device}: choose the driver"), "port": N_("{device}: choose the port"),
                   "speed": N_("{device}: choose the speed"), "test": N_("{device}: test it before use"),
                   "sending": N_("Please wait"), "result": N_("{device}: test result"),
                   "saved": N_("Saved. The new settings are used from the next start; if they fail to start, "
                               "the last good settings come back."),
                   "denied": N_("Only technicians can change devices."),
                   "failed": N_("Sorry, this could not be done"),
                   **(SCANNER_PROMPTS if self.device == "scanner" else {})}
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        draft = self.draft
        if self.step == "devices":
            options = tuple(Option(d, f"{self.t(DEVICE_NAMES[d])}\n{self._describe(self.current(d))}",
                                   selected=d in self.chosen) for d in self.options)
            for d, c in self.chosen.items():
                test = self.tested.get(d)
                state = self.t(N_("Tested, works")) if test and test.ok else self.t(N_("Not tested yet"))
                lines += ((self.t(DEVICE_NAMES[d]), state if c.url else self.t(N_("Not attached"))),)
            if not self.chosen:
                lines = (("", self.t(N_("Nothing changed."))),)
        elif self.step == "driver" and draft is not None:
            options = tuple(Option(d, d, selected=d == draft.driver) for d in self.options[self.device].drivers)
        elif self.step == "port" and draft is not None:
            paths = [p.best_path for p in self.ports]
            opts = [Option(p.best_path, f"{p.best_path}\n{p.description}", selected=p.best_path == draft.url)
                    for p in self.ports]
            if draft.url and draft.url not in paths:
                opts.insert(0, Option(draft.url, draft.url, selected=True))
            opts.append(Option(NOT_ATTACHED, self.t(N_("Not attached")), selected=not draft.url))
            options = tuple(opts)
        elif self.step == "speed" and draft is not None:
            options = tuple(Option(str(s), f"{s} bps", selected=s == draft.baud) for s in self.options[self.device].speeds)
        if self.step in ("test", "result") and draft is not None:
            lines = ((self.t(N_("Device")), name), (self.t(N_("Setting")), self._describe(draft)))
            result = self.tested.get(self.device) if self.step == "result" else None
            if result is not None and result.ok:
                lines += tuple((self.t(k), self.t(v)) for k, v in result.lines)
                lines += (("", self.t(N_("Works."))),)
            elif result is not None:
                lines += (("", f"[ ! ] {result.error_code} {self._error_words(result)}"),)
        if self.step == "saved" and self.saved is not None:
            lines = ((self.t(N_("File")), self.saved.path),
                     (self.t(N_("Last good file")), self.saved.last_good_path or "-"))
        result = self.tested.get(self.device)
        primary = {"devices": N_("Save") if self.chosen else "", "test": N_("Test now") if draft and draft.url
                   else N_("Use it"), "result": N_("Use it") if result and result.ok else N_("Test again"),
                   "saved": N_("Done"), "failed": N_("Done"), "denied": N_("Done")}.get(self.step, "")
        return self.base_view(self.t(prompts.get(self.step, ""), device=name), options=options, lines=lines,
                              primary=self.t(primary) if primary else "",
                              primary_enabled=self.step != "devices" or self._can_save)
