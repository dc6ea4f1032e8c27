"""The checkout saga and its compensations over in-memory ports (the provider is the sandbox's ledger)."""

from __future__ import annotations

import pytest

from orders.models import OrderStatus, RejectReason
from orders.ports import StaleOrder
from orders.saga import StepFailed, _claim_failure, run_cancel, run_checkout
from orders.service import request_cancel

from .conftest import World
from .fakes import once


def _steps(world: World, order_id: str) -> list[str]:
    order = world.orders.get(order_id)
    assert order is not None
    return [h.step for h in order.history]


def test_happy_path_confirms_takes_stock_and_captures_once(world: World) -> None:
    order_id = world.place()
    order = run_checkout(order_id, world.ports)

    assert order.status is OrderStatus.CONFIRMED and order.reason is None
    assert world.orders.get(order_id) == order
    assert (world.stock.stock("MUG-1"), world.stock.stock("TEE-1")) == (8, 2)
    assert world.payments.operations(order_id) == ["authorize", "capture"]
    assert order.payment.captured_cents == order.total_cents == 2 * 1250 + 2000
    assert _steps(world, order_id) == ["PLACED", "PAYMENT_AUTHORIZED", "STOCK_RESERVED", "PAYMENT_CAPTURED", "CONFIRMED"]


def test_running_the_saga_again_changes_nothing(world: World) -> None:
    order_id = world.place()
    first = run_checkout(order_id, world.ports)
    writes = world.orders.writes
    again = run_checkout(order_id, world.ports)
    assert again == first
    assert world.orders.writes == writes
    assert world.payments.operations(order_id) == ["authorize", "capture"]
    assert world.stock.stock("TEE-1") == 2


@pytest.mark.parametrize(("token", "code"), [("tok_declined", "card_declined"), ("tok_insufficient_funds", "insufficient_funds")])
def test_declined_payment_rejects_without_touching_stock(world: World, token: str, code: str) -> None:
    order_id = world.place(token=token)
    order = run_checkout(order_id, world.ports)

    assert (order.status, order.reason) == (OrderStatus.REJECTED, RejectReason.PAYMENT_DECLINED)
    assert (world.stock.stock("MUG-1"), world.stock.stock("TEE-1")) == (10, 3)
    assert world.payments.operations(order_id) == ["authorize"]
    assert any(h.detail == code for h in order.history)
    assert _steps(world, order_id)[-2:] == ["CHECKOUT_FAILED", "REJECTED"]


def test_out_of_stock_at_validation_rejects_before_any_payment(world: World) -> None:
    order_id = world.place(items=[{"sku": "TEE-1", "quantity": 4}])
    order = run_checkout(order_id, world.ports)
    assert (order.status, order.reason) == (OrderStatus.REJECTED, RejectReason.OUT_OF_STOCK)
    assert world.payments.operations(order_id) == []


def test_stock_gone_after_authorization_voids_it_exactly_once(world: World) -> None:
    order_id = world.place(items=[{"sku": "TEE-1", "quantity": 2}])

    def sell_out(previous, new) -> None:  # type: ignore[no-untyped-def]
        world.stock.set_stock("TEE-1", 1)  # someone else bought while we were authorizing

    world.orders.before_save = once(sell_out)
    order = run_checkout(order_id, world.ports)

    assert (order.status, order.reason) == (OrderStatus.REJECTED, RejectReason.OUT_OF_STOCK)
    assert world.payments.operations(order_id) == ["authorize", "void"]
    assert world.stock.stock("TEE-1") == 1 and world.stock.reservations == {}
    assert _steps(world, order_id) == ["PLACED", "PAYMENT_AUTHORIZED", "CHECKOUT_FAILED", "PAYMENT_VOIDED", "REJECTED"]
    run_checkout(order_id, world.ports)  # a duplicate message later
    assert world.payments.operations(order_id) == ["authorize", "void"]


def test_timeout_rejects_and_voids_the_authorization_the_provider_made_anyway(world: World) -> None:
    order_id = world.place(token="tok_timeout")
    order = run_checkout(order_id, world.ports)

    assert (order.status, order.reason) == (OrderStatus.REJECTED, RejectReason.PAYMENT_TIMEOUT)
    assert world.payments.operations(order_id) == ["authorize", "void"]
    assert [a.status for a in world.payments.authorizations(order_id)] == ["voided"]


def _crash(previous, new) -> None:  # type: ignore[no-untyped-def]
    raise RuntimeError("the Lambda died before recording the step")


def test_crash_between_authorization_and_its_record_reuses_the_authorization(world: World) -> None:
    order_id = world.place()
    world.orders.before_save = once(_crash)
    with pytest.raises(RuntimeError):
        run_checkout(order_id, world.ports)
    order = run_checkout(order_id, world.ports)  # the message comes back

    assert order.status is OrderStatus.CONFIRMED
    assert world.payments.operations(order_id) == ["authorize", "capture"]
    assert world.payments.ledger.replays() == 1  # the same key answered the first authorization again


def test_crash_between_reservation_and_its_record_takes_stock_once(world: World) -> None:
    order_id = world.place()
    world.orders.before_save = once(_crash, when=lambda new: new.reserved)
    with pytest.raises(RuntimeError):
        run_checkout(order_id, world.ports)
    assert world.stock.stock("TEE-1") == 2  # taken, not yet recorded on the order
    order = run_checkout(order_id, world.ports)

    assert order.status is OrderStatus.CONFIRMED
    assert (world.stock.stock("MUG-1"), world.stock.stock("TEE-1")) == (8, 2)
    assert world.payments.operations(order_id) == ["authorize", "capture"]


def test_cancelled_while_reserving_gives_the_stock_back(world: World) -> None:
    order_id = world.place()

    def cancel_and_finish(previous, new) -> None:  # type: ignore[no-untyped-def]
        request_cancel(order_id, orders=world.orders, clock=world.clock)
        run_cancel(order_id, world.ports)  # the cancel saga ends it before our record lands

    world.orders.before_save = once(cancel_and_finish, when=lambda new: new.reserved)
    order = run_checkout(order_id, world.ports)

    assert order.status is OrderStatus.CANCELLED
    assert (world.stock.stock("MUG-1"), world.stock.stock("TEE-1")) == (10, 3)
    assert world.stock.reservations == {}
    assert world.payments.operations(order_id) == ["authorize", "void"]


def test_a_racing_duplicate_run_cannot_undo_a_confirmed_order(world: World) -> None:
    order_id = world.place(items=[{"sku": "TEE-1", "quantity": 3}])
    stale = world.orders.get(order_id)
    assert stale is not None
    # Run A confirms the order; run B had read the order before and now fails validation
    # (A's reservation took the stock). B's claim to compensate must lose.
    run_checkout(order_id, world.ports)
    with pytest.raises(StaleOrder):
        _claim_failure(stale, StepFailed(RejectReason.OUT_OF_STOCK, "TEE-1"), world.ports)
    order = world.orders.get(order_id)
    assert order is not None and order.status is OrderStatus.CONFIRMED
    assert world.payments.operations(order_id) == ["authorize", "capture"]


def test_cancel_while_pending_before_the_saga_charges_nothing(world: World) -> None:
    order_id = world.place()
    request_cancel(order_id, orders=world.orders, clock=world.clock)
    assert run_checkout(order_id, world.ports).status is OrderStatus.CANCELLED  # OrderPlaced arrives late
    assert run_cancel(order_id, world.ports).status is OrderStatus.CANCELLED  # then OrderCancelRequested
    assert world.payments.operations(order_id) == []
    assert world.stock.stock("TEE-1") == 3


def test_cancel_during_checkout_undoes_what_the_saga_did(world: World) -> None:
    order_id = world.place()

    def cancel_now(previous, new) -> None:  # type: ignore[no-untyped-def]
        request_cancel(order_id, orders=world.orders, clock=world.clock)

    world.orders.before_save = once(cancel_now)  # the customer cancels while the payment is being authorized
    order = run_checkout(order_id, world.ports)

    assert (order.status, order.reason) == (OrderStatus.CANCELLED, RejectReason.CANCELLED_BY_CUSTOMER)
    assert world.payments.operations(order_id) == ["authorize", "void"]
    assert world.stock.stock("TEE-1") == 3
    assert run_cancel(order_id, world.ports) == order  # the cancel event finds the work done


def test_cancel_after_confirmation_refunds_and_restocks(world: World) -> None:
    order_id = world.place()
    run_checkout(order_id, world.ports)
    requested = request_cancel(order_id, orders=world.orders, clock=world.clock)
    assert requested is not None and requested.status is OrderStatus.CANCEL_REQUESTED
    order = run_cancel(order_id, world.ports)
    run_cancel(order_id, world.ports)  # duplicate delivery

    assert order.status is OrderStatus.CANCELLED
    assert world.payments.operations(order_id) == ["authorize", "capture", "refund"]
    assert (world.stock.stock("MUG-1"), world.stock.stock("TEE-1")) == (10, 3)
    assert _steps(world, order_id)[-3:] == ["STOCK_RELEASED", "PAYMENT_REFUNDED", "CANCELLED"]
