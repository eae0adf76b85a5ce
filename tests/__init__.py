"""veille's tests, one folder per package of monitor/ (see tests/README.md).

The folders are packages so that test files of the same name in two folders
(cli/test_edges.py, observe/test_edges.py) are distinct modules.
"""
