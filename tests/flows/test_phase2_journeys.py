"""Top-up, card loss/unfreeze/replace, bookings, parking, direct debit and records journeys (Kivy-free)."""
from __future__ import annotations

from kiosk import errors
from kiosk.flows.records import CardStatus, DeviceState

from tests.flows.conftest import deferred_journey


def _sign_in_unit(nav, unit: str, pin: str) -> None:
    nav.go("identify")
    nav.flow.use_keypad()
    for k in unit:
        nav.flow.key(k)
    nav.flow.submit()
    for k in pin:
        nav.flow.key(k)
    nav.flow.submit()
    assert nav.route.name == "household"


def test_top_up_by_cash_warns_no_change_and_shows_balance_before_and_after(signed_in, fake):
    signed_in.go("top_up")
    flow = signed_in.flow
    assert flow.view().step == "amount" and [o.label for o in flow.view().options][:2] == ["¥50.00", "¥100.00"]
    flow.choose("10000")
    assert "card" not in [o.key for o in flow.view().options]  # top-up cannot spend the card itself
    flow.choose("cash")
    view = flow.view()
    assert view.step == "confirm" and ("", "本机不找零，超出应付金额的部分将存入您的住户账户。") in view.lines
    flow.primary()
    view = flow.view()
    assert view.step == "done" and ("充值前余额", "¥200.00") in view.lines and ("充值后余额", "¥300.00") in view.lines
    assert fake.cards["A1B2C3D4"].balance_fen == 30000 and fake.cash_box_fen == 10000


def test_top_up_is_refused_with_the_reader_down(signed_in, fake):
    fake.set_device("reader", DeviceState.DOWN, "unplugged")
    signed_in.go("attract")  # the attract screen refreshes the service status
    signed_in.flow.card_tapped("A1B2C3D4")
    signed_in.go("top_up")
    assert signed_in.route.name == "out_of_service"
    assert "卡充值" in signed_in.flow.view().reason


def test_report_card_lost_blocks_it_at_once(signed_in, fake):
    signed_in.go("card_loss")
    flow = signed_in.flow
    flow.choose("lost")
    assert ("", "卡片将立即在所有地方停用。") in flow.view().lines
    flow.primary()
    assert flow.view().step == "done" and fake.cards["A1B2C3D4"].status is CardStatus.LOST
    signed_in.go("attract")
    signed_in.flow.card_tapped("A1B2C3D4")  # blocked: the tap only offers the found-card PIN pad
    view = signed_in.flow.view()
    assert signed_in.route.name == "identify" and view.step == "pin" and "挂失" in view.prompt
    assert signed_in.session.identity is None


def test_frozen_card_can_be_unfrozen_after_unit_sign_in(nav, fake):
    _sign_in_unit(nav, "2-0505", "0000")
    nav.go("card_loss")
    options = {o.key: o for o in nav.flow.view().options}
    assert options["unfreeze"].enabled and options["lost"].enabled
    nav.flow.choose("unfreeze")
    nav.flow.primary()
    assert fake.cards["CAFEF00D"].status is CardStatus.ACTIVE


def test_replace_lost_card_moves_balance_and_charges_the_fee(nav, fake):
    fake.cards["11223344"].status = CardStatus.REPLACED  # H2 has only its lost card left
    _sign_in_unit(nav, "2-1101", "5678")
    nav.go("card_loss")
    flow = nav.flow
    assert not {o.key: o for o in flow.view().options}["lost"].enabled
    flow.choose("replace")
    assert flow.view().step == "tap_new"
    flow.card_tapped("99887766")
    flow.choose("qr")
    view = flow.view()
    assert ("补卡费", "¥20.00") in view.lines
    flow.primary()
    assert flow.view().step == "done"
    assert fake.cards["99887766"].balance_fen == 1200 and fake.cards["DEADBEEF"].status is CardStatus.REPLACED


def test_booking_picks_kind_slot_and_gives_a_ticket(signed_in, fake):
    signed_in.go("bookings")
    flow = signed_in.flow
    flow.choose("broadband")
    slots = flow.view().options
    assert flow.view().step == "slot" and len(slots) == 6
    flow.choose(slots[0].key)
    flow.choose("cash")
    flow.primary()
    view = flow.view()
    assert view.step == "done" and view.lines[0][0] == "预约单号"
    assert slots[0].key in fake.booked_slots


def test_slot_taken_meanwhile_is_reported(signed_in, fake):
    signed_in.go("bookings")
    flow = signed_in.flow
    flow.choose("tv")
    slot = flow.view().options[0].key
    flow.choose(slot)
    flow.choose("cash")
    fake.booked_slots[slot] = "T-other"
    flow.primary()
    assert flow.view().step == "failed" and flow.view().error.code == errors.SlotUnavailable.code


def test_parking_rent_for_three_months(signed_in, fake):
    signed_in.go("parking")
    flow = signed_in.flow
    assert [o.key for o in flow.view().options] == ["P-B1-012", "apply"]
    flow.choose("P-B1-012")
    flow.choose("3")
    flow.choose("qr")
    assert ("合计", "¥900.00") in flow.view().lines
    flow.primary()
    assert flow.view().step == "done" and fake.receipts[flow.result.receipt_number]["amount"] == 90000


def test_parking_application_for_a_free_space(signed_in, fake):
    signed_in.go("parking")
    flow = signed_in.flow
    flow.choose("apply")
    flow.choose("P-B2-004")
    flow.choose("rent")
    flow.primary()
    assert flow.view().step == "done" and fake.parking["P-B2-004"][1] == "H1"


def test_direct_debit_masks_the_account_and_forgets_it(signed_in, fake):
    signed_in.go("direct_debit")
    flow = signed_in.flow
    flow.choose("ICBC")
    for d in "6222020200112233445":
        flow.key(d)
    view = flow.view()
    assert view.keypad and view.entry == "•" * 15 + "3445" and "6222" not in view.entry
    flow.primary()
    flow.primary()
    view = flow.view()
    assert view.step == "done" and ("账号", "6222 **** **** 3445") in view.lines and flow.account == ""


def test_direct_debit_needs_at_least_12_digits(signed_in):
    signed_in.go("direct_debit")
    flow = signed_in.flow
    flow.choose("BOC")
    for d in "12345":
        flow.key(d)
    assert not flow.view().primary_enabled
    flow.primary()
    assert flow.view().step == "account"


def test_back_walks_the_steps_then_returns_home(signed_in):
    signed_in.go("top_up")
    flow = signed_in.flow
    flow.choose("5000")
    flow.back()
    assert flow.view().step == "amount"
    flow.back()
    assert signed_in.route.name == "household"


def test_phase2_payment_timeout_then_check_again_uses_the_same_key(fake):
    nav, runner = deferred_journey(fake, "top_up")
    flow = nav.flow
    flow.choose("5000")
    flow.choose("qr")
    flow.primary()
    runner.expire_pending()
    assert flow.view().step == "uncertain"
    flow.primary()
    runner.run_pending()
    assert flow.view().step == "done" and fake.cards["A1B2C3D4"].balance_fen == 25000
