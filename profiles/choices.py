"""Choices of the profiles app."""

from django.db import models


class LifecycleStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    NEW = "new", "New"
    ACTIVE = "active", "Active"
    LOST = "lost", "Lost"
    MERGED = "merged", "Merged into another customer"


class HouseholdRole(models.TextChoices):
    HEAD = "head", "Head of household"
    PARTNER = "partner", "Partner"
    CHILD = "child", "Child"
    DEPENDANT = "dependant", "Dependant"
    MEMBER = "member", "Member"


class RelationshipKind(models.TextChoices):
    SPOUSE = "spouse", "Spouse"
    PARENT = "parent", "Parent of"
    GUARANTOR = "guarantor", "Guarantor for"
    BUSINESS_CONTACT = "business_contact", "Business contact of"
    REFERRER = "referrer", "Referred"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class InteractionKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    ORDER = "order", "Order"
    DELIVERY = "delivery", "Delivery"
    RETURN = "return", "Return"
    COMPLAINT = "complaint", "Complaint"
    INQUIRY = "inquiry", "Inquiry"
    OFFER = "offer", "Offer"
    CANCELLATION = "cancellation", "Cancellation"
    FEEDBACK = "feedback", "Feedback"
    REVIEW = "review", "Review"
    CAMPAIGN = "campaign", "Campaign"


class Outcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    PENDING = "pending", "Pending"
    ESCALATED = "escalated", "Escalated"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    NO_ANSWER = "no_answer", "No answer"
    INFORMATION = "information", "Information given"


class LineOfBusiness(models.TextChoices):
    MOTOR = "motor", "Motor insurance"
    HOME = "home", "Home insurance"
    LIFE = "life", "Life insurance"
    HEALTH = "health", "Health insurance"
    TRAVEL = "travel", "Travel insurance"
    SAVINGS = "savings", "Savings"
    RETAIL = "retail", "Online shop"


class HoldingStatus(models.TextChoices):
    QUOTED = "quoted", "Quoted"
    ACTIVE = "active", "Active"
    LAPSED = "lapsed", "Lapsed"
    CANCELLED = "cancelled", "Cancelled"
    CLOSED = "closed", "Closed"


class CaseKind(models.TextChoices):
    COMPLAINT = "complaint", "Complaint"
    REQUEST = "request", "Request"
    CLAIM = "claim", "Claim"
    BILLING_DISPUTE = "billing_dispute", "Billing dispute"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING = "waiting", "Waiting for customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.WAITING)


class CasePriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class FlagKind(models.TextChoices):
    CHURN_RISK = "churn_risk", "Churn risk"
    FRAUD_RISK = "fraud_risk", "Fraud risk"
    UPSELL = "upsell", "Up-sell option"
    MOOD = "mood", "Mood of recent interactions"
    COMPLAINT_RECORD = "complaint_record", "Complaint record"
    CONTACT_FREQUENCY = "contact_frequency", "Contact frequency"
    LIFECYCLE = "lifecycle", "New / active / lost"


class ActionKind(models.TextChoices):
    """Kinds of outbound action a silo may propose."""

    OFFER = "offer", "Offer"
    UPSELL = "upsell", "Up-sell"
    CROSS_SELL = "cross_sell", "Cross-sell"
    CANCELLATION = "cancellation", "Cancellation"
    RETENTION_CALL = "retention_call", "Retention call"
    RETENTION_OFFER = "retention_offer", "Retention offer"
    COLLECTIONS_NOTICE = "collections_notice", "Collections notice"
    NOTICE = "notice", "Service notice"
    CONSENT_RENEWAL = "consent_renewal", "Consent renewal"


class ActionStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    PENDING = "pending", "Pending (allowed, not yet sent)"
    BLOCKED = "blocked", "Blocked"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


PENDING_ACTION_STATUSES = (ActionStatus.PROPOSED, ActionStatus.PENDING)


# --- insights: flags, next best action, contact arbitration (issue 8) ----------------------

# Statuses of an action that reaches, or will reach, the customer: what caps count.
CONTACT_ACTION_STATUSES = (ActionStatus.PROPOSED, ActionStatus.PENDING, ActionStatus.SENT)

# Kinds that sell something: a quiet period after a complaint stops these. Notices
# the company owes the customer (a cancellation, a collections or service
# notice, a consent renewal) are not commercial and still go out.
COMMERCIAL_ACTION_KINDS = (
    ActionKind.OFFER,
    ActionKind.UPSELL,
    ActionKind.CROSS_SELL,
    ActionKind.RETENTION_OFFER,
    ActionKind.RETENTION_CALL,
)


class BlockCode(models.TextChoices):
    """Why contact arbitration blocked an outbound action (one code per check)."""

    CHANNEL_CLOSED = "channel_closed", "Channel not open for outbound contact"
    NO_CONSENT = "no_consent", "No consent for the purpose and channel"
    FREQUENCY_CAP = "frequency_cap", "Frequency cap reached"
    QUIET_PERIOD = "quiet_period", "Quiet period after a complaint"
    INCOMPATIBLE = "incompatible", "Conflicts with another silo's action"
    UNKNOWN_CUSTOMER = "unknown_customer", "Unknown customer number"
    MERGED_CUSTOMER = "merged_customer", "Customer merged into another number"
    UNKNOWN_HOLDING = "unknown_holding", "Unknown holding for this customer"


class FlagLabel(models.TextChoices):
    """The plain-words level of a flag's score."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
