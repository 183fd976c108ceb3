"""Gate API: stores crossings and flags from the edge boxes, serves counts and the review page.

Start it with ``gatewatch serve`` or build the ASGI app yourself::

    from gatewatch.api.app import create_app
    from gatewatch.api.settings import Settings

    app = create_app(Settings(database_url="sqlite:///gatewatch.db"))
"""

from __future__ import annotations
