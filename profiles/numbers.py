"""Customer numbers: one system for all silos, human-readable, with a check digit.

A number is the prefix ``C``, an eight-digit serial and a Luhn check digit,
e.g. ``C100000017``. The check digit catches a mistyped digit or two swapped
neighbours when an agent reads a number back over the phone.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from stdnum import luhn

from customer360.services import number_allocate

PREFIX = "C"
SEQUENCE = "customer_number"
PATTERN = re.compile(r"^C\d{9}$")


def format_customer_number(serial: int) -> str:
    digits = f"{serial:08d}"
    return f"{PREFIX}{digits}{luhn.calc_check_digit(digits)}"


def is_valid_customer_number(value: str) -> bool:
    value = value.strip().upper()
    return bool(PATTERN.match(value)) and luhn.is_valid(value[1:])


def validate_customer_number(value: str) -> None:
    if not is_valid_customer_number(value):
        raise ValidationError(
            "%(value)s is not a customer number (C, nine digits, valid check digit).",
            params={"value": value},
            code="invalid_customer_number",
        )


def customer_numbers_allocate(count: int = 1) -> list[str]:
    """Reserve ``count`` fresh customer numbers."""
    return [format_customer_number(n) for n in number_allocate(name=SEQUENCE, count=count)]
