"""Tests of the shipped rule pack (alerts/rules/) and of the documentation that quotes it."""
