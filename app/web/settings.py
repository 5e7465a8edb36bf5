"""Server settings: embedded defaults, overridable by UNROLL_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What an operator can tune; every field has a safe default, so no config file is needed."""

    model_config = SettingsConfigDict(env_prefix="UNROLL_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Comma-separated origins allowed to open a websocket. Empty means same origin only.
    allowed_origins: str = ""
    # Comma-separated Host names answered beside the defaults (see app/web/hosts.py); "*": any.
    allowed_hosts: str = ""
    # Comma-separated origins that may frame an ?embed=1 page (e.g. a course site); "*": any.
    embed_origins: str = ""
    max_body_bytes: int = Field(65536, ge=0, description="largest HTTP request body by default")
    log_level: str = "info"

    max_sessions: int = Field(300, ge=1, description="concurrent websocket sessions per server")
    max_hidden_size: int = Field(256, ge=1)
    max_embedding_size: int = Field(256, ge=1, description="largest embedding a client may ask for")
    max_seq_len: int = Field(200, ge=1)
    max_vocab: int = Field(256, ge=2)
    max_batch: int = Field(64, ge=1)
    max_train_iterations: int = Field(5000, ge=1, description="iterations per train command")
    max_message_bytes: int = Field(65536, ge=1024, description="largest client message accepted")
    max_import_bytes: int = Field(4 * 2**20, ge=1024, description="largest session import")
    max_commands_per_second: float = Field(
        50.0, gt=0, description="sustained command rate per client"
    )
    # A user's own files, uploaded over HTTP (app/web/uploads.py).
    max_upload_bytes: int = Field(1_000_000, ge=1024, description="largest text or CSV upload")
    max_upload_rows: int = Field(100_000, ge=10, description="rows of data in a CSV upload")
    max_weights_bytes: int = Field(8 * 2**20, ge=1024, description="largest .safetensors upload")
    max_uploads_per_session: int = Field(4, ge=2, description="uploads kept per session")
    max_upload_memory_bytes: int = Field(
        256 * 2**20, ge=2**20, description="memory all sessions' uploads may hold together"
    )
    send_queue_frames: int = Field(32, ge=2, description="animation frames buffered per client")
    send_queue_bytes: int = Field(
        16 * 2**20,
        ge=2**16,
        description="bytes queued for a client; past it, one not reading closes",
    )
    keepalive_seconds: float = Field(20.0, gt=0)

    # Where sessions run: worker processes, light ones for runs whose every request is short,
    # heavy ones (at a lower OS priority) for the rest. 0: one of each kind per core.
    workers: int = Field(0, ge=0, description="light worker processes; 0: one per core")
    heavy_workers: int = Field(0, ge=0, description="heavy worker processes; 0: one per core")
    heavy_nice: int = Field(10, ge=0, le=19, description="heavy workers' lower OS priority")
    # Budgets: a run over either is refused, naming a size that would fit.
    session_memory_mb: int = Field(512, ge=1, description="memory one session may take")
    memory_budget_mb: int = Field(
        0, ge=0, description="memory of the whole server; 0: 80% of the machine's or container's"
    )
    client_cpu_share: float = Field(
        0.5, gt=0, description="cores of worker time one client may use, sustained"
    )
    client_cpu_burst_seconds: float = Field(
        10.0, gt=0, description="CPU seconds a client may use at once before its share applies"
    )

    # Classroom rooms: one run shown live to many students.
    max_rooms: int = Field(20, ge=1, description="rooms this server process drives at once")
    max_room_students: int = Field(
        500, ge=1, description="students of one room connected to this server process"
    )
    room_idle_seconds: float = Field(
        1800.0, gt=0, description="a room without its teacher for this long ends"
    )
    room_creations_per_hour: int = Field(10, ge=1, description="rooms one client address starts")
    room_misses_per_minute: int = Field(
        30, ge=1, description="lookups of room codes that do not exist, per client address"
    )
    fork_grace_seconds: float = Field(
        300.0, gt=0, description="a student's fork outlives its dropped connection this long"
    )
    max_class_rows: int = Field(1000, ge=1, description="forks a room's class view lists")
    # Where students reach this server, for join links and QR codes (e.g. http://10.0.0.5:8000).
    # Empty: the address the teacher's browser used.
    public_url: str = Field("", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    # A Redis server (redis://host:6379/0) that carries rooms between server processes. Empty:
    # rooms live in this process only.
    redis_url: str = ""

    def origin_list(self) -> list[str]:
        """Allowed websocket origins as a list."""
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    """Settings read once from the environment."""
    return Settings()
