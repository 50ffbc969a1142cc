"""The simulated seller's products: SKUs with their FNSKU, ASIN, title, price and sourcing cost."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from recoup.money import cents

NOUNS = ["Mug", "Bottle", "Tumbler", "Kettle", "Pan", "Lid", "Spoon", "Jar", "Grinder", "Cup"]
ADJECTIVES = ["Red", "Blue", "Steel", "Bamboo", "Glass", "Matte", "Travel", "Mini", "Large", "Oak"]


@dataclass(frozen=True)
class Product:
    sku: str
    fnsku: str
    asin: str
    title: str
    price: Decimal  # the sale price per unit
    cost: Decimal  # sourcing cost per unit, from the first day
    later_cost: Decimal | None  # a new sourcing cost from `cost_changes_on`, for some SKUs
    fulfillment_center: str


def make_catalog(rng: random.Random, count: int, centres: list[str]) -> list[Product]:
    products = []
    for i in range(count):
        noun, adjective = NOUNS[i % len(NOUNS)], ADJECTIVES[(i // len(NOUNS)) % len(ADJECTIVES)]
        price = cents(Decimal(rng.randrange(1200, 6000)) / 100)
        cost = cents(price * Decimal(rng.randrange(25, 45)) / 100)
        later = cents(cost * Decimal("1.10")) if i % 4 == 0 else None
        products.append(
            Product(
                sku=f"{adjective[:3].upper()}-{noun[:3].upper()}-{i:04d}",
                fnsku=f"X00{rng.randrange(16**7):07X}",
                asin=f"B0{rng.randrange(36**8):08d}"[:10],
                # Titles carry the characters real ones do: commas, quotes, an ampersand, a ®.
                title=f'{adjective} {noun} {i}, 12oz "Everyday" & Co.®',
                price=price,
                cost=cost,
                later_cost=later,
                fulfillment_center=centres[i % len(centres)],
            )
        )
    return products
