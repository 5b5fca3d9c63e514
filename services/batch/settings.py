"""Settings of the batch service (environment variables, ``SOCSEC_`` prefix)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from socsec.contracts.topics import FORM_MESSAGE_BYTES
from socsec.kit.settings import ServiceSettings


class BatchSettings(ServiceSettings):
    service_name: str = "batch"
    http_port: int = 8102

    transfer_dir: Path | None = Field(
        default=None,
        description="Root of the senders' folder trees (<sender>/IN, INTEST, OUT, OUTTEST); "
        "default <SOCSEC_DATA_DIR or .socsec>/transfer.",
    )
    create_sender_folders: bool = Field(
        default=True,
        description="Create the folder tree of every active sender the registry knows.",
    )
    watch_interval_seconds: float = Field(default=1.0, gt=0, description="Folder poll period.")
    settle_seconds: float = Field(
        default=1.0,
        ge=0,
        description="A file is taken from IN once unchanged for this long (still being written).",
    )
    chunk_bytes: int = Field(
        default=1 << 20, ge=4096, description="Size of the pieces files are stored and read in."
    )
    publish_batch_size: int = Field(
        default=1000, ge=1, description="Forms published per transaction (outbox publish_many)."
    )
    poll_seconds: float = Field(
        default=1.0, gt=0, description="How often pending work is looked for without a wake-up."
    )

    # batch.md "Defaults to make configurable".
    max_file_age_days: int = 30
    go_timeout_hours: float = 24.0
    max_parts: int = Field(default=9, ge=1, le=9)
    max_forms_per_file: int | None = None
    max_form_bytes: int = Field(
        default=FORM_MESSAGE_BYTES * 3 // 4,
        ge=64 * 1024,
        le=FORM_MESSAGE_BYTES * 3 // 4,
        description="The largest form a file may hold (ACRF-184 above): each form travels "
        "as one message on batch.forms.v1 (limit 32 MiB), escaped into JSON inside its "
        "envelope, so a quarter of the limit is kept for that. 24 MiB is a DmfA declaration "
        "of about 20,000 worker lines.",
    )
    strict_numeric_sequence: bool = False
    simulation_folder: str = Field(default="INTEST", pattern="^(IN|INTEST)$")
    signature_required_envs: tuple[str, ...] = ("R",)
    verify_signatures: bool = Field(
        default=False,
        description="Verify every FS part as a detached CMS/PKCS#7 signature of its FI part "
        "by a certificate registered for the sender (ACRF-125 otherwise); false: a non-empty "
        "FS is enough.",
    )
    certificates_dir: Path | None = Field(
        default=None,
        description="The senders' registered certificates: <dir>/<sender>/*.pem; default "
        "<SOCSEC_DATA_DIR or .socsec>/certificates.",
    )
    default_language: str = Field(
        default="fr", description="AnomalyLabel language when the employer's is unknown."
    )

    @property
    def certificates_root(self) -> Path:
        """Where the senders' certificates are (one folder per sender number)."""
        if self.certificates_dir is not None:
            return self.certificates_dir
        return Path(os.environ.get("SOCSEC_DATA_DIR", ".socsec")) / "certificates"

    @property
    def transfer_root(self) -> Path:
        """Where the senders' folder trees are."""
        if self.transfer_dir is not None:
            return self.transfer_dir
        return Path(os.environ.get("SOCSEC_DATA_DIR", ".socsec")) / "transfer"
