"""The template checks and the policy scan fail when a template is broken on purpose.

The templates are copied to a temporary folder; each break rewrites one line of one file into
infra/broken/<name>/<file>. The template checks run on the copy with that one file swapped in,
and one checkov run over the whole copy must fail each break's policy on its broken file while
the same policy still passes on the untouched original.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.infra import template_checks as tc
from tests.infra.conftest import CHECKOV_CONFIG, INFRA, Templates, parse_tree, run_checkov

pytestmark = pytest.mark.infra


@dataclass(frozen=True)
class Break:
    name: str
    path: str
    original: str
    broken: str
    problem: str  # part of the problem the template checks must report
    policy: str | None = None  # checkov check that must fail on the broken file


BREAKS = [
    Break(
        "shared_key_access",
        tc.STORAGE,
        "allowSharedKeyAccess: false",
        "allowSharedKeyAccess: true",
        "properties.allowSharedKeyAccess is True",
        "CKV_CALSYNC_1",
    ),
    Break(
        "public_blobs",
        tc.STORAGE,
        "allowBlobPublicAccess: false",
        "allowBlobPublicAccess: true",
        "properties.allowBlobPublicAccess is True",
        "CKV_CALSYNC_5",
    ),
    Break(
        "storage_tls_1_0",
        tc.STORAGE,
        "minimumTlsVersion: 'TLS1_2'",
        "minimumTlsVersion: 'TLS1_0'",
        "properties.minimumTlsVersion is 'TLS1_0'",
        "CKV_AZURE_44",
    ),
    Break(
        "plain_http",
        tc.FUNCTION_APP,
        "httpsOnly: true",
        "httpsOnly: false",
        "properties.httpsOnly is False",
        "CKV_AZURE_70",
    ),
    Break(
        "site_tls_1_0",
        tc.FUNCTION_APP,
        "minTlsVersion: '1.2'",
        "minTlsVersion: '1.0'",
        "siteConfig.minTlsVersion is '1.0'",
        "CKV_AZURE_145",
    ),
    Break(
        "cors_any_origin",
        tc.FUNCTION_APP,
        "allowedOrigins: hostAppOriginList",
        "allowedOrigins: [\n          '*'\n        ]",
        "CORS allowedOrigins is ['*']",
        "CKV_AZURE_62",
    ),
    Break(
        "vault_access_policies",
        tc.KEY_VAULT,
        "enableRbacAuthorization: true",
        "enableRbacAuthorization: false",
        "properties.enableRbacAuthorization is False",
        "CKV_CALSYNC_2",
    ),
    Break(
        "vault_purgeable",
        tc.KEY_VAULT,
        "enablePurgeProtection: true",
        "enablePurgeProtection: false",
        "properties.enablePurgeProtection is False",
        "CKV_AZURE_110",
    ),
    Break(
        "telemetry_keys",
        tc.MONITORING,
        "DisableLocalAuth: true",
        "DisableLocalAuth: false",
        "properties.DisableLocalAuth is False",
        "CKV_CALSYNC_3",
    ),
    Break(
        "system_assigned_identity",
        tc.FUNCTION_APP,
        "type: 'UserAssigned'",
        "type: 'SystemAssigned'",
        "identity.type is 'SystemAssigned'",
        "CKV_CALSYNC_4",
    ),
    Break(
        "table_missing",
        tc.MAIN,
        "  'schedule'\n",
        "",
        "table schedule (shared/storage/names.py) is not created",
    ),
    Break(
        "poison_queue_missing",
        tc.MAIN,
        "  'graph-notifications-poison'\n",
        "",
        "queue graph-notifications-poison (shared/storage/names.py) is not created",
    ),
    Break(
        "contributor_role",
        tc.RBAC,
        "var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'",
        "var storageTableDataContributor = 'b24988ac-6180-42a0-ab88-20f7382dd24c'",
        "role 'b24988ac-6180-42a0-ab88-20f7382dd24c' is not one of the least-privilege roles",
    ),
    Break(
        "storage_key_connection_string",
        tc.FUNCTION_APP,
        "AzureWebJobsStorage__credential: 'managedidentity'",
        "AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=y'",
        "app setting AzureWebJobsStorage (a connection string, with a key) must not be set",
    ),
    Break(
        "worker_runtime_setting",
        tc.FUNCTION_APP,
        "AZURE_CLIENT_ID: identityClientId",
        "AZURE_CLIENT_ID: identityClientId\n    FUNCTIONS_WORKER_RUNTIME: 'python'",
        "app setting FUNCTIONS_WORKER_RUNTIME is not for Flex Consumption",
    ),
    Break(
        "registry_module",
        tc.MAIN,
        "module plan 'core/host/flex-consumption-plan.bicep'",
        "module plan 'br/public:avm/res/web/serverfarm:0.1.1'",
        "module plan: bicep_registry_alias module, only local files",
    ),
    Break(
        "wrong_module_output",
        tc.MAIN,
        "storage.outputs.deploymentContainerUrl",
        "storage.outputs.deploymentContainerUri",
        "core/storage/storage-account.bicep has no output deploymentContainerUri",
    ),
    Break(
        "ftps_state",
        tc.FUNCTION_APP,
        "minTlsVersion: '1.2'",
        "minTlsVersion: '1.2'\n      ftpsState: 'Disabled'",
        "properties.siteConfig: ftpsState is not for Flex Consumption (FTPS not supported)",
    ),
    Break(
        "always_on",
        tc.FUNCTION_APP,
        "http20Enabled: true",
        "http20Enabled: true\n      alwaysOn: true",
        "properties.siteConfig: alwaysOn is not for Flex Consumption (Not valid)",
    ),
    Break(
        "scm_basic_auth",
        tc.FUNCTION_APP,
        "name: 'scm'\n  properties: {\n    allow: false",
        "name: 'scm'\n  properties: {\n    allow: true",
        "basicPublishingCredentialsPolicies scm: allow is True, must be False",
        "CKV_CALSYNC_6",
    ),
    Break(
        "python_default_http_concurrency",
        tc.FUNCTION_APP,
        "param httpPerInstanceConcurrency int = 5",
        "param httpPerInstanceConcurrency int = 1",
        "httpPerInstanceConcurrency defaults to 1",
    ),
    Break(
        "global_authority_hard_coded",
        tc.MAIN,
        "param entraAuthorityHost string = ''",
        "param entraAuthorityHost string = 'https://login.microsoftonline.com'",
        "parameter entraAuthorityHost defaults to 'https://login.microsoftonline.com'",
    ),
    Break(
        "python_3_10",
        tc.FUNCTION_APP,
        "version: '3.11'",
        "version: '3.10'",
        "runtime.version is '3.10'",
    ),
]


@pytest.fixture(scope="module")
def broken_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deployment")
    shutil.copytree(INFRA, root / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(CHECKOV_CONFIG, root / ".checkov.yaml")
    for item in BREAKS:
        text = (INFRA / item.path).read_text()
        assert text.count(item.original) == 1, (
            f"break {item.name}: {item.original!r} should occur once in {item.path}; "
            "the template changed, update the break"
        )
        target = root / "infra" / "broken" / item.name / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace(item.original, item.broken))
    return root


@pytest.fixture(scope="module")
def broken_trees(broken_copy: Path) -> Templates:
    return parse_tree(broken_copy / "infra")


@pytest.fixture(scope="module")
def broken_scan(broken_copy: Path) -> dict[str, Any]:
    return run_checkov(broken_copy)


def with_break(trees: Templates, item: Break) -> Templates:
    """The original templates with the one broken file in place of its original."""
    originals = {path: tree for path, tree in trees.items() if not path.startswith("broken/")}
    return {**originals, item.path: trees[f"broken/{item.name}/{item.path}"]}


def test_the_untouched_copy_passes(broken_trees: Templates) -> None:
    originals = {
        path: tree for path, tree in broken_trees.items() if not path.startswith("broken/")
    }
    assert tc.all_problems(originals) == []


@pytest.mark.parametrize("item", BREAKS, ids=lambda item: item.name)
def test_template_checks_fail_on_a_broken_template(broken_trees: Templates, item: Break) -> None:
    problems = tc.all_problems(with_break(broken_trees, item))
    assert any(item.problem in problem for problem in problems), (
        f"no problem mentions {item.problem!r}; got:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("item", [b for b in BREAKS if b.policy], ids=lambda item: item.name)
def test_policy_scan_fails_on_a_broken_template(broken_scan: dict[str, Any], item: Break) -> None:
    def files(outcome: str) -> set[str]:
        return {
            c["file_path"].lstrip("/")
            for c in broken_scan["results"][outcome]
            if c["check_id"] == item.policy
        }

    assert f"broken/{item.name}/{item.path}" in files("failed_checks")
    assert item.path in files("passed_checks"), f"{item.policy} should pass on the original"
