"""REST API views of the consent app.

None yet: the partner API issue adds them on the project's one base viewset,
with querysets from ``consent.selectors`` and filters from ``consent.filtersets``.
"""
