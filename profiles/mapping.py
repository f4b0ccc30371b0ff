"""Apply a source system's approved field mappings to one raw record.

A silo sends records in its own shape (``insured_surname``, ``EMail``,
``dob`` as ``dd/mm/yyyy``...). Each of its columns has one approved
``governance.SourceFieldMapping`` naming the canonical field it feeds and a
transform from ``governance.choices.Transform``. ``apply_mappings`` turns a
raw record into canonical values (ISO dates, E.164 phones, lower-case
e-mail addresses) that matching compares and survivorship picks from.

The functions here are pure: no database access, so ingest, identity
resolution and ``seed_demo`` share them and tests call them directly.

Transforms and their ``transform_args``:

``none``
    The value, stripped of surrounding whitespace.
``date_format``
    ``{"format": "%d/%m/%Y"}``: parse with that ``strptime`` format, give an
    ISO 8601 date.
``concat``
    ``{"columns": ["street", "house_number"], "separator": " "}``: join the
    non-empty values of those columns, in that order. Every column of the
    group carries the same mapping (so every raw column stays governed); the
    canonical field is computed once.
``upper`` / ``lower``
    Case only.
``title``
    Title case per word and hyphenated part; ``{"particles": ["van", "de"]}``
    keeps the listed name particles lower-case ("DE VRIES" -> "de Vries").
``phone_region``
    ``{"region": "NL"}``: parse as a number of that region (international
    forms are accepted too), give its E.164 form; invalid numbers raise.

A value that cannot be transformed raises ``MappingError`` (a
``ValueError``) naming the source column and the canonical field.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from governance.choices import Transform

from .identity.normalize import normalize_phone

if TYPE_CHECKING:
    from governance.models import SourceFieldMapping

TransformFunction = Callable[[str, Mapping[str, Any], Mapping[str, Any]], str]


class MappingError(ValueError):
    """A raw value that its mapping cannot turn into a canonical value."""

    def __init__(self, source_field: str, canonical_name: str, problem: str) -> None:
        self.source_field = source_field
        self.canonical_name = canonical_name
        self.problem = problem
        super().__init__(f"{source_field} -> {canonical_name}: {problem}")


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """The parts of a ``SourceFieldMapping`` that applying it needs.

    Loaded once per source system (``from_model``) so that applying mappings
    to many records touches no model instance and no database.
    """

    source_field: str
    canonical_name: str
    transform: str = Transform.NONE
    args: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_model(cls, mapping: SourceFieldMapping) -> FieldMapping:
        return cls(
            source_field=mapping.source_field,
            canonical_name=mapping.field_definition.canonical_name,
            transform=mapping.transform,
            args=dict(mapping.transform_args or {}),
        )


def transform_none(value: str, args: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    return value.strip()


def transform_date_format(value: str, args: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    fmt = args.get("format")
    if not fmt:
        raise ValueError("date_format needs a 'format' argument")
    try:
        return datetime.datetime.strptime(value.strip(), fmt).date().isoformat()  # noqa: DTZ007
    except ValueError:
        raise ValueError(f"{value!r} is not a date in the format {fmt}") from None


def transform_concat(value: str, args: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    columns = args.get("columns")
    if not columns:
        raise ValueError("concat needs a 'columns' argument")
    separator = args.get("separator", " ")
    parts = (str(raw.get(column) or "").strip() for column in columns)
    return separator.join(part for part in parts if part)


def transform_upper(value: str, args: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    return value.strip().upper()


def transform_lower(value: str, args: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    return value.strip().lower()


def _title_word(word: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


def transform_title(value: str, args: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    particles = {p.lower() for p in args.get("particles", ())}
    words = value.split()
    return " ".join(w.lower() if w.lower() in particles else _title_word(w) for w in words)


def transform_phone_region(value: str, args: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    region = args.get("region")
    if not region:
        raise ValueError("phone_region needs a 'region' argument")
    return normalize_phone(value, region)


TRANSFORMS: dict[str, TransformFunction] = {
    Transform.NONE: transform_none,
    Transform.DATE_FORMAT: transform_date_format,
    Transform.CONCAT: transform_concat,
    Transform.UPPER: transform_upper,
    Transform.LOWER: transform_lower,
    Transform.TITLE: transform_title,
    Transform.PHONE_REGION: transform_phone_region,
}


def as_field_mapping(mapping: FieldMapping | SourceFieldMapping) -> FieldMapping:
    return mapping if isinstance(mapping, FieldMapping) else FieldMapping.from_model(mapping)


def apply_mapping(raw: Mapping[str, Any], mapping: FieldMapping) -> str | None:
    """The canonical value one mapping gives for ``raw``; None when it is empty."""
    value = raw.get(mapping.source_field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        function = TRANSFORMS[mapping.transform]
    except KeyError:
        raise MappingError(
            mapping.source_field, mapping.canonical_name, f"unknown transform {mapping.transform!r}"
        ) from None
    try:
        result = function(str(value), mapping.args, raw)
    except ValueError as error:
        raise MappingError(mapping.source_field, mapping.canonical_name, str(error)) from None
    return result or None


def apply_mappings(
    raw: Mapping[str, Any], mappings: Iterable[FieldMapping | SourceFieldMapping]
) -> dict[str, str]:
    """Canonical field values of one raw record, by the given mappings.

    Columns without a value give nothing; columns of ``raw`` that no mapping
    covers are ignored here (ingest decides whether to reject or quarantine
    them). Two mappings that give one canonical field different values raise
    ``MappingError``.
    """
    result: dict[str, str] = {}
    for mapping in mappings:
        mapping = as_field_mapping(mapping)
        value = apply_mapping(raw, mapping)
        if value is None:
            continue
        previous = result.get(mapping.canonical_name)
        if previous is not None and previous != value:
            raise MappingError(
                mapping.source_field,
                mapping.canonical_name,
                f"gives {value!r} but another column already gave {previous!r}",
            )
        result[mapping.canonical_name] = value
    return result
