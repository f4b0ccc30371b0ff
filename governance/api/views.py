"""REST API views of the governance app.

None yet: the partner API issue adds them on the project's one base viewset,
with querysets from ``governance.selectors`` and filters from ``governance.filtersets``.
"""
