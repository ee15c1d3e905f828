"""The real driver against the pty simulator: identification, escrow, faults, echo, recovery."""
from __future__ import annotations

import time

import pytest

from devices.cash.cctalk_bill_validator import CctalkBillValidator
from devices.cash.registry import build_cash_acceptor
from devices.sim.cctalk_sim import SimBillValidator
from kiosk.errors import CashAcceptorFault, DeviceTimeout, DeviceUnavailable, DriverNotFound
from kiosk.ports import CashAcceptor, CashEventKind

YUAN = 100


def kinds(events: list) -> list[CashEventKind]:
    return [e.kind for e in events]


def test_driver_implements_the_port(validator: CctalkBillValidator) -> None:
    assert isinstance(validator, CashAcceptor)


def test_identify_reports_category_manufacturer_product_and_serial(validator: CctalkBillValidator) -> None:
    info = validator.identify()
    assert info["category"] == "Bill Validator"
    assert info["manufacturer"] == "SIM"
    assert info["product_code"] == "SIMBV-CN6"
    assert info["serial"] == str(0x0A1B2C)
    assert validator.is_bill_validator()


def test_bill_values_are_the_six_cny_notes_in_fen(validator: CctalkBillValidator) -> None:
    assert validator.bill_values() == {1: 100, 2: 500, 3: 1000, 4: 2000, 5: 5000, 6: 10000}
    assert validator.bill_ids()[6].code == "CN0100A"


def test_open_selects_escrow_and_inhibits_everything(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    assert sim.mode == 0x03
    assert not sim.master_enabled and sim.enabled_types == set()
    assert sim.insert_note(20) == "inhibited"


def test_enable_sets_inhibit_mask_and_master_inhibit(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([1000, 2000, 999])
    assert sim.master_enabled and sim.enabled_types == {3, 4}
    assert validator.enabled_values() == {1000, 2000}
    validator.disable()
    assert not sim.master_enabled and validator.enabled_values() == set()


def test_exact_payment_note_goes_escrow_then_stacked(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([2000])
    assert sim.insert_note(20) == "escrow"
    (escrow,) = validator.poll()
    assert escrow.kind is CashEventKind.ESCROW and escrow.value_fen == 20 * YUAN and escrow.bill_type == 4
    validator.stack_escrow()
    (stacked,) = validator.poll()
    assert stacked.kind is CashEventKind.STACKED and stacked.value_fen == 2000
    assert stacked.counter == escrow.counter + 1
    assert sim.stacked_fen == 2000
    assert validator.poll() == []


def test_returned_note_is_not_stacked(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([10000])
    sim.insert_note(100)
    validator.poll()
    validator.return_escrow()
    assert kinds(validator.poll()) == [CashEventKind.RETURNED]
    assert sim.stacked_fen == 0


def test_routing_with_empty_escrow_is_harmless(validator: CctalkBillValidator) -> None:
    validator.stack_escrow()
    validator.return_escrow()
    assert validator.poll() == []


def test_rejected_note_is_reported(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([2000])
    sim.execute("reject")
    assert sim.insert_note(20) == "rejected"
    (event,) = validator.poll()
    assert event.kind is CashEventKind.REJECTED and "validation" in event.detail


def test_jam_is_reported_and_blocks_stacking(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([2000])
    sim.insert_note(20)
    validator.poll()
    sim.jam()
    assert kinds(validator.poll()) == [CashEventKind.JAM]
    assert sim.insert_note(20) == "out_of_service"


def test_jam_while_stacking_is_reported(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([2000])
    sim.execute("jam-on-stack")
    sim.insert_note(20)
    validator.poll()
    validator.stack_escrow()
    (event,) = validator.poll()
    assert event.kind is CashEventKind.JAM and "stacker" in event.detail


def test_stacker_full_makes_route_fail_with_fault(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([2000])
    sim.insert_note(20)
    validator.poll()
    sim.fill_stacker()
    assert kinds(validator.poll()) == [CashEventKind.STACKER_FULL]
    with pytest.raises(CashAcceptorFault):
        validator.stack_escrow()


def test_stacker_fills_at_capacity() -> None:
    with SimBillValidator(stacker_capacity=2) as sim:
        with CctalkBillValidator(sim.path, timeout_s=0.2) as validator:
            validator.enable([500])
            for _ in range(2):
                sim.insert_note(5)
                validator.poll()
                validator.stack_escrow()
            assert kinds(validator.poll()) == [CashEventKind.STACKED, CashEventKind.STACKER_FULL]


def test_stacker_removed_and_replaced_are_reported(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    sim.remove_stacker()
    sim.insert_stacker()
    assert kinds(validator.poll()) == [CashEventKind.STACKER_REMOVED, CashEventKind.STACKER_REPLACED]


@pytest.mark.parametrize("kind", ["fraud", "tamper", "opto_fraud", "string_fraud"])
def test_fraud_attempts_are_reported(sim: SimBillValidator, validator: CctalkBillValidator, kind: str) -> None:
    sim.fraud(kind)
    assert kinds(validator.poll()) == [CashEventKind.FRAUD]


def test_no_reply_raises_device_timeout_within_the_retries(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    sim.no_reply = True
    started = time.monotonic()
    with pytest.raises(DeviceTimeout):
        validator.poll()
    assert time.monotonic() - started < 0.2 * 2 + 0.3
    sim.no_reply = False
    assert validator.poll() == []


def test_open_fails_with_timeout_when_nothing_answers() -> None:
    with SimBillValidator() as sim:
        sim.no_reply = True
        with pytest.raises(DeviceTimeout):
            CctalkBillValidator(sim.path, timeout_s=0.1, retries=0).open()


def test_open_fails_with_unavailable_for_missing_port() -> None:
    with pytest.raises(DeviceUnavailable):
        CctalkBillValidator("/dev/does-not-exist-cash").open()


def test_other_equipment_is_not_a_bill_validator() -> None:
    with SimBillValidator(category="Coin Acceptor") as sim:
        with CctalkBillValidator(sim.path, timeout_s=0.2) as validator:
            assert not validator.is_bill_validator()


def test_power_up_reports_reset_once_and_restores_escrow_mode(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([2000])
    sim.insert_note(20)
    validator.poll()
    sim.power_cycle()
    (reset,) = validator.poll()
    assert reset.kind is CashEventKind.RESET and reset.counter == 0
    assert sim.mode == 0x03 and not sim.master_enabled
    assert validator.poll() == []
    validator.enable([2000])
    sim.insert_note(20)
    (escrow,) = validator.poll()
    assert escrow.kind is CashEventKind.ESCROW and escrow.counter == 1


def test_note_stacked_while_kiosk_was_down_is_found_once(sim: SimBillValidator) -> None:
    first = CctalkBillValidator(sim.path, timeout_s=0.2)
    first.open()
    first.enable([5000])
    sim.insert_note(50)
    (escrow,) = first.poll()
    recorded = escrow.counter  # the kiosk's last recorded counter
    first.stack_escrow()
    first.close()  # crash: the STACKED event was never polled
    second = CctalkBillValidator(sim.path, timeout_s=0.2)
    second.open()
    assert second.poll() == []  # poll() starts after open: recovery is events_since's job
    (stacked,) = second.events_since(recorded)
    assert stacked.kind is CashEventKind.STACKED and stacked.value_fen == 5000
    assert second.events_since(stacked.counter) == []
    second.close()


def test_more_than_five_missed_events_say_how_many_are_lost(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    validator.enable([100])
    for _ in range(4):
        sim.insert_note(1)
        sim._route(1)  # the person feeds notes; another host routed them (we were down)
    events = validator.events_since(0)
    assert events[0].kind is CashEventKind.ERROR and "3 events lost" in events[0].detail
    assert len(events) == 6


def test_recovery_across_the_counter_wrap(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    sim.counter = 254
    validator.enable([1000])
    for _ in range(2):
        sim.insert_note(10)
        sim._route(1)
    events = validator.events_since(254)
    assert [(e.kind, e.counter) for e in events] == [
        (CashEventKind.ESCROW, 255), (CashEventKind.STACKED, 1), (CashEventKind.ESCROW, 2), (CashEventKind.STACKED, 3)]


def test_reset_while_down_is_reported_by_events_since(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    sim.power_cycle()
    (event,) = validator.events_since(17)
    assert event.kind is CashEventKind.RESET and "17" in event.detail
    assert validator.events_since(0) == []


def test_escrow_timeout_returns_the_note() -> None:
    with SimBillValidator(escrow_timeout_s=0.05) as sim, CctalkBillValidator(sim.path, timeout_s=0.2) as validator:
        validator.enable([2000])
        sim.insert_note(20)
        deadline = time.monotonic() + 2
        seen: list[CashEventKind] = []
        while CashEventKind.RETURNED not in seen and time.monotonic() < deadline:
            seen += kinds(validator.poll())
        assert seen == [CashEventKind.ESCROW, CashEventKind.RETURNED]


@pytest.mark.parametrize("checksum", ["simple", "crc16"])
def test_driver_works_with_bus_echo(checksum: str) -> None:
    with SimBillValidator(echo=True, checksum=checksum) as sim:
        with CctalkBillValidator(sim.path, timeout_s=0.2, checksum=checksum) as validator:
            validator.enable([2000])
            sim.insert_note(20)
            assert kinds(validator.poll()) == [CashEventKind.ESCROW]
            validator.stack_escrow()
            assert kinds(validator.poll()) == [CashEventKind.STACKED]
            assert validator.echo_seen


def test_driver_without_echo_never_sees_one(validator: CctalkBillValidator) -> None:
    validator.identify()
    assert not validator.echo_seen


def test_echo_without_reply_still_times_out() -> None:
    with SimBillValidator(echo=True) as sim, CctalkBillValidator(sim.path, timeout_s=0.1, retries=0) as validator:
        sim.no_reply = True
        with pytest.raises(DeviceTimeout):
            validator.poll()


def test_other_address_gets_no_answer() -> None:
    with SimBillValidator(address=41) as sim:
        with pytest.raises(DeviceTimeout):
            CctalkBillValidator(sim.path, address=40, timeout_s=0.1, retries=0).open()
        with CctalkBillValidator(sim.path, address=41, timeout_s=0.2) as validator:
            assert validator.identify()["address"] == "41"


def test_registry_builds_cctalk_and_names_the_setting_otherwise(sim: SimBillValidator) -> None:
    acceptor = build_cash_acceptor("cctalk", sim.path, timeout_s=0.2)
    assert isinstance(acceptor, CctalkBillValidator)
    with pytest.raises(DriverNotFound, match="devices.cash.driver"):
        build_cash_acceptor("nv11", sim.path)


def test_simulator_text_commands(sim: SimBillValidator) -> None:
    assert sim.execute("insert 20") == "inhibited"
    assert sim.execute("noreply on") == "ok" and sim.no_reply
    assert sim.execute("bogus").startswith("error")
    assert '"counter": 1' in sim.execute("status")


def test_driver_recovers_after_line_noise(sim: SimBillValidator) -> None:
    with CctalkBillValidator(sim.path, timeout_s=0.1, retries=3) as validator:
        validator._port.write(bytes([40, 9, 1, 254, 0x55]))  # a torn frame that swallows what follows
        assert validator.identify()["category"] == "Bill Validator"


def test_short_replies_to_long_commands_do_not_wait_for_the_read_timeout(validator: CctalkBillValidator) -> None:
    # A 5-byte ACK answers the 7-byte inhibit command: the driver must not ask for 7 bytes and
    # sit out the read timeout (that cost 20 ms per command before).
    started = time.monotonic()
    for _ in range(10):
        validator.enable([2000])
        validator.disable()
    assert time.monotonic() - started < 0.3
