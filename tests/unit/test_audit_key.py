"""The estate's audit key lives in secrets.toml (0600), generated on first start; an older secrets.toml gets one."""
from __future__ import annotations

import stat

import pytest

from kiosk.errors import ConfigError
from kiosk.persistence import chain_digest as cd
from kiosk.persistence.chain import ChainBinding
from kiosk.settings import SECRETS_FILE, load_secrets


def test_a_new_data_directory_gets_a_random_32_byte_audit_key_readable_by_its_owner_only(tmp_path):
    first, other = load_secrets(tmp_path / "a"), load_secrets(tmp_path / "b")
    assert len(bytes.fromhex(first.audit_key)) == 32 and first.audit_key != other.audit_key
    assert stat.S_IMODE((tmp_path / "a" / SECRETS_FILE).stat().st_mode) == 0o600
    assert load_secrets(tmp_path / "a").audit_key == first.audit_key  # kept, never regenerated


def test_a_secrets_file_from_before_the_keyed_chain_gets_its_key_added_once(tmp_path):
    path = tmp_path / SECRETS_FILE
    path.write_text('card_master_key = "' + "11" * 16 + '"\ncard_mac_key = "' + "22" * 32 + '"\n'
                    'gateway_secret = "g"\naccount_hash_key = "' + "44" * 32 + '"', encoding="utf-8")  # no newline
    path.chmod(0o600)
    key = load_secrets(tmp_path).audit_key
    assert len(bytes.fromhex(key)) == 32 and load_secrets(tmp_path).audit_key == key
    assert path.read_text(encoding="utf-8").count("audit_key") == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_short_or_malformed_audit_key_is_a_configuration_error_naming_it(tmp_path):
    load_secrets(tmp_path)
    path = tmp_path / SECRETS_FILE
    text = path.read_text(encoding="utf-8")
    good = text.split('audit_key = "')[1].split('"')[0]
    path.write_text(text.replace(good, "abcd"), encoding="utf-8")
    with pytest.raises(ConfigError, match="audit_key"):
        load_secrets(tmp_path)
    path.write_text(text.replace(good, "zz" * 32), encoding="utf-8")
    with pytest.raises(ConfigError, match="audit_key"):
        load_secrets(tmp_path)


def test_the_key_id_names_the_key_without_revealing_it():
    binding = ChainBinding(b"\x01" * 32, "K01")
    assert binding.key_id == cd.key_id(b"\x01" * 32) != cd.key_id(b"\x02" * 32) and len(binding.key_id) == 16
    assert "01010101" not in repr(binding) and binding.key_id in repr(binding)
    with pytest.raises(ValueError):
        ChainBinding(b"short", "K01")
