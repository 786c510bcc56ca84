"""The small tables the look-up tool holds: a few cities and a shop's price list.

The figures are this environment's truth (rounded public figures for the cities, made-up prices),
not an authority: a goal is answered correctly when it quotes the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class City:
    country: str
    population: int


@dataclass(frozen=True)
class Product:
    price: float
    """In euros."""


CITIES: MappingProxyType[str, City] = MappingProxyType(
    {
        "Lyon": City("France", 522_250),
        "Porto": City("Portugal", 231_800),
        "Graz": City("Austria", 291_072),
        "Utrecht": City("Netherlands", 361_924),
        "Bergen": City("Norway", 286_930),
        "Gdansk": City("Poland", 486_022),
        "Valencia": City("Spain", 792_492),
        "Leipzig": City("Germany", 601_866),
        "Turin": City("Italy", 848_885),
        "Aarhus": City("Denmark", 285_273),
    }
)

PRODUCTS: MappingProxyType[str, Product] = MappingProxyType(
    {
        "lamp": Product(34.90),
        "kettle": Product(24.50),
        "backpack": Product(59.00),
        "umbrella": Product(12.75),
        "notebook": Product(3.20),
        "headphones": Product(79.99),
        "mug": Product(8.40),
        "chair": Product(45.00),
        "blender": Product(64.25),
        "scarf": Product(18.60),
    }
)

CITY_FIELDS = ("population", "country")
PRODUCT_FIELDS = ("price",)
