#!/bin/sh
# Creates or updates the Microsoft Entra app registration of a deployment and the credential the
# app signs in to Entra with. Run by infra/scripts/postprovision.sh (azd hook), or by hand
# (docs/deploy.md).
#
# The registration (infra/entra/app-registration.json is applied to it as it stands):
#   - sign-in audience AzureADMultipleOrgs: work and school accounts of any organisation;
#   - web redirect URIs <base>/api/auth/callback and <base>/api/admin/consent/callback, added to
#     any others the registration already has;
#   - delegated Microsoft Graph permissions User.Read, Calendars.ReadWrite, offline_access,
#     openid, profile; no application permissions.
# Its credential, by ENTRA_CLIENT_CREDENTIAL:
#   - managed_identity (default): a federated identity credential that trusts the function app's
#     user-assigned managed identity (issuer https://login.microsoftonline.com/<tenant>/v2.0,
#     subject the identity's principal id, audience api://AzureADTokenExchange or the national
#     cloud's). No secret is created, stored or rotated. Source: learn.microsoft.com/entra/
#     workload-id/workload-identity-federation-config-app-trust-managed-identity.
#   - secret: a client secret, written straight to Key Vault as entra-client-secret (never
#     printed), kept on later runs unless ROTATE_CLIENT_SECRET=true.
#
# Safe to run again, also after it failed half way: a new registration's client id is recorded
# (azd env, app setting) as soon as it exists, so the next run updates it rather than creating a
# second one, and Graph's "does not exist" answers right after creating it are waited out.
#
# Environment (azd provides the outputs of infra/main.bicep):
#   AUTH_CALLBACK_URL, ADMIN_CONSENT_CALLBACK_URL  the two redirect URIs
#   ENTRA_CLIENT_CREDENTIAL  managed_identity (default) or secret
#   AZURE_MANAGED_IDENTITY_PRINCIPAL_ID, ENTRA_FEDERATION_ISSUER, ENTRA_TOKEN_EXCHANGE_AUDIENCE
#                            the federated credential (managed_identity)
#   AZURE_KEY_VAULT_NAME     vault that receives entra-client-secret (secret)
#   ENTRA_CLIENT_ID          registration to update; empty: a new one is created
#   ENTRA_APP_DISPLAY_NAME   name of a new registration (default: Outlook calendar sync)
#   ROTATE_CLIENT_SECRET     true: add a new client secret and store it even if the vault has one
#   CLIENT_SECRET_MONTHS     lifetime of a new client secret in months (default 12)
#   AZURE_FUNCTION_APP_NAME, AZURE_RESOURCE_GROUP  when set, a new registration's client id is
#                            written to the app setting ENTRA_CLIENT_ID (and to the azd env)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../scripts/lib.sh"

require_command az "https://learn.microsoft.com/cli/azure/install-azure-cli"
require_env AUTH_CALLBACK_URL "an output of infra/main.bicep"
require_env ADMIN_CONSENT_CALLBACK_URL "an output of infra/main.bicep"
mode=${ENTRA_CLIENT_CREDENTIAL:-managed_identity}
case "$mode" in
  managed_identity)
    require_env AZURE_MANAGED_IDENTITY_PRINCIPAL_ID "an output of infra/main.bicep"
    require_env ENTRA_FEDERATION_ISSUER "an output of infra/main.bicep"
    ;;
  secret)
    require_env AZURE_KEY_VAULT_NAME "an output of infra/main.bicep"
    ;;
  *) fail "ENTRA_CLIENT_CREDENTIAL must be managed_identity or secret, not '$mode'" ;;
esac
manifest="$here/app-registration.json"

make_scratch

graph=$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)
graph=${graph%/}

# record_client_id ID: where the next run (and the app) finds the registration.
record_client_id() {
  if [ -n "${AZURE_ENV_NAME:-}" ] && command -v azd >/dev/null 2>&1; then
    azd env set ENTRA_CLIENT_ID "$1"
  fi
  if [ -n "${AZURE_FUNCTION_APP_NAME:-}" ] && [ -n "${AZURE_RESOURCE_GROUP:-}" ]; then
    az functionapp config appsettings set \
      --name "$AZURE_FUNCTION_APP_NAME" --resource-group "$AZURE_RESOURCE_GROUP" \
      --settings "ENTRA_CLIENT_ID=$1" --output none
    log "app setting ENTRA_CLIENT_ID of $AZURE_FUNCTION_APP_NAME set to $1"
  fi
}

app_id=${ENTRA_CLIENT_ID:-}
if [ -z "$app_id" ]; then
  app_id=$(az ad app create \
    --display-name "${ENTRA_APP_DISPLAY_NAME:-Outlook calendar sync}" \
    --sign-in-audience AzureADMultipleOrgs \
    --web-redirect-uris "$AUTH_CALLBACK_URL" "$ADMIN_CONSENT_CALLBACK_URL" \
    --enable-id-token-issuance false \
    --enable-access-token-issuance false \
    --query appId --output tsv)
  [ -n "$app_id" ] || fail "az ad app create returned no appId"
  log "Entra app registration $app_id created"
  record_client_id "$app_id"
  current_uris=""
else
  current_uris=$(graph_retry az ad app show --id "$app_id" --query "web.redirectUris" --output tsv)
  log "Entra app registration $app_id: updating"
fi

# Sign-in audience and permissions, exactly as the manifest says.
graph_retry az rest --method PATCH \
  --uri "$graph/v1.0/applications(appId='$app_id')" \
  --headers "Content-Type=application/json" \
  --body "@$manifest" \
  --output none

# This deployment's redirect URIs, keeping the ones already registered (URIs hold no spaces).
# shellcheck disable=SC2086
redirect_uris=$(printf '%s\n' $current_uris "$AUTH_CALLBACK_URL" "$ADMIN_CONSENT_CALLBACK_URL" | sort -u)
# shellcheck disable=SC2086
graph_retry az ad app update --id "$app_id" --web-redirect-uris $redirect_uris --output none

# The service principal in this (the publisher's) tenant; other organisations get theirs when
# they consent.
if ! az ad sp show --id "$app_id" --output none 2>/dev/null; then
  graph_retry az ad sp create --id "$app_id" --output none
fi

if [ "$mode" = managed_identity ]; then
  issuer=$ENTRA_FEDERATION_ISSUER
  subject=$AZURE_MANAGED_IDENTITY_PRINCIPAL_ID
  audience=${ENTRA_TOKEN_EXCHANGE_AUDIENCE:-api://AzureADTokenExchange}
  name="function-app-$subject"
  matching=$(graph_retry az ad app federated-credential list --id "$app_id" \
    --query "[?issuer=='$issuer' && subject=='$subject' && contains(audiences, '$audience')].name" \
    --output tsv)
  if [ -n "$matching" ]; then
    log "federated credential $matching of $app_id trusts the managed identity $subject, kept"
  else
    cat >"$SCRATCH/federated-credential.json" <<JSON
{
  "name": "$name",
  "issuer": "$issuer",
  "subject": "$subject",
  "audiences": ["$audience"],
  "description": "The function app's user-assigned managed identity signs in as this app (no client secret)."
}
JSON
    names=$(graph_retry az ad app federated-credential list --id "$app_id" --query "[].name" --output tsv)
    if has_secret "$names" "$name"; then
      graph_retry az ad app federated-credential update --id "$app_id" \
        --federated-credential-id "$name" --parameters "@$SCRATCH/federated-credential.json" \
        --output none
    else
      graph_retry az ad app federated-credential create --id "$app_id" \
        --parameters "@$SCRATCH/federated-credential.json" --output none
    fi
    log "federated credential $name of $app_id: trusts the managed identity $subject ($issuer, $audience)"
  fi
else
  vault=$AZURE_KEY_VAULT_NAME
  existing=$(vault_secret_names "$vault") || exit 1
  if has_secret "$existing" entra-client-secret && [ "${ROTATE_CLIENT_SECRET:-false}" != true ]; then
    log "Key Vault $vault: entra-client-secret exists, kept (ROTATE_CLIENT_SECRET=true adds a new one)"
  else
    expires=$(months_from_now "${CLIENT_SECRET_MONTHS:-12}")
    graph_retry az ad app credential reset --id "$app_id" --append \
      --display-name "outlook-calendar-sync $(date -u +%Y-%m-%d)" \
      --end-date "$expires" \
      --query password --output tsv >"$SCRATCH/raw" ||
      fail "could not add a client secret to $app_id"
    tr -d '\r\n' <"$SCRATCH/raw" >"$SCRATCH/client-secret"
    rm -f "$SCRATCH/raw"
    [ -s "$SCRATCH/client-secret" ] || fail "az ad app credential reset returned no secret"
    put_secret "$vault" entra-client-secret "$SCRATCH/client-secret" "$expires"
    rm -f "$SCRATCH/client-secret"
    log "Key Vault $vault: entra-client-secret stored, expires $expires"
  fi
fi

printf '%s\n' "$app_id"
