"""What a Flex Consumption function app must not declare, as Microsoft's docs list it.

Source: "Flex Consumption plan deprecations", learn.microsoft.com/azure/azure-functions/
functions-app-settings#flex-consumption-plan-deprecations (MicrosoftDocs/azure-docs,
articles/azure-functions/functions-app-settings.md, July 2025), which flex-consumption-plan.md
points to under "Deprecated properties and settings". The rows are copied as they stand, reason
included. A site property that Flex does not take fails the deployment on newer regional stamps
(ARM error 51021, "site configuration properties ... for Flex Consumption sites is invalid");
an app setting is at best ignored.

The table writes every site property as `properties.<name>`, although most of them (ftpsState,
alwaysOn, use32BitWorkerProcess, linuxFxVersion, ...) live in `properties.siteConfig` and can
also be set through a `Microsoft.Web/sites/config` 'web' resource: the checks look for each name
in all three places, ignoring case as ARM does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deprecated:
    name: str  # as the table writes it
    reason: str

    @property
    def is_site_property(self) -> bool:
        return self.name.startswith("properties.")

    @property
    def property_name(self) -> str:
        """The property's own name, wherever it sits (`properties.siteConfig.x` -> `x`)."""
        return self.name.rsplit(".", 1)[1]


RUNTIME_VERSION = "Replaced by `version` in `properties.functionAppConfig.runtime`"
REMOTE_BUILD = "Replaced by the `remoteBuild` parameter when deploying in Flex Consumption"
DEPLOYMENT_SECTION = "Replaced by functionAppConfig's deployment section"
NOT_FOR_NETWORKING = "Not used for networking in Flex Consumption"
NOT_VALID = "Not valid"

TABLE: tuple[Deprecated, ...] = tuple(
    Deprecated(name, reason)
    for name, reason in [
        ("ENABLE_ORYX_BUILD", REMOTE_BUILD),
        (
            "FUNCTIONS_EXTENSION_VERSION",
            "App Setting is set by the backend. A value of ~1 can be ignored.",
        ),
        (
            "FUNCTIONS_WORKER_RUNTIME",
            "Replaced by `name` in `properties.functionAppConfig.runtime`",
        ),
        ("FUNCTIONS_WORKER_RUNTIME_VERSION", RUNTIME_VERSION),
        ("FUNCTIONS_MAX_HTTP_CONCURRENCY", "Replaced by scale and concurrency's trigger section"),
        ("FUNCTIONS_WORKER_PROCESS_COUNT", "Setting not valid"),
        ("FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED", "Setting not valid"),
        ("SCM_DO_BUILD_DURING_DEPLOYMENT", REMOTE_BUILD),
        ("WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", DEPLOYMENT_SECTION),
        ("WEBSITE_CONTENTOVERVNET", NOT_FOR_NETWORKING),
        ("WEBSITE_CONTENTSHARE", DEPLOYMENT_SECTION),
        ("WEBSITE_DNS_SERVER", "DNS is inherited from the integrated virtual network in Flex"),
        (
            "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
            "Replaced by `maximumInstanceCount` in "
            "`properties.functionAppConfig.scaleAndConcurrency`",
        ),
        ("WEBSITE_NODE_DEFAULT_VERSION", RUNTIME_VERSION),
        ("WEBSITE_RUN_FROM_PACKAGE", "Not used for deployments in Flex Consumption"),
        ("WEBSITE_SKIP_CONTENTSHARE_VALIDATION", "Content share isn't used in Flex Consumption"),
        ("WEBSITE_VNET_ROUTE_ALL", NOT_FOR_NETWORKING),
        ("properties.alwaysOn", NOT_VALID),
        ("properties.containerSize", "Renamed as `instanceMemoryMB`"),
        ("properties.ftpsState", "FTPS not supported"),
        ("properties.isReserved", NOT_VALID),
        ("properties.IsXenon", NOT_VALID),
        ("properties.javaVersion", RUNTIME_VERSION),
        ("properties.LinuxFxVersion", "Replaced by `properties.functionAppConfig.runtime`"),
        ("properties.netFrameworkVersion", RUNTIME_VERSION),
        ("properties.powerShellVersion", RUNTIME_VERSION),
        ("properties.siteConfig.functionAppScaleLimit", "Renamed as `maximumInstanceCount`"),
        ("properties.siteConfig.preWarmedInstanceCount", "Renamed as `alwaysReadyInstances`"),
        ("properties.use32BitWorkerProcess", "32-bit not supported"),
        ("properties.vnetBackupRestoreEnabled", NOT_FOR_NETWORKING),
        ("properties.vnetContentShareEnabled", NOT_FOR_NETWORKING),
        ("properties.vnetImagePullEnabled", NOT_FOR_NETWORKING),
        ("properties.vnetRouteAllEnabled", NOT_FOR_NETWORKING),
        ("properties.windowsFxVersion", NOT_VALID),
    ]
)

# Not in Microsoft's table, refused here all the same: the timer schedules of this app are UTC by
# design (MAINTENANCE_SCHEDULE), and a time zone setting would move them.
ALSO_REFUSED: tuple[Deprecated, ...] = (
    Deprecated("WEBSITE_TIME_ZONE", "timer schedules are UTC (MAINTENANCE_SCHEDULE)"),
)

SETTINGS = {row.name.upper(): row for row in (*TABLE, *ALSO_REFUSED) if not row.is_site_property}
SITE_PROPERTIES = {row.property_name.lower(): row for row in TABLE if row.is_site_property}
