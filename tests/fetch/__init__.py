"""Tests of monitor.fetch."""
