"""Amounts to and from the QR gateway are whole fen within the site's per-item maximum: a gateway (or a signed
notification) naming more is an error the QR session already handles, never a number taken onto the ledger."""
from __future__ import annotations

import json

import pytest

from devices.gateway import signing
from devices.gateway.sandbox import SandboxGateway
from devices.sim.gateway_sim import SimGateway
from kiosk.domain.bounds import BIGINT_MAX, DEFAULT_MAX_ITEM_FEN
from kiosk.errors import GatewayError

from .conftest import SECRET


def test_the_client_is_bounded_by_the_default_maximum(client: SandboxGateway) -> None:
    assert client.max_amount_fen == DEFAULT_MAX_ITEM_FEN


def test_an_order_above_the_maximum_is_not_sent(sim: SimGateway) -> None:
    bounded = SandboxGateway(sim.url, SECRET, timeout_s=2.0, max_amount_fen=1_000)
    with pytest.raises(GatewayError, match="not sent: amount_fen 10.01 is above the maximum of 10.00"):
        bounded.create_order("B-1", 1_001, "fees", 60)
    with pytest.raises(GatewayError, match="not sent: amount_fen"):
        bounded.refund("B-1", "R-1", -5)
    assert "B-1" not in sim.orders


def test_a_gateway_answer_above_the_maximum_is_refused(sim: SimGateway) -> None:
    """The sandbox holds an order of 50.00 yuan (created by a client with a higher bound); a client bounded
    at 10.00 yuan refuses the gateway's answer about it."""
    SandboxGateway(sim.url, SECRET, timeout_s=2.0).create_order("B-2", 5_000, "fees", 60)
    bounded = SandboxGateway(sim.url, SECRET, timeout_s=2.0, max_amount_fen=1_000)
    with pytest.raises(GatewayError, match="unexpected reply .* amount_fen 50.00 is above the maximum of 10.00"):
        bounded.query("B-2")


@pytest.mark.parametrize("amount", [BIGINT_MAX, DEFAULT_MAX_ITEM_FEN + 1, -1, 0, 12.5, "100", True])
def test_a_signed_notification_with_an_amount_out_of_bounds_is_not_understood(client: SandboxGateway,
                                                                             amount: object) -> None:
    body = json.dumps({"order_id": "B-3", "state": "paid", "amount_fen": amount, "gateway_txn": "T"}).encode()
    headers = signing.sign_headers(signing.as_key(SECRET), body, client._clock())
    with pytest.raises(GatewayError, match="signed notification not understood: amount_fen"):
        client.verify_notification(body, headers)
