"""A seeded, deterministic product catalogue: suppliers, categories, products."""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

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


_SUPPLIERS = [
    ("Yiqing", "USD"),
    ("Shenzhen Joy Co.", "USD"),
    ("Berlin Lust GmbH", "EUR"),
    ("Amsterdam Pleasure BV", "EUR"),
    ("London Intimates Ltd", "GBP"),
    ("Istanbul Keyif A.S.", "TRY"),
    ("Guangzhou Silk Toys", "USD"),
    ("Milano Eros Srl", "EUR"),
]
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


class Catalogue:
    """``size`` products spread over 8 suppliers and 12 categories, the same for one seed."""

    def __init__(self, size: int = 2490, seed: int = 2025) -> None:
        rng = random.Random(seed)
        self.suppliers = [
            Supplier(11 + i, str(uuid.UUID(int=rng.getrandbits(128), version=4)), name, cur)
            for i, (name, cur) in enumerate(_SUPPLIERS)
        ]
        self.categories = [
            Category(str(uuid.UUID(int=rng.getrandbits(128), version=4)), ru, en)
            for ru, en in _CATEGORIES
        ]
        self.products: list[SandboxProduct] = []
        seen: set[str] = set()
        for n in range(size):
            ps_id = "ps_" + "".join(rng.choices(_ALNUM, k=10))
            while ps_id in seen:
                ps_id = "ps_" + "".join(rng.choices(_ALNUM, k=10))
            seen.add(ps_id)
            supplier = self.suppliers[rng.randrange(len(self.suppliers))]
            category = self.categories[rng.randrange(len(self.categories))]
            name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {n + 1}"
            created = _EPOCH + timedelta(minutes=rng.randrange(0, 500_000))
            self.products.append(
                SandboxProduct(
                    number=n + 1,
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    internal_id=ps_id,
                    name=name,
                    sku=f"{category.name_en[:3].upper()}-{n + 1:05d}",
                    description=f"{name} in {category.name_en.lower()} by {supplier.name}",
                    price=Decimal(rng.randrange(199, 19999)) / 100,
                    supplier=supplier,
                    category=category,
                    created_at=created,
                    updated_at=created + timedelta(days=rng.randrange(0, 300)),
                )
            )
        self._by_id = {p.internal_id: p for p in self.products}
        self._by_id.update({p.id: p for p in self.products})

    def find(self, product_id: str) -> SandboxProduct | None:
        """A product by its ``ps_`` id or UUID (any letter case for UUIDs)."""
        return self._by_id.get(product_id) or self._by_id.get(product_id.lower())
