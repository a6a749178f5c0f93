// The Flex Consumption hosting plan (FC1, Linux). One function app per plan.

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Spread instances over availability zones (only in regions that support it for Flex Consumption).')
param zoneRedundant bool = false

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

output id string = plan.id
output name string = plan.name
