"""The phone-side title form: a resident fills it over plain HTTP, the kiosk reads the title back."""
from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from devices.tax.nuonuo import NuonuoProvider
from kiosk.ports import BuyerKind, InvoiceBuyer
from tests.invoicing.conftest import COMPANY, Sim


def fill(url: str, **fields: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=urlencode(fields).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_company_title_typed_on_the_phone_is_read_back_by_the_kiosk(sim: Sim, provider: NuonuoProvider):
    form = provider.open_title_form(120)
    with urllib.request.urlopen(form.url, timeout=5) as page:
        assert 'name="tax_id"' in page.read().decode()
    assert provider.read_title(form.session_id) is None  # nothing typed yet

    status, page = fill(form.url, kind="company", name=" 深圳市腾讯计算机系统有限公司 ", tax_id=COMPANY.lower())

    assert status == 200 and "已提交" in page
    assert provider.read_title(form.session_id) == InvoiceBuyer(BuyerKind.COMPANY, "深圳市腾讯计算机系统有限公司",
                                                                tax_id=COMPANY)


def test_a_personal_title_has_no_tax_id(sim: Sim, provider: NuonuoProvider):
    form = provider.open_title_form(120)
    assert fill(form.url, kind="personal", name="李四", tax_id="")[0] == 200
    assert provider.read_title(form.session_id) == InvoiceBuyer(BuyerKind.PERSONAL, "李四")


@pytest.mark.parametrize("fields, words", [
    ({"kind": "company", "name": "某某公司", "tax_id": COMPANY[:-1] + "Y"}, "校验失败"),
    ({"kind": "company", "name": "某某公司", "tax_id": ""}, "统一社会信用代码"),
    ({"kind": "company", "name": "某" * 101, "tax_id": COMPANY}, "不能超过100"),
    ({"kind": "personal", "name": "张三<script>", "tax_id": ""}, "不允许的字符"),
    ({"kind": "personal", "name": "张三😀", "tax_id": ""}, "不允许的字符"),
    ({"kind": "personal", "name": "   ", "tax_id": ""}, "不能为空"),
])
def test_a_bad_title_is_sent_back_to_the_phone_and_not_to_the_kiosk(sim: Sim, provider: NuonuoProvider, fields, words):
    form = provider.open_title_form(120)
    status, page = fill(form.url, **fields)
    assert status == 422 and words in page
    assert provider.read_title(form.session_id) is None


def test_an_abandoned_title_form_expires(sim: Sim, provider: NuonuoProvider):
    form = provider.open_title_form(60)
    sim.control(advance_s=61)
    assert provider.read_title(form.session_id) is None
    status, page = fill(form.url, kind="personal", name="王五", tax_id="")
    assert status == 410 and "失效" in page
