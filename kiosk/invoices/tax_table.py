"""The tax table ([invoices.tax]): per fee kind the goods name, 19-digit tax code, rate and policy flag; checked once.

Every kind the kiosk charges needs a row (FEE_KINDS); a row may say `invoiceable = false` (the kiosk then offers
no invoice for that kind). A missing or malformed row refuses invoicing (TaxTableMissingRow, TaxTableBadRow:
one translated line naming the kind), never the rest of the kiosk. The estate's tax adviser confirms the table.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from kiosk.domain.tax import KNOWN_RATES, LineTax, RateError, parse_rate, split_tax
from kiosk.domain.terms import FeeKind
from kiosk.errors import TaxTableBadRow, TaxTableMissingRow
from kiosk.i18n import N_
from kiosk.ports import TAX_CODE_LENGTH, InvoiceLine, TaxPolicy

TOP_UP = "top_up"  # the payment item kind of a card top-up (kiosk.services.card_value.TOP_UP_FEE)
FEE_KINDS: tuple[str, ...] = tuple(str(k) for k in FeeKind) + (TOP_UP,)
ROW_KEYS = ("goods_name", "tax_code", "rate", "policy", "invoiceable")
GOODS_NAME_MAX = 90  # the provider takes 100 characters; Nuonuo prefixes the category (*物业服务*)
ZERO_RATE_POLICIES = (TaxPolicy.NOT_TAXABLE, TaxPolicy.EXEMPT)


@dataclass(frozen=True)
class TaxRow:
    fee_kind: str
    goods_name: str
    tax_code: str
    rate: Decimal
    policy: TaxPolicy
    invoiceable: bool = True

    @property
    def rate_permille(self) -> int:
        return int(self.rate * 1000)

    def split(self, included_fen: int) -> LineTax:
        return split_tax(included_fen, self.rate)

    def line(self, included_fen: int, quantity: int = 1) -> InvoiceLine:
        """The provider's line for a receipt item of `included_fen` (tax-included)."""
        tax = self.split(included_fen)
        return InvoiceLine(fee_kind=self.fee_kind, goods_name=self.goods_name, tax_code=self.tax_code,
                           rate_permille=self.rate_permille, policy=self.policy, quantity=quantity,
                           tax_included_fen=tax.included_fen, tax_excluded_fen=tax.excluded_fen, tax_fen=tax.tax_fen)


@dataclass(frozen=True)
class TaxTable:
    rows: Mapping[str, TaxRow]

    def row(self, fee_kind: str) -> TaxRow:
        found = self.rows.get(fee_kind)
        if found is None:
            raise TaxTableMissingRow(kind=fee_kind)
        return found

    def invoiceable(self, fee_kind: str) -> bool:
        found = self.rows.get(fee_kind)
        return found is not None and found.invoiceable


def _bad(kind: str, problem: str, **params: object) -> TaxTableBadRow:
    return TaxTableBadRow(kind=kind, problem=problem, problem_params=params)


def parse_row(kind: str, raw: object) -> TaxRow:
    """One row, or TaxTableBadRow saying what is wrong with it."""
    if not isinstance(raw, Mapping):
        raise _bad(kind, N_("it must be a table of goods_name, tax_code, rate, policy and invoiceable."))
    unknown = sorted(set(raw) - set(ROW_KEYS))
    if unknown:
        raise _bad(kind, N_("unknown key {key}."), key=unknown[0])
    for key in ("goods_name", "tax_code", "rate"):
        if key not in raw:
            raise _bad(kind, N_("the key {key} is missing."), key=key)
    goods, code, rate_text = raw["goods_name"], raw["tax_code"], raw["rate"]
    if not isinstance(goods, str) or not goods.strip() or len(goods.strip()) > GOODS_NAME_MAX:
        raise _bad(kind, N_("goods_name must be text of 1 to {max} characters."), max=GOODS_NAME_MAX)
    if not isinstance(code, str) or len(code) != TAX_CODE_LENGTH or not code.isascii() or not code.isdigit():
        raise _bad(kind, N_("tax_code must be the 19-digit tax classification code, as text."))
    try:
        rate = parse_rate(rate_text)  # type: ignore[arg-type]
    except RateError:
        raise _bad(kind, N_("rate must be text, one of {rates}."),
                   rates=", ".join(f'"{r}"' for r in KNOWN_RATES)) from None
    policy_text = raw.get("policy", "none")
    try:
        policy = TaxPolicy(policy_text)
    except ValueError:
        raise _bad(kind, N_("policy must be one of {policies}."),
                   policies=", ".join(str(p) for p in TaxPolicy)) from None
    if policy in ZERO_RATE_POLICIES and rate != 0:
        raise _bad(kind, N_("the policy {policy} needs the rate \"0\"."), policy=str(policy))
    if rate == 0 and policy not in ZERO_RATE_POLICIES:
        raise _bad(kind, N_("the rate \"0\" needs the policy not_taxable or exempt."))
    if policy is TaxPolicy.SIMPLIFIED and rate not in (Decimal("0.03"), Decimal("0.05"), Decimal("0.015")):
        raise _bad(kind, N_("simplified levy (简易征收) takes the rate 0.03, 0.05 or 0.015, not {rate}."),
                   rate=str(rate))
    invoiceable = raw.get("invoiceable", True)
    if not isinstance(invoiceable, bool):
        raise _bad(kind, N_("invoiceable must be true or false."))
    return TaxRow(kind, goods.strip(), code, rate, policy, invoiceable)


def check_table(raw: Mapping[str, object]) -> TaxTable:
    """The whole table as invoicing starts: a row for every kind the kiosk charges, each well formed.
    Kinds are checked in FEE_KINDS order, so the one line names the first problem a reader would meet."""
    rows: dict[str, TaxRow] = {}
    for kind in FEE_KINDS:
        if kind not in raw:
            raise TaxTableMissingRow(kind=kind)
        rows[kind] = parse_row(kind, raw[kind])
    unknown = sorted(set(raw) - set(FEE_KINDS))
    if unknown:
        raise _bad(unknown[0], N_("the kiosk charges no fee of this kind (known: {kinds})."),
                   kinds=", ".join(FEE_KINDS))
    return TaxTable(rows)
