"""This deployment's own checkov policies for the Bicep templates (loaded via .checkov.yaml).

checkov's built-in Bicep checks do not cover what this deployment relies on most: no storage
account keys, a Key Vault governed by Azure RBAC, telemetry accepted only from Entra identities,
a function app that runs as a managed identity on Flex Consumption, and no basic-auth
publishing. Each check fails on the property value that breaks it, so `tests/infra` can flip one
and see the scan fail.
"""

from __future__ import annotations

from typing import Any

from checkov.bicep.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


def _properties(conf: dict[str, Any]) -> dict[str, Any]:
    properties = conf.get("properties")
    return properties if isinstance(properties, dict) else {}


class StorageSharedKeyAccessDisabled(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Storage account refuses shared-key (account key and SAS) authorization",
            id="CKV_CALSYNC_1",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Storage/storageAccounts",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/allowSharedKeyAccess"]
        allowed = _properties(conf).get("allowSharedKeyAccess")
        return CheckResult.PASSED if allowed is False else CheckResult.FAILED


class KeyVaultRbacAuthorization(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Key Vault uses Azure RBAC, not access policies",
            id="CKV_CALSYNC_2",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.KeyVault/vaults",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/enableRbacAuthorization", "properties/accessPolicies"]
        properties = _properties(conf)
        rbac = properties.get("enableRbacAuthorization") is True
        return (
            CheckResult.PASSED
            if rbac and not properties.get("accessPolicies")
            else CheckResult.FAILED
        )


class ApplicationInsightsLocalAuthDisabled(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Application Insights accepts telemetry only from Entra identities",
            id="CKV_CALSYNC_3",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Insights/components",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/DisableLocalAuth"]
        disabled = _properties(conf).get("DisableLocalAuth")
        return CheckResult.PASSED if disabled is True else CheckResult.FAILED


class FunctionAppRunsAsUserAssignedIdentity(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Function app runs as a user-assigned identity and reads its package with it",
            id="CKV_CALSYNC_4",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Web/sites",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = [
            "identity/type",
            "properties/functionAppConfig/deployment/storage/authentication/type",
        ]
        identity = conf.get("identity")
        identity_type = identity.get("type") if isinstance(identity, dict) else None
        config = _properties(conf).get("functionAppConfig")
        if not isinstance(config, dict):
            return CheckResult.UNKNOWN  # not a Flex Consumption app
        authentication = (
            config.get("deployment", {}).get("storage", {}).get("authentication", {})
            if isinstance(config.get("deployment"), dict)
            else {}
        )
        if (
            identity_type == "UserAssigned"
            and isinstance(authentication, dict)
            and authentication.get("type") == "UserAssignedIdentity"
        ):
            return CheckResult.PASSED
        return CheckResult.FAILED


class StorageNoPublicBlobAccess(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Storage account allows no anonymous blob access",
            id="CKV_CALSYNC_5",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("Microsoft.Storage/storageAccounts",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/allowBlobPublicAccess"]
        allowed = _properties(conf).get("allowBlobPublicAccess")
        return CheckResult.PASSED if allowed is False else CheckResult.FAILED


class BasicAuthPublishingDisabled(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Function app allows no basic-auth (user name and password) publishing",
            id="CKV_CALSYNC_6",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Web/sites/basicPublishingCredentialsPolicies",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["properties/allow"]
        allowed = _properties(conf).get("allow")
        return CheckResult.PASSED if allowed is False else CheckResult.FAILED


check_shared_key = StorageSharedKeyAccessDisabled()
check_key_vault_rbac = KeyVaultRbacAuthorization()
check_app_insights_local_auth = ApplicationInsightsLocalAuthDisabled()
check_function_identity = FunctionAppRunsAsUserAssignedIdentity()
check_public_blob = StorageNoPublicBlobAccess()
check_basic_auth_publishing = BasicAuthPublishingDisabled()
