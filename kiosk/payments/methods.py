"""Which payment methods a screen may offer now: the site's configured methods, minus those whose device is down."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kiosk.domain.terms import PaymentMethod
from kiosk.i18n import N_
from kiosk.runtime.events import DeviceHealth

# The device each method needs, by the name its DeviceSupervisor / health entry uses.
METHOD_DEVICES: dict[PaymentMethod, str] = {
    PaymentMethod.CARD: "card_reader",
    PaymentMethod.CASH: "cash",
    PaymentMethod.QR: "gateway",
}
REASON_NOT_CONFIGURED = N_("Not offered at this site.")
REASON_DEVICE_DOWN = N_("Temporarily unavailable.")


@dataclass(frozen=True)
class MethodAvailability:
    method: PaymentMethod
    available: bool
    reason: str = ""  # msgid when not available


def method_availability(configured: Iterable[str], health: Mapping[str, DeviceHealth | bool]) -> tuple[MethodAvailability, ...]:
    """Every method the kiosk knows (card, cash, QR), each with whether it can be offered and why not.

    `configured` is `settings.payments.methods`; `health` maps a device name ("card_reader", "cash",
    "gateway") to its DeviceHealth or a plain bool. A device missing from `health` counts as down:
    a method is never offered on a guess.
    """
    wanted = {str(m) for m in configured}
    out: list[MethodAvailability] = []
    for method, device in METHOD_DEVICES.items():
        if str(method) not in wanted:
            out.append(MethodAvailability(method, False, REASON_NOT_CONFIGURED))
            continue
        state = health.get(device, False)
        up = state is DeviceHealth.AVAILABLE if isinstance(state, DeviceHealth) else bool(state)
        out.append(MethodAvailability(method, up, "" if up else REASON_DEVICE_DOWN))
    return tuple(out)


def available_methods(configured: Iterable[str], health: Mapping[str, DeviceHealth | bool]) -> tuple[PaymentMethod, ...]:
    """The methods to offer now, in the configured order."""
    up = {a.method for a in method_availability(configured, health) if a.available}
    return tuple(PaymentMethod(m) for m in dict.fromkeys(str(m) for m in configured) if m in {str(u) for u in up})
