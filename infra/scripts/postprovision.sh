#!/bin/sh
# After the templates are deployed: the secrets the app reads from Key Vault, then the Entra app
# registration. `azd up`/`azd provision` run it as the postprovision hook (azure.yaml) with the
# deployment outputs in the environment; docs/deploy.md shows how to run it without azd.
#
# 1. Generates, only if the vault does not hold them yet:
#    - token-encryption-keys  k<yyyymmdd>:<32 random bytes, base64>; encrypts the stored OAuth
#                             token caches (rotation: docs/deploy.md)
#    - host-app-token-secret  48 random bytes, base64; only in HS256 mode (HOST_APP_JWKS_URL
#                             empty): the host app signs its tokens with it
#    - webhook-client-state-keys  w<yyyymmdd>:<32 random bytes, base64>; signs the clientState
#                             of Graph subscriptions. The function app reads it as the Key Vault
#                             reference WEBHOOK_CLIENT_STATE_KEYS, which is refreshed when the
#                             secret is new (until then the reference cannot resolve).
#    An existing secret is never replaced: a new token-encryption key would make every stored
#    connection unreadable.
# 2. Creates or updates the Entra app registration and its credential: a federated credential
#    trusting the app's managed identity, or (ENTRA_CLIENT_CREDENTIAL=secret) a client secret in
#    Key Vault (infra/entra/register-app.sh), unless SKIP_ENTRA_APP_REGISTRATION=true.
#
# Needs: az (signed in), openssl, and the Key Vault Secrets Officer role on the vault (the
# templates grant it to the principal that deploys).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

require_command az "https://learn.microsoft.com/cli/azure/install-azure-cli"
require_command openssl "used to generate random keys"
require_env AZURE_KEY_VAULT_NAME "an output of infra/main.bicep"
vault=$AZURE_KEY_VAULT_NAME

make_scratch
existing=$(vault_secret_names "$vault") || exit 1

token_encryption_keys() {
  printf 'k%s:%s' "$(date -u +%Y%m%d)" "$(openssl rand -base64 32 | tr -d '\r\n')"
}

webhook_client_state_keys() {
  printf 'w%s:%s' "$(date -u +%Y%m%d)" "$(openssl rand -base64 32 | tr -d '\r\n')"
}

random_secret() {
  openssl rand -base64 48 | tr -d '\r\n'
}

# ensure_secret NAME GENERATOR: stores GENERATOR's output as NAME unless the vault has NAME.
ensure_secret() {
  if has_secret "$existing" "$1"; then
    log "Key Vault $vault: $1 exists, kept"
    return 0
  fi
  "$2" >"$SCRATCH/value"
  put_secret "$vault" "$1" "$SCRATCH/value"
  rm -f "$SCRATCH/value"
  log "Key Vault $vault: $1 created"
}

ensure_secret token-encryption-keys token_encryption_keys
new_webhook_keys=true
has_secret "$existing" webhook-client-state-keys && new_webhook_keys=false
ensure_secret webhook-client-state-keys webhook_client_state_keys
if [ "$new_webhook_keys" = true ]; then
  require_env AZURE_SUBSCRIPTION_ID "set by azd"
  require_env AZURE_RESOURCE_GROUP "an output of infra/main.bicep"
  require_env AZURE_FUNCTION_APP_NAME "an output of infra/main.bicep"
  # App Service resolves Key Vault references at start and every 24 hours; this asks it now.
  site="/subscriptions/$AZURE_SUBSCRIPTION_ID/resourceGroups/$AZURE_RESOURCE_GROUP/providers/Microsoft.Web/sites/$AZURE_FUNCTION_APP_NAME"
  az rest --method post --output none \
    --url "$site/config/configreferences/appsettings/refresh?api-version=2022-03-01" ||
    log "could not refresh the app's Key Vault references: restart the function app once"
fi
if [ -z "${HOST_APP_JWKS_URL:-}" ]; then
  ensure_secret host-app-token-secret random_secret
else
  log "HOST_APP_JWKS_URL is set: host app tokens are checked against its keys, no host-app-token-secret needed"
fi

if [ "${SKIP_ENTRA_APP_REGISTRATION:-false}" = true ]; then
  log "SKIP_ENTRA_APP_REGISTRATION=true: the Entra app registration is left to you (docs/deploy.md)"
else
  sh "$here/../entra/register-app.sh"
fi

cat >&2 <<EOF

Deployed. Next steps (docs/deploy.md):
  health:           curl ${HEALTH_URL:-https://<function host>/api/health}   (after azd deploy)
  redirect URIs:    ${AUTH_CALLBACK_URL:-} ${ADMIN_CONSENT_CALLBACK_URL:-}
  Graph webhooks:   ${GRAPH_NOTIFICATION_URL:-} ${GRAPH_LIFECYCLE_URL:-}
EOF
if [ -z "${HOST_APP_JWKS_URL:-}" ]; then
  cat >&2 <<EOF
  host app secret:  give the host app team the HS256 signing secret through a channel you trust:
                    az keyvault secret show --vault-name $vault --name host-app-token-secret --query value --output tsv
EOF
fi
