"""After 扫码支付 on the pay page: which network and which direction, only where they are offered; the choice
reaches the payment's control (kiosk.flows.qr_route)."""
from __future__ import annotations

from dataclasses import replace

from kiosk.flows.pay_fees import PayStep
from kiosk.flows.records import ServiceStatus


def _offer(nav, networks: tuple[str, ...], codes: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    nav.ctx.status = replace(nav.ctx.status or ServiceStatus(False), qr_networks=networks, code_networks=codes)


def _captured(fake) -> list:  # type: ignore[no-untyped-def]
    seen: list = []
    pay = fake.pay_bills

    def pay_bills(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["control"])
        return pay(*args, **kwargs)
    fake.pay_bills = pay_bills
    return seen


def _rows(flow) -> dict[str, tuple[str, bool]]:  # type: ignore[no-untyped-def]
    return {m.method: (m.label, m.selected) for m in flow.view().methods if m.method.startswith("qr-route:")}


def test_both_networks_and_a_scanner_offer_network_and_direction_preselected_and_changeable(signed_in, fake) -> None:
    controls = _captured(fake)
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _offer(signed_in, ("wechatpay", "alipay"), ("wechatpay", "alipay"))
    assert _rows(flow) == {}  # nothing before 扫码支付 is chosen
    flow.choose_method("qr")
    assert _rows(flow) == {"qr-route:network:wechatpay": ("微信支付", True), "qr-route:network:alipay": ("支付宝", False),
                           "qr-route:direction:kiosk_code": ("扫描终端上的二维码", True),
                           "qr-route:direction:payment_code": ("出示付款码", False)}
    assert flow.view().can_continue  # the first network and the kiosk's code are preselected
    flow.choose_method("qr-route:direction:payment_code")
    flow.choose_method("qr-route:network:alipay")  # another network: back to the kiosk's code
    assert [k for k, (_label, on) in _rows(flow).items() if on] == ["qr-route:network:alipay",
                                                                    "qr-route:direction:kiosk_code"]
    flow.choose_method("qr-route:direction:payment_code")
    assert flow.view().can_continue
    flow.next()
    assert flow.view().step is PayStep.CONFIRM and flow.view().confirm_method.endswith("支付宝 · 出示付款码")
    flow.confirm()
    (control,) = controls
    assert (control.network, control.direction) == ("alipay", "payment_code")


def test_one_network_without_a_scanner_asks_nothing(signed_in, fake) -> None:
    controls = _captured(fake)
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _offer(signed_in, ("wechatpay",), ())
    flow.choose_method("qr")
    assert _rows(flow) == {} and flow.view().can_continue
    flow.next()
    flow.confirm()
    assert (controls[0].network, controls[0].direction) == ("wechatpay", "kiosk_code")


def test_the_payment_code_is_offered_only_on_a_network_whose_scanner_path_is_up(signed_in, fake) -> None:
    controls = _captured(fake)
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _offer(signed_in, ("wechatpay", "alipay"), ("alipay",))
    flow.choose_method("qr")
    flow.choose_method("qr-route:network:wechatpay")
    assert not any("direction" in k for k in _rows(flow)) and flow.view().can_continue
    flow.choose_method("qr-route:direction:payment_code")  # not offered: ignored
    _offer(signed_in, ("wechatpay", "alipay"), ())  # the scanner went down
    flow.choose_method("qr-route:network:alipay")
    assert not any("direction" in k for k in _rows(flow))
    flow.next()
    flow.confirm()
    assert (controls[0].network, controls[0].direction) == ("alipay", "kiosk_code")


def test_a_kiosk_without_named_networks_pays_as_before(signed_in, fake) -> None:
    controls = _captured(fake)
    signed_in.go("pay_fees")
    flow = signed_in.flow
    flow.choose_method("qr")
    assert _rows(flow) == {}
    flow.next()
    flow.confirm()
    assert (controls[0].network, controls[0].direction) == ("", "kiosk_code")
