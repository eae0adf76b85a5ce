"""The schema's revision, apart so that it is known without SQLAlchemy or alembic."""

# The newest revision in alembic/versions; a new migration changes it (a test compares it
# with alembic's own head).
HEAD_REVISION = "0005"
