"""Importing source records: files (CSV, JSON Lines) and API batches.

``source_records_import`` is the one service: the ``import_records`` command
and the API call it. A row becomes a ``SourceRecord`` keyed by (system,
source key), its columns mapped by the system's approved mappings
(``profiles.mapping``) and its values checked (``normalize.validate_canonical``).

What is refused, and how:

* the whole input, with nothing written (``ImportRefused``, naming file,
  line and field): an unknown system, a file that is not valid text in its
  declared encoding, a malformed CSV or JSON line, a column without an
  approved mapping or whose canonical field no approved data-collection
  decision covers (``governance.services.collection_check``);
* one row, kept as a ``QuarantinedRow`` with its row number, field and
  reason: a value its transform or check refuses, a missing source key.

A row whose governed columns hash like the stored record's changes nothing,
so re-importing a file is a no-op. New and changed records are matched after
commit (``profiles.tasks.source_records_match``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customer360.choices import AuditEventType
from customer360.db import values_subquery
from customer360.services import (
    Actor,
    audit_event_record,
    change_reason,
    model_bulk_update,
    on_commit_delay,
)
from governance.models import SourceFieldMapping, SourceSystem

from ..demo.bulk import insert_values_with_history
from ..mapping import FieldMapping, MappingError, apply_mappings
from ..models import ImportRun, QuarantinedRow, SourceFormat, SourceRecord
from .choices import ImportFormat, ImportStatus
from .normalize import validate_canonical

BATCH_SIZE = 500
DEFAULT_KEY_COLUMN = "source_key"


class ImportRefused(ValueError):
    """The whole input is refused; nothing of it was written."""

    def __init__(self, message: str, *, line: int | None = None, field: str = "") -> None:
        self.line = line
        self.field = field
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class RawRow:
    """One input row: its line in the file (or index in a batch) and its values."""

    line: int
    values: dict[str, str]


def payload_hash(raw: dict[str, Any]) -> str:
    """Hash of the governed raw values, as ``seed_demo`` computes it."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- reading files ---------------------------------------------------------------


def file_format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return ImportFormat.CSV
    if suffix in (".jsonl", ".ndjson"):
        return ImportFormat.JSONL
    raise ImportRefused(f"{path}: unknown file type {suffix!r}; use .csv or .jsonl")


def _text_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line_number = 1
    pending = ""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                line = line_number + pending.count("\n") + chunk[: error.start].count(b"\n")
                raise ImportRefused(
                    f"{path}, line {line}: not valid {encoding} text ({error.reason})", line=line
                ) from None
            pending += text
            *complete, pending = pending.split("\n")
            for text_line in complete:
                yield line_number, text_line + "\n"
                line_number += 1
        try:
            pending += decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise ImportRefused(
                f"{path}, line {line_number}: not valid {encoding} text ({error.reason})",
                line=line_number,
            ) from None
    if pending:
        yield line_number, pending


def read_rows(path: Path, *, file_format: str, encoding: str, delimiter: str) -> Iterator[RawRow]:
    """The rows of a file, each with its line number; ``ImportRefused`` at the first
    undecodable or malformed line."""
    if file_format == ImportFormat.JSONL:
        for line, text in _text_lines(path, encoding):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise ImportRefused(
                    f"{path}, line {line}: not a JSON object ({error.msg})", line=line
                ) from None
            if not isinstance(value, dict):
                raise ImportRefused(f"{path}, line {line}: not a JSON object", line=line)
            yield RawRow(
                line=line,
                values={str(k): ("" if v is None else str(v)) for k, v in value.items()},
            )
        return
    lines = _text_lines(path, encoding)
    numbers: list[int] = []

    def feed() -> Iterator[str]:
        for number, text in lines:
            numbers.append(number)
            yield text

    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused(f"{path}: the file is empty", line=1) from None
    except csv.Error as error:
        raise ImportRefused(f"{path}, line 1: malformed CSV header ({error})", line=1) from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header) or "" in header:
        raise ImportRefused(f"{path}, line 1: empty or repeated column names", line=1)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = numbers[-1] if numbers else 1
            raise ImportRefused(
                f"{path}, line {line}: malformed CSV ({error})", line=line
            ) from None
        line = numbers[-1]
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise ImportRefused(
                f"{path}, line {line}: {len(cells)} values for {len(header)} columns", line=line
            )
        yield RawRow(line=line, values=dict(zip(header, cells, strict=True)))


def scan_file(
    path: Path, *, file_format: str, encoding: str, delimiter: str
) -> tuple[dict[str, int], int]:
    """First pass over a file: every column with the first line it appears on, and
    the row count. Decoding and structure errors refuse the file here, before
    anything is written."""
    columns: dict[str, int] = {}
    count = 0
    for row in read_rows(path, file_format=file_format, encoding=encoding, delimiter=delimiter):
        for column in row.values:
            columns.setdefault(column, 1 if file_format == ImportFormat.CSV else row.line)
        count += 1
    return columns, count


# --- governance of columns ------------------------------------------------------------


def key_column_of(source_system: SourceSystem) -> str:
    declared = SourceFormat.objects.filter(source_system=source_system).first()
    return declared.key_column if declared else DEFAULT_KEY_COLUMN


def governed_mappings(
    *, source_system: SourceSystem, columns: Mapping[str, int], where: str
) -> list[FieldMapping]:
    """The approved mappings of ``columns``; ``ImportRefused`` naming the first column
    without an approved mapping, or whose field no approved decision covers."""
    from governance.services import collection_check

    key_column = key_column_of(source_system)
    wanted = sorted(set(columns) - {key_column})
    approved = {
        m.source_field: m
        for m in SourceFieldMapping.objects.filter(
            source_system=source_system, source_field__in=wanted, status="approved"
        ).select_related("field_definition")
    }
    unmapped = [c for c in wanted if c not in approved]
    if unmapped:
        line = columns[unmapped[0]]
        raise ImportRefused(
            f"{where}, line {line}: column {unmapped[0]!r} has no approved mapping for source "
            f"system {source_system.code}"
            + (f" (nor do {', '.join(map(repr, unmapped[1:]))})" if unmapped[1:] else ""),
            line=line,
            field=unmapped[0],
        )
    fields = {m.field_definition.canonical_name: column for column, m in approved.items()}
    try:
        collection_check(source_system=source_system, fields=fields)
    except ValidationError as error:
        problems = error.message_dict
        name = sorted(problems)[0]
        line = columns[fields[name]]
        raise ImportRefused(
            f"{where}, line {line}: column {fields[name]!r} -> {name}: {problems[name][0]}",
            line=line,
            field=fields[name],
        ) from None
    return [FieldMapping.from_model(m) for m in approved.values()]


# --- the service -----------------------------------------------------------------------


@dataclass(slots=True)
class _Prepared:
    line: int
    key: str
    raw: dict[str, str]
    normalized: dict[str, str]
    digest: str


def _quarantine(run: ImportRun, row: RawRow, field: str, reason: str) -> QuarantinedRow:
    return QuarantinedRow(
        import_run=run, row_number=row.line, field=field[:120], reason=reason, raw=row.values
    )


def _write_batch(
    *,
    run: ImportRun,
    rows: list[RawRow],
    mappings: list[FieldMapping],
    key_column: str,
    actor: Actor,
    reason: str,
) -> list[int]:
    """Write one batch in one transaction; returns the ids of new or changed records."""
    column_of = {m.canonical_name: m.source_field for m in mappings}
    governed = {m.source_field for m in mappings}
    prepared: dict[str, _Prepared] = {}
    quarantined: list[QuarantinedRow] = []
    for row in rows:
        key = (row.values.get(key_column) or "").strip()
        if not key:
            quarantined.append(_quarantine(run, row, key_column, "the source key is empty"))
            continue
        if len(key) > 100:
            quarantined.append(_quarantine(run, row, key_column, "the source key is too long"))
            continue
        raw = {c: v for c, v in row.values.items() if c in governed and v.strip()}
        try:
            canonical = apply_mappings(raw, mappings)
        except MappingError as error:
            quarantined.append(_quarantine(run, row, error.source_field, error.problem))
            continue
        normalized, problems = validate_canonical(canonical)
        if problems:
            name = sorted(problems)[0]
            quarantined.append(_quarantine(run, row, column_of.get(name, name), problems[name]))
            continue
        # A key repeated in one file: the later row wins, as it would in two imports.
        prepared[key] = _Prepared(row.line, key, raw, normalized, payload_hash(raw))

    now = timezone.now()
    existing = {
        r.source_key: r
        for r in SourceRecord.objects.filter(
            source_system=run.source_system,
            source_key__in=values_subquery(prepared, sql_type="text"),
        )
    }
    # New records stay {attname: value} rows, written by COPY on PostgreSQL without
    # model instances: every value was checked above (the key's presence and
    # length, the canonical values; the hash is a SHA-256), the database checks
    # the constraints, and building and cleaning 500 instances per batch cost
    # more than writing them.
    new: list[dict[str, Any]] = []
    changed: list[SourceRecord] = []
    for item in prepared.values():
        record = existing.get(item.key)
        if record is None:
            new.append(
                {
                    "source_system_id": run.source_system_id,
                    "source_key": item.key,
                    "raw": item.raw,
                    "normalized": item.normalized,
                    "payload_hash": item.digest,
                    "received_at": now,
                    "import_run_id": run.pk,
                }
            )
            continue
        if record.payload_hash == item.digest:
            continue
        record.raw = item.raw
        record.normalized = item.normalized
        record.payload_hash = item.digest
        record.received_at = now
        record.import_run = run
        record.resolved_at = None
        record.full_clean(
            exclude=["source_system", "customer", "import_run"],
            validate_unique=False,
            validate_constraints=False,
        )
        changed.append(record)
    why = change_reason(actor, reason)
    new_ids = insert_values_with_history(SourceRecord, new, user=actor.user, reason=why)
    if changed:
        model_bulk_update(
            changed,
            fields=[
                "raw",
                "normalized",
                "payload_hash",
                "received_at",
                "import_run",
                "resolved_at",
            ],
            actor=actor,
            reason=reason,
        )
    if quarantined:
        QuarantinedRow.objects.bulk_create(quarantined)
    ImportRun.objects.filter(pk=run.pk).update(
        rows_total=F("rows_total") + len(rows),
        rows_created=F("rows_created") + len(new),
        rows_updated=F("rows_updated") + len(changed),
        rows_unchanged=F("rows_unchanged") + len(prepared) - len(new) - len(changed),
        rows_quarantined=F("rows_quarantined") + len(quarantined),
    )
    ids = new_ids + [r.pk for r in changed]
    if ids:
        from ..tasks import source_records_match

        on_commit_delay(source_records_match, record_ids=ids)
    return ids


def source_records_import(
    *,
    source_system: SourceSystem,
    columns: Mapping[str, int],
    rows: Iterable[RawRow],
    file_name: str,
    file_format: str,
    actor: Actor,
    reason: str,
    on_progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportRun:
    """Import rows of one source system; returns the finished ``ImportRun``.

    ``columns`` are every column the rows carry, with the first line each
    appears on (a file's first pass finds them): all are checked before the
    first write, so an ungoverned column refuses the input with
    ``ImportRefused`` and nothing written. Rows are written in batches of
    ``batch_size``, each in its own transaction, and each batch's new and
    changed records are queued for matching after its commit; a row
    carrying a column not in ``columns`` refuses the rest.
    """
    if not source_system.is_active:
        raise ImportRefused(f"{file_name}: source system {source_system.code} is not active")
    column_set = set(columns)
    key_column = key_column_of(source_system)
    if key_column not in column_set:
        raise ImportRefused(
            f"{file_name}, line 1: the key column {key_column!r} is missing",
            line=1,
            field=key_column,
        )
    mappings = governed_mappings(source_system=source_system, columns=columns, where=file_name)
    run = ImportRun(
        source_system=source_system,
        file_name=file_name[:500],
        file_format=file_format,
        actor=actor.user,
        actor_label=actor.label,
    )
    run.full_clean(exclude=["source_system", "actor"])
    run.save()
    batch: list[RawRow] = []

    def flush() -> None:
        with transaction.atomic():
            _write_batch(
                run=run,
                rows=batch,
                mappings=mappings,
                key_column=key_column,
                actor=actor,
                reason=reason,
            )
        if on_progress is not None:
            on_progress(len(batch))
        batch.clear()

    for row in rows:
        extra = set(row.values) - column_set
        if extra:
            raise ImportRefused(
                f"{file_name}, line {row.line}: column {sorted(extra)[0]!r} was not declared",
                line=row.line,
                field=sorted(extra)[0],
            )
        batch.append(row)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    with transaction.atomic():
        run.refresh_from_db()
        run.status = ImportStatus.DONE
        run.finished_at = timezone.now()
        run.message = (
            f"{run.rows_total} rows: {run.rows_created} created, {run.rows_updated} updated, "
            f"{run.rows_unchanged} unchanged, {run.rows_quarantined} quarantined."
        )
        run.save()
        audit_event_record(
            event_type=AuditEventType.RECORDS_IMPORTED,
            actor=actor,
            subject=run,
            reason=reason,
            new={
                "source_system": source_system.code,
                "file": file_name,
                "total": run.rows_total,
                "created": run.rows_created,
                "updated": run.rows_updated,
                "unchanged": run.rows_unchanged,
                "quarantined": run.rows_quarantined,
            },
        )
    return run


def source_records_import_file(
    *,
    path: Path,
    system_code: str,
    actor: Actor,
    reason: str,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportRun:
    """Import a CSV or JSON Lines file: two passes, the first refusing a bad file
    before anything is written."""
    system = SourceSystem.objects.filter(code=system_code).first()
    if system is None:
        raise ImportRefused(f"{path}: unknown source system {system_code!r}")
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    file_format = file_format_of(path)
    declared = SourceFormat.objects.filter(source_system=system).first()
    encoding = declared.encoding if declared else "utf-8"
    delimiter = declared.delimiter if declared else ","
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportRefused(f"{path}: unknown encoding {encoding!r} declared") from None
    columns, count = scan_file(
        path, file_format=file_format, encoding=encoding, delimiter=delimiter
    )
    if count == 0:
        raise ImportRefused(f"{path}: no rows to import")
    if on_start is not None:
        on_start(count)
    return source_records_import(
        source_system=system,
        columns=columns,
        rows=read_rows(path, file_format=file_format, encoding=encoding, delimiter=delimiter),
        file_name=str(path),
        file_format=file_format,
        actor=actor,
        reason=reason,
        on_progress=on_progress,
    )
