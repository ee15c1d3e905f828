"""The Alipay driver's credentials come from secrets.toml: file paths, never the keys themselves."""
from __future__ import annotations

from pathlib import Path

from devices.gateway.alipay import AlipayGateway
from devices.gateway.registry import alipay_options, build_payment_gateway
from kiosk.settings import load_secrets
from tests.alipay.conftest import Sim


def test_an_old_secrets_file_loads_with_no_alipay_credentials(tmp_path: Path) -> None:
    secrets = load_secrets(tmp_path)
    assert (secrets.alipay_app_id, secrets.alipay_app_private_key_file, secrets.alipay_public_key_file) == ("", "", "")


def test_the_key_files_named_in_secrets_toml_build_a_working_client(tmp_path: Path, sim: Sim) -> None:
    load_secrets(tmp_path)
    c = sim.credentials
    with open(tmp_path / "secrets.toml", "a", encoding="utf-8") as fh:
        fh.write(f'alipay_app_id = "{c["app_id"]}"\n'
                 f'alipay_app_private_key_file = "{c["app_private_key_path"]}"\n'
                 f'alipay_public_key_file = "{c["alipay_public_key_path"]}"\n')
    secrets = load_secrets(tmp_path)
    gateway = build_payment_gateway("alipay", c["gateway_url"], secrets.gateway_secret, **alipay_options(secrets))
    assert isinstance(gateway, AlipayGateway)
    assert gateway.create_order("K9-secrets-" + tmp_path.name[-6:], 1, "x", 60).code_url
