"""Persistence shared by the activities, the API and the CLI.

SQLAlchemy 2 typed models, async sessions, repositories (all SQL lives here) and the Alembic
migrations. Neither the worker nor the API imports the other; both import this package.
"""
