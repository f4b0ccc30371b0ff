"""Matching thresholds: governed configuration, with documented defaults.

The approved ``governance.MatchingConfiguration`` (code ``default``) is in
force when there is one: a pair scoring at or above ``auto_merge_threshold``
merges automatically, one at or above ``review_threshold`` goes to the
stewards' review queue, anything lower stays separate. Without an approved
configuration the defaults below apply.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_AUTO_MERGE_THRESHOLD = 0.99
DEFAULT_REVIEW_THRESHOLD = 0.8
CONFIGURATION_CODE = "default"


@dataclass(frozen=True, slots=True)
class MatchSettings:
    auto_merge_threshold: float
    review_threshold: float
    source: str

    def decision(self, probability: float) -> str:
        if probability >= self.auto_merge_threshold:
            return "merge"
        if probability >= self.review_threshold:
            return "review"
        return "separate"


def match_settings() -> MatchSettings:
    """The thresholds in force: the approved governance configuration, else defaults."""
    from governance.choices import GovernanceStatus
    from governance.models import MatchingConfiguration

    config = MatchingConfiguration.objects.filter(
        code=CONFIGURATION_CODE, status=GovernanceStatus.APPROVED
    ).first()
    if config is not None:
        return MatchSettings(
            auto_merge_threshold=float(config.auto_merge_threshold),
            review_threshold=float(config.review_threshold),
            source=f"governance matching configuration v{config.version}",
        )
    return MatchSettings(
        auto_merge_threshold=DEFAULT_AUTO_MERGE_THRESHOLD,
        review_threshold=DEFAULT_REVIEW_THRESHOLD,
        source="defaults",
    )
