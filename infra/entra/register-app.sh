#!/bin/sh
# Creates or updates the Microsoft Entra app registration of a deployment and puts its client
# secret in the deployment's Key Vault. Run by infra/scripts/postprovision.sh (azd hook), or by
# hand (docs/deploy.md). Safe to run again: it updates the same registration and keeps the
# client secret the vault already holds.
#
# The registration (infra/entra/app-registration.json is applied to it as it stands):
#   - sign-in audience AzureADMultipleOrgs: work and school accounts of any organisation;
#   - web redirect URIs <base>/api/auth/callback and <base>/api/admin/consent/callback, added to
#     any others the registration already has;
#   - delegated Microsoft Graph permissions User.Read, Calendars.ReadWrite, offline_access,
#     openid, profile; no application permissions;
#   - a client secret, written straight to Key Vault as entra-client-secret (never printed).
#
# Environment (azd provides the first three from the deployment outputs):
#   AUTH_CALLBACK_URL, ADMIN_CONSENT_CALLBACK_URL  the two redirect URIs
#   AZURE_KEY_VAULT_NAME     vault that receives entra-client-secret
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
require_env AZURE_KEY_VAULT_NAME "an output of infra/main.bicep"
vault=$AZURE_KEY_VAULT_NAME
manifest="$here/app-registration.json"

make_scratch

graph=$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)
graph=${graph%/}

app_id=${ENTRA_CLIENT_ID:-}
created=false
if [ -z "$app_id" ]; then
  app_id=$(az ad app create \
    --display-name "${ENTRA_APP_DISPLAY_NAME:-Outlook calendar sync}" \
    --sign-in-audience AzureADMultipleOrgs \
    --web-redirect-uris "$AUTH_CALLBACK_URL" "$ADMIN_CONSENT_CALLBACK_URL" \
    --enable-id-token-issuance false \
    --enable-access-token-issuance false \
    --query appId --output tsv)
  [ -n "$app_id" ] || fail "az ad app create returned no appId"
  created=true
  current_uris=""
  log "Entra app registration $app_id created"
else
  current_uris=$(az ad app show --id "$app_id" --query "web.redirectUris" --output tsv)
  log "Entra app registration $app_id: updating"
fi

# Sign-in audience and permissions, exactly as the manifest says.
az rest --method PATCH \
  --uri "$graph/v1.0/applications(appId='$app_id')" \
  --headers "Content-Type=application/json" \
  --body "@$manifest" \
  --output none

# This deployment's redirect URIs, keeping the ones already registered (URIs hold no spaces).
# shellcheck disable=SC2086
redirect_uris=$(printf '%s\n' $current_uris "$AUTH_CALLBACK_URL" "$ADMIN_CONSENT_CALLBACK_URL" | sort -u)
# shellcheck disable=SC2086
az ad app update --id "$app_id" --web-redirect-uris $redirect_uris --output none

# The service principal in this (the publisher's) tenant; other organisations get theirs when
# they consent.
if ! az ad sp show --id "$app_id" --output none 2>/dev/null; then
  az ad sp create --id "$app_id" --output none
fi

existing=$(vault_secret_names "$vault") || exit 1
if has_secret "$existing" entra-client-secret && [ "${ROTATE_CLIENT_SECRET:-false}" != true ]; then
  log "Key Vault $vault: entra-client-secret exists, kept (ROTATE_CLIENT_SECRET=true adds a new one)"
else
  expires=$(months_from_now "${CLIENT_SECRET_MONTHS:-12}")
  az ad app credential reset --id "$app_id" --append \
    --display-name "outlook-calendar-sync $(date -u +%Y-%m-%d)" \
    --end-date "$expires" \
    --query password --output tsv >"$SCRATCH/raw" 2>"$SCRATCH/reset.err" ||
    { cat "$SCRATCH/reset.err" >&2; fail "could not add a client secret to $app_id"; }
  tr -d '\r\n' <"$SCRATCH/raw" >"$SCRATCH/client-secret"
  rm -f "$SCRATCH/raw"
  [ -s "$SCRATCH/client-secret" ] || fail "az ad app credential reset returned no secret"
  put_secret "$vault" entra-client-secret "$SCRATCH/client-secret" "$expires"
  rm -f "$SCRATCH/client-secret"
  log "Key Vault $vault: entra-client-secret stored, expires $expires"
fi

if [ "$created" = true ]; then
  if [ -n "${AZURE_ENV_NAME:-}" ] && command -v azd >/dev/null 2>&1; then
    azd env set ENTRA_CLIENT_ID "$app_id"
  fi
  if [ -n "${AZURE_FUNCTION_APP_NAME:-}" ] && [ -n "${AZURE_RESOURCE_GROUP:-}" ]; then
    az functionapp config appsettings set \
      --name "$AZURE_FUNCTION_APP_NAME" --resource-group "$AZURE_RESOURCE_GROUP" \
      --settings "ENTRA_CLIENT_ID=$app_id" --output none
    log "app setting ENTRA_CLIENT_ID of $AZURE_FUNCTION_APP_NAME set to $app_id"
  fi
fi

printf '%s\n' "$app_id"
