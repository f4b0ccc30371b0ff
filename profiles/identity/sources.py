"""Declaring a source system and its column mappings in a TOML file.

A declaration looks like this (every key but ``description``, ``trust_rank``,
``encoding``, ``delimiter``, ``transform`` and ``args`` is required)::

    [system]
    code = "crm"                 # slug, unique
    name = "CRM"
    silo = "marketing"           # code of an existing silo
    key_label = "Customer no."   # what the silo calls its key
    key_column = "customer_id"   # the column holding the source key
    trust_rank = 20              # 1 = most trusted (survivorship)
    encoding = "utf-8"
    delimiter = ","

    [[mappings]]
    column = "first_name"
    field = "given_name"         # an approved canonical field
    transform = "title"          # see profiles.mapping for the documented set
    args = { particles = ["van", "de"] }

``source_declaration_load`` creates or updates the source system and proposes
each mapping to the governance committee (status proposed); with
``approver`` given, it also approves them, which the governance workflow
audits (``mapping.approved``) and refuses without the right to decide.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from customer360.choices import AuditEventType
from customer360.services import Actor, audit_event_record, model_save
from governance.choices import GovernanceStatus, Transform
from governance.models import FieldDefinition, Silo, SourceFieldMapping, SourceSystem

from ..models import SourceFormat


class DeclarationError(ValueError):
    """A declaration file that cannot be loaded; the message names file and item."""


@dataclass(frozen=True, slots=True)
class MappingDeclaration:
    column: str
    field: str
    transform: str = Transform.NONE
    args: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceDeclaration:
    code: str
    name: str
    silo: str
    key_label: str
    key_column: str
    trust_rank: int = 50
    description: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    mappings: tuple[MappingDeclaration, ...] = ()


def _required(table: dict[str, Any], key: str, where: str) -> Any:
    value = table.get(key)
    if value in (None, ""):
        raise DeclarationError(f"{where}: '{key}' is required")
    return value


def source_declaration_parse(path: Path) -> SourceDeclaration:
    """Read and check a declaration file; ``DeclarationError`` names what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeclarationError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise DeclarationError(f"{path}: not UTF-8 text ({error.reason})") from None
    except tomllib.TOMLDecodeError as error:
        raise DeclarationError(f"{path}: not valid TOML: {error}") from None
    system = data.get("system")
    if not isinstance(system, dict):
        raise DeclarationError(f"{path}: a [system] table is required")
    where = f"{path} [system]"
    mappings: list[MappingDeclaration] = []
    seen: set[str] = set()
    for index, item in enumerate(data.get("mappings", []), start=1):
        item_where = f"{path} [[mappings]] #{index}"
        if not isinstance(item, dict):
            raise DeclarationError(f"{item_where}: must be a table")
        column = str(_required(item, "column", item_where))
        if column in seen:
            raise DeclarationError(f"{item_where}: column {column!r} is mapped twice")
        seen.add(column)
        transform = str(item.get("transform", Transform.NONE))
        if transform not in Transform.values:
            raise DeclarationError(
                f"{item_where} ({column}): unknown transform {transform!r}; "
                f"use one of {', '.join(Transform.values)}"
            )
        args = item.get("args", {})
        if not isinstance(args, dict):
            raise DeclarationError(f"{item_where} ({column}): 'args' must be a table")
        mappings.append(
            MappingDeclaration(
                column=column,
                field=str(_required(item, "field", item_where)),
                transform=transform,
                args=args,
            )
        )
    if not mappings:
        raise DeclarationError(f"{path}: at least one [[mappings]] entry is required")
    trust_rank = system.get("trust_rank", 50)
    if not isinstance(trust_rank, int) or not 1 <= trust_rank <= 100:
        raise DeclarationError(f"{where}: 'trust_rank' must be an integer from 1 to 100")
    return SourceDeclaration(
        code=str(_required(system, "code", where)),
        name=str(_required(system, "name", where)),
        silo=str(_required(system, "silo", where)),
        key_label=str(_required(system, "key_label", where)),
        key_column=str(_required(system, "key_column", where)),
        trust_rank=trust_rank,
        description=str(system.get("description", "")),
        encoding=str(system.get("encoding", "utf-8")),
        delimiter=str(system.get("delimiter", ",")),
        mappings=tuple(mappings),
    )


@dataclass(slots=True)
class LoadResult:
    source_system: SourceSystem
    created: bool
    proposed: list[SourceFieldMapping] = dataclasses.field(default_factory=list)
    unchanged: list[SourceFieldMapping] = dataclasses.field(default_factory=list)
    approved: list[SourceFieldMapping] = dataclasses.field(default_factory=list)


def _same(
    mapping: SourceFieldMapping, item: MappingDeclaration, definition: FieldDefinition
) -> bool:
    return (
        mapping.field_definition.canonical_name == definition.canonical_name
        and mapping.transform == item.transform
        and (mapping.transform_args or {}) == item.args
    )


@transaction.atomic
def source_declaration_load(
    *,
    declaration: SourceDeclaration,
    actor: Actor,
    reason: str,
    approver: Actor | None = None,
) -> LoadResult:
    """Create or update a source system and propose its mappings to the committee.

    Each mapping becomes a proposed ``SourceFieldMapping`` version through the
    governance workflow (a mapping identical to the version in force is left
    alone). With ``approver``, every proposal is approved in the same
    transaction by that actor, which the workflow checks and audits. Refused
    with a ``ValidationError`` naming the silo, field or column at fault;
    nothing is written then.
    """
    from governance.services import governed_approve, governed_create, governed_propose

    silo = Silo.objects.filter(code=declaration.silo).first()
    if silo is None:
        raise ValidationError({"silo": f"Unknown silo {declaration.silo!r}."})
    definitions = {
        d.canonical_name: d
        for d in FieldDefinition.objects.filter(
            canonical_name__in=[m.field for m in declaration.mappings],
            status=GovernanceStatus.APPROVED,
        )
    }
    unknown = {
        m.column: f"{m.column} maps to {m.field!r}, which is not an approved canonical field."
        for m in declaration.mappings
        if m.field not in definitions
    }
    if unknown:
        raise ValidationError(unknown)

    system = SourceSystem.objects.select_for_update().filter(code=declaration.code).first()
    created = system is None
    attributes = {
        "silo": silo,
        "name": declaration.name,
        "key_label": declaration.key_label,
        "trust_rank": declaration.trust_rank,
        "description": declaration.description,
    }
    if system is None:
        system = SourceSystem(code=declaration.code, **attributes)
        model_save(system, actor=actor, reason=reason)
    elif any(getattr(system, name) != value for name, value in attributes.items()):
        for name, value in attributes.items():
            setattr(system, name, value)
        model_save(system, actor=actor, reason=reason)
    file_format = SourceFormat.objects.filter(source_system=system).first() or SourceFormat(
        source_system=system
    )
    format_values = {
        "key_column": declaration.key_column,
        "encoding": declaration.encoding,
        "delimiter": declaration.delimiter,
    }
    if file_format.pk is None or any(
        getattr(file_format, k) != v for k, v in format_values.items()
    ):
        for name, value in format_values.items():
            setattr(file_format, name, value)
        model_save(file_format, actor=actor, reason=reason)

    result = LoadResult(source_system=system, created=created)
    for item in declaration.mappings:
        definition = definitions[item.field]
        versions = list(
            SourceFieldMapping.objects.filter(source_system=system, source_field=item.column)
            .select_related("field_definition")
            .order_by("-version")
        )
        in_force = next((v for v in versions if v.status == GovernanceStatus.APPROVED), None)
        open_version = next(
            (
                v
                for v in versions
                if v.status in (GovernanceStatus.DRAFT, GovernanceStatus.PROPOSED)
            ),
            None,
        )
        changes: dict[str, object] = {
            "field_definition": definition,
            "transform": item.transform,
            "transform_args": item.args,
        }
        if in_force is not None and _same(in_force, item, definition) and open_version is None:
            result.unchanged.append(in_force)
            continue
        if open_version is not None:
            proposal = governed_propose(
                item=open_version, actor=actor, reason=reason, changes=changes
            )
        elif in_force is not None:
            proposal = governed_propose(item=in_force, actor=actor, reason=reason, changes=changes)
        elif versions:
            # Only rejected or deprecated versions: propose a change to the newest.
            proposal = governed_propose(
                item=versions[0], actor=actor, reason=reason, changes=changes
            )
        else:
            draft = governed_create(
                item=SourceFieldMapping(
                    source_system=system,
                    source_field=item.column,
                    field_definition=definition,
                    transform=item.transform,
                    transform_args=item.args,
                ),
                actor=actor,
                reason=reason,
            )
            proposal = governed_propose(item=draft, actor=actor, reason=reason, changes={})
        result.proposed.append(proposal)
    if approver is not None:
        for proposal in result.proposed:
            result.approved.append(
                governed_approve(
                    item=proposal, actor=approver, reason=f"Approved on load: {reason}"
                )
            )
    audit_event_record(
        event_type=AuditEventType.SOURCE_DECLARED,
        actor=approver or actor,
        subject=system,
        reason=reason,
        new={
            "created": created,
            "proposed": [m.source_field for m in result.proposed],
            "unchanged": [m.source_field for m in result.unchanged],
            "approved": [m.source_field for m in result.approved],
            "key_column": declaration.key_column,
        },
    )
    return result
