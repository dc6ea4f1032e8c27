"""HTTP API: place, read and cancel orders; list products; the warehouse dispatches shipments.

Thin on purpose: powertools validates the request against the pydantic models (and generates
the OpenAPI document from them: docs/openapi.yaml), `orders.service` decides, the adapters
persist. POST /orders is idempotent twice over: powertools' idempotency record answers a
replayed request with the first response (and a different body under the same key with 409),
and the order id derived from the key makes the conditional put create nothing new even after
that record expired. Bad input is always a 4xx with a reason and writes nothing.

With ApiAuth IAM or JWT the customer is the authenticated caller API Gateway hands over (a JWT's
`sub`, or the IAM identity's ARN), never the body's `customer_id`; `orders.service.visible_to` keeps
each order its customer's. The dispatch route's scope is the gateway's to check (template.yaml).
"""

from __future__ import annotations

import base64
import binascii

import os
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, SecurityScheme
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from adapters.catalog import DynamoCatalog
from adapters.order_repository import DynamoOrderRepository
from adapters.shipments import DynamoShipments
from orders.cart import InvalidCart
from orders.dispatch import Dispatched, NotDispatchable, NothingToDispatch, dispatch
from orders.models import HistoryEntry, Order, OrderLine, OrderRequest, OrderStatus, ShippingAddress
from orders.service import IdempotencyConflict, OrderNotCancellable, place_order, request_cancel, visible_to

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver(enable_validation=True)

_dynamodb = boto3.client("dynamodb")
catalog = DynamoCatalog(_dynamodb, os.environ["CATALOG_TABLE"])
orders = DynamoOrderRepository(_dynamodb, os.environ["ORDERS_TABLE"])
shipments = DynamoShipments(_dynamodb, os.environ["SHIPMENTS_TABLE"])
idempotency_config = IdempotencyConfig(event_key_jmespath="idempotency_key", payload_validation_jmespath="body")
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])

IDEMPOTENCY_HEADER = "Idempotency-Key"
API_AUTH = os.environ.get("API_AUTH", "NONE")  # the template's ApiAuth: NONE | IAM | JWT


# What the deployed API accepts (docs/openapi.yaml): the template's ApiAuth picks one of the two.
DISPATCH_SCOPE = "orders/dispatch"  # template.yaml's JwtDispatchScope default
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "jwt": HTTPBearer(bearerFormat="JWT", description="ApiAuth=JWT: a token from JwtIssuer for JwtAudience; the customer is its `sub`."),
    "sigv4": APIKey(
        name="Authorization",
        **{"in": APIKeyIn.header},
        description="ApiAuth=IAM: a SigV4-signed request (execute-api); the customer is the IAM identity's ARN.",
    ),
}
SECURITY: list[dict[str, list[str]]] = [{"jwt": []}, {"sigv4": []}]


class NotAuthenticated(Exception):
    """Auth is on but API Gateway handed over no principal (a route left without an authorizer)."""


def _caller() -> str | None:
    """Who is calling, as API Gateway authenticated them; None when the API is unauthenticated.

    JWT authorizer: requestContext.authorizer.jwt.claims.sub; IAM: requestContext.authorizer.iam.userArn
    (payload format 2.0, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
    """
    if API_AUTH == "NONE":
        return None
    authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    if API_AUTH == "JWT":
        principal = ((authorizer.get("jwt") or {}).get("claims") or {}).get("sub")
    else:
        principal = (authorizer.get("iam") or {}).get("userArn")
    if not principal:
        raise NotAuthenticated
    return str(principal)


# --- response models (they document the API; docs/openapi.yaml is generated from them) ---------


class Accepted(BaseModel):
    order_id: str
    status: OrderStatus


class OrderView(BaseModel):
    order_id: str
    customer_id: str
    status: OrderStatus
    reason: str | None
    items: list[OrderLine]
    total_cents: int
    currency: str
    shipping_address: ShippingAddress
    created_at: datetime
    updated_at: datetime
    version: int
    history: list[HistoryEntry]

    @classmethod
    def of(cls, order: Order) -> OrderView:
        return cls.model_validate({**order.public_view(), "history": [h.model_dump() for h in order.history]})


class ProductView(BaseModel):
    sku: str
    name: str
    price_cents: int
    price: float
    currency: str
    stock: int


class DispatchView(BaseModel):
    order_id: str
    shipment_id: str
    order_status: OrderStatus
    dispatched_at: datetime

    @classmethod
    def of(cls, done: Dispatched) -> DispatchView:
        return cls(order_id=done.order.order_id, shipment_id=done.shipment_id, order_status=done.order.status, dispatched_at=done.dispatched_at)


class Problem(BaseModel):
    """Every 4xx: a human reason, a code for programs, and where it applies the fields or skus at fault.

    Clients decide on `code` (e.g. retry on IN_PROGRESS), never on the wording of `message`.
    """

    message: str
    code: str = Field(description="Stable and machine-readable: IN_PROGRESS (retry shortly), IDEMPOTENCY_KEY_REUSED, "
                      "NOT_CANCELLABLE, NOT_DISPATCHABLE, INVALID_JSON, MISSING_IDEMPOTENCY_KEY, INVALID_FIELDS, INVALID_CART, "
                      "else the HTTP status's name (NOT_FOUND, ...)")
    errors: list[dict[str, Any]] = []


def _problem(status: HTTPStatus, message: str, errors: list[dict[str, Any]] | None = None, *, code: str | None = None) -> Response[dict[str, Any]]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=Problem(message=message, code=code or status.name, errors=errors or []).model_dump(),
    )


# --- routes ---------------------------------------------------------------------------------------


@idempotent_function(data_keyword_argument="request", config=idempotency_config, persistence_store=persistence)
def _place(request: dict[str, Any]) -> dict[str, Any]:
    order = place_order(
        OrderRequest.model_validate(request["body"]),
        idempotency_key=request["idempotency_key"],
        catalog=catalog,
        orders=orders,
        correlation_id=request["correlation_id"],
        now=datetime.now(UTC),
    )
    logger.info("order accepted", extra={"order_id": order.order_id, "total_cents": order.total_cents})
    return Accepted(order_id=order.order_id, status=order.status).model_dump(mode="json")


@app.post(
    "/orders",
    summary="Place an order",
    description=(
        "Prices come from the catalog. The order is checked out asynchronously: poll GET /orders/{order_id}. "
        "With ApiAuth IAM or JWT the order is the caller's: the body's customer_id is ignored."
    ),
    responses={
        202: {"description": "Accepted, checkout under way", "content": {"application/json": {"model": Accepted}}},
        400: {"description": "Missing Idempotency-Key or malformed JSON", "content": {"application/json": {"model": Problem}}},
        409: {"description": "Idempotency-Key reused with a different body", "content": {"application/json": {"model": Problem}}},
        422: {"description": "Invalid body or unknown sku, each named", "content": {"application/json": {"model": Problem}}},
    },
)
def post_order(
    body: Annotated[OrderRequest, Body()],
    idempotency_key: Annotated[str, Header(alias=IDEMPOTENCY_HEADER, min_length=1, max_length=200)],
) -> Response[dict[str, Any]]:
    if not isinstance(app.current_event.json_body, dict):  # the resolver would accept [ {...} ] as the object
        return _problem(
            HTTPStatus.UNPROCESSABLE_ENTITY, "invalid fields: body (must be a JSON object)", [{"field": "body", "type": "model_type"}], code="INVALID_FIELDS"
        )
    caller = _caller()
    if caller is not None:  # the order is the caller's, whatever the body says
        body = body.model_copy(update={"customer_id": caller})
    accepted = _place(
        request={
            "idempotency_key": idempotency_key,
            "body": body.model_dump(mode="json"),
            "correlation_id": logger.get_correlation_id() or idempotency_key,
        }
    )
    return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON, body=accepted)


@app.get(
    "/orders/<order_id>",
    summary="An order's status, reason and journey",
    responses={
        200: {"description": "The order", "content": {"application/json": {"model": OrderView}}},
        404: {"description": "No such order, or not the caller's", "content": {"application/json": {"model": Problem}}},
    },
)
def get_order(order_id: Annotated[str, Path(min_length=1, max_length=64)]) -> Response[dict[str, Any]]:
    order = visible_to(orders.get(order_id), _caller())
    if order is None:
        return _problem(HTTPStatus.NOT_FOUND, f"order {order_id} not found")
    return Response(status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=OrderView.of(order).model_dump(mode="json"))


@app.post(
    "/orders/<order_id>/cancel",
    summary="Cancel an order until it ships",
    description="Marks it CANCEL_REQUESTED; the saga releases stock, voids or refunds, and ends it CANCELLED.",
    responses={
        202: {"description": "Cancellation under way (or done)", "content": {"application/json": {"model": Accepted}}},
        404: {"description": "No such order, or not the caller's", "content": {"application/json": {"model": Problem}}},
        409: {"description": "The order can no longer be cancelled", "content": {"application/json": {"model": Problem}}},
    },
)
def cancel_order(order_id: Annotated[str, Path(min_length=1, max_length=64)]) -> Response[dict[str, Any]]:
    try:
        order = request_cancel(order_id, orders=orders, clock=lambda: datetime.now(UTC), customer=_caller())
    except OrderNotCancellable as exc:
        return _problem(HTTPStatus.CONFLICT, str(exc), [{"status": exc.order.status.value}], code="NOT_CANCELLABLE")
    if order is None:
        return _problem(HTTPStatus.NOT_FOUND, f"order {order_id} not found")
    body = Accepted(order_id=order.order_id, status=order.status).model_dump(mode="json")
    return Response(status_code=HTTPStatus.ACCEPTED, content_type=content_types.APPLICATION_JSON, body=body)


@app.post(
    "/shipments/<order_id>/dispatch",
    summary="The warehouse dispatches an order's shipment",
    description=(
        "The order becomes SHIPPED (from then on it cannot be cancelled) and its OrderShipped event marks the "
        "shipment DISPATCHED. Dispatching again answers the same result. The warehouse's route: with ApiAuth=JWT "
        f"the token needs the {DISPATCH_SCOPE} scope (403 without it)."
    ),
    security=[{"jwt": [DISPATCH_SCOPE]}, {"sigv4": []}],
    responses={
        200: {"description": "Dispatched (now or before)", "content": {"application/json": {"model": DispatchView}}},
        404: {"description": "No such order, or its shipment is not created yet", "content": {"application/json": {"model": Problem}}},
        409: {"description": "The order is not CONFIRMED (cancelled, rejected, in checkout)", "content": {"application/json": {"model": Problem}}},
    },
)
def dispatch_shipment(order_id: Annotated[str, Path(min_length=1, max_length=64)]) -> Response[dict[str, Any]]:
    try:
        done = dispatch(order_id, orders=orders, shipments=shipments, clock=lambda: datetime.now(UTC))
    except NothingToDispatch as exc:
        return _problem(HTTPStatus.NOT_FOUND, str(exc))
    except NotDispatchable as exc:
        return _problem(
            HTTPStatus.CONFLICT, str(exc), [{"status": exc.order.status.value, "shipment_status": exc.shipment_status}], code="NOT_DISPATCHABLE"
        )
    logger.info("order shipped", extra={"order_id": order_id, "shipment_id": done.shipment_id})
    return Response(status_code=HTTPStatus.OK, content_type=content_types.APPLICATION_JSON, body=DispatchView.of(done).model_dump(mode="json"))


@app.get(
    "/products",
    summary="The catalog with the units available now",
    responses={200: {"description": "Every product", "content": {"application/json": {"model": list[ProductView]}}}},
)
def list_products() -> list[ProductView]:
    return [
        ProductView(sku=p.sku, name=p.name, price_cents=p.price_cents, price=p.price_cents / 100, currency=p.currency, stock=p.stock)
        for p in catalog.all_products()
    ]


# --- errors: always a reason, never a stack trace ---------------------------------------------------


@app.exception_handler(RequestValidationError)
def invalid_request(exc: RequestValidationError) -> Response[dict[str, Any]]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return _problem(HTTPStatus.BAD_REQUEST, "the body is not valid JSON", code="INVALID_JSON")
    if any(tuple(e.get("loc", ()))[:1] == ("header",) for e in errors):
        return _problem(HTTPStatus.BAD_REQUEST, f"the {IDEMPOTENCY_HEADER} header is required (1-200 characters)", code="MISSING_IDEMPOTENCY_KEY")
    fields = [
        {"field": ".".join(str(part) for part in e.get("loc", ())[1:]) or "body", "type": e.get("type"), "message": e.get("msg")}
        for e in errors
    ]
    return _problem(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid fields: " + ", ".join(f["field"] for f in fields), fields, code="INVALID_FIELDS")


@app.exception_handler(NotAuthenticated)
def not_authenticated(exc: NotAuthenticated) -> Response[dict[str, Any]]:
    return _problem(HTTPStatus.UNAUTHORIZED, "the request carries no authenticated caller")


@app.exception_handler(InvalidCart)
def invalid_cart(exc: InvalidCart) -> Response[dict[str, Any]]:
    return _problem(
        HTTPStatus.UNPROCESSABLE_ENTITY, str(exc), [{"field": "items", "sku": sku, "message": exc.message} for sku in exc.skus], code="INVALID_CART"
    )


@app.exception_handler([IdempotencyConflict, IdempotencyValidationError])
def idempotency_conflict(exc: Exception) -> Response[dict[str, Any]]:
    return _problem(HTTPStatus.CONFLICT, f"{IDEMPOTENCY_HEADER} was already used with a different request body", code="IDEMPOTENCY_KEY_REUSED")


@app.exception_handler(IdempotencyAlreadyInProgressError)
def in_progress(exc: IdempotencyAlreadyInProgressError) -> Response[dict[str, Any]]:
    return _problem(HTTPStatus.CONFLICT, f"a request with this {IDEMPOTENCY_HEADER} is still being processed; retry shortly", code="IN_PROGRESS")


def _unparseable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies powertools cannot even read, which it would answer with a 500 (both found by API fuzzing):
    a multipart body without its boundary (its validation raises ValueError splitting it), and a body
    that is not UTF-8 (API Gateway hands it over base64-encoded; decoding it raises UnicodeDecodeError).
    The client gets a 400 saying what to send instead."""
    content_type = str((event.get("headers") or {}).get("content-type", "")).lower()
    if content_type.startswith("multipart/") and "boundary=" not in content_type:
        problem = Problem(message="the Content-Type header is multipart without a boundary: send application/json", code="INVALID_BODY")
    elif event.get("isBase64Encoded") and not _is_utf8(event.get("body") or ""):
        problem = Problem(message="the body is not UTF-8 text: send a JSON object", code="INVALID_JSON")
    else:
        return None
    return {"statusCode": HTTPStatus.BAD_REQUEST, "headers": {"Content-Type": content_types.APPLICATION_JSON}, "body": problem.model_dump_json()}


def _is_utf8(body: str) -> bool:
    try:
        base64.b64decode(body).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return True


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A caller's own correlation id wins over the gateway's request id, so one id spans systems.
    caller_id = (event.get("headers") or {}).get("x-correlation-id")
    if caller_id:
        logger.set_correlation_id(caller_id)
    idempotency_config.register_lambda_context(context)
    return _unparseable_body(event) or app.resolve(event, context)
