"""The demo world ``manage.py seed_demo`` builds.

- ``people``: true persons and households, drawn from Faker-made pools with
  one seeded ``random.Random``.
- ``silos``: the silos, their source systems, their own column names, key
  formats and value formats, and the approved mappings back to the canonical
  fields.
- ``corruptions``: the realistic damage an injected duplicate record carries.
- ``world``: the governance world, the demo accounts and the partner client.
- ``batch``: one batch of persons turned into rows (customers, source
  records, households, relationships, holdings, interactions, cases,
  consents), written with their history.
- ``bulk``: inserts that always write history rows too (COPY on PostgreSQL).
"""
