"""The checkout saga: steps and their compensations as data, over the ports in `orders.ports`.

    validate cart -> authorize payment -> reserve stock -> capture payment -> commit CONFIRMED
    on failure:     release stock, void the authorization (or refund the capture), end REJECTED
    on cancel:      the same compensations, end CANCELLED

Every step is safe to repeat, so a redelivered message or two concurrent runs converge:
- progress is read from the order itself (each step's write is conditional on status + version);
- payment calls carry `{order_id}:{operation}` idempotency keys, so a retry never charges twice;
- the stock reservation is one transaction keyed by order id, so it happens once;
- compensations look at the truth (reservation row, provider's authorizations) rather than at
  what the saga remembers, so they also undo effects a crashed or racing run left behind.
Capture happens at commit (just before CONFIRMED): a confirmed order is a paid order; a cancel
after that refunds. See docs/order-flow.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from orders import state
from orders.cart import InvalidCart, check_fulfillable
from orders.models import HistoryEntry, Order, OrderStatus, PaymentRecord, RejectReason
from orders.ports import (
    AuthorizationStatus,
    Catalog,
    Inventory,
    OrderRepository,
    OutOfStock,
    PaymentDeclined,
    PaymentError,
    PaymentProvider,
    PaymentTimeout,
    StaleOrder,
)

# How often a run re-reads the order after losing a conditional write before giving the message back.
MAX_ROUNDS = 5


@dataclass(frozen=True)
class CheckoutPorts:
    orders: OrderRepository
    catalog: Catalog
    inventory: Inventory
    payments: PaymentProvider
    clock: Callable[[], datetime]


class StepFailed(Exception):
    """A business failure: the saga compensates and rejects the order with `reason`."""

    def __init__(self, reason: RejectReason, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class OrderNotFound(LookupError):
    pass


def idempotency_key(order_id: str, operation: str) -> str:
    return f"{order_id}:{operation}"


# --- the forward steps ----------------------------------------------------------------------------


def validate_cart(order: Order, ports: CheckoutPorts) -> Order:
    try:
        check_fulfillable(order.quantities, ports.catalog.products(order.quantities))
    except InvalidCart as exc:
        raise StepFailed(exc.reason, str(exc)) from exc
    return order


def authorize_payment(order: Order, ports: CheckoutPorts) -> Order:
    try:
        auth = ports.payments.authorize(
            idempotency_key=idempotency_key(order.order_id, "authorize"),
            reference=order.order_id,
            amount_cents=order.total_cents,
            currency=order.currency,
            token=order.payment_token,
        )
    except PaymentDeclined as exc:
        raise StepFailed(RejectReason.PAYMENT_DECLINED, exc.decline_code) from exc
    except PaymentTimeout as exc:
        raise StepFailed(RejectReason.PAYMENT_TIMEOUT, str(exc) or "payment provider timed out") from exc
    except PaymentError as exc:
        raise StepFailed(RejectReason.PAYMENT_ERROR, str(exc)) from exc
    new = state.record(
        order,
        step="PAYMENT_AUTHORIZED",
        at=ports.clock(),
        detail=f"{auth.id} {auth.amount_cents} {auth.currency}",
        payment=PaymentRecord(authorization_id=auth.id, authorized_cents=auth.amount_cents),
    )
    ports.orders.save(order, new)
    return new


def reserve_stock(order: Order, ports: CheckoutPorts) -> Order:
    try:
        ports.inventory.reserve(order)  # False on a replay: the reservation row is the truth
    except OutOfStock as exc:
        raise StepFailed(RejectReason.OUT_OF_STOCK, ", ".join(exc.skus)) from exc
    new = state.record(order, step="STOCK_RESERVED", at=ports.clock(), reserved=True)
    ports.orders.save(order, new)
    return new


def capture_payment(order: Order, ports: CheckoutPorts) -> Order:
    assert order.payment.authorization_id is not None, "capture runs after authorize"
    try:
        auth = ports.payments.capture(
            order.payment.authorization_id,
            order.total_cents,
            idempotency_key=idempotency_key(order.order_id, "capture"),
        )
    except (PaymentError, PaymentTimeout) as exc:
        raise StepFailed(RejectReason.PAYMENT_ERROR, f"capture failed: {exc}") from exc
    new = state.record(
        order,
        step="PAYMENT_CAPTURED",
        at=ports.clock(),
        detail=f"{auth.captured_cents} {auth.currency}",
        payment=order.payment.model_copy(update={"captured_cents": auth.captured_cents}),
    )
    ports.orders.save(order, new)
    return new


def commit(order: Order, ports: CheckoutPorts) -> Order:
    new = state.advance(order, OrderStatus.CONFIRMED, step="CONFIRMED", at=ports.clock())
    ports.orders.save(order, new)
    return new


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Order, CheckoutPorts], Order]
    done: Callable[[Order], bool]


CHECKOUT_STEPS: tuple[Step, ...] = (
    Step("validate_cart", validate_cart, done=lambda o: o.payment.authorization_id is not None),
    Step("authorize_payment", authorize_payment, done=lambda o: o.payment.authorization_id is not None),
    Step("reserve_stock", reserve_stock, done=lambda o: o.reserved),
    Step("capture_payment", capture_payment, done=lambda o: o.payment.captured_cents > 0),
    Step("commit", commit, done=lambda o: o.status is not OrderStatus.PENDING),
)


# --- the compensations ----------------------------------------------------------------------------


def release_stock(order: Order, ports: CheckoutPorts) -> list[HistoryEntry]:
    if not ports.inventory.release(order.order_id):
        return []
    return [HistoryEntry(at=ports.clock(), step="STOCK_RELEASED", status=order.status)]


def undo_payment(order: Order, ports: CheckoutPorts) -> list[HistoryEntry]:
    """Void what is only authorized, refund what was captured: whatever the provider says exists."""
    entries: list[HistoryEntry] = []
    for auth in ports.payments.authorizations(order.order_id):
        if auth.status is AuthorizationStatus.AUTHORIZED:
            ports.payments.void(auth.id, idempotency_key=idempotency_key(order.order_id, "void"))
            entries.append(HistoryEntry(at=ports.clock(), step="PAYMENT_VOIDED", status=order.status, detail=auth.id))
        elif auth.status is AuthorizationStatus.CAPTURED:
            ports.payments.refund(
                auth.id, auth.captured_cents, idempotency_key=idempotency_key(order.order_id, "refund")
            )
            entries.append(
                HistoryEntry(
                    at=ports.clock(),
                    step="PAYMENT_REFUNDED",
                    status=order.status,
                    detail=f"{auth.id} {auth.captured_cents}",
                )
            )
    return entries


COMPENSATIONS: tuple[Callable[[Order, CheckoutPorts], list[HistoryEntry]], ...] = (release_stock, undo_payment)


# Statuses in which the undo runs, and where each ends. An order already ended without a sale
# gets the undo again (idempotent) because a racing run may have left an effect behind; a
# CONFIRMED or SHIPPED order is never undone here (only a cancel request leads there).
_UNDO_ENDS: dict[OrderStatus, OrderStatus | None] = {
    OrderStatus.REJECTING: OrderStatus.REJECTED,
    OrderStatus.CANCEL_REQUESTED: OrderStatus.CANCELLED,
    OrderStatus.REJECTED: None,
    OrderStatus.CANCELLED: None,
}


def compensate(order: Order, ports: CheckoutPorts) -> Order:
    """Undo in reverse order, then end the order (REJECTING -> REJECTED, CANCEL_REQUESTED -> CANCELLED)."""
    if order.status not in _UNDO_ENDS:
        return order
    done: list[HistoryEntry] = []
    for undo in COMPENSATIONS:
        done.extend(undo(order, ports))
    end = _UNDO_ENDS[order.status]
    if end is None:
        return order
    reason = order.reason if end is OrderStatus.REJECTED else RejectReason.CANCELLED_BY_CUSTOMER
    new = state.advance(order, end, step=end.value, at=ports.clock(), earlier=done, reason=reason)
    try:
        ports.orders.save(order, new)
    except StaleOrder:
        return _load(order.order_id, ports)  # the other run ended it; our undo was idempotent
    return new


def _claim_failure(order: Order, failure: StepFailed, ports: CheckoutPorts) -> Order:
    """Win the right to compensate with a conditional write, so a run acting on a stale view of
    the order can never undo what a concurrent run has since done."""
    new = state.advance(
        order,
        OrderStatus.REJECTING,
        step="CHECKOUT_FAILED",
        at=ports.clock(),
        detail=failure.detail,
        reason=failure.reason,
    )
    ports.orders.save(order, new)
    return new


# --- the two sagas --------------------------------------------------------------------------------


def run_checkout(order_id: str, ports: CheckoutPorts) -> Order:
    """Drive a placed order to CONFIRMED or REJECTED; a no-op for an order already past PENDING."""
    order = _load(order_id, ports)
    for attempt in range(MAX_ROUNDS):
        if order.status is not OrderStatus.PENDING:
            if attempt == 0 and order.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
                return order  # a late duplicate: nothing was done by this run
            return compensate(order, ports)
        try:
            for step in CHECKOUT_STEPS:
                if not step.done(order):
                    order = step.run(order, ports)
            return order
        except StepFailed as failure:
            try:
                return compensate(_claim_failure(order, failure, ports), ports)
            except StaleOrder:
                order = _load(order_id, ports)
        except StaleOrder:
            # A racing run or a cancel moved the order: look again and resume or join the undo.
            order = _load(order_id, ports)
    raise StaleOrder(f"order {order_id} kept changing during checkout")


def run_cancel(order_id: str, ports: CheckoutPorts) -> Order:
    """Compensate a CANCEL_REQUESTED order and end it CANCELLED; a no-op otherwise."""
    order = _load(order_id, ports)
    if order.status is not OrderStatus.CANCEL_REQUESTED:
        return order
    return compensate(order, ports)


def _load(order_id: str, ports: CheckoutPorts) -> Order:
    order = ports.orders.get(order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order
