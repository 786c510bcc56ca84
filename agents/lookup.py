"""A table look-up tool: the population or country of a city, the price of a product.

It holds the small tables of `environments.toolgoals` and reads a request such as "population of
Lyon" (what the brain writes from the goal's spans) or "Which country is Bergen in?".
"""

from __future__ import annotations

from agents.spans import Arguments, names_in
from environments.toolgoals import CITIES, CITY_FIELDS, PRODUCT_FIELDS, PRODUCTS

_KEYS = {name.lower(): name for name in [*CITIES, *PRODUCTS]}
_FIELD_WORDS = {
    "population": "population",
    "inhabitants": "population",
    "people": "population",
    "country": "country",
    "price": "price",
    "cost": "price",
    "costs": "price",
    "much": "price",
}


def _value(key: str, field: str) -> str | None:
    if key in CITIES and field in CITY_FIELDS:
        city = CITIES[key]
        return city.country if field == "country" else str(city.population)
    if key in PRODUCTS and field in PRODUCT_FIELDS:
        return f"{PRODUCTS[key].price:.2f} euros"
    return None


def look_up(text: str) -> str:
    """Looks up the population or country of a city, or the price of a product, in its table.

    Give it a task such as "population of Lyon" or "price of kettle"; it answers with the value.
    """
    keys = names_in(text, _KEYS)
    if not keys:
        return "none of the table's cities or products is named in the task"
    key = keys[0]
    fields = names_in(text, _FIELD_WORDS)
    default = "price" if key in PRODUCTS else "population"
    field = next((f for f in fields if _value(key, f) is not None), default)
    return f"{field} of {key} = {_value(key, field)}"


def lookup_arguments(goal: str) -> Arguments:
    """The key is a city or product the goal names; the field one the key's table has, among
    those the goal asks about in words ("people" → population) when it names any."""
    keys = names_in(goal, _KEYS)
    fields = [f for f in (*CITY_FIELDS, *PRODUCT_FIELDS) if any(_value(k, f) for k in keys)]
    asked = [f for f in names_in(goal, _FIELD_WORDS) if f in fields]
    return Arguments({"field": asked or fields, "key": keys}, "{field} of {key}")
