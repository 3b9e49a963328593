"""The live client registry: venue packages found by convention, factories from config."""

from __future__ import annotations

import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.config import Credentials, CredentialsConfig, LiveConfig
from tradefabric.execution.live.registry import (
    build_live_client,
    live_client_entry,
    needs_confirmation,
)

ENV = CredentialsConfig(api_key_env="K", api_secret_env="S")


def test_binance_is_found_by_convention_with_its_testnet_urls() -> None:
    entry = live_client_entry("binance", LiveConfig(credentials=ENV))
    assert entry.testnet_urls and all("testnet" in u for u in entry.testnet_urls)
    client = build_live_client("binance", LiveConfig(credentials=ENV), Credentials("k", "s"), {})
    assert client.name == "binance" and client.supports_cancel_after is False
    usdm = build_live_client("binance-usdm", LiveConfig(credentials=ENV), Credentials("k", "s"), {})
    assert usdm.name == "binance-usdm" and usdm.supports_cancel_after is True


def test_production_and_testnet_endpoints() -> None:
    assert needs_confirmation("binance", LiveConfig(credentials=ENV)) == ""
    testnet_rest = live_client_entry("binance", LiveConfig(credentials=ENV)).testnet_urls[0]
    assert needs_confirmation("binance", LiveConfig(credentials=ENV, rest_url=testnet_rest)) == ""
    local = LiveConfig(credentials=ENV, rest_url="http://127.0.0.1:8765", testnet=False)
    assert needs_confirmation("binance", local) == ""
    assert "production" in needs_confirmation("binance", LiveConfig(credentials=ENV, testnet=False))
    prod = LiveConfig(credentials=ENV, rest_url="https://api.binance.com")
    assert "api.binance.com" in needs_confirmation("binance", prod)


def test_an_unknown_venue_names_what_is_registered() -> None:
    with pytest.raises(ConfigError, match="no live client for 'nosuchvenue'"):
        live_client_entry("nosuchvenue", LiveConfig(credentials=ENV))


def test_a_bad_factory_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot load"):
        live_client_entry("x", LiveConfig(credentials=ENV, factory="no.such.module:f"))
