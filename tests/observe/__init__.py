"""Tests of monitor.observe."""
