"""Reading a campaign contact list (CSV) for ``campaign_check``.

Columns: ``customer_number``, ``kind``, ``purpose``, ``channel``,
``scheduled_for`` (ISO 8601 with a time zone, or a date: 09:00 in the
configured time zone) and, optionally, ``holding_reference``. A bad file is
refused as a whole with a message naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable
from pathlib import Path

from django.utils import timezone

from ..choices import ActionKind
from .arbitration import CampaignContact

REQUIRED = ("customer_number", "kind", "purpose", "channel", "scheduled_for")
OPTIONAL = ("holding_reference",)


class CampaignFileError(ValueError):
    """A campaign file that cannot be read; the message names file, line and field."""


def _moment(value: str) -> datetime.datetime:
    text = value.strip()
    if len(text) == 10:
        day = datetime.date.fromisoformat(text)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))
    moment = datetime.datetime.fromisoformat(text)
    if timezone.is_naive(moment):
        raise ValueError("give a time zone (e.g. 2026-12-01T09:00+01:00) or a date")
    return moment


def campaign_contacts_read(path: Path) -> list[CampaignContact]:
    """Every contact of the file, or ``CampaignFileError`` for the first bad value."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise CampaignFileError(f"{path}: cannot be read ({error.strerror})") from error
    with handle:
        return _read(path.name, csv.DictReader(handle))


def _read(name: str, reader: csv.DictReader[str]) -> list[CampaignContact]:
    header = reader.fieldnames or []
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise CampaignFileError(f"{name}, line 1: missing column(s) {', '.join(missing)}")
    unknown = sorted(set(header) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise CampaignFileError(f"{name}, line 1: unknown column(s) {', '.join(unknown)}")
    contacts = []
    kinds = set(ActionKind.values)
    for row in _rows(reader):
        line, values = row
        for column in REQUIRED:
            if not (values.get(column) or "").strip():
                raise CampaignFileError(f"{name}, line {line}, {column}: a value is required")
        if values["kind"].strip() not in kinds:
            raise CampaignFileError(
                f"{name}, line {line}, kind: unknown action kind '{values['kind'].strip()}'"
            )
        try:
            moment = _moment(values["scheduled_for"])
        except ValueError as error:
            raise CampaignFileError(
                f"{name}, line {line}, scheduled_for: not a date or time ({error})"
            ) from error
        contacts.append(
            CampaignContact(
                customer_number=values["customer_number"].strip().upper(),
                kind=values["kind"].strip(),
                purpose=values["purpose"].strip(),
                channel=values["channel"].strip(),
                scheduled_for=moment,
                holding_reference=(values.get("holding_reference") or "").strip(),
                line=line,
            )
        )
    return contacts


def _rows(reader: csv.DictReader[str]) -> Iterable[tuple[int, dict[str, str]]]:
    for values in reader:
        yield reader.line_num, values
