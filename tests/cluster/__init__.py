"""Tests of monitor.cluster."""
