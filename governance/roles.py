"""Role groups and the model permissions each role holds.

Roles are Django groups so that the admin, screens and API check one thing.
Object-level rights (a silo's stewards on that silo's drafts, a privacy
officer on an assigned decision) are granted with django-guardian by the
services that create those objects. The model-wide ``change`` right on a
governed model is the right to record the committee's approval, rejection or
deprecation of its versions: the chair's.
"""

from __future__ import annotations

from .choices import CommitteeRole


def _crud(app_model: str, *actions: str) -> list[str]:
    app, model = app_model.split(".")
    return [f"{app}.{action}_{model}" for action in actions]


_READ_CUSTOMER = [
    *_crud("profiles.customer", "view"),
    *_crud("profiles.household", "view"),
    *_crud("profiles.householdmembership", "view"),
    *_crud("profiles.relationship", "view"),
    *_crud("profiles.interaction", "view"),
    *_crud("profiles.holding", "view"),
    *_crud("profiles.case", "view"),
    *_crud("profiles.flag", "view"),
    *_crud("profiles.outboundaction", "view"),
    *_crud("consent.consentrecord", "view"),
    *_crud("consent.purpose", "view"),
    *_crud("consent.channel", "view"),
]
_READ_GOVERNANCE = [
    *_crud("governance.silo", "view"),
    *_crud("governance.sourcesystem", "view"),
    *_crud("governance.fielddefinition", "view"),
    *_crud("governance.sourcefieldmapping", "view"),
    *_crud("governance.datacollectiondecision", "view"),
    *_crud("governance.vote", "view"),
    *_crud("governance.lens", "view"),
    *_crud("governance.lifecycledefinition", "view"),
    *_crud("governance.contactrule", "view"),
    *_crud("governance.committeemember", "view"),
    *_crud("governance.quorumrule", "view"),
    *_crud("governance.matchingconfiguration", "view"),
    *_crud("governance.priorityinteraction", "view"),
    # insights (issue 8): next-best-action rules and the committee's conflict report.
    *_crud("governance.nbarule", "view"),
    *_crud("profiles.contactconflictreport", "view"),
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    CommitteeRole.AGENT: [
        *_READ_CUSTOMER,
        *_crud("profiles.interaction", "add"),
        *_crud("profiles.case", "add", "change"),
        *_crud("consent.consentrecord", "add"),
    ],
    CommitteeRole.DATA_STEWARD: [
        *_READ_CUSTOMER,
        *_crud("profiles.customer", "change"),
        *_crud("profiles.sourcerecord", "view"),
        *_READ_GOVERNANCE,
        # Adding drafts and proposing new versions; changing a draft needs the
        # object permission a silo's stewards get on that silo's drafts.
        *_crud("governance.fielddefinition", "add"),
        *_crud("governance.sourcefieldmapping", "add"),
        # Identity resolution: the review queue and what merges and imports did.
        *_crud("profiles.matchcandidate", "view", "change"),
        *_crud("profiles.mergeevent", "view"),
        *_crud("profiles.notamatch", "view"),
        *_crud("profiles.importrun", "view"),
        *_crud("profiles.quarantinedrow", "view"),
    ],
    CommitteeRole.PRIVACY_OFFICER: [
        *_READ_CUSTOMER,
        *_crud("profiles.sourcerecord", "view"),
        *_READ_GOVERNANCE,
        *_crud("governance.vote", "add"),
        *_crud("consent.datasubjectrequest", "view", "add", "change"),
        *_crud("consent.privacynotice", "view", "add", "change"),
        *_crud("consent.datasubjectexport", "view"),
        *_crud("consent.processingrestriction", "view"),
        *_crud("consent.privacycheckrun", "view"),
        *_crud("consent.privacyfinding", "view"),
        *_crud("consent.retentionrun", "view"),
        *_crud("customer360.auditevent", "view"),
        # Every partner read of personal data, searchable (issue 7).
        *_crud("customer360.accesslog", "view"),
        *_crud("customer360.outboxevent", "view"),
    ],
    CommitteeRole.MEMBER: [
        *_READ_GOVERNANCE,
        *_crud("governance.fielddefinition", "add"),
        *_crud("governance.datacollectiondecision", "add"),
        *_crud("governance.vote", "add"),
    ],
    CommitteeRole.CHAIR: [
        *_READ_GOVERNANCE,
        *_crud("governance.fielddefinition", "add", "change"),
        *_crud("governance.datacollectiondecision", "add", "change"),
        *_crud("governance.vote", "add"),
        *_crud("governance.lens", "add", "change"),
        *_crud("governance.lifecycledefinition", "add", "change"),
        *_crud("governance.contactrule", "add", "change"),
        *_crud("governance.sourcefieldmapping", "add", "change"),
        *_crud("governance.quorumrule", "add", "change"),
        *_crud("governance.matchingconfiguration", "add", "change"),
        *_crud("governance.priorityinteraction", "add", "change"),
        *_crud("governance.nbarule", "add", "change"),
        *_crud("customer360.auditevent", "view"),
    ],
}


def group_name(role: str) -> str:
    """The Django group of a role: its display label, e.g. 'Data steward'."""
    return CommitteeRole(role).label
