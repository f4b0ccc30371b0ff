"""Choices of identity resolution (ingest, matching, merging)."""

from django.db import models


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSONL = "jsonl", "JSON Lines"


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REFUSED = "refused", "Refused (nothing imported)"


class CandidateStatus(models.TextChoices):
    """Where a proposed duplicate pair stands."""

    PENDING = "pending", "Waiting for a steward"
    MERGED = "merged", "Merged"
    NOT_A_MATCH = "not_a_match", "Not a match"
    DEFERRED = "deferred", "Deferred"
    SUPERSEDED = "superseded", "Superseded (a customer was merged away)"


OPEN_CANDIDATE_STATUSES = (CandidateStatus.PENDING, CandidateStatus.DEFERRED)


class MatchLevel(models.TextChoices):
    """Levels of agreement of one field between two records."""

    EXACT = "exact", "Exact"
    CLOSE = "close", "Close"
    DIFFERENT = "different", "Different"
    MISSING = "missing", "Missing on one side"


class ModelMethod(models.TextChoices):
    CONFIGURED = "configured", "Set by configuration"
    EM = "em", "Estimated from the data (EM)"


class RunKind(models.TextChoices):
    """What an identity run does."""

    RESOLVE = "resolve", "Resolve source records"
    HOUSEHOLDS = "households", "Update households"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed or abandoned"
