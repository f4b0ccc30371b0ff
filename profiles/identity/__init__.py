"""Identity resolution: source declarations, ingest, normalization, blocking,
probabilistic matching, merging and unmerging."""
