"""Tests of monitor.schedule."""
