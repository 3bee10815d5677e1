"""Storage: the database engine and sessions, ORM models, migrations, locks and the embedded
server."""
