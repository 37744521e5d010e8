"""Write a local .env with fresh secrets if there is none (for `make run` and `make test`).

Production sets SECRET_KEY and FORMBRIDGE_ENCRYPTION_KEYS itself; nothing here is used there.
"""

import base64
import os
import secrets
import sys
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if path.exists():
    sys.exit(0)
fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
path.write_text(
    "# Generated for local development by scripts/ensure_env.py; see .env.example.\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FORMBRIDGE_ENCRYPTION_KEYS={fernet_key}\n"
)
path.chmod(0o600)
print(f"wrote {path} with fresh local secrets")
