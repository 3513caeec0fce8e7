"""Load and fault tests: real gunicorn workers, PostgreSQL and SMTP on loopback (issue 8, item 5)."""
