"""MessageBus: typed topics, synchronous delivery in subscription order."""

from __future__ import annotations

import pytest

from tradefabric.core.bus import HandlerFault, MessageBus, Topic

PRICES: Topic[float] = Topic("test.prices", float)
NAMES: Topic[str] = Topic("test.names", str)


class Sink:
    """A subscriber kept as an object so its bound method is the handler."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def on_price(self, price: float) -> None:
        self.seen.append(price)


def test_topic_knows_its_name_and_message_type() -> None:
    assert PRICES.name == "test.prices"
    assert PRICES.message_type is float
    assert repr(PRICES) == "Topic('test.prices', float)"


def test_topics_are_equal_and_hash_alike_by_name() -> None:
    same = Topic("test.prices", float)
    assert same == PRICES
    assert hash(same) == hash(PRICES)
    assert {PRICES: 1}[same] == 1
    assert PRICES != NAMES
    assert PRICES != "test.prices"


def test_publish_reaches_subscribers_in_subscription_order() -> None:
    bus = MessageBus()
    calls: list[tuple[str, float]] = []
    bus.subscribe(PRICES, lambda p: calls.append(("first", p)))
    bus.subscribe(PRICES, lambda p: calls.append(("second", p)))
    bus.subscribe(PRICES, lambda p: calls.append(("third", p)))
    bus.publish(PRICES, 1.5)
    bus.publish(PRICES, 2.5)
    assert calls == [
        ("first", 1.5),
        ("second", 1.5),
        ("third", 1.5),
        ("first", 2.5),
        ("second", 2.5),
        ("third", 2.5),
    ]


def test_topics_are_separate_channels() -> None:
    bus = MessageBus()
    prices: list[float] = []
    names: list[str] = []
    bus.subscribe(PRICES, prices.append)
    bus.subscribe(NAMES, names.append)
    bus.publish(PRICES, 3.0)
    bus.publish(NAMES, "btc")
    assert prices == [3.0]
    assert names == ["btc"]


def test_a_topic_built_elsewhere_with_the_same_name_is_the_same_channel() -> None:
    bus = MessageBus()
    seen: list[float] = []
    bus.subscribe(PRICES, seen.append)
    bus.publish(Topic("test.prices", float), 4.0)
    assert seen == [4.0]
    assert bus.subscriber_count(Topic("test.prices", float)) == 1


def test_publish_without_subscribers_does_nothing() -> None:
    bus = MessageBus()
    bus.publish(PRICES, 1.0)
    assert bus.subscriber_count(PRICES) == 0


def test_subscriber_count_follows_subscribe_and_unsubscribe() -> None:
    bus = MessageBus()
    sink_a, sink_b = Sink(), Sink()
    assert bus.subscriber_count(PRICES) == 0
    bus.subscribe(PRICES, sink_a.on_price)
    bus.subscribe(PRICES, sink_b.on_price)
    assert bus.subscriber_count(PRICES) == 2
    assert bus.subscriber_count(NAMES) == 0
    bus.unsubscribe(PRICES, sink_a.on_price)
    assert bus.subscriber_count(PRICES) == 1


def test_unsubscribe_with_a_fresh_bound_method_stops_delivery() -> None:
    bus = MessageBus()
    sink, other = Sink(), Sink()
    bus.subscribe(PRICES, sink.on_price)
    bus.subscribe(PRICES, other.on_price)
    bus.publish(PRICES, 1.0)
    bus.unsubscribe(PRICES, sink.on_price)  # a new bound-method object, equal to the first
    bus.publish(PRICES, 2.0)
    assert sink.seen == [1.0]
    assert other.seen == [1.0, 2.0]


def test_unsubscribe_unknown_handler_or_topic_is_ignored() -> None:
    bus = MessageBus()
    sink = Sink()
    bus.unsubscribe(PRICES, sink.on_price)
    bus.subscribe(PRICES, sink.on_price)
    bus.unsubscribe(PRICES, Sink().on_price)  # a different object's method
    bus.publish(PRICES, 5.0)
    assert sink.seen == [5.0]


def test_handler_subscribed_twice_is_called_twice_and_removed_once_per_unsubscribe() -> None:
    bus = MessageBus()
    sink = Sink()
    bus.subscribe(PRICES, sink.on_price)
    bus.subscribe(PRICES, sink.on_price)
    bus.publish(PRICES, 1.0)
    assert sink.seen == [1.0, 1.0]
    bus.unsubscribe(PRICES, sink.on_price)
    bus.publish(PRICES, 2.0)
    assert sink.seen == [1.0, 1.0, 2.0]


def test_handler_exception_propagates_to_the_publisher_and_stops_delivery() -> None:
    bus = MessageBus()
    after: list[float] = []

    def boom(price: float) -> None:
        raise ValueError(f"bad price {price}")

    bus.subscribe(PRICES, boom)
    bus.subscribe(PRICES, after.append)
    with pytest.raises(ValueError, match=r"bad price 7\.0"):
        bus.publish(PRICES, 7.0)
    assert after == []


def test_handler_may_publish_on_another_topic_synchronously() -> None:
    bus = MessageBus()
    order: list[str] = []
    bus.subscribe(PRICES, lambda p: (order.append(f"price {p}"), bus.publish(NAMES, "nested")))
    bus.subscribe(PRICES, lambda p: order.append("second price handler"))
    bus.subscribe(NAMES, lambda n: order.append(f"name {n}"))
    bus.publish(PRICES, 1.0)
    assert order == ["price 1.0", "name nested", "second price handler"]


def test_handler_unsubscribing_itself_during_publish_does_not_skip_the_next_one() -> None:
    bus = MessageBus()
    seen: list[str] = []

    def once(price: float) -> None:
        seen.append("once")
        bus.unsubscribe(PRICES, once)

    bus.subscribe(PRICES, once)
    bus.subscribe(PRICES, lambda p: seen.append("always"))
    bus.publish(PRICES, 1.0)
    bus.publish(PRICES, 2.0)
    assert seen == ["once", "always", "always"]


def test_a_raising_handler_is_reported_and_the_others_still_receive() -> None:
    faults: list[HandlerFault] = []
    bus = MessageBus(on_fault=faults.append)
    topic: Topic[int] = Topic("t.fault", int)
    received: list[int] = []

    def broken(message: int) -> None:
        raise ValueError(f"bad {message}")

    bus.subscribe(topic, broken, owner="strategy:broken")
    bus.subscribe(topic, received.append, owner="strategy:good")
    bus.publish(topic, 7)
    bus.publish(topic, 8)
    assert received == [7, 8]
    assert [(f.topic, f.owner, str(f.error)) for f in faults] == [
        ("t.fault", "strategy:broken", "bad 7"),
        ("t.fault", "strategy:broken", "bad 8"),
    ]
    assert bus.faults == 2


def test_without_on_fault_an_exception_propagates() -> None:
    bus = MessageBus()
    topic: Topic[int] = Topic("t.raise", int)

    def broken(message: int) -> None:
        raise ValueError("boom")

    bus.subscribe(topic, broken)
    with pytest.raises(ValueError, match="boom"):
        bus.publish(topic, 1)


def test_owned_by_tags_subscriptions_and_unsubscribe_owner_removes_them() -> None:
    bus = MessageBus(on_fault=lambda fault: None)
    a: Topic[int] = Topic("t.a", int)
    b: Topic[str] = Topic("t.b", str)
    got: list[object] = []
    with bus.owned_by("analytics"):
        bus.subscribe(a, got.append)
        bus.subscribe(b, got.append)
    bus.subscribe(a, lambda m: got.append(("other", m)))
    assert bus.unsubscribe_owner("analytics") == 2
    assert bus.unsubscribe_owner("analytics") == 0
    bus.publish(a, 1)
    bus.publish(b, "x")
    assert got == [("other", 1)]
