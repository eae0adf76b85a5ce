"""Tests of monitor.kinds."""
