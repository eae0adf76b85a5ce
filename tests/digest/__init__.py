"""Tests of monitor.digest."""
