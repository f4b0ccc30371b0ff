"""factory_boy factories for every model.

The baseline vocabulary (migration governance.0002) already holds the purposes,
channels, silo ``cdo`` and approved field definitions: factories for those
models get-or-create by code, and use distinct codes otherwise. Every factory
builds rows that pass the model's constraints.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from factory.django import DjangoModelFactory
from oauth2_provider.models import Application

from consent.choices import (
    CaptureMethod,
    ConsentStatus,
    ExportKind,
    LegalBasis,
    PrivacyCheck,
    RequestKind,
    Severity,
)
from consent.models import (
    Channel,
    ConsentRecord,
    DataSubjectExport,
    DataSubjectRequest,
    PrivacyCheckRun,
    PrivacyFinding,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
    RetentionRun,
)
from customer360.api.choices import ApiScope, DeliveryStatus
from customer360.choices import ActorChannel, AuditEventType, DomainEventType
from customer360.models import (
    AccessLog,
    ApiClient,
    AuditEvent,
    IdempotencyKey,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
)
from governance.choices import (
    CardSection,
    CommitteeRole,
    ContactRuleKind,
    DataType,
    DecisionKind,
    GovernanceStatus,
    LifecycleKind,
    Sensitivity,
    VoteChoice,
)
from governance.models import (
    CommitteeMember,
    ContactRule,
    DataCollectionDecision,
    FieldDefinition,
    Lens,
    LifecycleDefinition,
    MatchingConfiguration,
    PriorityInteraction,
    QuorumRule,
    Silo,
    SourceFieldMapping,
    SourceSystem,
    Vote,
)
from profiles.choices import (
    ActionKind,
    CaseKind,
    Direction,
    FlagKind,
    HoldingStatus,
    HouseholdRole,
    InteractionKind,
    LineOfBusiness,
    RelationshipKind,
)
from profiles.identity.choices import ImportFormat, ImportStatus, ModelMethod, RunKind, RunStatus
from profiles.models import (
    BlockingKey,
    Case,
    Customer,
    Flag,
    Holding,
    Household,
    HouseholdMembership,
    ImportRun,
    Interaction,
    MatchCandidate,
    MatchModel,
    MergeEvent,
    NotAMatch,
    OutboundAction,
    QuarantinedRow,
    Relationship,
    ResolutionBatch,
    ResolutionRun,
    SourceFormat,
    SourceRecord,
)
from profiles.numbers import format_customer_number

NOW = timezone.now


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")
    is_staff = True


# --- governance ---------------------------------------------------------------


class SiloFactory(DjangoModelFactory):
    class Meta:
        model = Silo
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"silo-{n}")
    name = factory.LazyAttribute(lambda s: s.code.replace("-", " ").title())


class SourceSystemFactory(DjangoModelFactory):
    class Meta:
        model = SourceSystem
        django_get_or_create = ("code",)

    silo = factory.SubFactory(SiloFactory)
    code = factory.Sequence(lambda n: f"system-{n}")
    name = factory.LazyAttribute(lambda s: s.code.title())
    key_label = "Customer no."
    trust_rank = 50


class CommitteeMemberFactory(DjangoModelFactory):
    class Meta:
        model = CommitteeMember

    user = factory.SubFactory(UserFactory)
    silo = factory.SubFactory(SiloFactory)
    role = CommitteeRole.MEMBER
    active_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))


class FieldDefinitionFactory(DjangoModelFactory):
    """A draft canonical field under a name the baseline does not use."""

    class Meta:
        model = FieldDefinition

    canonical_name = factory.Sequence(lambda n: f"test_field_{n}")
    version = 1
    status = GovernanceStatus.DRAFT
    label = factory.LazyAttribute(lambda f: f.canonical_name.replace("_", " ").capitalize())
    description = "A field used by tests."
    data_type = DataType.STRING
    sensitivity = Sensitivity.INTERNAL
    owning_silo = factory.SubFactory(SiloFactory, code="cdo")

    class Params:
        approved = factory.Trait(
            status=GovernanceStatus.APPROVED, approved_at=factory.LazyFunction(NOW)
        )


class SourceFieldMappingFactory(DjangoModelFactory):
    class Meta:
        model = SourceFieldMapping

    source_system = factory.SubFactory(SourceSystemFactory)
    source_field = factory.Sequence(lambda n: f"COLUMN_{n}")
    field_definition = factory.SubFactory(FieldDefinitionFactory)
    version = 1
    status = GovernanceStatus.DRAFT


class PurposeFactory(DjangoModelFactory):
    class Meta:
        model = Purpose
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"purpose-{n}")
    name = factory.LazyAttribute(lambda p: p.code.title())
    description = "A purpose used by tests."
    legal_basis = LegalBasis.CONSENT
    requires_consent = True


class ChannelFactory(DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda c: c.code.title())
    is_outbound = True


class DataCollectionDecisionFactory(DjangoModelFactory):
    class Meta:
        model = DataCollectionDecision
        skip_postgeneration_save = True

    kind = DecisionKind.COLLECT_FIELD
    title = factory.Sequence(lambda n: f"Collect test field {n}")
    field_definition = factory.SubFactory(FieldDefinitionFactory)
    rationale = "Needed by tests."
    business_value = 4
    actionability = 4
    cost = 2
    privacy_risk = 2
    proposed_by = factory.SubFactory(UserFactory)
    proposing_silo = factory.SubFactory(SiloFactory)

    @factory.post_generation
    def purposes(self, create: bool, extracted: list[Purpose] | None, **kwargs: object) -> None:
        if create:
            self.purposes.set(extracted or [PurposeFactory(code="service")])


class VoteFactory(DjangoModelFactory):
    class Meta:
        model = Vote

    decision = factory.SubFactory(DataCollectionDecisionFactory)
    member = factory.SubFactory(UserFactory)
    silo = factory.SubFactory(SiloFactory)
    choice = VoteChoice.APPROVE


class LensFactory(DjangoModelFactory):
    class Meta:
        model = Lens
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"lens-{n}")
    name = factory.LazyAttribute(lambda lens: lens.code.title())
    purpose = factory.SubFactory(PurposeFactory, code="service")
    sections = [CardSection.IDENTITY, CardSection.CONSENT]
    version = 1
    status = GovernanceStatus.DRAFT


class LifecycleDefinitionFactory(DjangoModelFactory):
    class Meta:
        model = LifecycleDefinition

    kind = LifecycleKind.LOST
    description = "No active holding and no interaction for the window."
    window_days = 365
    version = factory.Sequence(lambda n: n + 1)
    status = GovernanceStatus.DRAFT


class ContactRuleFactory(DjangoModelFactory):
    class Meta:
        model = ContactRule

    code = factory.Sequence(lambda n: f"rule-{n}")
    name = factory.LazyAttribute(lambda r: r.code.title())
    kind = ContactRuleKind.FREQUENCY_CAP
    max_contacts = 3
    period_days = 30
    version = 1
    status = GovernanceStatus.DRAFT


# --- profiles -----------------------------------------------------------------


class CustomerFactory(DjangoModelFactory):
    """Valid customer numbers from a serial range no allocation reaches."""

    class Meta:
        model = Customer

    customer_number = factory.Sequence(lambda n: format_customer_number(90_000_000 + n))
    given_name = "Ada"
    family_name = factory.Sequence(lambda n: f"Lovelace{n}")
    email = factory.Sequence(lambda n: f"ada{n}@example.org")
    date_of_birth = datetime.date(1985, 12, 10)
    country = "GB"


class SourceRecordFactory(DjangoModelFactory):
    class Meta:
        model = SourceRecord

    source_system = factory.SubFactory(SourceSystemFactory)
    source_key = factory.Sequence(lambda n: f"K{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    raw = factory.LazyAttribute(lambda r: {"name": "test"})
    normalized = factory.LazyAttribute(lambda r: {"family_name": "test"})
    payload_hash = factory.Sequence(lambda n: f"{n:064x}")


class HouseholdFactory(DjangoModelFactory):
    class Meta:
        model = Household

    label = factory.Sequence(lambda n: f"Household {n}")


class HouseholdMembershipFactory(DjangoModelFactory):
    class Meta:
        model = HouseholdMembership

    household = factory.SubFactory(HouseholdFactory)
    customer = factory.SubFactory(CustomerFactory)
    role = HouseholdRole.MEMBER
    valid_from = datetime.date(2020, 1, 1)


class RelationshipFactory(DjangoModelFactory):
    class Meta:
        model = Relationship

    from_customer = factory.SubFactory(CustomerFactory)
    to_customer = factory.SubFactory(CustomerFactory)
    kind = RelationshipKind.SPOUSE
    valid_from = datetime.date(2020, 1, 1)


class HoldingFactory(DjangoModelFactory):
    class Meta:
        model = Holding

    customer = factory.SubFactory(CustomerFactory)
    source_system = factory.SubFactory(SourceSystemFactory)
    reference = factory.Sequence(lambda n: f"POL-{n:06d}")
    product_code = "HOME-STD"
    product_name = "Home insurance"
    line_of_business = LineOfBusiness.HOME
    status = HoldingStatus.ACTIVE
    start_date = datetime.date(2021, 1, 1)
    annual_value = Decimal("420.00")


class InteractionFactory(DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    silo = factory.SubFactory(SiloFactory)
    channel = factory.SubFactory(ChannelFactory, code="phone")
    direction = Direction.INBOUND
    kind = InteractionKind.INQUIRY
    occurred_at = factory.LazyFunction(NOW)


class CaseFactory(DjangoModelFactory):
    class Meta:
        model = Case

    customer = factory.SubFactory(CustomerFactory)
    silo = factory.SubFactory(SiloFactory)
    reference = factory.Sequence(lambda n: f"CASE-{n:06d}")
    kind = CaseKind.REQUEST
    subject = "Change of address"
    opened_at = factory.LazyFunction(NOW)


class FlagFactory(DjangoModelFactory):
    class Meta:
        model = Flag

    customer = factory.SubFactory(CustomerFactory)
    kind = FlagKind.CHURN_RISK
    score = 0.4
    label = "medium"
    reason = "Two complaints in 90 days."
    computed_at = factory.LazyFunction(NOW)


class OutboundActionFactory(DjangoModelFactory):
    class Meta:
        model = OutboundAction

    customer = factory.SubFactory(CustomerFactory)
    silo = factory.SubFactory(SiloFactory)
    kind = ActionKind.OFFER
    purpose = factory.SubFactory(PurposeFactory, code="marketing")
    channel = factory.SubFactory(ChannelFactory, code="email")
    scheduled_for = factory.LazyFunction(NOW)
    summary = "Spring offer"


# --- consent ------------------------------------------------------------------


class PrivacyNoticeFactory(DjangoModelFactory):
    class Meta:
        model = PrivacyNotice
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"notice-{n}")
    version = 1
    title = "Privacy notice"
    text = "How we use your data."
    published_at = factory.LazyFunction(NOW)

    @factory.post_generation
    def purposes(self, create: bool, extracted: list[Purpose] | None, **kwargs: object) -> None:
        if create:
            self.purposes.set(extracted or [PurposeFactory(code="marketing")])


class ConsentRecordFactory(DjangoModelFactory):
    """A ledger row written directly; services tests use ``consent_record``."""

    class Meta:
        model = ConsentRecord

    customer = factory.SubFactory(CustomerFactory)
    purpose = factory.SubFactory(PurposeFactory, code="marketing")
    channel = factory.SubFactory(ChannelFactory, code="email")
    status = ConsentStatus.GRANTED
    capture_method = CaptureMethod.WEB_FORM
    captured_via = factory.SubFactory(ChannelFactory, code="web")
    captured_at = factory.LazyFunction(NOW)
    effective_from = factory.LazyFunction(NOW)


class DataSubjectRequestFactory(DjangoModelFactory):
    class Meta:
        model = DataSubjectRequest

    reference = factory.Sequence(lambda n: f"DSR-{n:06d}")
    kind = RequestKind.ACCESS
    customer = factory.SubFactory(CustomerFactory)
    received_via = factory.SubFactory(ChannelFactory, code="email")
    received_at = factory.LazyFunction(NOW)
    due_at = factory.LazyAttribute(lambda r: r.received_at + datetime.timedelta(days=30))


# --- governance: quorum, matching configuration, priority interactions --------


class QuorumRuleFactory(DjangoModelFactory):
    class Meta:
        model = QuorumRule

    code = factory.Sequence(lambda n: f"quorum-{n}")
    version = 1
    status = GovernanceStatus.DRAFT


class MatchingConfigurationFactory(DjangoModelFactory):
    class Meta:
        model = MatchingConfiguration

    code = factory.Sequence(lambda n: f"matching-{n}")
    auto_merge_threshold = Decimal("0.950")
    review_threshold = Decimal("0.700")
    version = 1
    status = GovernanceStatus.DRAFT


class PriorityInteractionFactory(DjangoModelFactory):
    class Meta:
        model = PriorityInteraction
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"priority-{n}")
    name = factory.LazyAttribute(lambda p: p.code.title())
    interaction_kind = InteractionKind.COMPLAINT
    rank = factory.Sequence(lambda n: n + 1)
    version = 1
    status = GovernanceStatus.DRAFT


# --- profiles: identity resolution --------------------------------------------


class SourceFormatFactory(DjangoModelFactory):
    class Meta:
        model = SourceFormat

    source_system = factory.SubFactory(SourceSystemFactory)
    key_column = "customer_id"


class ImportRunFactory(DjangoModelFactory):
    class Meta:
        model = ImportRun

    source_system = factory.SubFactory(SourceSystemFactory)
    file_name = factory.Sequence(lambda n: f"import-{n}.csv")
    file_format = ImportFormat.CSV
    actor_label = "test"
    status = ImportStatus.DONE
    finished_at = factory.LazyFunction(NOW)


class QuarantinedRowFactory(DjangoModelFactory):
    class Meta:
        model = QuarantinedRow

    import_run = factory.SubFactory(ImportRunFactory)
    row_number = factory.Sequence(lambda n: n + 2)
    field = "dob"
    reason = "not a date in the format %d/%m/%Y"
    raw = factory.LazyFunction(lambda: {"customer_id": "R-1", "dob": "31/02/1980"})


class BlockingKeyFactory(DjangoModelFactory):
    class Meta:
        model = BlockingKey

    record = factory.SubFactory(SourceRecordFactory)
    rule = "email"
    key = factory.Sequence(lambda n: f"person{n}@example.org")


class MatchModelFactory(DjangoModelFactory):
    class Meta:
        model = MatchModel

    version = factory.Sequence(lambda n: 1000 + n)
    method = ModelMethod.CONFIGURED
    params = factory.LazyFunction(lambda: {"prior": 0.001, "fields": {}})


class MatchCandidateFactory(DjangoModelFactory):
    """A pending pair; ``customer_a`` gets the lower id as the constraint wants."""

    class Meta:
        model = MatchCandidate

    customer_a = factory.SubFactory(CustomerFactory)
    customer_b = factory.SubFactory(CustomerFactory)
    probability = 0.9
    match_weight = 8.5
    model_version = 1


class NotAMatchFactory(DjangoModelFactory):
    class Meta:
        model = NotAMatch

    record_a = factory.SubFactory(SourceRecordFactory)
    record_b = factory.SubFactory(SourceRecordFactory)
    actor_label = "test"
    reason = "Twins: same address, different people."


class MergeEventFactory(DjangoModelFactory):
    class Meta:
        model = MergeEvent

    survivor = factory.SubFactory(CustomerFactory)
    merged = factory.SubFactory(CustomerFactory)
    actor_label = "rule:auto-merge v1"
    reason = "Automatic merge above the upper threshold."
    snapshot = factory.LazyFunction(lambda: {"survivor": {}, "merged": {}, "rows": {}})


# --- consent: restrictions, exports, retention and privacy-check runs --------


class ProcessingRestrictionFactory(DjangoModelFactory):
    class Meta:
        model = ProcessingRestriction

    customer = factory.SubFactory(CustomerFactory)
    active_from = factory.LazyFunction(timezone.now)
    reason = "Accuracy contested"


class DataSubjectExportFactory(DjangoModelFactory):
    class Meta:
        model = DataSubjectExport

    request = factory.SubFactory(DataSubjectRequestFactory)
    kind = ExportKind.ACCESS
    data = factory.LazyFunction(lambda: {"customers": []})
    summary = "Nothing held."


class RetentionRunFactory(DjangoModelFactory):
    class Meta:
        model = RetentionRun

    dry_run = True
    as_of = factory.LazyFunction(timezone.now)
    triggered_by = "test"


class PrivacyCheckRunFactory(DjangoModelFactory):
    class Meta:
        model = PrivacyCheckRun

    as_of = factory.LazyFunction(timezone.now)
    triggered_by = "test"


class PrivacyFindingFactory(DjangoModelFactory):
    class Meta:
        model = PrivacyFinding

    run = factory.SubFactory(PrivacyCheckRunFactory)
    check_code = PrivacyCheck.DSR_AT_RISK
    severity = Severity.WARNING
    subject = factory.Sequence(lambda n: f"DSR-{n}")
    count = 1


# --- customer360 --------------------------------------------------------------


class AuditEventFactory(DjangoModelFactory):
    class Meta:
        model = AuditEvent

    event_type = AuditEventType.CUSTOMER_UPDATED
    actor = factory.SubFactory(UserFactory)
    channel = ActorChannel.WEB
    subject_type = factory.LazyAttribute(lambda e: ContentType.objects.get_for_model(e.subject))
    subject_id = factory.LazyAttribute(lambda e: str(e.subject.pk))
    customer_number = factory.LazyAttribute(lambda e: e.subject.customer_number)
    reason = "Customer called to correct a typo."

    class Params:
        subject = factory.SubFactory(CustomerFactory)


# --- identity resolution runs and householding (issue 3) -------------------------
# (factories for this models go directly below this marker)


class ResolutionRunFactory(DjangoModelFactory):
    class Meta:
        model = ResolutionRun

    kind = RunKind.RESOLVE
    status = RunStatus.DONE
    actor_label = "test"
    reason = "Test run"
    finished_at = factory.LazyFunction(NOW)


class ResolutionBatchFactory(DjangoModelFactory):
    class Meta:
        model = ResolutionBatch

    run = factory.SubFactory(ResolutionRunFactory)
    number = factory.Sequence(lambda n: n + 1)
    record_ids = factory.LazyFunction(lambda: [SourceRecordFactory(customer=None).pk])


# --- insights (issue 8) ----------------------------------------------------------
# (factories for this models go directly below this marker)
# Imported here so that this section never touches the import block above.
from governance.models import NbaRule  # noqa: E402
from profiles.choices import ActionStatus  # noqa: E402
from profiles.models import ContactConflictReport  # noqa: E402


class NbaRuleFactory(DjangoModelFactory):
    class Meta:
        model = NbaRule

    code = factory.Sequence(lambda n: f"nba-{n}")
    name = factory.LazyAttribute(lambda r: r.code.title())
    action_kind = ActionKind.OFFER
    purpose = factory.LazyFunction(lambda: Purpose.objects.get(code="marketing"))
    explanation = "A test suggestion."
    version = 1
    status = GovernanceStatus.DRAFT


class ContactConflictReportFactory(OutboundActionFactory):
    """The report is a proxy of outbound actions: any blocked conflict is a row of it."""

    class Meta:
        model = ContactConflictReport

    status = ActionStatus.BLOCKED
    block_reasons = factory.LazyFunction(
        lambda: [{"code": "incompatible", "message": "Conflicts with a test action."}]
    )


# --- agent screens (issue 6) -----------------------------------------------------
# (factories for this models go directly below this marker)


# --- partner API (issue 7) -------------------------------------------------------
# (factories for this models go directly below this marker)


class OutboxEventFactory(DjangoModelFactory):
    class Meta:
        model = OutboxEvent

    event_type = DomainEventType.CONSENT_CHANGED
    customer_number = factory.LazyFunction(lambda: CustomerFactory().customer_number)
    payload = factory.LazyAttribute(
        lambda e: {"customer_number": e.customer_number, "purpose": "marketing"}
    )


class ApplicationFactory(DjangoModelFactory):
    """A django-oauth-toolkit application of the client-credentials grant."""

    class Meta:
        model = Application

    name = factory.Sequence(lambda n: f"partner-{n}")
    client_id = factory.Sequence(lambda n: f"partner-client-{n}")
    client_secret = "partner-secret-for-tests"
    client_type = Application.CLIENT_CONFIDENTIAL
    authorization_grant_type = Application.GRANT_CLIENT_CREDENTIALS
    user = factory.SubFactory(UserFactory)


class ApiClientFactory(DjangoModelFactory):
    class Meta:
        model = ApiClient

    application = factory.SubFactory(ApplicationFactory)
    source_system = factory.SubFactory(SourceSystemFactory)
    scopes = factory.LazyFunction(lambda: list(ApiScope.values))
    is_active = True


class AccessLogFactory(DjangoModelFactory):
    class Meta:
        model = AccessLog

    application = factory.SubFactory(ApplicationFactory)
    customer_number = factory.LazyFunction(lambda: CustomerFactory().customer_number)
    endpoint = "customers.context"


class IdempotencyKeyFactory(DjangoModelFactory):
    class Meta:
        model = IdempotencyKey

    application = factory.SubFactory(ApplicationFactory)
    key = factory.Sequence(lambda n: f"key-{n}")
    request_hash = "0" * 64
    endpoint = "interactions.bulk"
    response_status = 200
    response_body = factory.LazyFunction(lambda: {"written": True, "counts": {}, "results": []})


class WebhookSubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = WebhookSubscription

    application = factory.SubFactory(ApplicationFactory)
    url = "https://partner.example.org/hooks/customer360"
    secret = "webhook-secret-for-tests"
    event_types = factory.LazyFunction(lambda: list(DomainEventType.values))


class WebhookDeliveryFactory(DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    subscription = factory.SubFactory(WebhookSubscriptionFactory)
    event = factory.SubFactory(OutboxEventFactory)
    status = DeliveryStatus.PENDING
