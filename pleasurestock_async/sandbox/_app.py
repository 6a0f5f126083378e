"""The sandbox's HTTP API: every endpoint of the reference, as a Starlette ASGI app."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import webhooks
from ..errors import WebhookVerificationError
from ..ratelimit import BucketName, RateLimitConfig
from ..types.orders import SETTABLE_STATUSES, OrderStatus
from ._catalog import SandboxProduct
from ._formula import TspFormula
from ._limits import ServerLimits, retry_after_header
from ._state import STATUS_DISPLAY, OrderLine, SandboxOrder, SandboxState, TransitionError
from ._webhooks import WebhookSender

__all__ = ["API_PREFIX", "ApiError", "Faults", "SandboxApp"]

API_PREFIX = "/api/v1"
MAX_PAGE = 1000
MAX_SALES = 1000
RATES_TO_TRY = {"EUR": Decimal("34.875"), "USD": Decimal("32.450"), "GBP": Decimal("41.120")}
RATES_UPDATED = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)
DELIVERY_TIME = timedelta(days=10)


def buckets_for(path: str) -> tuple[BucketName, ...]:
    """The rate buckets a request to ``path`` spends."""
    api: BucketName = "external" if path.startswith("/external/") else "standard"
    if path.startswith(("/smart-reordering", "/external/smart-reorder")):
        return ("smart", api)
    return (api,)


_PS_ID = re.compile(r"^ps_[A-Za-z0-9]{10}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID_EXPECTED = "UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or ps_id (ps_XXXXXXXXXX)"


@dataclass(frozen=True, slots=True)
class Faults:
    """Failures to inject, for rehearsing what a real network and server do.

    ``error_rate``: share of requests answered 500 before any work. ``error_after_store_rate``:
    share of POSTs answered 500 *after* the data was stored (the case that makes blind resends
    double-count). ``latency``: seconds added to every request. ``drop_rate``: share of
    requests whose connection fails before reaching the server (in-process clients only).
    """

    error_rate: float = 0.0
    error_after_store_rate: float = 0.0
    latency: float = 0.0
    drop_rate: float = 0.0
    seed: int = 7


class ApiError(Exception):
    """Answer the request with ``status`` and a body in the reference's error format."""

    def __init__(self, status: int, error: str, message: str | None = None, **extra: Any) -> None:
        self.status = status
        self.body: dict[str, Any] = {"success": False, "error": error}
        if message:
            self.body["message"] = message
        self.body.update(extra)
        super().__init__(error)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, default=_default, ensure_ascii=False)
    return Response(body, status, headers=headers, media_type="application/json")


def _bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, "Invalid request", f"{name} must be true or false")


def _int(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "Invalid request", f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, "Invalid request", f"{name} must be {bound}")
    return value


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise ApiError(400, "Invalid request", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request", "The request body must be a JSON object")
    return body


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _day_first(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%d/%m/%y")


class SandboxApp:
    """Routes bound to one sandbox's state, keys, limits and faults."""

    def __init__(
        self,
        state: SandboxState,
        *,
        api_keys: frozenset[str],
        rate_limits: RateLimitConfig | None,
        faults: Faults,
        tsp_formula: TspFormula,
        tcc_coefficient: Decimal,
        webhook: WebhookSender | None,
        webhook_secret: str,
    ) -> None:
        self.state = state
        self.api_keys = api_keys
        self.limits = ServerLimits(rate_limits) if rate_limits else None
        self.faults = faults
        self.tsp_formula = tsp_formula
        self.tcc_coefficient = tcc_coefficient
        self.webhook = webhook
        self.webhook_secret = webhook_secret
        self.request_counts: Counter[str] = Counter()
        self.rate_limited = 0
        self.received_webhooks: list[webhooks.WebhookEvent] = []
        self._rng = random.Random(faults.seed)
        routes = [
            ("/products", self.list_products, "GET"),
            ("/products/{product_id}", self.get_product, "GET"),
            ("/sales", self.post_sales, "POST"),
            ("/smart-reordering", self.get_smart_reordering, "GET"),
            ("/currency/convert-to-try", self.convert_currency, "GET"),
            ("/external/smart-reorder", self.post_smart_reorder, "POST"),
            ("/external/orders", self.create_orders, "POST"),
            ("/external/orders", self.list_orders, "GET"),
            ("/external/orders/{order_number}", self.get_order, "GET"),
            ("/external/orders/{order_number}/status", self.update_status, "PUT"),
            ("/external/webhook", self.receive_webhook, "POST"),
        ]
        self.app = Starlette(
            routes=[
                Route(API_PREFIX + path, self._endpoint(path, handler), methods=[method])
                for path, handler, method in routes
            ]
        )

    # -- the common path: faults, auth, rate limits, error format --------------------------------

    def _endpoint(
        self, path: str, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.request_counts[f"{request.method} {path}"] += 1
            try:
                if self.faults.latency:
                    await asyncio.sleep(self.faults.latency)
                key = self._authenticate(request, path)
                if self.limits is not None:
                    wait = self.limits.check(key, buckets_for(path))
                    if wait > 0:
                        self.rate_limited += 1
                        raise ApiError(
                            429,
                            "Too Many Requests",
                            "Rate limit exceeded",
                            retry_after=retry_after_header(wait),
                        )
                if self.faults.error_rate and self._rng.random() < self.faults.error_rate:
                    raise ApiError(500, "Internal Server Error", "Injected fault")
                return await handler(request)
            except ApiError as exc:
                headers = {}
                if exc.status == 429:
                    headers["Retry-After"] = exc.body.pop("retry_after")
                return _json(exc.body, exc.status, headers)

        return endpoint

    def _authenticate(self, request: Request, path: str) -> str:
        if path.startswith("/external/"):
            header = request.headers.get("Authorization", "")
            key = header[7:] if header.startswith("Bearer ") else ""
            expected = "Authorization: Bearer <key>"
        else:
            key = request.headers.get("X-API-Key", "")
            expected = "X-API-Key"
        if key not in self.api_keys:
            raise ApiError(
                401, "Unauthorized", f"Missing or invalid API key (send it as {expected})"
            )
        return key

    def _maybe_fail_after_store(self) -> None:
        rate = self.faults.error_after_store_rate
        if rate and self._rng.random() < rate:
            raise ApiError(500, "Internal Server Error", "Injected fault after storing")

    # -- products ----------------------------------------------------------------------------------

    def _product_json(
        self,
        p: SandboxProduct,
        *,
        detail: bool,
        images: bool,
        category: bool,
        tcc: bool,
        tsp: bool,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if detail:
            out["id"] = p.id
        out.update(
            internal_id=p.internal_id,
            name=p.name,
            sku=p.sku,
            price=f"{p.price:.2f}",
            currency=p.supplier.currency,
            supplier_id=p.supplier.id,
        )
        if images:
            out["images"] = [
                f"https://sandbox.pleasurestock.invalid/uploads/products/{p.sku.lower()}-{n}.jpg"
                for n in (1, 2)
            ]
        if category:
            out.update(
                category_id=p.category.id,
                category_name=p.category.name,
                category_name_en=p.category.name_en,
            )
        total_cost = (p.price * self.tcc_coefficient).quantize(Decimal("0.01"))
        if tcc:
            out.update(
                tcc_enabled=True,
                tcc_coefficient=self.tcc_coefficient,
                tcc_total_cost=total_cost,
                tcc_currency=p.supplier.currency,
            )
        if tsp:
            out.update(
                tsp_enabled=True,
                tsp_value=self.tsp_formula(total_cost),
                tsp_formula=self.tsp_formula.text,
                tsp_currency=p.supplier.currency,
            )
        if not detail:
            out.update(created_at=_stamp(p.created_at), updated_at=_stamp(p.updated_at))
        return out

    def _includes(self, request: Request, images_default: bool) -> dict[str, bool]:
        return {
            "images": _bool(request, "withImages", images_default),
            "category": _bool(request, "includeCategory", False),
            "tcc": _bool(request, "includeTcc", False),
            "tsp": _bool(request, "includeTsp", False),
        }

    async def list_products(self, request: Request) -> Response:
        page = _int(request, "page", 1, 1)
        limit = _int(request, "limit", 100, 1, MAX_PAGE)
        include = self._includes(request, images_default=False)
        products = self.state.catalogue.products
        if (ids := request.query_params.get("ids")) is not None:
            wanted = [i.strip() for i in ids.split(",") if i.strip()]
            found = {p.id: p for i in wanted if (p := self.state.catalogue.find(i)) is not None}
            products = list(found.values())
        if "supplier_id" in request.query_params:
            supplier_id = _int(request, "supplier_id", 0, 0)
            products = [p for p in products if p.supplier.id == supplier_id]
        if search := request.query_params.get("search", "").strip().lower():
            products = [
                p
                for p in products
                if search in p.name.lower()
                or search in p.sku.lower()
                or search in p.description.lower()
            ]
        total = len(products)
        chunk = products[(page - 1) * limit : page * limit]
        return _json(
            {
                "success": True,
                "data": [self._product_json(p, detail=False, **include) for p in chunk],
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "total": total,
                    "pages": -(-total // limit),
                },
            }
        )

    async def get_product(self, request: Request) -> Response:
        product_id = request.path_params["product_id"]
        include = self._includes(request, images_default=True)
        product = self.state.catalogue.find(product_id)
        if product is None:
            raise ApiError(404, "Not Found", f"Product {product_id} not found")
        return _json({"success": True, "data": self._product_json(product, detail=True, **include)})

    # -- sales and smart reordering --------------------------------------------------------------

    async def post_sales(self, request: Request) -> Response:
        body = await _body(request)
        sales = body.get("sales")
        if not isinstance(sales, list) or not sales:
            raise ApiError(400, "Invalid request", "sales must be a non-empty array", processed=0)
        if len(sales) > MAX_SALES:
            raise ApiError(
                400,
                "Invalid request",
                f"At most {MAX_SALES} records per request (got {len(sales)})",
                processed=0,
            )
        errors: list[dict[str, Any]] = []
        rows: list[tuple[SandboxProduct, date, int, int | None]] = []
        for index, record in enumerate(sales):
            problem = self._sale_problem(record)
            if problem is not None:
                error, expected, received = problem
                errors.append(
                    {"index": index, "error": error, "expected": expected, "received": received}
                )
                continue
            product = self.state.catalogue.find(record["internal_id"])
            assert product is not None
            rows.append(
                (
                    product,
                    date.fromisoformat(record["date"]),
                    record["quantity"],
                    record.get("stock_on_hand"),
                )
            )
        if errors:
            return _json({"error": "Validation errors", "errors": errors, "processed": 0}, 400)
        for row in rows:
            self.state.store_sale(*row)
        self._maybe_fail_after_store()
        return _json(
            {
                "success": True,
                "message": "Sales data submitted successfully",
                "processed": len(rows),
            }
        )

    def _sale_problem(self, record: object) -> tuple[str, str, object] | None:
        if not isinstance(record, dict):
            return "Invalid record", "an object", record
        unknown = set(record) - {"internal_id", "date", "quantity", "stock_on_hand"}
        if unknown:
            return "Unknown field", "internal_id, date, quantity, stock_on_hand", sorted(unknown)
        internal_id = record.get("internal_id")
        if not isinstance(internal_id, str) or not (
            _PS_ID.match(internal_id) or _UUID.match(internal_id)
        ):
            return "Invalid internal_id format", _ID_EXPECTED, internal_id
        if self.state.catalogue.find(internal_id) is None:
            return "Product not found", "an internal_id from your catalogue", internal_id
        day = record.get("date")
        try:
            if not isinstance(day, str) or not _DAY.match(day):
                raise ValueError
            date.fromisoformat(day)
        except ValueError:
            return "Invalid date format", "YYYY-MM-DD", day
        if not _is_count(record.get("quantity")):
            return "Invalid quantity", "Non-negative integer", record.get("quantity")
        stock = record.get("stock_on_hand")
        if stock is not None and not _is_count(stock):
            return "Invalid stock_on_hand", "Non-negative integer", stock
        return None

    async def get_smart_reordering(self, request: Request) -> Response:
        raw = request.query_params.get("date")
        try:
            target = date.fromisoformat(raw) if raw else datetime.now(UTC).date()
        except ValueError:
            raise ApiError(400, "Invalid request", "date must be YYYY-MM-DD") from None
        recommendations = self.state.recommendations(target)
        return _json(
            {
                "success": True,
                "date": target,
                "recommendations": recommendations,
                "total": len(recommendations),
            }
        )

    async def post_smart_reorder(self, request: Request) -> Response:
        body = await _body(request)
        products = body.get("products")
        if not isinstance(products, list) or not products:
            raise ApiError(400, "Invalid request", "products must be a non-empty array")
        details = []
        for index, p in enumerate(products):
            if not isinstance(p, dict):
                details.append(f"products[{index}]: must be an object")
                continue
            if not (isinstance(p.get("ps_id"), str) and p["ps_id"].startswith("ps_")):
                details.append(f"products[{index}].ps_id: must start with ps_")
            for name in ("quantity", "current_stock"):
                if not _is_number(p.get(name)):
                    details.append(f"products[{index}].{name}: must be a non-negative number")
            history = p.get("sales_history")
            if not (
                isinstance(history, list)
                and len(history) >= 7
                and all(_is_number(v) for v in history)
            ):
                details.append(f"products[{index}].sales_history: at least 7 days of numeric data")
        if details:
            raise ApiError(400, "Validation failed", "Invalid smart reorder data", details=details)
        self.state.smart_reorders.append({"products": products, "at": datetime.now(UTC)})
        self._maybe_fail_after_store()
        return _json(
            {
                "success": True,
                "data": {
                    "smartReorderId": len(self.state.smart_reorders),
                    "lastUpdated": datetime.now(UTC).replace(microsecond=0),
                    "isActive": True,
                },
            }
        )

    async def convert_currency(self, request: Request) -> Response:
        currency = request.query_params.get("currency", "").upper()
        if currency not in RATES_TO_TRY:
            raise ApiError(400, "Invalid request", "currency must be one of EUR, USD, GBP")
        try:
            amount = Decimal(request.query_params.get("amount", ""))
        except InvalidOperation:
            raise ApiError(400, "Invalid request", "amount must be a number") from None
        if not amount.is_finite() or amount < 0:
            raise ApiError(400, "Invalid request", "amount must be a non-negative number")
        rate = RATES_TO_TRY[currency]
        return _json(
            {
                "success": True,
                "originalAmount": amount,
                "originalCurrency": currency,
                "convertedAmount": (amount * rate).quantize(Decimal("0.01")),
                "targetCurrency": "TRY",
                "exchangeRate": rate,
                "lastUpdated": RATES_UPDATED,
            }
        )

    # -- orders ------------------------------------------------------------------------------------

    async def create_orders(self, request: Request) -> Response:
        body = await _body(request)
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise ApiError(400, "Invalid request", "items must be a non-empty array")
        details: list[str] = []
        lines: list[OrderLine] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                details.append(f"items[{index}]: must be an object")
                continue
            ps_id = item.get("ps_id")
            product = self.state.catalogue.find(ps_id) if isinstance(ps_id, str) else None
            if product is None or not str(ps_id).startswith("ps_"):
                details.append(f"items[{index}].ps_id: unknown product {ps_id!r}")
                continue
            quantity = item.get("quantity")
            if not isinstance(quantity, int) or not _is_count(quantity) or quantity == 0:
                details.append(f"items[{index}].quantity: must be a positive integer")
                continue
            custom = item.get("customPrice")
            if custom is not None and not _is_number(custom):
                details.append(f"items[{index}].customPrice: must be a non-negative number")
                continue
            price = Decimal(str(custom)) if custom is not None else product.price
            lines.append(OrderLine(product, quantity, price, custom is not None))
        if details:
            raise ApiError(400, "Validation failed", "Invalid order items", details=details)
        external = body.get("externalOrderId")
        comment = body.get("comment")
        orders = self.state.create_orders(
            lines,
            external if isinstance(external, str) else None,
            comment if isinstance(comment, str) else None,
        )
        for order in orders:
            self._notify("order.created", self._created_event(order))
        self._maybe_fail_after_store()
        return _json(
            {
                "success": True,
                "data": {
                    "orders": [
                        {
                            "orderNumber": o.number,
                            "deliveryId": o.delivery_id,
                            "supplierId": o.supplier.id,
                            "status": o.status.value,
                            "totalAmount": o.total,
                            "currency": o.supplier.currency,
                            "items": len(o.lines),
                            "createdAt": o.created_at,
                        }
                        for o in orders
                    ],
                    "totalOrders": len(orders),
                    "totalAmount": sum((o.total for o in orders), Decimal(0)),
                },
            }
        )

    def _display(self, status: OrderStatus) -> dict[str, str]:
        label, color = STATUS_DISPLAY[status]
        return {"label": label, "color": color, "cssClass": f"bg-{color}-100 text-{color}-800"}

    async def list_orders(self, request: Request) -> Response:
        limit = _int(request, "limit", 20, 1, MAX_PAGE)
        offset = _int(request, "offset", 0, 0)
        orders = list(reversed(self.state.orders))
        if status := request.query_params.get("status"):
            try:
                wanted = OrderStatus(status)
            except ValueError:
                raise ApiError(400, "Invalid request", f"unknown status {status!r}") from None
            orders = [o for o in orders if o.status is wanted]
        page = orders[offset : offset + limit]
        return _json(
            {
                "success": True,
                "data": {
                    "orders": [self._summary(o) for o in page],
                    "pagination": {"total": len(orders), "limit": limit, "offset": offset},
                },
            }
        )

    def _header(self, o: SandboxOrder) -> dict[str, Any]:
        """The fields an order has in both the list and the detail."""
        return {
            "orderId": o.order_id,
            "orderNumber": o.number,
            "deliveryId": o.delivery_id,
            "externalOrderId": o.external_order_id,
            "status": o.status.value,
            "statusDisplay": self._display(o.status),
        }

    def _summary(self, o: SandboxOrder) -> dict[str, Any]:
        custom = sum(1 for line in o.lines if line.custom)
        return {
            **self._header(o),
            "supplierName": o.supplier.name,
            "totalAmount": f"{o.total:.2f}",
            "currency": o.supplier.currency,
            "itemsCount": sum(line.quantity for line in o.lines),
            "hasCustomItems": custom > 0,
            "customItemsCount": custom,
            "catalogItemsCount": len(o.lines) - custom,
            "createdAt": _day_first(o.created_at),
            "statusChangedAt": _day_first(o.status_changed_at),
        }

    def _order(self, request: Request) -> SandboxOrder:
        number = request.path_params["order_number"]
        order = self.state.find_order(number)
        if order is None:
            raise ApiError(404, "Not Found", f"Order {number} not found")
        return order

    async def get_order(self, request: Request) -> Response:
        o = self._order(request)
        return _json(
            {
                "success": True,
                "data": {
                    **self._header(o),
                    "supplier": {"id": o.supplier.uuid, "name": o.supplier.name},
                    "hasCustomItems": any(line.custom for line in o.lines),
                    "items": [
                        {
                            "productId": line.product.number,
                            "psId": line.product.internal_id,
                            "name": line.product.name,
                            "sku": line.product.sku,
                            "quantity": line.quantity,
                            "unitPrice": line.unit_price,
                            "totalPrice": line.total,
                            "currency": o.supplier.currency,
                            "imageUrl": "https://sandbox.pleasurestock.invalid/uploads/products/"
                            f"{line.product.sku.lower()}-1.jpg",
                        }
                        for line in o.lines
                    ],
                    "totalAmount": o.total,
                    "currency": o.supplier.currency,
                    "estimatedDeliveryDate": _stamp(
                        (o.created_at + DELIVERY_TIME).replace(hour=0, minute=0, second=0)
                    ),
                    "actualDeliveryDate": _stamp(o.delivered_at),
                    "createdAt": _stamp(o.created_at),
                    "confirmedAt": _stamp(o.created_at),
                    "paidAt": _stamp(o.paid_at),
                    "shippedAt": _stamp(o.shipped_at),
                    "acceptedAt": _stamp(o.accepted_at),
                },
            }
        )

    async def update_status(self, request: Request) -> Response:
        order = self._order(request)
        body = await _body(request)
        raw = body.get("status")
        try:
            new = OrderStatus(str(raw))
        except ValueError:
            raise ApiError(400, "Invalid request", f"unknown status {raw!r}") from None
        if new not in SETTABLE_STATUSES:
            raise ApiError(400, "Invalid request", f"status {new.value} is set by the system")
        comment = body.get("comment") if isinstance(body.get("comment"), str) else None
        try:
            old = self.state.change_status(order, new, comment)
        except TransitionError as exc:
            raise ApiError(400, "Invalid status transition", str(exc)) from None
        if isinstance(body.get("externalOrderId"), str):
            order.external_order_id = body["externalOrderId"]
        changed = {
            "orderId": order.order_id,
            "orderNumber": order.number,
            "oldStatus": old.value,
            "newStatus": new.value,
            "changedBy": "external_api",
            "comment": comment,
            "changedAt": _stamp(order.status_changed_at),
        }
        if new is OrderStatus.CANCELLED:
            self._notify(
                "order.cancelled",
                {**changed, "reason": comment, "cancelledAt": _stamp(order.status_changed_at)},
            )
        else:
            self._notify("order.status_changed", changed)
        return _json(
            {
                "success": True,
                "data": {
                    "orderId": order.order_id,
                    "orderNumber": order.number,
                    "status": new.value,
                    "statusChangedAt": order.status_changed_at,
                },
            }
        )

    # -- webhooks ----------------------------------------------------------------------------------

    def _created_event(self, o: SandboxOrder) -> dict[str, Any]:
        return {
            "orderId": o.order_id,
            "orderNumber": o.number,
            "deliveryId": o.delivery_id,
            "status": o.status.value,
            "supplierId": o.supplier.uuid,
            "totalAmount": float(o.total),
            "currency": o.supplier.currency,
            "items": [
                {
                    "ps_id": line.product.internal_id,
                    "quantity": line.quantity,
                    "unitPrice": float(line.unit_price),
                    "totalPrice": float(line.total),
                }
                for line in o.lines
            ],
            "externalOrderId": o.external_order_id,
            "createdAt": _stamp(o.created_at),
        }

    def _notify(self, event: str, data: dict[str, Any]) -> None:
        if self.webhook is not None:
            now = datetime.now(UTC).replace(microsecond=0)
            self.webhook.send(event, data, _stamp(now) or "")

    async def receive_webhook(self, request: Request) -> Response:
        payload = await request.body()
        try:
            event = webhooks.construct_event(payload, request.headers, self.webhook_secret)
        except WebhookVerificationError as exc:
            raise ApiError(400, "Invalid webhook", str(exc)) from None
        self.received_webhooks.append(event)
        return _json({"success": True, "received": event.event})
