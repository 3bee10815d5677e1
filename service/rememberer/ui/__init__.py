"""The memory inspector: server-rendered pages under `/ui` that show what a memory learned.

`mount(app)` adds them to the service. Pages read the tables through `queries` (read-only,
keyset-paginated) and reach the retrieval through the same function `/v1/.../retrieve` runs.
`security` holds the cookie login, CSRF tokens and the response headers; `plots` draws SVG.
"""

from rememberer.ui.mount import mount

__all__ = ["mount"]
