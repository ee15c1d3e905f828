"""The attract and household pages lead with the jobs as tiles: the main ones first, the others in a second row;
an off job says why on its tile; the household page says what there is to pay."""
from __future__ import annotations

from kiosk.flows.jobs import MAIN_JOBS, MORE_JOBS
from kiosk.flows.records import DeviceState, Feature


def _keys(jobs, main: bool) -> list[str]:
    return [j.key for j in jobs if j.main is main]


def test_the_household_page_offers_every_job_main_ones_first(signed_in):
    view = signed_in.flow.view()
    assert _keys(view.actions, True) == [f.value for f in MAIN_JOBS]
    assert _keys(view.actions, False) == [f.value for f in MORE_JOBS]
    pay = view.actions[0]
    assert pay.key == "pay_fees" and pay.enabled and pay.detail == "待缴 ¥819.30"


def test_public_jobs_from_the_household_page_come_back_to_it_signed_in(signed_in):
    signed_in.flow.choose("notices")
    assert signed_in.route.name == "notices"
    signed_in.flow.back()
    assert signed_in.route.name == "household" and signed_in.session.identity is not None


def test_a_job_whose_device_is_down_says_so_on_its_tile_on_both_pages(nav, fake):
    fake.set_device("reader", DeviceState.DOWN, "unplugged")
    nav.go("attract")
    top_up = next(e for e in nav.flow.view().entries if e.key == Feature.TOP_UP.value)
    assert not top_up.enabled and top_up.detail == "暂不可用"
    nav.flow.card_tapped("A1B2C3D4")
    top_up = next(a for a in nav.flow.view().actions if a.key == Feature.TOP_UP.value)
    assert not top_up.enabled and top_up.detail == "暂不可用"


def test_nothing_to_pay_is_said_on_the_pay_tile(signed_in, fake):
    fake.households["H1"].bills.clear()
    signed_in.go("household")
    view = signed_in.flow.view()
    pay = next(a for a in view.actions if a.key == "pay_fees")
    assert not pay.enabled and pay.detail == "无需缴费"
