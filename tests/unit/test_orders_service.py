"""Placing and cancelling orders: idempotent by key, nothing written on bad input."""

from __future__ import annotations

import pytest

from orders.cart import InvalidCart
from orders.models import OrderStatus
from orders.saga import run_checkout
from orders.service import IdempotencyConflict, OrderNotCancellable, order_id_for, request_cancel, visible_to

from .conftest import World


def test_same_key_same_body_returns_the_same_order_and_writes_once(world: World) -> None:
    first = world.place("k-1")
    second = world.place("k-1")
    assert first == second == order_id_for("k-1")
    assert world.orders.writes == 1
    order = world.orders.get(first)
    assert order is not None and order.status is OrderStatus.PENDING and order.total_cents == 4500


def test_a_new_order_is_one_conditional_write_and_no_read(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    get = world.orders.get
    monkeypatch.setattr(world.orders, "get", lambda order_id: reads.append(order_id) or get(order_id))
    world.place("k-new")
    assert reads == [] and world.orders.writes == 1
    world.place("k-new")  # the retry: the refused write is what sends it to read the order
    assert reads == [order_id_for("k-new")] and world.orders.writes == 1


def test_a_key_whose_order_exists_is_answered_even_after_its_sku_left_the_catalog(world: World) -> None:
    first = world.place("k-gone")
    del world.stock.catalog["TEE-1"]
    assert world.place("k-gone") == first


def test_same_key_different_body_is_a_conflict(world: World) -> None:
    world.place("k-1")
    with pytest.raises(IdempotencyConflict):
        world.place("k-1", token="tok_declined")
    assert world.orders.writes == 1


def test_unknown_sku_writes_nothing(world: World) -> None:
    with pytest.raises(InvalidCart) as err:
        world.place("k-2", items=[{"sku": "NOPE", "quantity": 1}])
    assert err.value.skus == ("NOPE",)
    assert world.orders.items == {}


def test_cancel_rules(world: World) -> None:
    assert request_cancel("missing", orders=world.orders, clock=world.clock) is None
    declined = world.place("k-d", token="tok_declined")
    run_checkout(declined, world.ports)
    with pytest.raises(OrderNotCancellable):
        request_cancel(declined, orders=world.orders, clock=world.clock)
    pending = world.place("k-p")
    first = request_cancel(pending, orders=world.orders, clock=world.clock)
    again = request_cancel(pending, orders=world.orders, clock=world.clock)
    assert first is not None and first.status is OrderStatus.CANCEL_REQUESTED
    assert again == first  # asking twice changes nothing


def test_an_order_is_visible_to_its_customer_only(world: World) -> None:
    order = world.orders.get(world.place("k-own"))
    assert order is not None
    assert visible_to(order, order.customer_id) == order
    assert visible_to(order, "someone-else") is None
    assert visible_to(order, None) == order, "no authentication (ApiAuth=NONE): every order is visible"
    assert visible_to(None, order.customer_id) is None


def test_no_one_cancels_someone_elses_order(world: World) -> None:
    order_id = world.place("k-theirs")
    assert request_cancel(order_id, orders=world.orders, clock=world.clock, customer="someone-else") is None
    untouched = world.orders.get(order_id)
    assert untouched is not None and untouched.status is OrderStatus.PENDING
    owner = untouched.customer_id
    cancelled = request_cancel(order_id, orders=world.orders, clock=world.clock, customer=owner)
    assert cancelled is not None and cancelled.status is OrderStatus.CANCEL_REQUESTED
