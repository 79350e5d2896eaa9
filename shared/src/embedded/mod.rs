//! Embedded adapters: SQLite in a data directory behind the ports, for running Pivota locally.
