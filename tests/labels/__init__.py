"""Tests of monitor.labels."""
