# Identity resolution accuracy (issue 3): the configured match model of this
# version reaches databases that stored an earlier one.
#
# ``match_model_current`` stores the documented defaults as version 1 the
# first time it is asked, so a database that matched before keeps the old
# defaults (separate street-line and postcode fields, a weak given-name
# disagreement, no household correction) for good. This adds them as the
# next version, method "configured", where the model in force is a
# configured one (a trained model stays in force); a database
# with none gets them as version 1 on first use. The parameters are frozen
# here as they are in ``profiles.identity.scoring.DEFAULT_PARAMS`` today (a
# test compares the two: changing the defaults again wants a migration too).

from django.db import migrations

NOTES = (
    "Documented defaults of the accuracy work (issue 3): street line and postcode as one "
    "address comparison, household correction, given-name initial and date-of-birth year "
    "levels, a strong given-name disagreement."
)
PARAMS = {
    "prior": 0.05,
    "fields": {
        "given_name": {"m": [0.9, 0.07, 0.028, 0.002], "u": [0.02, 0.02, 0.005, 0.955]},
        "family_name": {"m": [0.88, 0.09, 0.03], "u": [0.01, 0.02, 0.97]},
        "date_of_birth": {"m": [0.88, 0.07, 0.02, 0.03], "u": [0.003, 0.015, 0.012, 0.97]},
        "email": {"m": [0.72, 0.13, 0.15], "u": [0.0005, 0.002, 0.9975]},
        "phone": {"m": [0.72, 0.1, 0.18], "u": [0.0005, 0.002, 0.9975]},
        "address": {
            "m": [0.72, 0.08, 0.04, 0.01, 0.15],
            "u": [0.0005, 0.0005, 0.003, 0.02, 0.976],
        },
        "national_id": {"m": [0.96, 0.02, 0.02], "u": [0.0001, 0.0005, 0.9994]},
    },
    "at_same_address": {"family_name": 0.5, "date_of_birth": 0.01},
}


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    match_model = apps.get_model("profiles", "MatchModel")
    latest = match_model.objects.order_by("-version").first()
    # A trained model in force stays in force (retrain to use the new levels).
    if latest is None or latest.method != "configured" or latest.params == PARAMS:
        return
    match_model.objects.create(
        version=latest.version + 1, method="configured", params=PARAMS, notes=NOTES
    )


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("profiles", "MatchModel").objects.filter(notes=NOTES).delete()


class Migration(migrations.Migration):
    dependencies = [("profiles", "0006_identity_bulk")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
