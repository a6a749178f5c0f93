#!/bin/sh
# Before anything is created: the region must offer the Flex Consumption plan, or the deployment
# would stop half way, after the resource group, storage and Key Vault exist. `azd up` and
# `azd provision` run it as the preprovision hook (azure.yaml); without azd, run it with
# AZURE_LOCATION set before `az deployment sub create` (docs/deploy.md).
#
# The list comes from Azure itself (az functionapp list-flexconsumption-locations), so it stays
# right as Flex Consumption reaches more regions; names are compared without case and spaces.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

require_command az "https://learn.microsoft.com/cli/azure/install-azure-cli"
location=${AZURE_LOCATION:-}
[ -n "$location" ] ||
  fail "AZURE_LOCATION is not set: azd env set AZURE_LOCATION <region>, one that offers Flex Consumption (az functionapp list-flexconsumption-locations --output table)"

normalise() {
  tr -d ' \r' | tr '[:upper:]' '[:lower:]'
}

regions=$(az functionapp list-flexconsumption-locations --query "[].name" --output tsv) ||
  fail "could not list the regions that offer Flex Consumption: is az signed in (az login)?"
wanted=$(printf '%s' "$location" | normalise)
if printf '%s\n' "$regions" | normalise | grep -qx "$wanted"; then
  log "region $location offers Flex Consumption"
else
  fail "region $location does not offer the Flex Consumption plan; pick one of: $(printf '%s\n' "$regions" | normalise | sort | tr '\n' ' ')(azd env set AZURE_LOCATION <region>)"
fi
