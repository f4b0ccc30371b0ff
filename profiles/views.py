"""Web screens of the profiles app.

None yet: the agent and steward screens arrive with their own issue. They will
read through ``profiles.selectors``, write through ``profiles.services`` and filter
lists with ``profiles.filtersets``.
"""
