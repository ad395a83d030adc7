"""The web dashboard ``postlens serve`` carries at ``/ui``: static HTML + JS (plotly's bundle from the installed
``plotly`` package, nothing from outside the server) over JSON endpoints under ``/v1/dashboard/``.

The page and its scripts hold no data and are public; every data call goes through the API key gate like the
rest of ``/v1/``. The browser asks for the key once, keeps it in ``sessionStorage`` (gone when the tab closes)
and sends it as an ``X-API-Key`` header from ``fetch``: never in a URL, so never in a log or the history.
"""

from postlens.serve.dashboard.routes import install_dashboard

__all__ = ["install_dashboard"]
