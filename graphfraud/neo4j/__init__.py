"""Neo4j side of graphfraud: load a workspace into a server, run the same detectors on what
the server holds, write rings and leads back, and the investigator query library.

The ``neo4j`` driver is an optional dependency (``pip install 'graphfraud[neo4j]'``); it is
imported only when a function here talks to a server.
"""
