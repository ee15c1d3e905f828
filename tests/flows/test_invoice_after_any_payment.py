"""开发票 after every payment that makes a receipt, not only fees: a top-up, a booking, parking rent and the card
replacement fee end on a done page whose main button opens the invoice journey for that receipt; Done goes home;
nothing is offered when the service says no (invoicing off, a receipt with nothing to invoice). Kivy-free, on the
in-memory services."""
from __future__ import annotations

from kiosk.flows.records import CardStatus


def _top_up(nav, amount: str = "10000") -> None:
    nav.go("top_up")
    nav.flow.choose(amount)
    nav.flow.choose("cash")
    nav.flow.primary()


def _book(nav) -> None:
    nav.go("bookings")
    flow = nav.flow
    flow.choose("broadband")
    flow.choose(flow.view().options[0].key)
    flow.choose("cash")
    flow.primary()


def _reaches_the_invoice_journey(nav, fake) -> str:
    flow = nav.flow
    view = flow.view()
    receipt = flow.result.receipt_number
    assert view.step == "done" and ("收据号", receipt) in view.lines
    assert view.primary == "开发票" and view.back_caption == "完成"
    flow.primary()
    assert nav.route.name == "invoice"
    view = nav.flow.view()
    assert view.step == "kind" and ("收据号", receipt) in view.lines
    fen = fake.receipts[receipt]["amount"]
    assert ("发票金额", f"¥{fen // 100}.{fen % 100:02d}") in view.lines
    return receipt


def test_a_top_up_done_page_offers_the_invoice_and_reaches_the_journey(signed_in, fake):
    _top_up(signed_in)
    receipt = _reaches_the_invoice_journey(signed_in, fake)
    assert fake.receipts[receipt]["kind"] == "top_up"


def test_a_booking_done_page_offers_the_invoice_and_reaches_the_journey(signed_in, fake):
    _book(signed_in)
    receipt = _reaches_the_invoice_journey(signed_in, fake)
    assert fake.receipts[receipt]["kind"] == "booking"


def test_parking_rent_and_the_card_replacement_fee_offer_it_too(signed_in, fake):
    signed_in.go("parking")
    flow = signed_in.flow
    flow.choose("P-B1-012")
    flow.choose("1")
    flow.choose("qr")
    flow.primary()
    _reaches_the_invoice_journey(signed_in, fake)

    fake.cards["11223344"].status = CardStatus.REPLACED
    signed_in.go("identify")
    signed_in.flow.use_keypad()
    for k in "2-1101":
        signed_in.flow.key(k)
    signed_in.flow.submit()
    for k in "5678":
        signed_in.flow.key(k)
    signed_in.flow.submit()
    signed_in.go("card_loss")
    flow = signed_in.flow
    flow.choose("replace")
    flow.card_tapped("99887766")
    flow.choose("qr")
    flow.primary()
    _reaches_the_invoice_journey(signed_in, fake)


def test_done_goes_home_and_the_invoice_journey_returns_home_too(signed_in, fake):
    _top_up(signed_in)
    signed_in.flow.back()  # the Back button reads Done on this page
    assert signed_in.route.name == "household"
    _book(signed_in)
    signed_in.flow.primary()
    assert signed_in.route.name == "invoice"
    signed_in.flow.back()  # from the journey's first step
    assert signed_in.route.name == "household"


def test_nothing_is_offered_when_invoicing_is_off_and_the_done_page_is_as_before(signed_in, fake):
    fake.invoicing_off = True
    _top_up(signed_in)
    view = signed_in.flow.view()
    assert view.step == "done" and view.primary == "完成" and view.back_caption == ""
    signed_in.flow.primary()
    assert signed_in.route.name == "household"


def test_a_receipt_with_nothing_to_invoice_gets_no_button(signed_in, fake):
    signed_in.go("card_loss")
    flow = signed_in.flow
    flow.choose("lost")
    flow.primary()
    view = flow.view()
    assert view.step == "done" and view.primary == "完成"  # the loss report's receipt is for no money
    assert flow.invoice_offer is not None and not flow.invoice_offer.can_request


def test_a_receipt_already_invoiced_is_not_offered_again(signed_in, fake):
    _top_up(signed_in)
    receipt = signed_in.flow.result.receipt_number
    signed_in.flow.primary()
    from kiosk.flows.invoice_records import TitleView

    fake.request_invoice("H1", receipt, title=TitleView("personal", "张三"))
    signed_in.go("household")
    _top_up(signed_in, "5000")
    assert signed_in.flow.view().primary == "开发票"  # the new receipt can
    assert fake.invoice_offer(receipt).can_request is False  # the first one: no second request
