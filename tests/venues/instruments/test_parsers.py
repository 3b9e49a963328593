"""Each venue's exchange info parser on realistic replies, values checked by hand."""

from __future__ import annotations

import msgspec
import pytest

from tradefabric.core.errors import MalformedMessageError, RequestRejectedError
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.instrument import Instrument
from tradefabric.venues.binance.instruments import parse_exchange_info
from tradefabric.venues.binance.markets import BINANCE_SPOT, BINANCE_USDM
from tradefabric.venues.bybit.instruments import parse_instruments_info
from tradefabric.venues.bybit.markets import BYBIT_LINEAR, BYBIT_SPOT
from tradefabric.venues.coinbase.instruments import parse_products
from tradefabric.venues.coinbase.markets import COINBASE
from tradefabric.venues.kraken.instruments import parse_asset_pairs
from tradefabric.venues.kraken.markets import KRAKEN_SPOT


def _json(body: object) -> bytes:
    return msgspec.json.encode(body)


def _by_symbol(instruments: list[Instrument]) -> dict[str, Instrument]:
    return {i.symbol: i for i in instruments}


def test_binance_spot_reads_price_lot_and_notional_filters() -> None:
    reply = {
        "timezone": "UTC", "serverTime": 1723161240012, "rateLimits": [], "exchangeFilters": [],
        "symbols": [
            {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
             "baseAssetPrecision": 8, "quotePrecision": 8, "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                 "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
                 "stepSize": "0.00001000"},
                {"filterType": "ICEBERG_PARTS", "limit": 10},
                {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
                 "maxNotional": "9000000.00000000", "applyMaxToMarket": False,
                 "avgPriceMins": 5}]},
            # An older listing: MIN_NOTIONAL instead of NOTIONAL.
            {"symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "BTC",
             "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.00001000",
                 "maxPrice": "922327.00000000", "tickSize": "0.00001000"},
                {"filterType": "LOT_SIZE", "minQty": "0.00010000", "maxQty": "100000.00000000",
                 "stepSize": "0.00010000"},
                {"filterType": "MIN_NOTIONAL", "minNotional": "0.00010000",
                 "applyToMarket": True, "avgPriceMins": 5}]},
        ],
    }  # fmt: skip
    found = _by_symbol(parse_exchange_info(_json(reply), BINANCE_SPOT))
    assert found["BTC/USDT"] == Instrument(
        venue="binance", symbol="BTC/USDT", raw_symbol="BTCUSDT", base="BTC", quote="USDT",
        kind=InstrumentKind.SPOT, price_increment="0.01", size_increment="0.00001",
        min_size="0.00001", min_notional="5", contract_size="1",
    )  # fmt: skip
    eth = found["ETH/BTC"]
    assert (eth.price_increment, eth.size_increment, eth.min_size, eth.min_notional) == (
        "0.00001",
        "0.0001",
        "0.0001",
        "0.0001",
    )


def test_binance_usdm_lists_perpetuals_with_their_notional() -> None:
    def entry(symbol: str, contract: str) -> dict[str, object]:
        return {
            "symbol": symbol, "pair": "BTCUSDT", "contractType": contract, "status": "TRADING",
            "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT",
            "pricePrecision": 2, "quantityPrecision": 3, "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "556.80", "maxPrice": "4529764",
                 "tickSize": "0.10"},
                {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000",
                 "stepSize": "0.001"},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "0.001", "maxQty": "120",
                 "stepSize": "0.001"},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MIN_NOTIONAL", "notional": "100"},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500",
                 "multiplierDown": "0.9500", "multiplierDecimal": "4"}],
        }  # fmt: skip

    reply = {"symbols": [entry("BTCUSDT", "PERPETUAL"), entry("BTCUSDT_241227", "CURRENT_QUARTER")]}
    [btc] = parse_exchange_info(_json(reply), BINANCE_USDM)
    assert btc.id.venue == "binance-usdm"
    assert btc.symbol == "BTC/USDT:USDT"
    assert btc.kind is InstrumentKind.PERPETUAL
    assert (btc.price_increment, btc.size_increment, btc.min_size, btc.min_notional) == (
        "0.1",
        "0.001",
        "0.001",
        "100",
    )
    assert btc.contract_size == "1"


def test_bybit_spot_and_linear_read_their_own_lot_fields() -> None:
    spot = {
        "retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": [
            {"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "innovation": "0",
             "status": "Trading", "marginTrading": "utaOnly",
             "lotSizeFilter": {"basePrecision": "0.000001", "quotePrecision": "0.00000001",
                               "minOrderQty": "0.000048", "maxOrderQty": "71.73956243",
                               "minOrderAmt": "1", "maxOrderAmt": "2000000"},
             "priceFilter": {"tickSize": "0.01"}}]},
        "retExtInfo": {}, "time": 1723161240012,
    }  # fmt: skip
    [btc] = parse_instruments_info(_json(spot), BYBIT_SPOT)
    assert (btc.venue, btc.symbol, btc.raw_symbol) == ("bybit", "BTC/USDT", "BTCUSDT")
    assert (btc.price_increment, btc.size_increment, btc.min_size, btc.min_notional) == (
        "0.01",
        "0.000001",
        "0.000048",
        "1",
    )

    def linear_entry(symbol: str, contract: str) -> dict[str, object]:
        return {
            "symbol": symbol, "contractType": contract, "status": "Trading",
            "baseCoin": "ETH", "quoteCoin": "USDT", "settleCoin": "USDT", "priceScale": "2",
            "priceFilter": {"minPrice": "0.01", "maxPrice": "19999.98", "tickSize": "0.01"},
            "lotSizeFilter": {"maxOrderQty": "7240.00", "minOrderQty": "0.01",
                              "qtyStep": "0.01", "postOnlyMaxOrderQty": "7240.00",
                              "maxMktOrderQty": "1500.00", "minNotionalValue": "5"},
        }  # fmt: skip

    linear = {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [
        linear_entry("ETHUSDT", "LinearPerpetual"), linear_entry("ETH-27DEC24", "LinearFutures"),
    ], "nextPageCursor": ""}}  # fmt: skip
    [eth] = parse_instruments_info(_json(linear), BYBIT_LINEAR)
    assert (eth.venue, eth.symbol, eth.kind) == (
        "bybit-linear",
        "ETH/USDT:USDT",
        InstrumentKind.PERPETUAL,
    )
    assert (eth.price_increment, eth.size_increment, eth.min_size, eth.min_notional) == (
        "0.01",
        "0.01",
        "0.01",
        "5",
    )


def test_bybit_error_code_is_a_rejection_naming_it() -> None:
    reply = {"retCode": 10001, "retMsg": "params error: Category is invalid", "result": {}}
    with pytest.raises(RequestRejectedError, match=r"10001.*Category is invalid"):
        parse_instruments_info(_json(reply), BYBIT_SPOT)


def test_coinbase_products_prefer_price_increment_and_skip_futures() -> None:
    reply = {"products": [
        {"product_id": "BTC-USDT", "price": "61051.99", "base_increment": "0.00000001",
         "quote_increment": "0.01", "quote_min_size": "1", "quote_max_size": "10000000",
         "base_min_size": "0.00000001", "base_max_size": "3400", "status": "online",
         "product_type": "SPOT", "quote_currency_id": "USDT", "base_currency_id": "BTC",
         "price_increment": "0.01"},
        {"product_id": "SHIB-USD", "base_increment": "1", "quote_increment": "0.00000001",
         "quote_min_size": "1", "base_min_size": "1", "product_type": "SPOT",
         "quote_currency_id": "USD", "base_currency_id": "SHIB"},
        {"product_id": "BIT-27DEC24-CDE", "base_increment": "1", "quote_increment": "5",
         "quote_min_size": "0", "base_min_size": "1", "product_type": "FUTURE",
         "quote_currency_id": "USD", "base_currency_id": "BIT", "price_increment": "5"},
    ], "num_products": 3}  # fmt: skip
    found = _by_symbol(parse_products(_json(reply), COINBASE))
    assert sorted(found) == ["BTC/USDT", "SHIB/USD"]
    btc = found["BTC/USDT"]
    assert (btc.raw_symbol, btc.price_increment, btc.size_increment) == (
        "BTC-USDT",
        "0.01",
        "0.00000001",
    )
    assert (btc.min_size, btc.min_notional) == ("0.00000001", "1")
    # No price_increment: the quote increment is the tick.
    assert found["SHIB/USD"].price_increment == "0.00000001"


def test_kraken_pairs_map_legacy_assets_and_fall_back_to_pair_decimals() -> None:
    reply = {"error": [], "result": {
        "XXBTZUSD": {"altname": "XBTUSD", "wsname": "XBT/USD", "aclass_base": "currency",
                     "base": "XXBT", "aclass_quote": "currency", "quote": "ZUSD", "lot": "unit",
                     "cost_decimals": 5, "pair_decimals": 1, "lot_decimals": 8,
                     "lot_multiplier": 1, "fee_volume_currency": "ZUSD",
                     "ordermin": "0.0001", "costmin": "0.5", "tick_size": "0.1",
                     "status": "online"},
        "XBTUSDT": {"altname": "XBTUSDT", "wsname": "XBT/USDT", "base": "XXBT",
                    "quote": "USDT", "pair_decimals": 1, "lot_decimals": 8,
                    "ordermin": "0.00005", "costmin": "0.5"},
        # A dark pool pair: no wsname, not listed.
        "XXBTZUSD.d": {"altname": "XBTUSD.d", "base": "XXBT", "quote": "ZUSD",
                       "pair_decimals": 3, "lot_decimals": 8},
    }}  # fmt: skip
    found = _by_symbol(parse_asset_pairs(_json(reply), KRAKEN_SPOT))
    assert sorted(found) == ["BTC/USD", "BTC/USDT"]
    usd = found["BTC/USD"]
    assert (usd.raw_symbol, usd.base, usd.quote) == ("XBTUSD", "BTC", "USD")
    assert (usd.price_increment, usd.size_increment, usd.min_size, usd.min_notional) == (
        "0.1",
        "0.00000001",
        "0.0001",
        "0.5",
    )
    usdt = found["BTC/USDT"]  # a reply without tick_size: 10^-pair_decimals
    assert (usdt.price_increment, usdt.min_size) == ("0.1", "0.00005")


def test_kraken_error_list_is_a_rejection() -> None:
    with pytest.raises(RequestRejectedError, match="EQuery:Unknown asset pair"):
        parse_asset_pairs(_json({"error": ["EQuery:Unknown asset pair"]}), KRAKEN_SPOT)


def test_entry_without_a_tick_fails_naming_venue_symbol_and_paths() -> None:
    reply = {"symbols": [{"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT",
                          "filters": [{"filterType": "LOT_SIZE", "minQty": "0.001",
                                       "stepSize": "0.001"}]}]}  # fmt: skip
    with pytest.raises(MalformedMessageError, match=r"binance .*'BTCUSDT' price_increment.*"):
        parse_exchange_info(_json(reply), BINANCE_SPOT)


@pytest.mark.parametrize("bad", ["abc", "-0.01", "0", True])
def test_tick_that_is_not_a_positive_decimal_fails_naming_the_path(bad: object) -> None:
    reply = {"error": [], "result": {"XBTUSDT": {
        "altname": "XBTUSDT", "wsname": "XBT/USDT", "base": "XXBT", "quote": "USDT",
        "tick_size": bad, "lot_decimals": 8}}}  # fmt: skip
    with pytest.raises(MalformedMessageError, match="'XBTUSDT' price_increment at 'tick_size'"):
        parse_asset_pairs(_json(reply), KRAKEN_SPOT)


def test_reply_that_is_not_json_fails_naming_the_endpoint() -> None:
    with pytest.raises(MalformedMessageError, match="/api/v3/exchangeInfo"):
        parse_exchange_info(b"<html>502 Bad Gateway</html>", BINANCE_SPOT)
