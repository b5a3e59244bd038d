"""Rates: month, year-to-date and campaign-to-date, and their Vietnamese display."""
