"""The ``graphfraud`` command: a thin layer over the library.

Each command parses its options, calls one library function, prints what it returned, and
turns a ``GraphfraudError`` into a one-line message in the chosen language (its exit code).
The commands live by stage — ``data`` (generate, ingest, status, rejects), ``detection``
(detect, demo), ``graph`` (load, query), ``views`` (case, explore, expand, report),
``evidence`` (export, verify, audit, keys), ``workbench`` (serve, users) — on the group in ``base``.
"""

from graphfraud.cli import data, detection, evidence, graph, views, workbench  # noqa: F401  (each adds its commands)
from graphfraud.cli.base import accept_lang_everywhere, main

# ``--lang`` works after any command as well as before it: ``graphfraud ingest DIR --lang en``
accept_lang_everywhere(main)

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    main()
