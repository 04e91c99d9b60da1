"""Evidence packages for the police liaison (证据包): one case's subgraph, claims and
summary in the formats investigators' tools read, a manifest of SHA-256 hashes that
``verify`` checks, and a hash-chained audit log of every export.

- ``package.export_case`` writes a package (folder, optionally a zip beside it);
- ``integrity.verify_package`` recomputes every hash of a folder or zip;
- ``audit.append`` / ``audit.verify`` keep and check the workspace's audit log.
"""
