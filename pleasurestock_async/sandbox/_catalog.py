"""A seeded, deterministic product catalogue: suppliers, categories, products.

The first products are the ones the API reference names (see :mod:`._reference`); the rest
are generated, the same for one seed.
"""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ._reference import RABBIT_CATEGORY_ID, REFERENCE_PRODUCTS, SUPPLIERS, YIQING_UUID

__all__ = ["Catalogue", "Category", "SandboxProduct", "Supplier"]


@dataclass(frozen=True, slots=True)
class Supplier:
    """A supplier: its int id (products), UUID (order details), name and currency."""

    id: int
    uuid: str
    name: str
    currency: str


@dataclass(frozen=True, slots=True)
class Category:
    """A product category, named in Russian and English as the real catalogue is."""

    id: str
    name: str
    name_en: str


@dataclass(frozen=True, slots=True)
class SandboxProduct:
    """One product of the sandbox catalogue."""

    number: int
    id: str
    internal_id: str
    name: str
    sku: str
    description: str
    price: Decimal
    supplier: Supplier
    category: Category
    created_at: datetime
    updated_at: datetime


_CATEGORIES = [
    ("Вибраторы", "Vibrators"),
    ("Кролик", "Rabbit"),
    ("Массажеры", "Massagers"),
    ("Лубриканты", "Lubricants"),
    ("Белье", "Lingerie"),
    ("Наручники", "Handcuffs"),
    ("Игры для пар", "Couples games"),
    ("Анальные игрушки", "Anal toys"),
    ("Фаллоимитаторы", "Dildos"),
    ("Кольца", "Rings"),
    ("Аксессуары", "Accessories"),
    ("Уход", "Care"),
]
_ADJECTIVES = ["Premium", "Silky", "Classic", "Deluxe", "Mini", "Pro", "Soft", "Velvet", "Aqua"]
_NOUNS = ["Widget", "Wand", "Rabbit", "Bullet", "Ring", "Set", "Kit", "Massager", "Gel", "Plug"]
_ALNUM = string.ascii_lowercase + string.digits
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Catalogue:
    """``size`` products spread over 8 suppliers and 12 categories, the same for one seed."""

    def __init__(self, size: int = 2490, seed: int = 2025) -> None:
        if size < 0:
            raise ValueError("a catalogue cannot have fewer than 0 products")
        rng = random.Random(seed)
        self.suppliers: list[Supplier] = [
            Supplier(id_, YIQING_UUID if name == "Yiqing" else _uuid(rng), name, currency)
            for id_, name, currency in SUPPLIERS
        ]
        self.categories: list[Category] = [
            Category(RABBIT_CATEGORY_ID if en == "Rabbit" else _uuid(rng), ru, en)
            for ru, en in _CATEGORIES
        ]
        suppliers = {s.id: s for s in self.suppliers}
        categories = {c.name_en: c for c in self.categories}
        seen = {p.internal_id for p in REFERENCE_PRODUCTS if p.internal_id}
        self.products: list[SandboxProduct] = []
        for n in range(size):
            # Every position draws the same random values, so a reference product only
            # replaces fields and never shifts the products generated after it.
            ps_id = "ps_" + "".join(rng.choices(_ALNUM, k=10))
            while ps_id in seen:
                ps_id = "ps_" + "".join(rng.choices(_ALNUM, k=10))
            seen.add(ps_id)
            supplier = self.suppliers[rng.randrange(len(self.suppliers))]
            category = self.categories[rng.randrange(len(self.categories))]
            name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {n + 1}"
            created = _EPOCH + timedelta(minutes=rng.randrange(0, 500_000))
            product_uuid = _uuid(rng)
            price = Decimal(rng.randrange(199, 19999)) / 100
            updated = created + timedelta(days=rng.randrange(0, 300))
            ref = REFERENCE_PRODUCTS[n] if n < len(REFERENCE_PRODUCTS) else None
            if ref is not None:
                supplier = suppliers[ref.supplier_id] if ref.supplier_id else supplier
                category = categories[ref.category_en] if ref.category_en else category
                name = ref.name or name
            sku = (ref and ref.sku) or f"{category.name_en[:3].upper()}-{n + 1:05d}"
            self.products.append(
                SandboxProduct(
                    number=n + 1,
                    id=(ref and ref.id) or product_uuid,
                    internal_id=(ref and ref.internal_id) or ps_id,
                    name=name,
                    sku=sku,
                    description=f"{name} in {category.name_en.lower()} by {supplier.name}",
                    price=(ref and ref.price) or price,
                    supplier=supplier,
                    category=category,
                    created_at=(ref and ref.created_at) or created,
                    updated_at=(ref and ref.updated_at) or updated,
                )
            )
        self._by_id = {p.internal_id: p for p in self.products}
        self._by_id.update({p.id: p for p in self.products})

    def find(self, product_id: str) -> SandboxProduct | None:
        """A product by its ``ps_`` id or UUID (any letter case for UUIDs)."""
        return self._by_id.get(product_id) or self._by_id.get(product_id.lower())
