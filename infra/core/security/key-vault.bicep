// The Key Vault holding the app's secrets: entra-client-secret, token-encryption-keys,
// and host-app-token-secret. RBAC mode: access is granted by Azure role
// assignments (app/rbac.bicep), never by access policies. The secrets themselves are written by
// infra/scripts/postprovision.sh and infra/entra/register-app.sh, not by this template, so that
// a redeployment never replaces a key that encrypted stored tokens.

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Log Analytics workspace that receives the vault audit log (who read which secret).')
param logAnalyticsId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource auditLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
