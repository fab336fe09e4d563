"""The API's endpoints, one module per area; ``ROUTERS`` in the order the app includes them."""

from ledger.api.routes import (
    accounting,
    alerts,
    dashboard,
    disclosures,
    entries,
    health,
    index_tiles,
    metrics,
    notices,
    reports,
    tiles,
    volume,
)

ROUTERS = [
    health.router,
    disclosures.router,
    volume.router,
    alerts.router,
    notices.router,
    entries.router,
    index_tiles.router,  # /tiles/index before /tiles/{topic}/{partition}
    tiles.router,
    accounting.router,
    reports.router,
    metrics.router,
    dashboard.router,
]
