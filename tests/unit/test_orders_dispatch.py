"""Dispatch: a CONFIRMED order with a shipment ready becomes SHIPPED, once; and its race with cancel,
which exactly one wins (both are conditional writes on the order)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orders import state
from orders.dispatch import NotDispatchable, NothingToDispatch, dispatch
from orders.events import EventType, event_id_for
from orders.models import Order, OrderStatus, Shipment, ShipmentStatus
from orders.outbox import event_for
from orders.saga import run_cancel, run_checkout
from orders.service import OrderNotCancellable, request_cancel

from .conftest import World
from .fakes import Shipments, once

AT = datetime(2030, 1, 2, tzinfo=UTC)


@pytest.fixture
def shipments() -> Shipments:
    return Shipments()


def _confirmed(world: World, shipments: Shipments, key: str = "k-ship") -> Order:
    """A checked-out order with the shipment the shipping consumer would have created."""
    order = run_checkout(world.place(key), world.ports)
    assert order.status is OrderStatus.CONFIRMED
    shipments.items[order.order_id] = Shipment(order_id=order.order_id, shipment_id=f"s-{key}", status=ShipmentStatus.READY_TO_SHIP)
    return order


def _dispatch(world: World, shipments: Shipments, order_id: str):  # type: ignore[no-untyped-def]
    return dispatch(order_id, orders=world.orders, shipments=shipments, clock=world.clock)


def _cancel(world: World, order_id: str) -> Order | None:
    return request_cancel(order_id, orders=world.orders, clock=world.clock)


# --- the state machine and the outbox ------------------------------------------------------------


@pytest.mark.parametrize("start", [s for s in OrderStatus if s is not OrderStatus.CONFIRMED])
def test_only_a_confirmed_order_can_ship(world: World, start: OrderStatus) -> None:
    order = world.orders.get(world.place())
    assert order is not None
    with pytest.raises(state.IllegalTransition):
        state.advance(order.model_copy(update={"status": start}), OrderStatus.SHIPPED, step="SHIPPED", at=AT)


def test_shipping_is_announced_as_order_shipped(world: World, shipments: Shipments) -> None:
    confirmed = _confirmed(world, shipments)
    shipped = state.advance(confirmed, OrderStatus.SHIPPED, step="SHIPPED", at=AT)

    event = event_for(confirmed, shipped)

    assert event is not None and event.event_type == EventType.ORDER_SHIPPED == "OrderShipped"
    assert event.event_id == event_id_for(confirmed.order_id, EventType.ORDER_SHIPPED, shipped.version)
    assert event.payload["status"] == "SHIPPED" and event.occurred_at == AT


# --- dispatch ------------------------------------------------------------------------------------


def test_dispatch_ships_the_order_and_names_its_shipment(world: World, shipments: Shipments) -> None:
    confirmed = _confirmed(world, shipments)

    done = _dispatch(world, shipments, confirmed.order_id)

    stored = world.orders.get(confirmed.order_id)
    assert stored == done.order
    assert (stored.status, stored.version) == (OrderStatus.SHIPPED, confirmed.version + 1)
    assert (stored.history[-1].step, stored.history[-1].detail) == ("SHIPPED", "s-k-ship")
    assert (done.shipment_id, done.dispatched_at) == ("s-k-ship", stored.updated_at)
    assert shipments.items[confirmed.order_id].status is ShipmentStatus.READY_TO_SHIP  # the consumer moves it, on OrderShipped


def test_dispatching_again_answers_the_same_and_writes_nothing(world: World, shipments: Shipments) -> None:
    confirmed = _confirmed(world, shipments)
    first = _dispatch(world, shipments, confirmed.order_id)
    writes = world.orders.writes
    shipments.items[confirmed.order_id] = shipments.items[confirmed.order_id].model_copy(update={"status": ShipmentStatus.DISPATCHED})

    again = _dispatch(world, shipments, confirmed.order_id)

    assert again == first
    assert world.orders.writes == writes


def test_a_shipped_order_cannot_be_cancelled(world: World, shipments: Shipments) -> None:
    confirmed = _confirmed(world, shipments)
    _dispatch(world, shipments, confirmed.order_id)

    with pytest.raises(OrderNotCancellable) as refused:
        _cancel(world, confirmed.order_id)

    assert refused.value.order.status is OrderStatus.SHIPPED
    assert world.orders.get(confirmed.order_id).status is OrderStatus.SHIPPED  # type: ignore[union-attr]


def test_a_cancelled_order_is_not_dispatched(world: World, shipments: Shipments) -> None:
    confirmed = _confirmed(world, shipments)
    _cancel(world, confirmed.order_id)
    for order_status in (OrderStatus.CANCEL_REQUESTED, OrderStatus.CANCELLED):
        with pytest.raises(NotDispatchable) as refused:
            _dispatch(world, shipments, confirmed.order_id)
        assert refused.value.order.status is order_status
        assert "can be dispatched" in str(refused.value)
        assert world.orders.get(confirmed.order_id).status is order_status  # type: ignore[union-attr]
        run_cancel(confirmed.order_id, world.ports)


def test_nothing_to_dispatch_without_an_order_or_a_shipment(world: World, shipments: Shipments) -> None:
    with pytest.raises(NothingToDispatch, match="not found"):
        _dispatch(world, shipments, "missing")
    pending = world.place("k-pending")
    with pytest.raises(NotDispatchable):
        _dispatch(world, shipments, pending)
    confirmed = run_checkout(world.place("k-no-shipment"), world.ports)
    with pytest.raises(NothingToDispatch, match="no shipment yet"):
        _dispatch(world, shipments, confirmed.order_id)
    assert world.orders.get(confirmed.order_id) == confirmed


def test_a_settled_shipment_is_not_dispatched(world: World, shipments: Shipments) -> None:
    confirmed = _confirmed(world, shipments)
    shipments.items[confirmed.order_id] = shipments.items[confirmed.order_id].model_copy(update={"status": ShipmentStatus.CANCELLED})

    with pytest.raises(NotDispatchable) as refused:
        _dispatch(world, shipments, confirmed.order_id)

    assert refused.value.shipment_status is ShipmentStatus.CANCELLED
    assert world.orders.get(confirmed.order_id) == confirmed


# --- the race: cancel and dispatch both leave CONFIRMED; exactly one wins --------------------------


def test_a_cancel_landing_between_dispatch_read_and_write_wins(world: World, shipments: Shipments) -> None:
    confirmed = _confirmed(world, shipments)
    world.orders.before_save = once(
        lambda previous, new: _cancel(world, previous.order_id), when=lambda new: new.status is OrderStatus.SHIPPED
    )

    with pytest.raises(NotDispatchable) as refused:
        _dispatch(world, shipments, confirmed.order_id)

    assert refused.value.order.status is OrderStatus.CANCEL_REQUESTED
    stored = world.orders.get(confirmed.order_id)
    assert stored is not None and stored.status is OrderStatus.CANCEL_REQUESTED
    assert "SHIPPED" not in [h.step for h in stored.history]  # nothing half-done


def test_a_dispatch_landing_between_cancel_read_and_write_wins(world: World, shipments: Shipments) -> None:
    confirmed = _confirmed(world, shipments)
    world.orders.before_save = once(
        lambda previous, new: _dispatch(world, shipments, previous.order_id),
        when=lambda new: new.status is OrderStatus.CANCEL_REQUESTED,
    )

    with pytest.raises(OrderNotCancellable):
        _cancel(world, confirmed.order_id)

    stored = world.orders.get(confirmed.order_id)
    assert stored is not None and stored.status is OrderStatus.SHIPPED
    assert "CANCEL_REQUESTED" not in [h.step for h in stored.history]
