"""Role groups and the model permissions each role holds.

Roles are Django groups so that the admin, screens and API check one thing.
Object-level rights (a silo's stewards on that silo's drafts, a privacy
officer on an assigned request) are granted with django-guardian by the
services that create those objects.
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
        *_crud("governance.fielddefinition", "add", "change"),
        *_crud("governance.sourcefieldmapping", "add", "change"),
    ],
    CommitteeRole.PRIVACY_OFFICER: [
        *_READ_CUSTOMER,
        *_crud("profiles.sourcerecord", "view"),
        *_READ_GOVERNANCE,
        *_crud("governance.vote", "add"),
        *_crud("consent.datasubjectrequest", "view", "add", "change"),
        *_crud("consent.privacynotice", "view", "add", "change"),
        *_crud("customer360.auditevent", "view"),
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
        *_crud("customer360.auditevent", "view"),
    ],
}


def group_name(role: str) -> str:
    """The Django group of a role: its display label, e.g. 'Data steward'."""
    return CommitteeRole(role).label
