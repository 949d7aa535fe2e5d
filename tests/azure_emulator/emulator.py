"""``Emulator``: the stand-in in a background thread of the test process.

    with Emulator(seed="default.yml") as emu:
        credential = ClientSecretCredential(emu.tenant_id, emu.client_id, emu.client_secret,
                                            authority=emu.authority, disable_instance_discovery=True)
        ...
"""

from __future__ import annotations

import copy

from .control import ControlApi
from .core import EmulatorCore
from .server import TLSServerThread


class Emulator(ControlApi):
    def __init__(self, seed=None, host: str = "127.0.0.1", port: int = 0, retry_after: int = 1, page_size: int = 50,
                 workdir: str | None = None) -> None:
        self.core = EmulatorCore(seed, retry_after=retry_after, page_size=page_size)
        self._host, self._port, self._workdir = host, port, workdir
        self._server: TLSServerThread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Emulator":
        if self._server is None:
            self._server = TLSServerThread(self.core, self._host, self._port, self._workdir)
            self._server.server.info_provider = self.info  # served at GET /_emulator/info, always current
            self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _call(self, name: str, **kwargs):
        return copy.deepcopy(getattr(self.core, name)(**kwargs))

    def _running(self) -> TLSServerThread:
        if self._server is None:
            raise RuntimeError("the emulator is not started: use `with Emulator(...) as emu` or emu.start()")
        return self._server

    # ------------------------------------------------------------------ where and who
    @property
    def base_url(self) -> str:
        return self._running().base_url

    @property
    def port(self) -> int:
        return self._running().port

    @property
    def ca_file(self) -> str:
        return self._running().ca_file

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/metadata/endpoints?api-version=2022-09-01"

    @property
    def authority(self) -> str:
        """The Entra authority host for azure-identity's ``authority=`` (the stand-in itself)."""
        return self.base_url

    @property
    def audience(self) -> str:
        """The ARM token audience; request tokens for ``audience + ".default"``."""
        return self.core.audiences[0]

    @property
    def credential_scopes(self) -> list[str]:
        return [f"{self.audience}.default"]

    @property
    def tenant_id(self) -> str:
        return self.core.identity["tenant_id"]

    @property
    def subscription_id(self) -> str:
        return self.core.identity["subscription_id"]

    @property
    def client_id(self) -> str:
        return self.core.identity["client_id"]

    @property
    def client_secret(self) -> str:
        return self.core.identity["client_secret"]

    def env(self, scheme: str = "awx") -> dict[str, str]:
        """Environment for modules. ``awx``: the names an AWX/AAP Azure credential injects (the contract);
        ``azure_identity``: azure-identity's own names; ``managed_identity``: what a VM/App Service
        with a managed identity has (IDENTITY_ENDPOINT/IDENTITY_HEADER, no secret)."""
        if scheme == "awx":
            return {
                "AZURE_CLIENT_ID": self.client_id,
                "AZURE_SECRET": self.client_secret,
                "AZURE_TENANT": self.tenant_id,
                "AZURE_SUBSCRIPTION_ID": self.subscription_id,
                "AZURE_CLOUD_ENVIRONMENT": self.metadata_url,
                "REQUESTS_CA_BUNDLE": self.ca_file,
            }
        if scheme == "azure_identity":
            return {
                "AZURE_CLIENT_ID": self.client_id,
                "AZURE_CLIENT_SECRET": self.client_secret,
                "AZURE_TENANT_ID": self.tenant_id,
                "AZURE_SUBSCRIPTION_ID": self.subscription_id,
                "AZURE_AUTHORITY_HOST": self.authority,
                "AZURE_CLOUD_ENVIRONMENT": self.metadata_url,
                "REQUESTS_CA_BUNDLE": self.ca_file,
            }
        if scheme == "managed_identity":
            # azure-identity's ManagedIdentityCredential uses the App Service protocol with these two.
            return {
                "IDENTITY_ENDPOINT": f"{self.base_url}/msi/token",
                "IDENTITY_HEADER": self.core.entra.identity_header,
                "AZURE_SUBSCRIPTION_ID": self.subscription_id,
                "AZURE_CLOUD_ENVIRONMENT": self.metadata_url,
                "REQUESTS_CA_BUNDLE": self.ca_file,
            }
        raise ValueError("scheme must be 'awx', 'azure_identity' or 'managed_identity'")

    def info(self) -> dict:
        return {
            "base_url": self.base_url,
            "ca_file": self.ca_file,
            "metadata_url": self.metadata_url,
            "authority": self.authority,
            "audience": self.audience,
            "tenant_id": self.tenant_id,
            "subscription_id": self.subscription_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "env": self.env(),
            "managed_identity_env": self.env("managed_identity"),
        }
