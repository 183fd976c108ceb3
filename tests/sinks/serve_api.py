"""Run the real gate API under uvicorn for the delivery tests: ``serve_api.py DB_URL EVIDENCE_DIR PORT``."""

from __future__ import annotations

import sys

import uvicorn

from gatewatch.api.app import create_app
from gatewatch.api.settings import Settings

if __name__ == "__main__":
    db_url, evidence_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    settings = Settings(
        database_url=db_url, evidence_dir=evidence_dir, migrate_on_start=True, docs_enabled=False
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)
