"""Where the project's own files are, for a run from a checkout."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASTERISK_CONF_DIR = PROJECT_ROOT / "asterisk-conf"
DIALPLAN_TEMPLATES_DIR = PROJECT_ROOT / "dialplan_templates"
IVR_PROMPTS_DIR = PROJECT_ROOT / "ivr_prompts"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
