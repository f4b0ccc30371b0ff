"""Web screens of the governance app.

None yet: the agent and steward screens arrive with their own issue. They will
read through ``governance.selectors``, write through ``governance.services`` and filter
lists with ``governance.filtersets``.
"""
