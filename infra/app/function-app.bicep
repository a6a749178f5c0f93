// The function app: Python 3.11 on the Flex Consumption plan, running as the user-assigned
// identity, HTTPS only with TLS 1.2, CORS limited to the host app's origins, and every setting
// the app reads (shared/settings.py) as an app setting. No secret is an app setting: with
// KEY_VAULT_URL set, the app reads its secrets from Key Vault by name with its identity. The one
// exception is a Key Vault reference the platform resolves: the webhook's clientState keys, which
// Graph's webhooks check on every request without calling Key Vault.
//
// Only what Flex Consumption takes: no siteConfig.ftpsState, alwaysOn, use32BitWorkerProcess,
// linuxFxVersion, ... and none of the app settings functionAppConfig replaced (Microsoft's table,
// "Flex Consumption plan deprecations" in learn.microsoft.com/azure/azure-functions/
// functions-app-settings, is checked against this file by tests/infra/flex_consumption.py).
// Newer regional stamps reject such a property with ARM error 51021.

param name string
param location string = resourceGroup().location
param tags object = {}

@description('azd service name in azure.yaml: azd finds the app to deploy to by this tag.')
param serviceName string = 'api'

param planId string
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerUrl string
param applicationInsightsName string
param keyVaultUri string

@description('Public https base URL without a trailing slash, when the app is served under a custom domain; empty: https://<default host name>.')
param publicBaseUrl string = ''

@description('Application (client) id of the Entra app registration; empty until infra/entra/register-app.sh has run.')
param entraClientId string = ''

param entraTenant string = 'organizations'

@description('Microsoft identity platform host of the cloud, without a trailing slash.')
param entraAuthorityHost string

@description('Microsoft Graph base URL of the cloud.')
param graphBaseUrl string

@description('How the app proves itself to Entra: managed_identity (a client assertion from the app\'s identity, trusted by a federated credential of the app registration) or secret (entra-client-secret in Key Vault).')
@allowed([
  'managed_identity'
  'secret'
])
param entraClientCredential string = 'managed_identity'

@description('Audience of the managed identity token presented as client assertion: api://AzureADTokenExchange, or the national cloud\'s own.')
param tokenExchangeAudience string = 'api://AzureADTokenExchange'

@description('Comma-separated https origins of the host web app: CORS and allowed return URLs.')
@minLength(1)
param hostAppOrigins string

@minLength(1)
param hostAppTokenIssuer string

@minLength(1)
param hostAppTokenAudience string

param hostAppJwksUrl string = ''

@minValue(1)
@maxValue(24)
param reconnectIntervalMonths int = 9

@minValue(1)
@maxValue(180)
param reconnectWarningDays int = 30

param maintenanceSchedule string = '0 */10 * * * *'

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Keep one instance of the HTTP functions always running (billed around the clock, see docs/deploy.md): Graph wants the subscription handshake answered within 10 seconds and notifications within 3, which a cold Python instance can miss.')
param httpAlwaysReady bool = false

// HTTP requests one instance takes at once. Flex Consumption's default for Python is 1, which
// scales out one (cold) instance per concurrent request. The HTTP functions are synchronous and
// wait on Table storage and Graph, and the Python worker runs synchronous functions on a thread
// pool of min(32, cores + 4) threads: 5 on the one core of a 2,048 MB instance. Five requests an
// instance keeps every admitted request running at once and serves a burst of Graph
// notifications from a fifth of the instances (learn.microsoft.com/azure/azure-functions/
// functions-concurrency#http-trigger-concurrency, python-scale-performance-reference).
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 5

// One always-ready instance for the HTTP scale group (all HTTP functions scale together).
var httpAlwaysReadyInstances = [
  {
    name: 'http'
    instanceCount: 1
  }
]

var hostAppOriginList = filter(split(replace(hostAppOrigins, ' ', ''), ','), origin => !empty(origin))

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: planId
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      cors: {
        allowedOrigins: hostAppOriginList
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: httpAlwaysReady ? httpAlwaysReadyInstances : []
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No basic-auth (user name and password) publishing: FTP is not offered on Flex Consumption at
// all, and deployments (azd, Core Tools) sign in with Entra ID.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

var baseUrl = empty(publicBaseUrl) ? 'https://${site.properties.defaultHostName}' : publicBaseUrl

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: blobEndpoint
    AzureWebJobsStorage__queueServiceUri: queueEndpoint
    AzureWebJobsStorage__tableServiceUri: tableEndpoint
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    AZURE_CLIENT_ID: identityClientId
    KEY_VAULT_URL: keyVaultUri
    APP_PUBLIC_BASE_URL: baseUrl
    ENTRA_CLIENT_ID: entraClientId
    ENTRA_CLIENT_CREDENTIAL: entraClientCredential
    ENTRA_MANAGED_IDENTITY_CLIENT_ID: identityClientId
    ENTRA_TOKEN_EXCHANGE_AUDIENCE: tokenExchangeAudience
    ENTRA_AUTHORITY_HOST: entraAuthorityHost
    ENTRA_TENANT: entraTenant
    GRAPH_BASE_URL: graphBaseUrl
    HOST_APP_ORIGINS: join(hostAppOriginList, ',')
    HOST_APP_TOKEN_ISSUER: hostAppTokenIssuer
    HOST_APP_TOKEN_AUDIENCE: hostAppTokenAudience
    HOST_APP_JWKS_URL: hostAppJwksUrl
    RECONNECT_INTERVAL_MONTHS: string(reconnectIntervalMonths)
    RECONNECT_WARNING_DAYS: string(reconnectWarningDays)
    MAINTENANCE_SCHEDULE: maintenanceSchedule
    // Written by infra/scripts/postprovision.sh; versionless, so a new version (a key put first)
    // reaches the app within 24 hours, or at once on a restart or a references refresh.
    WEBHOOK_CLIENT_STATE_KEYS: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/webhook-client-state-keys/)'
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output publicBaseUrl string = baseUrl
