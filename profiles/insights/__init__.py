"""Insights: flags, next best action and cross-silo contact arbitration (issue 8)."""
