"""``python -m azure_emulator`` in its own process, driven through ControlClient."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from azure_emulator import ControlClient, ControlError, Emulator
from azure_emulator.control import OPERATIONS, ControlApi
from azure_emulator.core import EmulatorCore

TESTS_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def standalone(tmp_path):
    info_file = tmp_path / "info.json"
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "azure_emulator", "--seed", "default.yml", "--info-file", str(info_file), "--workdir", str(tmp_path / "work")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not info_file.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the stand-in did not write its info file"
            time.sleep(0.05)
        yield proc, info_file, json.loads(info_file.read_text())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_serves_until_sigterm_and_prints_the_environment(standalone):
    proc, info_file, info = standalone
    client = ControlClient(info["base_url"], info["ca_file"])
    assert client.subscription_id == info["subscription_id"]
    assert client.env()["AZURE_CLOUD_ENVIRONMENT"] == f"{info['base_url']}/metadata/endpoints?api-version=2022-09-01"
    metadata = requests.get(client.env()["AZURE_CLOUD_ENVIRONMENT"], verify=info["ca_file"], timeout=10).json()
    assert metadata[0]["resourceManager"] == f"{info['base_url']}/"

    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=10)[0]
    assert proc.returncode == 0
    assert f"Azure stand-in listening on {info['base_url']}" in out
    assert f"export AZURE_SUBSCRIPTION_ID={info['subscription_id']}" in out
    assert f"export REQUESTS_CA_BUNDLE={info['ca_file']}" in out
    assert not info_file.exists()


def test_control_client_drives_the_remote_stand_in(standalone):
    info = standalone[2]
    client = ControlClient(info["base_url"], info["ca_file"])
    rg = f"/subscriptions/{info['subscription_id']}/resourceGroups/rg-k8s"
    nic_id = f"{rg}/providers/Microsoft.Network/networkInterfaces/node-0-nic"
    assert client.get_resource(nic_id)["properties"]["enableIPForwarding"] is False
    client.mutate(nic_id, {"properties": {"enableIPForwarding": True}})
    assert client.get_resource(nic_id)["properties"]["enableIPForwarding"] is True

    token = requests.post(f"{info['base_url']}/{info['tenant_id']}/oauth2/v2.0/token", verify=info["ca_file"], timeout=10, data={
        "grant_type": "client_credentials", "client_id": info["client_id"], "client_secret": info["client_secret"],
        "scope": f"{info['audience']}.default"}).json()["access_token"]
    client.clear_log()
    client.inject_faults(1, status=503, method="GET")
    url = f"{info['base_url']}{nic_id}?api-version=2024-05-01"
    statuses = [requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=info["ca_file"], timeout=10).status_code
                for attempt in range(2)]
    assert statuses == [503, 200]
    assert client.counts()["reads"] == 2
    assert [r["status"] for r in client.requests()] == [503, 200]

    client.reset("default.yml")
    assert client.get_resource(nic_id)["properties"]["enableIPForwarding"] is False
    assert client.counts()["reads"] == 0
    client.reset({"subscription_id": "22222222-2222-4222-8222-222222222222"})
    assert client.subscription_id == "22222222-2222-4222-8222-222222222222"  # info follows the new seed
    with pytest.raises(ControlError, match="does not model"):
        client.put_resource(f"{rg}/providers/Microsoft.Storage/storageAccounts/x", {"location": "westeurope"})
    client.close()


def test_every_control_operation_exists_in_process_and_over_https():
    for name in OPERATIONS:
        assert callable(getattr(ControlApi, name)), name
        assert callable(getattr(EmulatorCore, name)), name
    assert issubclass(Emulator, ControlApi) and issubclass(ControlClient, ControlApi)


def test_certificate_covers_the_bound_address():
    with Emulator(host="127.0.0.2") as emu:
        assert emu.base_url.startswith("https://127.0.0.2:")
        assert requests.get(emu.metadata_url, verify=emu.ca_file, timeout=10).status_code == 200
