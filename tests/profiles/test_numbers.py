"""Customer numbers: format, check digit, allocation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from profiles.numbers import (
    customer_numbers_allocate,
    format_customer_number,
    is_valid_customer_number,
    validate_customer_number,
)


def test_format_has_prefix_serial_and_check_digit() -> None:
    number = format_customer_number(10_000_001)
    assert number == "C100000017"
    assert is_valid_customer_number(number)
    assert is_valid_customer_number(" c100000017 ")  # as an agent might type it


@pytest.mark.parametrize("serial", [10_000_000, 12_345_678, 99_999_999])
def test_every_single_mistyped_digit_is_detected(serial: int) -> None:
    number = format_customer_number(serial)
    for position in range(1, len(number)):
        for digit in "0123456789":
            if digit != number[position]:
                typo = number[:position] + digit + number[position + 1 :]
                assert not is_valid_customer_number(typo), typo


@pytest.mark.parametrize("serial", [10_000_000, 12_345_678, 98_765_432])
def test_swapped_neighbours_are_detected(serial: int) -> None:
    number = format_customer_number(serial)
    for position in range(1, len(number) - 1):
        a, b = number[position], number[position + 1]
        # Luhn's one blind spot is 09 <-> 90; equal neighbours swap to themselves.
        if a == b or {a, b} == {"0", "9"}:
            continue
        swapped = number[:position] + b + a + number[position + 2 :]
        assert not is_valid_customer_number(swapped), swapped


@pytest.mark.parametrize("value", ["", "C10000001", "X100000017", "C1000000170", "100000017"])
def test_malformed_numbers_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_customer_number(value)


@pytest.mark.django_db
def test_allocation_is_increasing_and_unique() -> None:
    first = customer_numbers_allocate(3)
    second = customer_numbers_allocate(2)
    numbers = first + second
    assert len(set(numbers)) == 5
    serials = [int(n[1:9]) for n in numbers]
    # Increasing, and consecutive while nobody else allocates at the same moment.
    assert serials == list(range(serials[0], serials[0] + 5))
    assert all(is_valid_customer_number(n) for n in numbers)
