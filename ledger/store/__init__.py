"""The PostgreSQL edge: the only package that imports psycopg."""
