"""The workspace: its tables (``schema``), the embedded DuckDB workspace with its lock and
staged Parquet (``workspace``), and where views read their rows from (``viewsource``)."""
