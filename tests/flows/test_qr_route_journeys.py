"""扫码支付's questions (network, direction) in every journey that pays through the shared method page
(kiosk.flows.steps): card top-up, card replacement fee, service booking, parking rent. The answers reach the
payment's control, which picks the QR collector or the payment-code collector (kiosk.app_runtime.runtime)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from kiosk.flows.records import CardStatus, ServiceStatus

from tests.flows.test_phase2_journeys import _sign_in_unit


def _offer(nav, networks: tuple[str, ...], codes: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    nav.ctx.status = replace(nav.ctx.status or ServiceStatus(False), qr_networks=networks, code_networks=codes)


def _captured(fake, name: str) -> list:  # type: ignore[no-untyped-def]
    seen: list = []
    pay = getattr(fake, name)

    def paying(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["control"])
        return pay(*args, **kwargs)
    setattr(fake, name, paying)
    return seen


def _top_up(nav, fake) -> None:  # type: ignore[no-untyped-def]
    nav.go("top_up")
    nav.flow.choose("10000")


def _replacement(nav, fake) -> None:  # type: ignore[no-untyped-def]
    fake.cards["11223344"].status = CardStatus.REPLACED  # H2 has only its lost card left
    _sign_in_unit(nav, "2-1101", "5678")
    nav.go("card_loss")
    nav.flow.choose("replace")
    nav.flow.card_tapped("99887766")


def _booking(nav, fake) -> None:  # type: ignore[no-untyped-def]
    nav.go("bookings")
    nav.flow.choose("broadband")
    nav.flow.choose(nav.flow.view().options[0].key)


def _parking(nav, fake) -> None:  # type: ignore[no-untyped-def]
    nav.go("parking")
    nav.flow.choose("P-B1-012")
    nav.flow.choose("3")


JOURNEYS: dict[str, tuple[Callable[..., None], str, bool]] = {  # to the method page, the service call, signed in
    "top_up": (_top_up, "top_up", True), "replacement": (_replacement, "replace_card", False),
    "booking": (_booking, "book", True), "parking": (_parking, "pay_parking", True)}


def _rows(flow) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {o.key: o.selected for o in flow.view().options if o.key.startswith("qr-route:")}


@pytest.mark.parametrize("journey", JOURNEYS)
def test_scan_to_pay_asks_network_and_direction_and_the_answers_reach_the_payment(journey, nav, signed_in,
                                                                                  fake) -> None:
    to_method, call, needs_sign_in = JOURNEYS[journey]
    who = signed_in if needs_sign_in else nav
    controls = _captured(fake, call)
    to_method(who, fake)
    flow = who.flow
    _offer(who, ("wechatpay", "alipay"), ("wechatpay", "alipay"))
    assert flow.view().step == "method" and _rows(flow) == {}  # nothing before 扫码支付 is chosen
    flow.choose("qr")
    view = flow.view()
    assert view.step == "method" and _rows(flow) == {
        "qr-route:network:wechatpay": True, "qr-route:network:alipay": False,
        "qr-route:direction:kiosk_code": True, "qr-route:direction:payment_code": False}
    assert [o.key for o in view.options].index("qr-route:network:wechatpay") == \
        [o.key for o in view.options].index("qr") + 1  # the questions right under 扫码支付
    assert view.primary == "继续办理" and view.primary_enabled
    flow.choose("qr-route:network:alipay")
    flow.choose("qr-route:direction:payment_code")
    flow.primary()  # Continue
    view = flow.view()
    assert view.step == "confirm" and any(value.endswith("支付宝 · 出示付款码") for _label, value in view.lines)
    flow.primary()  # Confirm and pay
    assert flow.view().step == "done"
    (control,) = controls
    assert (control.network, control.direction) == ("alipay", "payment_code")


@pytest.mark.parametrize("journey", ["top_up", "parking"])
def test_scan_to_pay_with_nothing_to_ask_goes_straight_to_confirm_with_the_first_network(journey, signed_in,
                                                                                        fake) -> None:
    to_method, call, _ = JOURNEYS[journey]
    controls = _captured(fake, call)
    to_method(signed_in, fake)
    _offer(signed_in, ("wechatpay",), ())
    signed_in.flow.choose("qr")
    assert signed_in.flow.view().step == "confirm"
    signed_in.flow.primary()
    assert (controls[0].network, controls[0].direction) == ("wechatpay", "kiosk_code")


def test_another_method_after_scan_to_pay_goes_on_and_moves_no_route(signed_in, fake) -> None:
    controls = _captured(fake, "top_up")
    _top_up(signed_in, fake)
    _offer(signed_in, ("wechatpay", "alipay"), ("alipay",))
    flow = signed_in.flow
    flow.choose("qr")
    flow.choose("qr-route:direction:payment_code")  # not offered on WeChat Pay here: ignored
    assert not any("direction" in k for k in _rows(flow))
    flow.choose("cash")
    assert flow.view().step == "confirm"
    flow.back()
    assert flow.view().step == "method" and _rows(flow) == {} and not flow.view().primary
    flow.choose("cash")
    flow.primary()
    assert controls[0].direction == "kiosk_code" and controls[0].network == ""
