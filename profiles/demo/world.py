"""The governance world and the demo accounts.

Silos and their source systems, an approved mapping for every column they
send, the committee's approved collection decisions with votes, lenses,
lifecycle definitions, contact rules, privacy notices, one user per role and
the demo partner API client. Few rows, so each one goes through
``model_save`` and gets its own history row with actor and reason.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from oauth2_provider.models import Application

from consent.models import Channel, PrivacyNotice, Purpose
from customer360.choices import ActorChannel
from customer360.services import Actor, model_save
from governance.choices import (
    CardSection,
    CommitteeRole,
    ContactRuleKind,
    DecisionKind,
    DecisionStatus,
    GovernanceStatus,
    LifecycleKind,
    VoteChoice,
)
from governance.models import (
    CommitteeMember,
    ContactRule,
    DataCollectionDecision,
    FieldDefinition,
    Lens,
    LifecycleDefinition,
    NbaRule,
    Silo,
    SourceFieldMapping,
    SourceSystem,
    Vote,
)
from governance.services import roles_sync
from governance.vocabulary import CHARTER_SILO
from profiles.choices import ActionKind, FlagKind, LineOfBusiness
from profiles.mapping import FieldMapping

from .silos import SILOS

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the demo, on purpose
PARTNER_CLIENT_ID = "demo-partner-claims"
PARTNER_NAME = "Demo partner (claims)"
EMAIL_DOMAIN = "demo.customer360.example"


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: str
    where: str


@dataclass(slots=True)
class World:
    """What the batches need from the governance world, loaded once."""

    actor: Actor
    admin: User
    users: dict[str, User]
    accounts: list[Account]
    silos: dict[str, Silo]
    systems: dict[str, SourceSystem]  # by silo code
    mappings: dict[str, list[FieldMapping]]  # by silo code
    survivorship: dict[str, str]  # canonical name -> rule
    channels: dict[str, Channel]
    purposes: dict[str, Purpose]
    notices: list[PrivacyNotice]
    partner: Application
    partner_secret: str


def _user(username: str, password_hash: str, **extra: object) -> User:
    user = User(
        username=username,
        email=f"{username}@{EMAIL_DOMAIN}",
        password=password_hash,
        **extra,
    )
    user.full_clean()
    user.save()
    return user


def accounts_create(
    *, groups: dict[str, Group], silo_codes: list[str]
) -> tuple[dict[str, User], list[Account]]:
    """One user per role and one committee member per silo, all with the demo password.

    The password is hashed once and shared: hashing it a dozen times would
    cost seconds for nothing.
    """
    password_hash = make_password(DEMO_PASSWORD)
    screens, admin_site = "screens (/)", "admin (/admin/)"
    users = {
        "admin": _user(
            "admin", password_hash, is_staff=True, is_superuser=True,
            first_name="Demo", last_name="Administrator",
        ),
        "agent": _user("agent", password_hash, first_name="Demo", last_name="Agent"),
        "steward": _user(
            "steward", password_hash, is_staff=True, first_name="Demo", last_name="Steward"
        ),
        "privacy": _user(
            "privacy", password_hash, is_staff=True, first_name="Demo", last_name="Privacy"
        ),
        "chair": _user("chair", password_hash, is_staff=True, first_name="Demo", last_name="Chair"),
    }  # fmt: skip
    users["agent"].groups.add(groups[CommitteeRole.AGENT])
    users["steward"].groups.add(groups[CommitteeRole.DATA_STEWARD])
    users["privacy"].groups.add(groups[CommitteeRole.PRIVACY_OFFICER])
    users["chair"].groups.add(groups[CommitteeRole.CHAIR])
    accounts = [
        Account("admin", "administrator (superuser)", f"{admin_site}, {screens}"),
        Account("agent", "call-center agent", screens),
        Account("steward", "data steward", f"{screens}, {admin_site}"),
        Account("privacy", "privacy officer", f"{admin_site}, {screens}"),
        Account("chair", "committee chair", admin_site),
    ]
    for code in silo_codes:
        name = f"member-{code}"
        users[name] = _user(name, password_hash, is_staff=True, first_name="Member", last_name=code)
        users[name].groups.add(groups[CommitteeRole.MEMBER])
        accounts.append(Account(name, f"committee member for {code}", admin_site))
    return users, accounts


def world_build(*, now: datetime.datetime, reason: str) -> World:
    """Create the governance world; call inside a transaction on an empty database."""
    groups = roles_sync()
    cdo = Silo.objects.get(code=CHARTER_SILO["code"])
    silo_codes = [cdo.code, *(spec.code for spec in SILOS)]
    users, accounts = accounts_create(groups=groups, silo_codes=silo_codes)
    admin, chair, privacy = users["admin"], users["chair"], users["privacy"]
    actor = Actor(user=admin, channel=ActorChannel.COMMAND, label="seed_demo")
    founded = now - datetime.timedelta(days=3 * 365 + 30)

    silos = {cdo.code: cdo}
    systems: dict[str, SourceSystem] = {}
    for spec in SILOS:
        silos[spec.code] = model_save(
            Silo(code=spec.code, name=spec.name, description=spec.description),
            actor=actor, reason=reason,
        )  # fmt: skip
        systems[spec.code] = model_save(
            SourceSystem(
                silo=silos[spec.code],
                code=spec.system_code,
                name=spec.system_name,
                key_label=spec.key_label,
                trust_rank=spec.trust_rank,
                description=f"{spec.name}'s system of record.",
            ),
            actor=actor,
            reason=reason,
        )

    # The committee: one member per silo, steward, privacy officer, chair, agent.
    memberships = [
        (users["agent"], silos["service"], CommitteeRole.AGENT),
        (users["steward"], cdo, CommitteeRole.DATA_STEWARD),
        (privacy, None, CommitteeRole.PRIVACY_OFFICER),
        (chair, None, CommitteeRole.CHAIR),
        *((users[f"member-{code}"], silos[code], CommitteeRole.MEMBER) for code in silo_codes),
    ]
    for user, silo, role in memberships:
        model_save(
            CommitteeMember(user=user, silo=silo, role=role, active_from=founded.date()),
            actor=actor, reason=reason,
        )  # fmt: skip

    definitions = {
        d.canonical_name: d
        for d in FieldDefinition.objects.filter(status=GovernanceStatus.APPROVED).prefetch_related(
            "purposes"
        )
    }
    mappings: dict[str, list[FieldMapping]] = {}
    for spec in SILOS:
        mappings[spec.code] = []
        for column in spec.columns:
            mapping = model_save(
                SourceFieldMapping(
                    source_system=systems[spec.code],
                    source_field=column.name,
                    field_definition=definitions[column.canonical],
                    transform=column.transform,
                    transform_args=column.args,
                    version=1,
                    status=GovernanceStatus.APPROVED,
                    proposed_by=users[f"member-{spec.code}"],
                    approved_by=chair,
                    approved_at=founded + datetime.timedelta(days=30),
                ),
                actor=actor,
                reason=reason,
            )
            mappings[spec.code].append(FieldMapping.from_model(mapping))

    _decisions_create(
        actor=actor, reason=reason, users=users, silos=silos, systems=systems,
        definitions=definitions, founded=founded, now=now,
    )  # fmt: skip

    channels = {c.code: c for c in Channel.objects.all()}
    purposes = {p.code: p for p in Purpose.objects.all()}
    notices = _notices_create(actor=actor, reason=reason, purposes=purposes, founded=founded)
    partner, secret = _partner_create(admin=admin)
    _lenses_create(
        actor=actor, reason=reason, definitions=definitions, purposes=purposes, groups=groups,
        partner=partner, approver=chair, approved_at=founded + datetime.timedelta(days=45),
    )  # fmt: skip
    _rules_create(
        actor=actor, reason=reason, channels=channels, approver=chair,
        approved_at=founded + datetime.timedelta(days=45),
    )  # fmt: skip
    return World(
        actor=actor,
        admin=admin,
        users=users,
        accounts=accounts,
        silos=silos,
        systems=systems,
        mappings=mappings,
        survivorship={name: d.survivorship_rule for name, d in definitions.items()},
        channels=channels,
        purposes=purposes,
        notices=notices,
        partner=partner,
        partner_secret=secret,
    )


def _decisions_create(
    *,
    actor: Actor,
    reason: str,
    users: dict[str, User],
    silos: dict[str, Silo],
    systems: dict[str, SourceSystem],
    definitions: dict[str, FieldDefinition],
    founded: datetime.datetime,
    now: datetime.datetime,
) -> None:
    """Approved decisions to collect every mapped field and open every source,
    each with the committee's votes; one channel decision still in voting."""
    used = sorted({c.canonical for spec in SILOS for c in spec.columns})
    privacy = users["privacy"]
    voters = [(users[f"member-{code}"], silo) for code, silo in silos.items()]

    def decide(decision: DataCollectionDecision, purposes: list, sensitive: bool) -> None:
        model_save(decision, actor=actor, reason=reason)
        decision.purposes.set(purposes)
        for user, silo in voters:
            choice = VoteChoice.APPROVE
            comment = ""
            if sensitive and silo.code in ("marketing", "webshop"):
                choice, comment = VoteChoice.ABSTAIN, "Not needed for our purposes."
            model_save(
                Vote(decision=decision, member=user, silo=silo, choice=choice, comment=comment),
                actor=actor, reason=reason,
            )  # fmt: skip
        if decision.status != DecisionStatus.VOTING:
            model_save(
                Vote(
                    decision=decision, member=privacy, silo=None, choice=VoteChoice.APPROVE,
                    comment="Purposes are limited and the legal basis is recorded.",
                ),
                actor=actor, reason=reason,
            )  # fmt: skip

    for n, name in enumerate(used):
        definition = definitions[name]
        sensitive = definition.sensitivity == "special"
        opened = founded + datetime.timedelta(days=n)
        decide(
            DataCollectionDecision(
                kind=DecisionKind.COLLECT_FIELD,
                title=f"Collect {definition.label.lower()}",
                field_definition=definition,
                rationale=f"Needed to recognise customers across silos: {definition.description}",
                business_value=5 if name in ("family_name", "email", "phone") else 4,
                actionability=3 if sensitive else 4,
                cost=2,
                privacy_risk=5 if sensitive else 2,
                privacy_impact_note="Stored encrypted, shown to no lens." if sensitive else "",
                proposed_by=users["member-cdo"],
                proposing_silo=silos["cdo"],
                privacy_officer=privacy,
                status=DecisionStatus.APPROVED,
                voting_deadline=opened + datetime.timedelta(days=14),
                decided_at=opened + datetime.timedelta(days=15),
                decision_reason="Approved by the committee.",
            ),
            list(definition.purposes.all()),
            sensitive,
        )
    for n, (code, system) in enumerate(systems.items()):
        opened = founded + datetime.timedelta(days=20 + n)
        decide(
            DataCollectionDecision(
                kind=DecisionKind.OPEN_SOURCE,
                title=f"Connect {system.name}",
                source_system=system,
                rationale=f"{silos[code].name} holds customers no other silo knows.",
                business_value=4, actionability=4, cost=3, privacy_risk=2,
                proposed_by=users[f"member-{code}"], proposing_silo=silos[code],
                privacy_officer=privacy, status=DecisionStatus.APPROVED,
                voting_deadline=opened + datetime.timedelta(days=14),
                decided_at=opened + datetime.timedelta(days=15),
                decision_reason="Approved by the committee.",
            ),
            [],
            False,
        )  # fmt: skip
    decide(
        DataCollectionDecision(
            kind=DecisionKind.OPEN_CHANNEL,
            title="Open the partner channel for claims handlers",
            channel=Channel.objects.get(code="partner"),
            rationale="Claims partners ask customers the same questions we already answered.",
            business_value=4, actionability=5, cost=3, privacy_risk=4,
            proposed_by=users["member-risk"], proposing_silo=silos["risk"],
            privacy_officer=privacy, status=DecisionStatus.VOTING,
            voting_deadline=now + datetime.timedelta(days=10),
        ),
        [],
        False,
    )  # fmt: skip


def _notices_create(
    *, actor: Actor, reason: str, purposes: dict[str, Purpose], founded: datetime.datetime
) -> list[PrivacyNotice]:
    notices = []
    for version, published, material, text in (
        (1, founded, False, "How we use your data to serve you, bill you and assess risk."),
        (
            2,
            founded + datetime.timedelta(days=2 * 365),
            True,
            "We now share claims context with partner companies, with your consent.",
        ),
    ):
        notice = model_save(
            PrivacyNotice(
                code="privacy", version=version, title="Privacy notice", text=text,
                published_at=published, material_change=material,
            ),
            actor=actor, reason=reason,
        )  # fmt: skip
        notice.purposes.set(purposes.values())
        notices.append(notice)
    return notices


def _partner_create(*, admin: User) -> tuple[Application, str]:
    """The demo partner client; the secret is only known in plain text here."""
    secret = secrets.token_urlsafe(32)
    application = Application(
        name=PARTNER_NAME,
        client_id=PARTNER_CLIENT_ID,
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        user=admin,
    )
    application.full_clean()
    application.save()  # hashes the secret
    # The partner speaks for the risk silo's policy system (claims), with every scope.
    from customer360.api.choices import ApiScope
    from customer360.models import ApiClient
    from customer360.services import api_client_save

    api_client_save(
        client=ApiClient(
            application=application,
            source_system=SourceSystem.objects.filter(code="risk-pas").first(),
            scopes=list(ApiScope.values),
        ),
        actor=Actor.system("seed_demo", ActorChannel.COMMAND),
        reason="Demo partner client",
    )
    return application, secret


LENSES = (
    # code, name, purpose, fields, sections, roles, partner
    ("service-call", "Service call", "service",
     ("given_name", "middle_name", "family_name", "date_of_birth", "email", "phone",
      "address_line1", "address_line2", "locality", "postcode", "country"),
     list(CardSection.values), (CommitteeRole.AGENT, CommitteeRole.DATA_STEWARD), False),
    ("retention", "Retention", "retention",
     ("given_name", "family_name", "email", "phone", "locality"),
     [CardSection.IDENTITY, CardSection.ACTIVITY, CardSection.VALUE, CardSection.FLAGS,
      CardSection.ACTIONS, CardSection.CONSENT], (CommitteeRole.AGENT,), False),
    ("risk-review", "Risk review", "risk",
     ("given_name", "middle_name", "family_name", "date_of_birth", "address_line1",
      "postcode", "locality"),
     [CardSection.IDENTITY, CardSection.RELATIONSHIPS, CardSection.VALUE, CardSection.FLAGS,
      CardSection.TIMELINE], (CommitteeRole.DATA_STEWARD,), False),
    ("partner-claims", "Partner: claims", "partner_sharing",
     ("given_name", "family_name", "date_of_birth", "phone", "postcode"),
     [CardSection.IDENTITY, CardSection.ACTIVITY, CardSection.VALUE], (), True),
)  # fmt: skip


def _lenses_create(
    *,
    actor: Actor,
    reason: str,
    definitions: dict[str, FieldDefinition],
    purposes: dict[str, Purpose],
    groups: dict[str, Group],
    partner: Application,
    approver: User,
    approved_at: datetime.datetime,
) -> None:
    for code, name, purpose, fields, sections, roles, with_partner in LENSES:
        lens = model_save(
            Lens(
                code=code, name=name, purpose=purposes[purpose], sections=list(sections),
                description=f"What a {name.lower()} needs, and nothing more.",
                status=GovernanceStatus.APPROVED, approved_by=approver, approved_at=approved_at,
            ),
            actor=actor, reason=reason,
        )  # fmt: skip
        lens.fields.set([definitions[f] for f in fields])
        lens.roles.set([groups[r] for r in roles])
        if with_partner:
            lens.applications.set([partner])


def _rules_create(
    *,
    actor: Actor,
    reason: str,
    channels: dict[str, Channel],
    approver: User,
    approved_at: datetime.datetime,
) -> None:
    approved = {
        "status": GovernanceStatus.APPROVED,
        "approved_by": approver,
        "approved_at": approved_at,
    }
    for kind, window, description in (
        (LifecycleKind.NEW, 90, "First holding started within the last 90 days."),
        (LifecycleKind.ACTIVE, 365, "An interaction within the last 365 days."),
        (LifecycleKind.LOST, 540, "No active holding and no interaction for 540 days."),
    ):
        model_save(
            LifecycleDefinition(kind=kind, window_days=window, description=description, **approved),
            actor=actor,
            reason=reason,
        )
    for rule in (
        ContactRule(
            code="post-cap", name="At most 4 letters in 30 days", channel=channels["post"],
            kind=ContactRuleKind.FREQUENCY_CAP, max_contacts=4, period_days=30,
            description="No customer receives more than four letters a month from all silos.",
            **approved,
        ),
        ContactRule(
            code="complaint-quiet", name="Quiet after a complaint",
            kind=ContactRuleKind.QUIET_PERIOD, period_days=14,
            description="No commercial contact for 14 days after a complaint.", **approved,
        ),
        ContactRule(
            code="upsell-vs-cancellation", name="No up-sell on a policy being cancelled",
            kind=ContactRuleKind.INCOMPATIBLE, action_kind=ActionKind.UPSELL,
            incompatible_with=ActionKind.CANCELLATION, period_days=30, same_holding_only=True,
            description="Marketing and risk must not write about the same policy with "
            "opposite messages within 30 days.",
            **approved,
        ),
    ):  # fmt: skip
        model_save(rule, actor=actor, reason=reason)
    _nba_rules_create(actor=actor, reason=reason, channels=channels, approved=approved)


def _nba_rules_create(
    *, actor: Actor, reason: str, channels: dict[str, Channel], approved: dict[str, object]
) -> None:
    """The committee's next-best-action rules: essential ones first, then offers."""
    purposes = {
        p.code: p for p in Purpose.objects.filter(code__in=["service", "marketing", "retention"])
    }
    for rule in (
        NbaRule(
            code="resolve-complaint", name="Resolve the open complaint", essential=True, rank=1,
            action_kind=ActionKind.NOTICE, purpose=purposes["service"],
            requires_open_complaint=True,
            explanation="The customer has an open complaint: resolve it before offering "
            "anything.",
            **approved,
        ),
        NbaRule(
            code="renew-consent", name="Renew an expiring consent", essential=True, rank=2,
            action_kind=ActionKind.CONSENT_RENEWAL, purpose=purposes["service"],
            requires_consent_renewal=True,
            explanation="A consent expires within 30 days: ask whether the customer renews it.",
            **approved,
        ),
        NbaRule(
            code="moving-home", name="Moving house", rank=5, action_kind=ActionKind.NOTICE,
            purpose=purposes["service"], contact_reasons="move, moving, new address",
            explanation="The customer is moving: offer to carry home and motor cover over to "
            "the new address.",
            **approved,
        ),
        NbaRule(
            code="retention-call", name="Retention call", rank=10,
            action_kind=ActionKind.RETENTION_CALL, purpose=purposes["retention"],
            channel=channels["phone"], flag_kind=FlagKind.CHURN_RISK, flag_min_score=0.6,
            explanation="High churn risk. {flag_reason}", **approved,
        ),
        NbaRule(
            code="home-bundle", name="Home insurance bundle", rank=20,
            action_kind=ActionKind.CROSS_SELL, purpose=purposes["marketing"],
            holds_line=LineOfBusiness.MOTOR, lacks_line=LineOfBusiness.HOME,
            flag_kind=FlagKind.UPSELL,
            explanation="{flag_reason} Offer the home bundle: 15% off with the motor policy.",
            **approved,
        ),
        NbaRule(
            code="upsell-gap", name="Product gap", rank=30, action_kind=ActionKind.UPSELL,
            purpose=purposes["marketing"], flag_kind=FlagKind.UPSELL, flag_min_score=0.4,
            explanation="{flag_reason}", **approved,
        ),
    ):  # fmt: skip
        model_save(rule, actor=actor, reason=reason)
