"""The Kafka Connect + Debezium JDBC sink peer (see peer.py)."""
