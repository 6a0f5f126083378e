"""Typed pydantic v2 models of every documented PleasureStock request and response."""

from typing import TYPE_CHECKING, Any

from .currency import CurrencyConversion, SourceCurrency
from .envelopes import DataEnvelope
from .orders import (
    SETTABLE_STATUSES,
    CreatedOrder,
    OffsetPagination,
    Order,
    OrderCreateResult,
    OrderItem,
    OrderLineItem,
    OrderList,
    OrderStatus,
    OrderStatusUpdate,
    OrderSummary,
    StatusDisplay,
    StatusValue,
    Supplier,
)
from .products import PagePagination, Product, ProductBatch, ProductPage
from .sales import SaleRecord, SaleRow, SalesSubmitResult
from .shared import ApiModel, CamelModel, DayFirstDate, FlexibleId, Money, RecordError
from .smart_reordering import (
    Recommendation,
    SmartReorderAck,
    SmartReorderingReport,
    SmartReorderProduct,
)
from .uploads import (
    BatchOutcome,
    Discrepancy,
    FailedBatch,
    SalesSyncResult,
    SalesUploadResult,
    ServerRecordError,
    SyncDay,
    SyncProgress,
    UnresolvedBatch,
    UploadProgress,
)

__all__ = [
    "SETTABLE_STATUSES",
    "ApiModel",
    "BatchOutcome",
    "CamelModel",
    "CreatedOrder",
    "CurrencyConversion",
    "DataEnvelope",
    "DayFirstDate",
    "Discrepancy",
    "FailedBatch",
    "FlexibleId",
    "GenericEvent",
    "Money",
    "OffsetPagination",
    "Order",
    "OrderCancelledData",
    "OrderCancelledEvent",
    "OrderCreateResult",
    "OrderCreatedData",
    "OrderCreatedEvent",
    "OrderItem",
    "OrderLineItem",
    "OrderList",
    "OrderStatus",
    "OrderStatusChangedData",
    "OrderStatusChangedEvent",
    "OrderStatusUpdate",
    "OrderSummary",
    "PagePagination",
    "Product",
    "ProductBatch",
    "ProductPage",
    "Recommendation",
    "RecordError",
    "SaleRecord",
    "SaleRow",
    "SalesSubmitResult",
    "SalesSyncResult",
    "SalesUploadResult",
    "ServerRecordError",
    "SmartReorderAck",
    "SmartReorderProduct",
    "SmartReorderingReport",
    "SourceCurrency",
    "StatusDisplay",
    "StatusValue",
    "Supplier",
    "SyncDay",
    "SyncProgress",
    "UnresolvedBatch",
    "UploadProgress",
    "WebhookEvent",
    "WebhookEventItem",
]

if TYPE_CHECKING:
    from .webhooks import (
        GenericEvent,
        OrderCancelledData,
        OrderCancelledEvent,
        OrderCreatedData,
        OrderCreatedEvent,
        OrderStatusChangedData,
        OrderStatusChangedEvent,
        WebhookEvent,
        WebhookEventItem,
    )

_WEBHOOK_TYPES = frozenset(
    {
        "GenericEvent",
        "OrderCancelledData",
        "OrderCancelledEvent",
        "OrderCreatedData",
        "OrderCreatedEvent",
        "OrderStatusChangedData",
        "OrderStatusChangedEvent",
        "WebhookEvent",
        "WebhookEventItem",
    }
)


def __getattr__(name: str) -> Any:
    # The webhook events are read by receivers only: their module is imported on first use.
    if name in _WEBHOOK_TYPES:
        from . import webhooks

        return getattr(webhooks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _WEBHOOK_TYPES)
