"""Tests of monitor.match."""
