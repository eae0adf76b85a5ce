"""Tests of monitor.pipeline (whole passes through the service)."""
