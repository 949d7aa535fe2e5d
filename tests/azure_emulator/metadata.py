"""The cloud metadata endpoint: ``GET /metadata/endpoints?api-version=...``.

ARM serves two shapes (clients pick one by api-version):
- 2019-05-01 and later (azure-cli, ``2022-09-01``): a JSON array of clouds, each with
  ``name``, ``resourceManager``, ``authentication {loginEndpoint, audiences, tenant,
  identityProvider}``, ``suffixes`` and service endpoints;
- earlier versions (``2015-01-01``, Azure Stack's discovery that msrestazure and
  azure.azcollection read): one object ``{galleryEndpoint, graphEndpoint,
  portalEndpoint, authentication {loginEndpoint, audiences}}``; the ARM endpoint is
  the URL the document was fetched from.
"""

from __future__ import annotations

CLOUD_NAME = "AzureEmulator"


def endpoints(api_version: str, base_url: str, audiences: list[str]) -> object:
    login = f"{base_url}/"
    if api_version and api_version < "2019-05-01":
        return {
            "galleryEndpoint": f"{base_url}/gallery/",
            "graphEndpoint": f"{base_url}/graph/",
            "portalEndpoint": f"{base_url}/portal/",
            "authentication": {"loginEndpoint": login, "audiences": list(audiences)},
        }
    return [
        {
            "name": CLOUD_NAME,
            "portal": f"{base_url}/portal",
            "resourceManager": f"{base_url}/",
            "authentication": {
                "loginEndpoint": login,
                "audiences": list(audiences),
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "gallery": f"{base_url}/gallery/",
            "graph": f"{base_url}/graph/",
            "graphAudience": f"{base_url}/graph/",
            "media": f"{base_url}/media/",
            "batch": f"{base_url}/batch/",
            "sqlManagement": f"{base_url}/sql/",
            "vmImageAliasDoc": f"{base_url}/vmImageAliasDoc",
            "activeDirectoryDataLake": f"{base_url}/datalake/",
            "microsoftGraphResourceId": f"{base_url}/msgraph/",
            "appInsightsResourceId": f"{base_url}/appinsights/",
            "appInsightsTelemetryChannelResourceId": f"{base_url}/appinsights-telemetry/",
            "attestationResourceId": f"{base_url}/attestation/",
            "synapseAnalyticsResourceId": f"{base_url}/synapse/",
            "logAnalyticsResourceId": f"{base_url}/loganalytics/",
            "ossrDbmsResourceId": f"{base_url}/ossrdbms/",
            "suffixes": {
                "azureDataLakeStoreFileSystem": "datalake.azure-emulator.test",
                "acrLoginServer": "acr.azure-emulator.test",
                "sqlServerHostname": "sql.azure-emulator.test",
                "azureDataLakeAnalyticsCatalogAndJob": "dla.azure-emulator.test",
                "keyVaultDns": "vault.azure-emulator.test",
                "storage": "storage.azure-emulator.test",
                "azureFrontDoorEndpointSuffix": "afd.azure-emulator.test",
                "storageSyncEndpointSuffix": "afs.azure-emulator.test",
                "mhsmDns": "mhsm.azure-emulator.test",
                "mysqlServerEndpoint": "mysql.azure-emulator.test",
                "postgresqlServerEndpoint": "postgres.azure-emulator.test",
                "mariadbServerEndpoint": "mariadb.azure-emulator.test",
                "synapseAnalytics": "synapse.azure-emulator.test",
                "attestationEndpoint": "attest.azure-emulator.test",
            },
        }
    ]
