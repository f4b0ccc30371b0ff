"""Install the baseline governed vocabulary (see governance/vocabulary.py)."""

from django.db import migrations
from django.utils import timezone

from governance import vocabulary


REASON = "Baseline vocabulary of the governance charter [command: migration]"


def record_history(apps, app_label, model_name, instance, now):
    """Historical models in migrations send no signals: write the history row here."""
    Historical = apps.get_model(app_label, f"Historical{model_name}")
    values = {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}
    Historical.objects.create(
        **values,
        history_date=now,
        history_type="+",
        history_change_reason=REASON,
    )


def install(apps, schema_editor):
    Silo = apps.get_model("governance", "Silo")
    FieldDefinition = apps.get_model("governance", "FieldDefinition")
    Purpose = apps.get_model("consent", "Purpose")
    Channel = apps.get_model("consent", "Channel")

    now = timezone.now()
    for code, name, description, basis, requires in vocabulary.PURPOSES:
        purpose, created = Purpose.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "legal_basis": basis,
                "requires_consent": requires,
            },
        )
        if created:
            record_history(apps, "consent", "Purpose", purpose, now)
    for code, name, outbound in vocabulary.CHANNELS:
        channel, created = Channel.objects.get_or_create(
            code=code, defaults={"name": name, "is_outbound": outbound}
        )
        if created:
            record_history(apps, "consent", "Channel", channel, now)

    silo, created = Silo.objects.get_or_create(
        code=vocabulary.CHARTER_SILO["code"], defaults=vocabulary.CHARTER_SILO
    )
    if created:
        record_history(apps, "governance", "Silo", silo, now)
    purposes = {p.code: p for p in Purpose.objects.all()}
    for name, label, dtype, sensitivity, rule, retention, description in vocabulary.FIELDS:
        definition, created = FieldDefinition.objects.get_or_create(
            canonical_name=name,
            version=1,
            defaults={
                "label": label,
                "description": description,
                "data_type": dtype,
                "sensitivity": sensitivity,
                "survivorship_rule": rule,
                "retention_days": retention,
                "owning_silo": silo,
                "status": "approved",
                "approved_at": now,
            },
        )
        if created:
            record_history(apps, "governance", "FieldDefinition", definition, now)
            codes = vocabulary.FIELD_PURPOSES.get(name, vocabulary.DEFAULT_FIELD_PURPOSES)
            definition.purposes.set([purposes[c] for c in codes])


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0001_initial"),
        ("consent", "0002_initial"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
