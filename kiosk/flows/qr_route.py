"""After 扫码支付: which network (WeChat Pay / Alipay) and which direction (the resident scans the kiosk's code, or
shows the app's payment code to the kiosk's scanner). Kivy-free; the pay page draws each question (`QUESTIONS`) as
a small heading and a segmented pair of large buttons, indented under 扫码支付 (keys `qr-route:network:<name>` /
`qr-route:direction:<name>`).

- Networks: only the configured ones (`ServiceStatus.qr_networks`); the question is skipped with one (or none).
  The first configured network is preselected; a tap on the other changes it.
- Directions: "Show my payment code" only where the chosen network takes codes now (`ServiceStatus.code_networks`:
  a scanner configured and up, a driver with payment codes); otherwise the kiosk's code, without asking. The
  kiosk's code is preselected.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.flows.records import ServiceStatus
from kiosk.i18n import N_
from kiosk.payments.control import PaymentControl

ROUTE_KEY = "qr-route:"
KIOSK_CODE, PAYMENT_CODE = "kiosk_code", "payment_code"
NETWORK_LABELS = {"wechatpay": N_("WeChat Pay"), "alipay": N_("Alipay"), "sandbox": N_("Scan to pay")}
DIRECTION_LABELS = {KIOSK_CODE: N_("Scan the kiosk's code"), PAYMENT_CODE: N_("Show my payment code")}
NETWORK_ICONS = {"wechatpay": "wechat", "alipay": "cellphone"}
DIRECTION_ICONS = {KIOSK_CODE: "qrcode", PAYMENT_CODE: "barcode-scan"}
# the follow-up questions of 扫码支付, each the heading of its pair of answers on the pay page (key's middle part)
QUESTIONS = {"network": N_("Which app do you pay with?"), "direction": N_("How do you pay?")}


@dataclass(frozen=True)
class RouteOption:
    key: str
    label: str  # a msgid
    selected: bool
    icon: str


class QrRoute:
    """The resident's answers; `status` is read fresh each time (a scanner going down withdraws its direction)."""

    def __init__(self) -> None:
        self.network = ""
        self.direction = ""

    @staticmethod
    def _status(status: ServiceStatus | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if status is None:
            return (), ()
        return status.qr_networks, status.code_networks

    def networks_asked(self, status: ServiceStatus | None) -> tuple[str, ...]:
        networks, _ = self._status(status)
        return networks if len(networks) > 1 else ()

    def network_used(self, status: ServiceStatus | None) -> str:
        """The resident's pick, else the first configured network (preselected, as the page shows it)."""
        networks, _ = self._status(status)
        if self.network in networks:
            return self.network
        return networks[0] if networks else ""

    def directions_asked(self, status: ServiceStatus | None) -> tuple[str, ...]:
        network = self.network_used(status)
        _, codes = self._status(status)
        return (KIOSK_CODE, PAYMENT_CODE) if network and network in codes else ()

    def direction_used(self, status: ServiceStatus | None) -> str:
        asked = self.directions_asked(status)
        return self.direction if self.direction in asked else KIOSK_CODE  # the kiosk's code is preselected

    def complete(self, status: ServiceStatus | None) -> bool:
        networks, _ = self._status(status)
        return (not networks or bool(self.network_used(status))) and bool(self.direction_used(status))

    def options(self, status: ServiceStatus | None) -> tuple[RouteOption, ...]:
        network, direction = self.network_used(status), self.direction_used(status)
        out = [RouteOption(f"{ROUTE_KEY}network:{n}", NETWORK_LABELS.get(n, n), n == network,
                           NETWORK_ICONS.get(n, "qrcode")) for n in self.networks_asked(status)]
        out += [RouteOption(f"{ROUTE_KEY}direction:{d}", DIRECTION_LABELS[d], d == direction,
                            DIRECTION_ICONS[d]) for d in self.directions_asked(status)]
        return tuple(out)

    def choose(self, key: str, status: ServiceStatus | None) -> bool:
        """A route row was tapped; False when it is not (or no longer) offered."""
        what, _, value = key.removeprefix(ROUTE_KEY).partition(":")
        if what == "network" and value in self.networks_asked(status):
            if value != self.network_used(status):
                self.network, self.direction = value, ""  # back to the kiosk's code: the other may take no codes
            return True
        if what == "direction" and value in self.directions_asked(status):
            self.direction = value
            return True
        return False

    def apply(self, control: PaymentControl, status: ServiceStatus | None) -> None:
        networks, _ = self._status(status)
        control.network = self.network_used(status) if networks else ""
        control.direction = self.direction_used(status) or KIOSK_CODE

    def words(self, status: ServiceStatus | None, t: Callable[..., str]) -> str:
        """'Alipay · Show my payment code' for the confirm page ("" when nothing was asked)."""
        parts = []
        if self.networks_asked(status) and self.network_used(status):
            parts.append(t(NETWORK_LABELS[self.network_used(status)]))
        if self.directions_asked(status) and self.direction_used(status):
            parts.append(t(DIRECTION_LABELS[self.direction_used(status)]))
        return " · ".join(parts)
