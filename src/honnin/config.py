"""Settings: one pydantic-settings class read from ``HONNIN_*`` environment variables.

Built by the app factory (or the CLI), never at import time. Demo mode may generate
secrets; ``serve`` refuses to start while a secret is missing or still the default.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from honnin.errors import HonninError

# The secrets that production must set itself; demo mode fills them in.
REQUIRED_SECRETS = (
    "admin_token",
    "data_key",
    "subject_key",
    "webhook_secret",
    "ledger_signing_key",
    "ledger_witness_key",
    "ledger_consortium_key",
)
# The ones demo mode generates as random values; the ledger makes its own signed-note keys.
GENERATED_DEMO_SECRETS = ("admin_token", "data_key", "subject_key", "webhook_secret")
DEFAULT_SECRET_MARKER = "change-me"  # noqa: S105 - a marker to refuse, not a secret


class ConfigurationError(HonninError):
    """The settings cannot run the platform in the requested mode."""

    code = "configuration_error"
    status = 500


class Settings(BaseSettings):
    """Every tunable of a deployment. Field ``x`` reads ``HONNIN_X``."""

    model_config = SettingsConfigDict(env_prefix="HONNIN_", extra="ignore")

    mode: Literal["demo", "production", "test"] = "production"
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = Path("var")

    database_url: str = ""
    database_echo: bool = False
    # Unset: 4 connections and no overflow on SQLite, 20 and none on PostgreSQL. Each aiosqlite
    # connection is a thread and SQLite has one write lock, so more SQLite connections only
    # contend (measured: a bank inquiry cost twice the CPU with 10 + 20 at 10 concurrent
    # flows; docs/benchmarks.md, inquiry).
    database_pool_size: int | None = Field(default=None, ge=1, le=500)
    database_max_overflow: int | None = Field(default=None, ge=0, le=500)
    # PostgreSQL only: the asyncpg connections of the one-statement reads and guarded
    # writes (honnin.db.direct, honnin.db.statement_pool), beside the pool above.
    database_direct_pool_size: int = Field(default=20, ge=1, le=500)
    # Test each PostgreSQL connection before use (three round trips per checkout with
    # asyncpg); for networks that silently drop idle connections. Off: a dropped connection
    # fails its one transaction and the pool replaces the others.
    database_pre_ping: bool = False
    redis_url: str = ""

    # Secrets. Empty means "not set".
    admin_token: SecretStr = SecretStr("")
    data_key: SecretStr = SecretStr("")  # base64 AES-256 key(s) for PII at rest
    subject_key: SecretStr = SecretStr("")  # HMAC key for pseudonymous subject ids
    webhook_secret: SecretStr = SecretStr("")

    token_issuer: str = ""
    token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    signing_key_rotation_days: int = Field(default=30, ge=1)
    # eKYC uploads (card photos, selfie frames) arrive in request bodies: 4 MiB by default.
    max_body_bytes: int = Field(default=4_194_304, ge=1024)
    client_assertion_max_age_seconds: int = Field(default=300, ge=30)

    log_level: str = "INFO"
    log_json: bool = True
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    workers: int = Field(default=1, ge=1, le=64)
    # Young-generation threshold of the garbage collector while the app runs (0: keep
    # Python's 700); see honnin.gc_tuning.
    gc_young_threshold: int = Field(default=10_000, ge=0, le=1_000_000)

    # --- gateway settings (owned by honnin.gateway and honnin.banks.flow) ---
    # Per-enterprise limits for APIs not tied to a bank (bank APIs use the contract's
    # rate_per_second / daily_quota; None there falls back to these).
    gateway_default_rate_per_second: int = Field(default=50, ge=1)
    gateway_default_daily_quota: int = Field(default=100_000, ge=1)
    # Seconds a process may keep serving a cached contract, closure, bank list or opened
    # bank connection profile after a change made elsewhere (changes made through this
    # process invalidate at once).
    gateway_cache_ttl_seconds: float = Field(default=5.0, ge=0.0, le=3600.0)
    gateway_closed_retry_after_seconds: int = Field(default=300, ge=1)
    # Plugin options by plugin name (JSON): {"purpose_guard": {"deny": ["marketing"]}}.
    gateway_plugin_options: dict[str, dict[str, object]] = Field(default_factory=dict)
    # Defaults for every bank; ``bank_flow`` overrides them per bank (JSON):
    # {"momiji_rest": {"max_in_flight": 4, "rate_per_second": 20, "timeout_seconds": 5}}.
    bank_max_in_flight: int = Field(default=8, ge=1)
    bank_rate_per_second: float = Field(default=50.0, gt=0.0)
    bank_queue_size: int = Field(default=64, ge=0)
    bank_queue_timeout_seconds: float = Field(default=5.0, ge=0.0, le=300.0)
    bank_timeout_seconds: float = Field(default=10.0, gt=0.0, le=600.0)
    bank_retries: int = Field(default=2, ge=0, le=10)
    bank_retry_backoff_seconds: float = Field(default=0.2, ge=0.0, le=60.0)
    bank_retry_backoff_max_seconds: float = Field(default=2.0, ge=0.0, le=600.0)
    bank_breaker_failures: int = Field(default=5, ge=1)
    bank_breaker_open_seconds: float = Field(default=30.0, gt=0.0, le=3600.0)
    bank_flow: dict[str, dict[str, float]] = Field(default_factory=dict)
    # --- end gateway settings ---

    # --- inquiries settings (owned by honnin.inquiries) ---
    inquiry_consent_ttl_seconds: int = Field(default=600, ge=30, le=86_400)
    inquiry_retention_hours: int = Field(default=72, ge=0, le=24 * 400)
    bank_http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    maintenance_interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Webhook deliveries in flight at once per process (each receiver gets at most as
    # many connections).
    webhook_max_in_flight: int = Field(default=32, ge=1, le=1024)
    # --- end inquiries settings ---

    # --- trace settings (owned by honnin.trace) ---
    # Operator console login; the hash is argon2 (``honnin trace hash-password``). An empty
    # hash disables the console. The session cookie is signed with a key derived from
    # subject_key, so no extra secret is needed.
    trace_console_username: str = "operator"
    trace_console_password_hash: SecretStr = SecretStr("")
    trace_console_session_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60)
    # User receipt links: lifetime, and purposes whose data may not be revoked (records
    # kept by law, e.g. AML record keeping) even where the contract is still active.
    trace_receipt_ttl_hours: int = Field(default=720, ge=1, le=24 * 400)
    trace_irrevocable_purposes: list[str] = Field(default_factory=lambda: ["aml_record_keeping"])
    trace_page_max: int = Field(default=1000, ge=10, le=10_000)
    trace_export_batch: int = Field(default=2000, ge=100, le=50_000)
    trace_ledger_batch: int = Field(default=256, ge=1, le=20_000)
    trace_ledger_interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    # --- end trace settings ---

    # --- verifications settings (owned by honnin.verifications) ---
    # Trust anchors (CSCA certificates / master lists / CRLs) for chip passive
    # authentication; falls back to documents_trust_dir when unset.
    verifications_trust_dir: Path | None = None
    verifications_session_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    verifications_retention_hours: int = Field(default=72, ge=0, le=24 * 400)
    # 0 = run the image work in a thread of the app process (tests); N = a process pool.
    verifications_workers: int = Field(default=2, ge=0, le=64)
    verifications_max_frames: int = Field(default=60, ge=4, le=240)
    verifications_max_upload_bytes: int = Field(default=8_000_000, ge=10_000)
    verifications_max_frame_pixels: int = Field(default=1920 * 1080, ge=10_000)
    verifications_review_margin: float = Field(default=0.04, ge=0.0, le=0.5)
    verifications_capture_step_seconds: float = Field(default=2.0, gt=0.2, le=10.0)
    verifications_ledger_validity_days: int = Field(default=365, ge=1, le=3650)
    # Redis URL of a Celery broker: the analysis then runs on `honnin verifications
    # worker` processes (other machines) instead of the local process pool.
    verifications_celery_broker: str = ""
    verifications_celery_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # --- end verifications settings ---

    # --- documents settings (owned by honnin.documents) ---
    # Directory of CSCA certificates, master lists and CRLs for chip passive authentication.
    documents_trust_dir: Path | None = None
    # ONNX Runtime threads per OCR model; None lets it use every core.
    documents_ocr_threads: int | None = Field(default=None, ge=1, le=64)
    # --- end documents settings ---

    # --- faces settings (owned by honnin.faces) ---
    # Defaults mirror honnin.faces (match.DEFAULT_THRESHOLD is calibrated: docs/faces.md).
    faces_match_threshold: float = Field(default=0.57, gt=0.0, lt=1.5)
    faces_max_pixels: int = Field(default=40_000_000, ge=10_000)
    faces_detect_max_side: int = Field(default=640, ge=160, le=4096)
    faces_challenge_length: int = Field(default=3, ge=1, le=8)
    faces_challenge_ttl_seconds: int = Field(default=120, ge=10, le=3600)
    faces_challenge_step_window_seconds: float = Field(default=6.0, gt=0.0, le=60.0)
    faces_video_max_frames: int = Field(default=48, ge=4, le=240)
    # --- end faces settings ---

    # --- ledger settings (owned by honnin.ledger) ---
    # Log identity: checkpoint origin (default: base_url host + /ledger) and Ed25519 keys as
    # C2SP signed-note strings ``PRIVATE+KEY+<name>+<id>+<base64>``; demo/test generate them.
    ledger_origin: str = ""
    ledger_signing_key: SecretStr = SecretStr("")
    ledger_witness_key: SecretStr = SecretStr("")  # cosignature/v1 key (type 0x04)
    # HMAC key shared by the consortium so every provider derives the same subject id.
    ledger_consortium_key: SecretStr = SecretStr("")
    ledger_batch_size: int = Field(default=512, ge=1, le=20_000)
    # Peers whose logs we witness and query: [{"origin", "url", "log_key"}] (JSON).
    ledger_peers: list[dict[str, str]] = Field(default_factory=list)
    # Witnesses that cosign our checkpoints and whose cosignatures we accept on peers'
    # checkpoints: [{"name", "url", "key"}] (JSON); k of n = ledger_witness_quorum.
    ledger_witnesses: list[dict[str, str]] = Field(default_factory=list)
    ledger_witness_quorum: int = Field(default=1, ge=0)
    ledger_accepted_methods: list[str] = Field(default_factory=lambda: ["jp_he", "icao_chip"])
    ledger_lookup_max_age_days: int = Field(default=90, ge=1)
    ledger_lookup_rate_per_minute: int = Field(default=30, ge=1)
    ledger_salt_retention_days: int = Field(default=2557, ge=1)  # 7 years (AML records)
    # --- end ledger settings ---

    # --- banks settings (owned by honnin.banks / honnin.sandbox) ---
    # --- end banks settings ---

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'honnin.db').as_posix()}"

    @property
    def database_pool(self) -> tuple[int, int]:
        """(pool size, max overflow) for the resolved database URL."""
        sqlite = self.resolved_database_url.startswith("sqlite")
        # PostgreSQL: no overflow by default. An overflow connection is closed when it
        # comes back to a full pool, and a new one costs a server backend, the connect
        # and every statement prepared again; with 20 + 10, 100 concurrent bank inquiries
        # opened and closed 0.08-0.10 connections per flow (docs/benchmarks.md, inquiry,
        # ninth round). At a peak, work waits a moment for a kept connection instead.
        # The broker's hot statements have a pool of their own on PostgreSQL
        # (database_direct_pool_size), so this one serves transactions and the rest.
        size = self.database_pool_size or (4 if sqlite else 20)
        overflow = self.database_max_overflow
        if overflow is None:
            overflow = 0
        return size, overflow

    @property
    def issuer(self) -> str:
        return self.token_issuer or self.base_url.rstrip("/")

    def missing_secrets(self) -> list[str]:
        """Names of the ``HONNIN_*`` secrets that are unset or still a default."""
        missing = []
        for name in REQUIRED_SECRETS:
            value: SecretStr = getattr(self, name)
            raw = value.get_secret_value()
            if not raw or DEFAULT_SECRET_MARKER in raw:
                missing.append(f"HONNIN_{name.upper()}")
        return missing

    def require_production_secrets(self) -> None:
        missing = self.missing_secrets()
        if missing:
            msg = f"refusing to start: set {', '.join(missing)} (missing or default)"
            raise ConfigurationError(msg)


def generate_demo_secrets(settings: Settings, *, secrets_file: Path) -> Settings:
    """Fill unset secrets from ``secrets_file``, creating it on first run.

    Reusing the file keeps tokens and encrypted rows readable across demo restarts.
    """
    import base64
    import json

    stored: dict[str, str] = {}
    if secrets_file.exists():
        stored = json.loads(secrets_file.read_text())
    changed = False
    for name in GENERATED_DEMO_SECRETS:
        if name not in stored:
            raw = secrets.token_bytes(32)
            stored[name] = base64.b64encode(raw).decode() if name == "data_key" else raw.hex()
            changed = True
    if changed:
        secrets_file.parent.mkdir(parents=True, exist_ok=True)
        secrets_file.write_text(json.dumps(stored, indent=2))
        secrets_file.chmod(0o600)
    updates: dict[str, SecretStr] = {}
    for name in GENERATED_DEMO_SECRETS:
        current: SecretStr = getattr(settings, name)
        if not current.get_secret_value():
            updates[name] = SecretStr(stored[name])
    return settings.model_copy(update=updates)


def cli_settings() -> Settings:
    """Settings for operator commands run beside a deployment.

    With no HONNIN_DATABASE_URL the command works on the embedded demo state under
    ``var/`` and reuses its generated secrets; otherwise the production secrets are required.
    """
    settings = Settings()
    if not settings.database_url:
        demo = settings.model_copy(update={"mode": "demo"})
        return generate_demo_secrets(demo, secrets_file=settings.var_dir / "secrets.json")
    settings.require_production_secrets()
    return settings
