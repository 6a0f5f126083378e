"""Typed pydantic v2 models of every documented PleasureStock request and response.

A name loads its module on first use: a program pays only for the models it touches.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._lazy import lazy_exports

if TYPE_CHECKING:
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
        SalesJobResult,
        SalesSyncResult,
        SalesUploadResult,
        ServerRecordError,
        SyncDay,
        SyncProgress,
        UnresolvedBatch,
        UploadProgress,
    )
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
    "SalesJobResult",
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

_LAZY = {
    "SETTABLE_STATUSES": "orders",
    "ApiModel": "shared",
    "BatchOutcome": "uploads",
    "CamelModel": "shared",
    "CreatedOrder": "orders",
    "CurrencyConversion": "currency",
    "DataEnvelope": "envelopes",
    "DayFirstDate": "shared",
    "Discrepancy": "uploads",
    "FailedBatch": "uploads",
    "FlexibleId": "shared",
    "GenericEvent": "webhooks",
    "Money": "shared",
    "OffsetPagination": "orders",
    "Order": "orders",
    "OrderCancelledData": "webhooks",
    "OrderCancelledEvent": "webhooks",
    "OrderCreateResult": "orders",
    "OrderCreatedData": "webhooks",
    "OrderCreatedEvent": "webhooks",
    "OrderItem": "orders",
    "OrderLineItem": "orders",
    "OrderList": "orders",
    "OrderStatus": "orders",
    "OrderStatusChangedData": "webhooks",
    "OrderStatusChangedEvent": "webhooks",
    "OrderStatusUpdate": "orders",
    "OrderSummary": "orders",
    "PagePagination": "products",
    "Product": "products",
    "ProductBatch": "products",
    "ProductPage": "products",
    "Recommendation": "smart_reordering",
    "RecordError": "shared",
    "SaleRecord": "sales",
    "SaleRow": "sales",
    "SalesJobResult": "uploads",
    "SalesSubmitResult": "sales",
    "SalesSyncResult": "uploads",
    "SalesUploadResult": "uploads",
    "ServerRecordError": "uploads",
    "SmartReorderAck": "smart_reordering",
    "SmartReorderProduct": "smart_reordering",
    "SmartReorderingReport": "smart_reordering",
    "SourceCurrency": "currency",
    "StatusDisplay": "orders",
    "StatusValue": "orders",
    "Supplier": "orders",
    "SyncDay": "uploads",
    "SyncProgress": "uploads",
    "UnresolvedBatch": "uploads",
    "UploadProgress": "uploads",
    "WebhookEvent": "webhooks",
    "WebhookEventItem": "webhooks",
}
"""Every exported name and the module that defines it."""
_MODULES = frozenset(_LAZY.values())


__getattr__: Callable[[str], Any]
__dir__: Callable[[], list[str]]
__getattr__, __dir__ = lazy_exports(
    __name__, globals(), {name: f".{module}" for name, module in _LAZY.items()}, _MODULES
)
