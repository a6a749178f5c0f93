// Outlook calendar sync: the whole deployment, one resource group.
//
// Deployed by `azd up` (azure.yaml at the repository root, parameters from main.parameters.json)
// or by `az deployment sub create` (docs/deploy.md). Plain resource declarations only, no
// registry modules, so that tests/infra can check every template offline.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd environment name): it makes the resource names unique and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer the Flex Consumption plan: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create or update; empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Application (client) id of the Entra app registration; empty on the first deployment, set by infra/entra/register-app.sh.')
param entraClientId string = ''

@description('Tenant segment of the sign-in authority: organizations (any work or school account) or one tenant id.')
param entraTenant string = 'organizations'

@description('Microsoft identity platform host; empty: the login endpoint of the cloud deployed to (environment()), e.g. https://login.microsoftonline.com, https://login.microsoftonline.us, https://login.chinacloudapi.cn.')
param entraAuthorityHost string = ''

@description('Microsoft Graph base URL; empty: the Graph of the cloud deployed to. US Government L5 (DoD) sets https://dod-graph.microsoft.us/v1.0 here.')
param graphBaseUrl string = ''

@description('How the app signs in to Entra: managed_identity (no secret: the app registration trusts the app\'s managed identity through a federated credential) or secret (a client secret in Key Vault, rotated every CLIENT_SECRET_MONTHS).')
@allowed([
  'managed_identity'
  'secret'
])
param entraClientCredential string = 'managed_identity'

@description('Comma-separated https origins of the host web app (CORS and allowed return URLs), e.g. https://app.example.com.')
@minLength(1)
param hostAppOrigins string

@description('Expected iss claim of the host app tokens.')
@minLength(1)
param hostAppTokenIssuer string

@description('Expected aud claim of the host app tokens.')
@minLength(1)
param hostAppTokenAudience string

@description('JWKS URL of the host app (RS256/ES256 tokens); empty: HS256 with the Key Vault secret host-app-token-secret.')
param hostAppJwksUrl string = ''

@description('Public https base URL when the app is served under a custom domain (no trailing slash); empty: https://<function app default host name>.')
param publicBaseUrl string = ''

@description('Months until a calendar connection must be renewed.')
@minValue(1)
@maxValue(24)
param reconnectIntervalMonths int = 9

@description('Days before that date from which users are warned.')
@minValue(1)
@maxValue(180)
param reconnectWarningDays int = 30

@description('NCRONTAB schedule of the maintenance timer (six fields, seconds first).')
param maintenanceSchedule string = '0 */10 * * * *'

@description('Storage replication: Standard_ZRS where the region has availability zones.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Upper bound of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Keep one instance of the HTTP functions always ready (no cold start for Graph\'s webhook deadlines), billed around the clock: docs/deploy.md.')
param httpAlwaysReady bool = false

@description('Principal id of whoever deploys (azd sets it): gets Key Vault Secrets Officer to write the secrets. Empty: no assignment.')
param principalId string = ''

@description('Type of that principal: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'outlook-calendar-sync'
}
var functionAppName = 'func-${resourceToken}'

// The cloud this deployment goes to decides the defaults of every sign-in endpoint, so the same
// template deploys to a national cloud (learn.microsoft.com/azure/azure-resource-manager/bicep/
// bicep-functions-deployment#environment). loginEndpoint ends with a slash.
var cloud = environment()
var loginEndpoint = cloud.authentication.loginEndpoint
var cloudAuthorityHost = endsWith(loginEndpoint, '/') ? substring(loginEndpoint, 0, length(loginEndpoint) - 1) : loginEndpoint
var authorityHost = empty(entraAuthorityHost) ? cloudAuthorityHost : entraAuthorityHost
// Microsoft Graph and the token-exchange audience a federated credential expects, by cloud
// (learn.microsoft.com/graph/deployments, learn.microsoft.com/entra/workload-id/
// workload-identity-federation-config-app-trust-managed-identity).
var graphHosts = {
  AzureCloud: 'https://graph.microsoft.com'
  AzureUSGovernment: 'https://graph.microsoft.us'
  AzureChinaCloud: 'https://microsoftgraph.chinacloudapi.cn'
}
var tokenExchangeAudiences = {
  AzureCloud: 'api://AzureADTokenExchange'
  AzureUSGovernment: 'api://AzureADTokenExchangeUSGov'
  AzureChinaCloud: 'api://AzureADTokenExchangeChina'
}
var knownCloud = contains(graphHosts, cloud.name) ? cloud.name : 'AzureCloud'
var graphUrl = empty(graphBaseUrl) ? '${graphHosts[knownCloud]}/v1.0' : graphBaseUrl
var tokenExchangeAudience = tokenExchangeAudiences[knownCloud]
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

// Every table and queue of shared/storage/names.py, created up front (tests/infra checks that
// the two lists agree). The Functions host would create the poison queue itself; creating it
// here makes it visible before the first failure.
var storageTables = [
  'orgsettings'
  'connections'
  'accountlinks'
  'authstates'
  'conversations'
  'conversationindex'
  'idempotency'
  'conversationrecords'
  'subscriptions'
  'eventindex'
  'mailboxsync'
  'schedule'
  'changes'
  'people'
]
var storageQueues = [
  'graph-notifications'
  'graph-notifications-poison'
  'maintenance-work'
  'maintenance-work-poison'
]

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'core/identity/user-assigned-identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage/storage-account.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    tableNames: storageTables
    queueNames: storageQueues
  }
}

module keyVault 'core/security/key-vault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    logAnalyticsId: monitoring.outputs.logAnalyticsId
  }
}

module plan 'core/host/flex-consumption-plan.bicep' = {
  name: 'plan'
  scope: rg
  params: {
    name: 'plan-${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module functionApp 'app/function-app.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    planId: plan.outputs.id
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultUri: keyVault.outputs.uri
    publicBaseUrl: publicBaseUrl
    entraClientId: entraClientId
    entraTenant: entraTenant
    entraAuthorityHost: authorityHost
    graphBaseUrl: graphUrl
    entraClientCredential: entraClientCredential
    tokenExchangeAudience: tokenExchangeAudience
    hostAppOrigins: hostAppOrigins
    hostAppTokenIssuer: hostAppTokenIssuer
    hostAppTokenAudience: hostAppTokenAudience
    hostAppJwksUrl: hostAppJwksUrl
    reconnectIntervalMonths: reconnectIntervalMonths
    reconnectWarningDays: reconnectWarningDays
    maintenanceSchedule: maintenanceSchedule
    maximumInstanceCount: maximumInstanceCount
    httpAlwaysReady: httpAlwaysReady
  }
  dependsOn: [
    rbac
  ]
}

// azd stores every output in the environment (.azure/<env>/.env); the postprovision hook and
// docs/deploy.md use them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
// What infra/entra/register-app.sh needs for the federated credential (managed_identity mode):
// the app registration trusts tokens this tenant's Entra issues to the app's identity.
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output ENTRA_CLIENT_CREDENTIAL string = entraClientCredential
output ENTRA_FEDERATION_ISSUER string = '${loginEndpoint}${tenant().tenantId}/v2.0'
output ENTRA_TOKEN_EXCHANGE_AUDIENCE string = tokenExchangeAudience
output FUNCTION_APP_HOSTNAME string = functionApp.outputs.defaultHostName
output APP_PUBLIC_BASE_URL string = functionApp.outputs.publicBaseUrl
output AUTH_CALLBACK_URL string = '${functionApp.outputs.publicBaseUrl}/api/auth/callback'
output ADMIN_CONSENT_CALLBACK_URL string = '${functionApp.outputs.publicBaseUrl}/api/admin/consent/callback'
output GRAPH_NOTIFICATION_URL string = '${functionApp.outputs.publicBaseUrl}/api/graph/notifications'
output GRAPH_LIFECYCLE_URL string = '${functionApp.outputs.publicBaseUrl}/api/graph/lifecycle'
output HEALTH_URL string = '${functionApp.outputs.publicBaseUrl}/api/health'
