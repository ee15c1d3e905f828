"""SQLAlchemy 2 models, session scope, Alembic migrations."""
