"""The store of record: typed models, engine and session set-up, Alembic migrations."""

from esl.db import audit_models as audit_models  # registers label_contents on Base.metadata
from esl.db import ble_models as ble_models  # registers ble_label_inventory on Base.metadata
from esl.db import console_models as console_models  # registers console_sessions, label_actions
from esl.db import lease_models as lease_models  # registers controller_leases
from esl.db import template_models as template_models  # registers label_templates
from esl.db import vitals_models as vitals_models  # registers label_vitals
from esl.db.engine import create_engine_for, session_factory, upgrade_database

__all__ = ["create_engine_for", "session_factory", "upgrade_database"]
