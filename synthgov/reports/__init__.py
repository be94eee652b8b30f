"""Readable HTML reports with embedded figures: audit.html, validation.html and attack.html, one
module each, and what they share (`common`).

Figures show aggregates only: shares over public bins or declared categories, in which any bin of
the real data with fewer than k rows is suppressed (drawn as zero and listed as suppressed), and
metric values. No row of the source appears in a report.

The package may import synthgov.params and the validation's distribution helper.
"""
