"""profiles.mapping: the transforms that bring a silo's columns to canonical values."""

from __future__ import annotations

import pytest

from governance.choices import Transform
from profiles.mapping import FieldMapping, MappingError, apply_mappings


def test_date_format_gives_iso_date() -> None:
    mapping = FieldMapping("dob", "date_of_birth", Transform.DATE_FORMAT, {"format": "%d/%m/%Y"})
    assert apply_mappings({"dob": "09/02/2000"}, [mapping]) == {"date_of_birth": "2000-02-09"}


def test_invalid_date_raises_value_error_naming_the_field() -> None:
    mapping = FieldMapping("dob", "date_of_birth", Transform.DATE_FORMAT, {"format": "%d/%m/%Y"})
    with pytest.raises(ValueError, match=r"dob -> date_of_birth") as caught:
        apply_mappings({"dob": "31/02/2000"}, [mapping])
    assert isinstance(caught.value, MappingError)
    assert caught.value.source_field == "dob"


def test_concat_joins_the_group_once() -> None:
    args = {"columns": ["street", "house_number"], "separator": " "}
    mappings = [
        FieldMapping("street", "address_line1", Transform.CONCAT, args),
        FieldMapping("house_number", "address_line1", Transform.CONCAT, args),
    ]
    raw = {"street": " Kerkstraat ", "house_number": "12A"}
    assert apply_mappings(raw, mappings) == {"address_line1": "Kerkstraat 12A"}


def test_case_transforms() -> None:
    mappings = [
        FieldMapping("EMail", "email", Transform.LOWER),
        FieldMapping("Zip", "postcode", Transform.UPPER),
        FieldMapping(
            "ACCOUNT_HOLDER", "family_name", Transform.TITLE, {"particles": ["van", "'t"]}
        ),
        FieldMapping("HOLDER_FIRST", "given_name", Transform.TITLE),
    ]
    raw = {
        "EMail": " Jan.Jansen@Gmail.COM ",
        "Zip": "1234 ab",
        "ACCOUNT_HOLDER": "VAN 'T HOF",
        "HOLDER_FIRST": "ANNE-MARIE",
    }
    assert apply_mappings(raw, mappings) == {
        "email": "jan.jansen@gmail.com",
        "postcode": "1234 AB",
        "family_name": "van 't Hof",
        "given_name": "Anne-Marie",
    }


@pytest.mark.parametrize(
    "written", ["06 12 34 56 78", "06-12345678", "+31 6 12345678", "0031612345678", "0612345678"]
)
def test_phone_region_gives_e164(written: str) -> None:
    mapping = FieldMapping("Mobile", "phone", Transform.PHONE_REGION, {"region": "NL"})
    assert apply_mappings({"Mobile": written}, [mapping]) == {"phone": "+31612345678"}


@pytest.mark.parametrize("written", ["06 123", "not a number"])
def test_invalid_phone_raises_value_error_naming_the_field(written: str) -> None:
    mapping = FieldMapping("Mobile", "phone", Transform.PHONE_REGION, {"region": "NL"})
    with pytest.raises(ValueError, match=r"Mobile -> phone"):
        apply_mappings({"Mobile": written}, [mapping])


def test_empty_and_unmapped_columns_give_nothing() -> None:
    mapping = FieldMapping("FirstName", "given_name")
    assert apply_mappings({"FirstName": "  ", "Other": "x"}, [mapping]) == {}


def test_conflicting_values_for_one_field_raise() -> None:
    mappings = [FieldMapping("a", "email", Transform.LOWER), FieldMapping("b", "email")]
    with pytest.raises(MappingError, match="another column"):
        apply_mappings({"a": "x@example.org", "b": "y@example.org"}, mappings)


def test_unknown_transform_raises() -> None:
    with pytest.raises(MappingError, match="unknown transform"):
        apply_mappings({"a": "x"}, [FieldMapping("a", "email", "soundex")])


@pytest.mark.django_db
def test_model_mappings_are_accepted() -> None:
    from governance.models import FieldDefinition, Silo, SourceFieldMapping, SourceSystem

    silo = Silo.objects.create(code="s", name="S")
    system = SourceSystem.objects.create(silo=silo, code="sys", name="Sys", key_label="Key")
    mapping = SourceFieldMapping(
        source_system=system,
        source_field="EMail",
        field_definition=FieldDefinition.objects.get(canonical_name="email", status="approved"),
        transform=Transform.LOWER,
    )
    assert apply_mappings({"EMail": "A@B.NL"}, [mapping]) == {"email": "a@b.nl"}
