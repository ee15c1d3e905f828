"""Which methods a screen may offer: configured ones whose device is up; unknown health is never a yes."""
from __future__ import annotations

import threading

from kiosk.domain.terms import PaymentMethod
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.payments.methods import REASON_DEVICE_DOWN, REASON_NOT_CONFIGURED, available_methods, method_availability
from kiosk.runtime.events import DeviceHealth

UP = {"card_reader": DeviceHealth.AVAILABLE, "cash": DeviceHealth.AVAILABLE, "gateway": True}


def test_all_configured_methods_with_healthy_devices_are_offered_in_config_order():
    assert available_methods(["qr", "cash", "card"], UP) == (PaymentMethod.QR, PaymentMethod.CASH, PaymentMethod.CARD)


def test_a_method_whose_device_is_down_or_unknown_is_not_offered_and_says_why():
    health = {"card_reader": DeviceHealth.AVAILABLE, "cash": DeviceHealth.UNAVAILABLE}
    assert available_methods(["card", "cash", "qr"], health) == (PaymentMethod.CARD,)
    why = {a.method: a.reason for a in method_availability(["card", "cash"], health)}
    assert why == {PaymentMethod.CARD: "", PaymentMethod.CASH: REASON_DEVICE_DOWN,
                   PaymentMethod.QR: REASON_NOT_CONFIGURED}


def test_a_method_the_site_does_not_configure_is_not_offered_even_with_its_device_up():
    assert available_methods(["card"], UP) == (PaymentMethod.CARD,)


def test_consent_answer_is_none_until_the_person_answers():
    control = PaymentControl()
    control.report(PaymentProgress(Stage.CONFIRM_OVERPAY))
    assert control.consent_answer(0.01) is None
    threading.Timer(0.05, control.answer_overpay, args=(True,)).start()
    assert control.consent_answer(2.0) is True
    control.report(PaymentProgress(Stage.CONFIRM_OVERPAY))  # a new question clears the old answer
    assert control.consent_answer(0.01) is None
    control.cancel()
    assert control.consent_answer(0.01) is False
