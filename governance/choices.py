"""Choices of the governance app."""

from django.db import models


class GovernanceStatus(models.TextChoices):
    """Lifecycle of every governed, versioned item."""

    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    DEPRECATED = "deprecated", "Deprecated"


class DataType(models.TextChoices):
    STRING = "string", "Text"
    NAME = "name", "Personal name"
    DATE = "date", "Date"
    EMAIL = "email", "E-mail address"
    PHONE = "phone", "Phone number"
    ADDRESS = "address", "Address part"
    POSTCODE = "postcode", "Postcode"
    COUNTRY = "country", "Country code"
    INTEGER = "integer", "Integer"
    DECIMAL = "decimal", "Decimal"
    BOOLEAN = "boolean", "Yes/no"
    CODE = "code", "Code from a list"
    IDENTIFIER = "identifier", "Identifier"


class Sensitivity(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    PERSONAL = "personal", "Personal"
    SPECIAL = "special", "Special category"


class SurvivorshipRule(models.TextChoices):
    """How the golden record picks a value among source records."""

    MOST_TRUSTED = "most_trusted", "Most trusted source"
    MOST_RECENT = "most_recent", "Most recent"
    MOST_COMPLETE = "most_complete", "Most complete"


class Transform(models.TextChoices):
    """The documented set of transforms a source field mapping may apply."""

    NONE = "none", "None"
    DATE_FORMAT = "date_format", "Parse a date format"
    CONCAT = "concat", "Concatenate columns"
    UPPER = "upper", "Upper case"
    LOWER = "lower", "Lower case"
    TITLE = "title", "Title case"
    PHONE_REGION = "phone_region", "Phone number of a region"


class DecisionKind(models.TextChoices):
    COLLECT_FIELD = "collect_field", "Collect a field"
    OPEN_SOURCE = "open_source", "Open a new source system"
    OPEN_CHANNEL = "open_channel", "Open a new channel"


class DecisionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    VOTING = "voting", "Voting open"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ABSTAIN = "abstain", "Abstain"


class CommitteeRole(models.TextChoices):
    MEMBER = "member", "Committee member"
    CHAIR = "chair", "Chair"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"
    DATA_STEWARD = "data_steward", "Data steward"
    AGENT = "agent", "Call-center agent"


class CardSection(models.TextChoices):
    """Sections of the customer context card a lens may show."""

    IDENTITY = "identity", "Identity"
    RELATIONSHIPS = "relationships", "Household and relationships"
    ACTIVITY = "activity", "Current activity"
    TIMELINE = "timeline", "History timeline"
    VALUE = "value", "Value"
    FLAGS = "flags", "Flags"
    ACTIONS = "actions", "Next best actions"
    CONSENT = "consent", "Consent"


class LifecycleKind(models.TextChoices):
    NEW = "new", "New customer"
    ACTIVE = "active", "Active customer"
    LOST = "lost", "Lost customer"


class ContactRuleKind(models.TextChoices):
    FREQUENCY_CAP = "frequency_cap", "Frequency cap"
    QUIET_PERIOD = "quiet_period", "Quiet period after a complaint"
    INCOMPATIBLE = "incompatible", "Incompatible actions"


class ContactScope(models.TextChoices):
    CUSTOMER = "customer", "Per customer"
    HOUSEHOLD = "household", "Per household"
