"""Tests of monitor.web."""
