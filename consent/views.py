"""Web screens of the consent app.

None yet: the agent and steward screens arrive with their own issue. They will
read through ``consent.selectors``, write through ``consent.services`` and filter
lists with ``consent.filtersets``.
"""
