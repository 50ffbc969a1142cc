"""Money everywhere in recoup: Decimal, rounded half-up to the cent (audit-rules principle 2)."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
