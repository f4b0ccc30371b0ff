"""Customer model helpers."""

from __future__ import annotations

import datetime

import pytest

from profiles.models import Customer

TODAY = datetime.date(2025, 6, 15)


@pytest.mark.parametrize(
    ("date_of_birth", "band"),
    [
        (None, ""),
        (datetime.date(2010, 1, 1), "under 18"),
        (datetime.date(2007, 6, 15), "18-24"),  # 18 today
        (datetime.date(2007, 6, 16), "under 18"),  # 18 tomorrow
        (datetime.date(2000, 6, 16), "18-24"),
        (datetime.date(2000, 6, 15), "25-34"),
        (datetime.date(1980, 1, 1), "35-49"),
        (datetime.date(1970, 1, 1), "50-64"),
        (datetime.date(1960, 6, 15), "65+"),
    ],
)
def test_age_band(date_of_birth: datetime.date | None, band: str) -> None:
    assert Customer(date_of_birth=date_of_birth).age_band(today=TODAY) == band


def test_display_name_skips_empty_parts() -> None:
    assert Customer(given_name="Ada", family_name="Lovelace").display_name == "Ada Lovelace"
