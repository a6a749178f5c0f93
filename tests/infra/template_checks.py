"""What the deployment promises, checked on pycep's parse of the Bicep templates.

Each check takes every template (path relative to infra/ -> pycep tree) and returns problems,
one sentence each; none means the promise holds. test_templates.py runs them on infra/,
test_broken_templates.py on copies broken on purpose to prove that they fail.

pycep writes a Bicep string literal and a symbol both as a plain string ('TLS1_2' and a
parameter named TLS1_2 look alike); the templates use literals for every property checked
here, so a literal comparison is what the check means.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from shared.storage import names
from tests.infra import flex_consumption

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"

Templates = dict[str, dict[str, Any]]
Check = Callable[[Templates], list[str]]

MAIN = "main.bicep"
STORAGE = "core/storage/storage-account.bicep"
KEY_VAULT = "core/security/key-vault.bicep"
MONITORING = "core/monitor/monitoring.bicep"
IDENTITY = "core/identity/user-assigned-identity.bicep"
PLAN = "core/host/flex-consumption-plan.bicep"
FUNCTION_APP = "app/function-app.bicep"
RBAC = "app/rbac.bicep"

GRAPH_ROUTES = {
    "AUTH_CALLBACK_URL": "auth/callback",
    "ADMIN_CONSENT_CALLBACK_URL": "admin/consent/callback",
    "GRAPH_NOTIFICATION_URL": "graph/notifications",
    "GRAPH_LIFECYCLE_URL": "graph/lifecycle",
    "HEALTH_URL": "health",
}

# Built-in role definition ids (the same in every tenant) and where each may be assigned.
ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": (
        "Storage Blob Data Owner",
        "Microsoft.Storage/storageAccounts",
    ),
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": (
        "Storage Queue Data Contributor",
        "Microsoft.Storage/storageAccounts",
    ),
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": (
        "Storage Table Data Contributor",
        "Microsoft.Storage/storageAccounts",
    ),
    "4633458b-17de-408a-b874-0445c86b69e6": ("Key Vault Secrets User", "Microsoft.KeyVault/vaults"),
    "3913510d-42f4-4e42-8a64-420c390055eb": (
        "Monitoring Metrics Publisher",
        "Microsoft.Insights/components",
    ),
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": (
        "Key Vault Secrets Officer",
        "Microsoft.KeyVault/vaults",
    ),
}
DEPLOYER_ONLY_ROLES = {"b86a8fe4-44ce-4948-aee5-eccb2c155cd7"}

# --- reading pycep trees ---------------------------------------------------------------------


def resources(tree: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(symbol, type, body) of each declared resource, through loops and conditions."""
    for symbol, resource in tree.get("resources", {}).items():
        if resource.get("existing"):
            continue
        body = resource["config"]
        while (
            isinstance(body, dict)
            and "config" in body
            and ("loop_type" in body or "condition" in body)
        ):
            body = body["config"]
        yield symbol, resource["type"], body


def resources_of_type(templates: Templates, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, symbol, body)
        for path, tree in templates.items()
        for symbol, found, body in resources(tree)
        if found.lower() == kind.lower()
    ]


def one_resource(templates: Templates, path: str, kind: str, problems: list[str]) -> dict[str, Any]:
    found = [
        body for symbol, t, body in resources(templates.get(path, {})) if t.lower() == kind.lower()
    ]
    if len(found) != 1:
        problems.append(f"{path} should declare one {kind}, declares {len(found)}")
        return {}
    return found[0]


def get(tree: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return tree


def expect(problems: list[str], where: str, body: dict[str, Any], dotted: str, wanted: Any) -> None:
    value = get(body, dotted)
    if value != wanted:
        problems.append(f"{where}: {dotted} is {value!r}, must be {wanted!r}")


def variable(templates: Templates, path: str, name: str) -> Any:
    return get(templates.get(path, {}), f"variables.{name}.value")


def source(templates: Templates, path: str) -> str:
    return templates.get(path, {}).get("_source", "")


# --- the checks ------------------------------------------------------------------------------


def every_template_parses(templates: Templates) -> list[str]:
    expected = {MAIN, STORAGE, KEY_VAULT, MONITORING, IDENTITY, PLAN, FUNCTION_APP, RBAC}
    problems = [
        f"{path} does not parse: {tree['error']}"
        for path, tree in templates.items()
        if "error" in tree
    ]
    problems += [f"{path} is missing" for path in sorted(expected - templates.keys())]
    return problems


def storage_account_is_locked_down(templates: Templates) -> list[str]:
    problems: list[str] = []
    account = one_resource(templates, STORAGE, "Microsoft.Storage/storageAccounts", problems)
    for dotted, wanted in [
        ("properties.allowSharedKeyAccess", False),
        ("properties.defaultToOAuthAuthentication", True),
        ("properties.allowBlobPublicAccess", False),
        ("properties.supportsHttpsTrafficOnly", True),
        ("properties.minimumTlsVersion", "TLS1_2"),
        ("properties.allowCrossTenantReplication", False),
    ]:
        expect(problems, "storage account", account, dotted, wanted)
    container = one_resource(
        templates, STORAGE, "Microsoft.Storage/storageAccounts/blobServices/containers", problems
    )
    expect(problems, "deployment container", container, "properties.publicAccess", "None")
    return problems


def tables_and_queues_match_the_code(templates: Templates) -> list[str]:
    """shared/storage/names.py and infra/main.bicep list the same tables and queues."""
    problems: list[str] = []
    tables = variable(templates, MAIN, "storageTables") or []
    queues = variable(templates, MAIN, "storageQueues") or []
    for table in names.TABLES:
        if table not in tables:
            problems.append(f"table {table} (shared/storage/names.py) is not created by {MAIN}")
    for table in tables:
        if table not in names.TABLES:
            problems.append(f"table {table} in {MAIN} is not in shared/storage/names.py")
    wanted_queues = {*names.QUEUES, *(f"{q}-poison" for q in names.QUEUES)}
    for queue in sorted(wanted_queues - set(queues)):
        problems.append(f"queue {queue} (shared/storage/names.py) is not created by {MAIN}")
    for queue in sorted(set(queues) - wanted_queues):
        problems.append(f"queue {queue} in {MAIN} is not in shared/storage/names.py")
    storage_params = get(templates.get(MAIN, {}), "modules.storage.config.params") or {}
    if (
        storage_params.get("tableNames") != "storageTables"
        or storage_params.get("queueNames") != "storageQueues"
    ):
        problems.append(f"{MAIN} must pass storageTables and storageQueues to the storage module")
    loops = {
        t: get(templates.get(STORAGE, {}), f"resources.{symbol}.config.loop_type.detail.array_name")
        for symbol, t, _ in resources(templates.get(STORAGE, {}))
    }
    if loops.get("Microsoft.Storage/storageAccounts/tableServices/tables") != "tableNames":
        problems.append(f"{STORAGE} must create one table per tableNames item")
    if loops.get("Microsoft.Storage/storageAccounts/queueServices/queues") != "queueNames":
        problems.append(f"{STORAGE} must create one queue per queueNames item")
    return problems


def key_vault_is_rbac_and_recoverable(templates: Templates) -> list[str]:
    problems: list[str] = []
    vault = one_resource(templates, KEY_VAULT, "Microsoft.KeyVault/vaults", problems)
    for dotted, wanted in [
        ("properties.enableRbacAuthorization", True),
        ("properties.enableSoftDelete", True),
        ("properties.enablePurgeProtection", True),
        ("properties.enabledForTemplateDeployment", False),
    ]:
        expect(problems, "key vault", vault, dotted, wanted)
    if get(vault, "properties.accessPolicies"):
        problems.append(
            "key vault: access policies are declared; RBAC mode grants access by role assignment"
        )
    if not resources_of_type(
        {KEY_VAULT: templates.get(KEY_VAULT, {})}, "Microsoft.Insights/diagnosticSettings"
    ):
        problems.append("key vault: no diagnostic setting sends its audit log to Log Analytics")
    return problems


def monitoring_uses_log_analytics_and_entra(templates: Templates) -> list[str]:
    problems: list[str] = []
    one_resource(templates, MONITORING, "Microsoft.OperationalInsights/workspaces", problems)
    insights = one_resource(templates, MONITORING, "Microsoft.Insights/components", problems)
    expect(problems, "application insights", insights, "properties.DisableLocalAuth", True)
    workspace = get(insights, "properties.WorkspaceResourceId")
    if not (isinstance(workspace, dict) and "logAnalytics" in str(workspace)):
        problems.append(
            "application insights: WorkspaceResourceId must be the Log Analytics workspace"
        )
    return problems


def plan_is_flex_consumption(templates: Templates) -> list[str]:
    problems: list[str] = []
    plan = one_resource(templates, PLAN, "Microsoft.Web/serverfarms", problems)
    expect(problems, "plan", plan, "sku.name", "FC1")
    expect(problems, "plan", plan, "sku.tier", "FlexConsumption")
    expect(problems, "plan", plan, "properties.reserved", True)
    one_resource(templates, IDENTITY, "Microsoft.ManagedIdentity/userAssignedIdentities", problems)
    return problems


def function_app_is_https_python_311(templates: Templates) -> list[str]:
    problems: list[str] = []
    site = one_resource(templates, FUNCTION_APP, "Microsoft.Web/sites", problems)
    for dotted, wanted in [
        ("kind", "functionapp,linux"),
        ("identity.type", "UserAssigned"),
        ("properties.httpsOnly", True),
        ("properties.keyVaultReferenceIdentity", "identityId"),
        ("properties.siteConfig.minTlsVersion", "1.2"),
        ("properties.siteConfig.cors.supportCredentials", False),
        ("properties.functionAppConfig.runtime.name", "python"),
        ("properties.functionAppConfig.runtime.version", "3.11"),
        ("properties.functionAppConfig.deployment.storage.type", "blobContainer"),
        ("properties.functionAppConfig.deployment.storage.value", "deploymentContainerUrl"),
        (
            "properties.functionAppConfig.deployment.storage.authentication.type",
            "UserAssignedIdentity",
        ),
        (
            "properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId",
            "identityId",
        ),
    ]:
        expect(problems, "function app", site, dotted, wanted)
    if "'${identityId}'" not in (get(site, "identity.userAssignedIdentities") or {}):
        problems.append("function app: must run as the user-assigned identity passed as identityId")
    origins = get(site, "properties.siteConfig.cors.allowedOrigins")
    if origins != "hostAppOriginList":
        problems.append(
            f"function app: CORS allowedOrigins is {origins!r}, must be the host app's origins"
        )
    if "hostAppOrigins" not in str(variable(templates, FUNCTION_APP, "hostAppOriginList")):
        problems.append(
            "function app: hostAppOriginList must come from the hostAppOrigins parameter"
        )
    if "*" in str(origins):
        problems.append("function app: CORS must not allow every origin")
    service = get(templates.get(FUNCTION_APP, {}), "parameters.serviceName.default")
    if f"  {service}:\n" not in (REPO / "azure.yaml").read_text():
        problems.append(
            f"function app: azd service {service!r} (azd-service-name tag) is not in azure.yaml"
        )
    return problems


def app_settings(templates: Templates) -> dict[str, Any]:
    for _, _symbol, body in resources_of_type(templates, "Microsoft.Web/sites/config"):
        if body.get("name") == "appsettings":
            return body.get("properties") or {}
    return {}


def app_settings_use_identities(templates: Templates) -> list[str]:
    problems: list[str] = []
    settings = app_settings(templates)
    if not settings:
        return [f"{FUNCTION_APP} declares no 'appsettings' config resource"]
    for name, wanted in [
        ("AzureWebJobsStorage__credential", "managedidentity"),
        ("AzureWebJobsStorage__clientId", "identityClientId"),
        ("AzureWebJobsStorage__accountName", "storageAccountName"),
        ("AZURE_CLIENT_ID", "identityClientId"),
        (
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
            "ClientId=${identityClientId};Authorization=AAD",
        ),
        ("KEY_VAULT_URL", "keyVaultUri"),
        ("ENTRA_CLIENT_ID", "entraClientId"),
        ("ENTRA_CLIENT_CREDENTIAL", "entraClientCredential"),
        ("ENTRA_MANAGED_IDENTITY_CLIENT_ID", "identityClientId"),
        ("ENTRA_TOKEN_EXCHANGE_AUDIENCE", "tokenExchangeAudience"),
        ("APP_PUBLIC_BASE_URL", "baseUrl"),
    ]:
        if settings.get(name) != wanted:
            problems.append(f"app setting {name} is {settings.get(name)!r}, must be {wanted!r}")
    if "AzureWebJobsStorage" in settings:
        problems.append(
            "app setting AzureWebJobsStorage (a connection string, with a key) must not be set"
        )
    text = str(settings)
    for marker in ("AccountKey=", "listKeys", "SharedAccessSignature", "InstrumentationKey="):
        if marker in text:
            problems.append(f"app settings must hold no key: found {marker}")
    for name, value in settings.items():
        reference = str(value).startswith("@Microsoft.KeyVault(")
        if (name.endswith(("_SECRET", "_KEYS")) or "SECRET" in name) and not reference:
            problems.append(
                f"app setting {name} looks like a secret: secrets are read from Key Vault by "
                "name, or are Key Vault references the platform resolves"
            )
    return problems


def function_app_declares_only_what_flex_consumption_takes(templates: Templates) -> list[str]:
    """No site property or app setting of Microsoft's "Flex Consumption plan deprecations" table
    (tests/infra/flex_consumption.py), wherever it is written."""
    problems: list[str] = []
    for path, symbol, body in resources_of_type(templates, "Microsoft.Web/sites"):
        properties = body.get("properties") or {}
        places = {"properties": properties, "properties.siteConfig": properties.get("siteConfig")}
        for where, found in places.items():
            problems += _flex_refused_properties(f"{path} {symbol} {where}", found)
        site_config = properties.get("siteConfig") or {}
        for item in site_config.get("appSettings") or []:
            problems += _flex_refused_settings(f"{path} {symbol} siteConfig.appSettings", [item])
    for path, symbol, body in resources_of_type(templates, "Microsoft.Web/sites/config"):
        if body.get("name") == "web":
            where = f"{path} {symbol} (config 'web')"
            problems += _flex_refused_properties(where, body.get("properties"))
        if body.get("name") == "appsettings":
            names = [{"name": name} for name in body.get("properties") or {}]
            problems += _flex_refused_settings(f"{path} {symbol}", names)
    return problems


def _flex_refused_properties(where: str, properties: Any) -> list[str]:
    if not isinstance(properties, dict):
        return []
    return [
        f"{where}: {name} is not for Flex Consumption ({row.reason})"
        for name in properties
        if (row := flex_consumption.SITE_PROPERTIES.get(str(name).lower()))
    ]


def _flex_refused_settings(where: str, items: list[Any]) -> list[str]:
    names = [item.get("name") for item in items if isinstance(item, dict)]
    return [
        f"{where}: app setting {name} is not for Flex Consumption ({row.reason})"
        for name in names
        if (row := flex_consumption.SETTINGS.get(str(name).upper()))
    ]


def function_app_allows_no_basic_auth_publishing(templates: Templates) -> list[str]:
    """FTP and SCM basic-auth publishing credentials are off; deployments sign in with Entra."""
    policies = {
        body.get("name"): get(body, "properties.allow")
        for _, _, body in resources_of_type(
            templates, "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
        )
    }
    return [
        f"basicPublishingCredentialsPolicies {name}: allow is {policies.get(name)!r}, must be False"
        for name in ("ftp", "scm")
        if policies.get(name) is not False
    ]


def http_functions_scale_as_documented(templates: Templates) -> list[str]:
    """An HTTP per-instance concurrency of its own, and an optional always-ready HTTP instance."""
    problems: list[str] = []
    site = one_resource(templates, FUNCTION_APP, "Microsoft.Web/sites", problems)
    scale = get(site, "properties.functionAppConfig.scaleAndConcurrency") or {}
    concurrency = get(scale, "triggers.http.perInstanceConcurrency")
    if concurrency != "httpPerInstanceConcurrency":
        problems.append(
            f"function app: triggers.http.perInstanceConcurrency is {concurrency!r}, "
            "must be the httpPerInstanceConcurrency parameter"
        )
    default = get(templates.get(FUNCTION_APP, {}), "parameters.httpPerInstanceConcurrency.default")
    if not (isinstance(default, int) and default > 1):
        problems.append(
            f"function app: httpPerInstanceConcurrency defaults to {default!r}; Python's default "
            "of 1 starts a cold instance per concurrent request"
        )
    always_ready = get(scale, "alwaysReady.operator.operands") or {}
    instances = variable(templates, FUNCTION_APP, "httpAlwaysReadyInstances")
    if (
        always_ready.get("condition") != "httpAlwaysReady"
        or always_ready.get("false_value") != []
        or instances != [{"name": "http", "instanceCount": 1}]
    ):
        problems.append(
            "function app: alwaysReady must be one 'http' instance when httpAlwaysReady, else none"
        )
    passed = get(templates.get(MAIN, {}), "modules.functionApp.config.params.httpAlwaysReady")
    if passed != "httpAlwaysReady":
        problems.append(f"{MAIN} must pass its httpAlwaysReady parameter to the function app")
    return problems


def sign_in_endpoints_follow_the_cloud(templates: Templates) -> list[str]:
    """Authority host, Graph and the token-exchange audience default to the deployment's cloud
    (Bicep environment()), so the same template deploys to a national cloud."""
    problems: list[str] = []
    main = templates.get(MAIN, {})
    for name in ("entraAuthorityHost", "graphBaseUrl"):
        default = get(main, f"parameters.{name}.default")
        if default != "":
            problems.append(
                f"{MAIN} parameter {name} defaults to {default!r}: empty, so that the cloud decides"
            )
    if get(main, "variables.cloud.value") != {"function": {"type": "environment"}}:
        problems.append(f"{MAIN}: the cloud's endpoints must come from environment()")
    if "var loginEndpoint = cloud.authentication.loginEndpoint" not in source(templates, MAIN):
        problems.append(f"{MAIN}: loginEndpoint must be the cloud's login endpoint")
    params = get(main, "modules.functionApp.config.params") or {}
    for name, wanted in [
        ("entraAuthorityHost", "authorityHost"),
        ("graphBaseUrl", "graphUrl"),
        ("tokenExchangeAudience", "tokenExchangeAudience"),
    ]:
        if params.get(name) != wanted:
            problems.append(f"{MAIN} passes {name}={params.get(name)!r} to the function app")
    issuer = get(main, "outputs.ENTRA_FEDERATION_ISSUER.value")
    if issuer != "${loginEndpoint}${tenant().tenantId}/v2.0":
        problems.append(f"{MAIN} output ENTRA_FEDERATION_ISSUER is {issuer!r}")
    return problems


def role_assignments_are_least_privilege(templates: Templates) -> list[str]:
    problems: list[str] = []
    roles = variable_roles(templates)
    scopes = {symbol: t for symbol, t in _existing_types(templates.get(RBAC, {})).items()}
    seen: set[str] = set()
    for path, symbol, body in resources_of_type(
        templates, "Microsoft.Authorization/roleAssignments"
    ):
        role_var = get(body, "properties.roleDefinitionId.function.parameters.resource_name_1")
        role = roles.get(role_var, role_var)
        if role not in ROLES:
            problems.append(
                f"{path} {symbol}: role {role!r} is not one of the least-privilege roles"
            )
            continue
        name, scope_type = ROLES[role]
        seen.add(role)
        scope = body.get("scope")
        if scopes.get(scope) != scope_type:
            problems.append(
                f"{path} {symbol}: {name} must be scoped to a {scope_type}, is scoped to {scope!r}"
            )
        principal_type = get(body, "properties.principalType")
        if role not in DEPLOYER_ONLY_ROLES and principal_type != "ServicePrincipal":
            problems.append(f"{path} {symbol}: {name} is for the app's identity (ServicePrincipal)")
        if (
            role not in DEPLOYER_ONLY_ROLES
            and get(body, "properties.principalId") != "appPrincipalId"
        ):
            problems.append(f"{path} {symbol}: {name} must go to the app's identity")
    for role in sorted(set(ROLES) - seen):
        problems.append(f"no role assignment grants {ROLES[role][0]}")
    return problems


def variable_roles(templates: Templates) -> dict[str, str]:
    variables = templates.get(RBAC, {}).get("variables", {})
    return {
        name: v.get("value") for name, v in variables.items() if isinstance(v.get("value"), str)
    }


def _existing_types(tree: dict[str, Any]) -> dict[str, str]:
    return {
        symbol: r["type"] for symbol, r in tree.get("resources", {}).items() if r.get("existing")
    }


def outputs_give_the_urls_microsoft_calls(templates: Templates) -> list[str]:
    """The callback and webhook URL outputs end in the routes functions/ declares."""
    problems: list[str] = []
    outputs = templates.get(MAIN, {}).get("outputs", {})
    routes = "\n".join(p.read_text() for p in (REPO / "functions").glob("*.py"))
    for output, route in GRAPH_ROUTES.items():
        value = get(outputs, f"{output}.value")
        if not (isinstance(value, str) and value.endswith(f"/api/{route}")):
            problems.append(f"output {output} is {value!r}, must end with /api/{route}")
        if f'route="{route}"' not in routes:
            problems.append(f"output {output}: no function in functions/ has the route {route!r}")
    return problems


def modules_are_local_and_wired(templates: Templates) -> list[str]:
    """No registry module; every module gets the parameters it declares and needs; every
    `<module>.outputs.<name>` exists. What a Bicep build would catch, short of types."""
    problems: list[str] = []
    for path, tree in templates.items():
        if "error" in tree:
            continue
        base = Path(path).parent
        modules = tree.get("modules", {})
        for symbol, module in modules.items():
            if module.get("type") != "local":
                problems.append(
                    f"{path} module {symbol}: {module.get('type')} module, only local files"
                )
                continue
            target = (base / module["detail"]["path"]).as_posix()
            declared = templates.get(target, {}).get("parameters")
            if declared is None:
                problems.append(f"{path} module {symbol}: {target} not found")
                continue
            passed = set(get(module, "config.params") or {})
            for name in sorted(passed - declared.keys()):
                problems.append(f"{path} module {symbol}: {target} has no parameter {name}")
            for name, param in declared.items():
                if param.get("default") is None and name not in passed:
                    problems.append(f"{path} module {symbol}: required parameter {name} not passed")
        text = source(templates, path)
        for symbol, output in re.findall(r"\b(\w+)\.outputs\.(\w+)", text):
            module = modules.get(symbol)
            if module is None:
                problems.append(f"{path}: {symbol}.outputs.{output} names no module")
                continue
            target = (base / module["detail"]["path"]).as_posix()
            if output not in templates.get(target, {}).get("outputs", {}):
                problems.append(f"{path}: {target} has no output {output}")
        for name in tree.get("parameters", {}):
            if len(re.findall(rf"\b{re.escape(name)}\b", text)) < 2:
                problems.append(f"{path}: parameter {name} is never used")
    return problems


def azd_parameters_match(templates: Templates) -> list[str]:
    """main.parameters.json maps only declared parameters, and every required one."""
    import json

    problems: list[str] = []
    mapped = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = templates.get(MAIN, {}).get("parameters", {})
    for name in sorted(mapped.keys() - declared.keys()):
        problems.append(f"main.parameters.json maps {name}, which main.bicep does not declare")
    for name, param in declared.items():
        if param.get("default") is None and name not in mapped:
            problems.append(
                f"main.bicep parameter {name} has no default and no mapping in main.parameters.json"
            )
    return problems


CHECKS: list[Check] = [
    every_template_parses,
    storage_account_is_locked_down,
    tables_and_queues_match_the_code,
    key_vault_is_rbac_and_recoverable,
    monitoring_uses_log_analytics_and_entra,
    plan_is_flex_consumption,
    function_app_is_https_python_311,
    app_settings_use_identities,
    function_app_declares_only_what_flex_consumption_takes,
    function_app_allows_no_basic_auth_publishing,
    http_functions_scale_as_documented,
    sign_in_endpoints_follow_the_cloud,
    role_assignments_are_least_privilege,
    outputs_give_the_urls_microsoft_calls,
    modules_are_local_and_wired,
    azd_parameters_match,
]


def all_problems(templates: Templates) -> list[str]:
    return [problem for check in CHECKS for problem in check(templates)]
