"""REST API views of the profiles app.

None yet: the partner API issue adds them on the project's one base viewset,
with querysets from ``profiles.selectors`` and filters from ``profiles.filtersets``.
"""
