# Helpers shared by infra/scripts/postprovision.sh and infra/entra/register-app.sh.
# POSIX sh (azd runs hooks with `sh`). Source it, do not run it.

log() {
  printf '%s\n' "$*" >&2
}

fail() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

require_command() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed or not on PATH ($2)"
}

require_env() {
  eval "value=\${$1:-}"
  [ -n "$value" ] || fail "$1 is not set ($2)"
}

# A private directory for secret values on their way to Key Vault: a value is written to a file
# there and passed to `az keyvault secret set --file`, never on a command line. Removed on exit.
make_scratch() {
  umask 077
  SCRATCH=$(mktemp -d)
  trap 'rm -rf "$SCRATCH"' EXIT
  trap 'rm -rf "$SCRATCH"; exit 130' INT TERM
}

# Prints the names of the vault's secrets, one a line. Waits while the role assignment that lets
# this deployment write secrets (Key Vault Secrets Officer, infra/app/rbac.bicep) propagates, and
# fails rather than guess: a secret that exists but could not be listed must never be replaced.
vault_secret_names() {
  attempt=1
  while :; do
    if az keyvault secret list --vault-name "$1" --query "[].name" --output tsv \
      >"$SCRATCH/names" 2>"$SCRATCH/names.err"; then
      cat "$SCRATCH/names"
      return 0
    fi
    if [ "$attempt" -ge "${KEY_VAULT_ATTEMPTS:-20}" ]; then
      cat "$SCRATCH/names.err" >&2
      fail "cannot list the secrets of Key Vault $1: the signed-in account needs the 'Key Vault Secrets Officer' role on it (docs/deploy.md)"
    fi
    log "waiting for access to Key Vault $1 (new role assignments take a few minutes to apply)"
    sleep "${KEY_VAULT_RETRY_SECONDS:-15}"
    attempt=$((attempt + 1))
  done
}

# has_secret NAMES NAME: whether NAME is one of the lines of NAMES.
has_secret() {
  printf '%s\n' "$1" | grep -qx "$2"
}

# put_secret VAULT NAME FILE [EXPIRES]: stores the content of FILE (no trailing newline) as the
# secret NAME, optionally with an expiry date (UTC, ISO 8601).
put_secret() {
  if [ -n "${4:-}" ]; then
    az keyvault secret set --vault-name "$1" --name "$2" --file "$3" --encoding utf-8 \
      --content-type text/plain --expires "$4" --output none
  else
    az keyvault secret set --vault-name "$1" --name "$2" --file "$3" --encoding utf-8 \
      --content-type text/plain --output none
  fi
}

# months_from_now N: the UTC date and time N months ahead, ISO 8601 (GNU date, then BSD date).
months_from_now() {
  date -u -d "+$1 months" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null ||
    date -u -v+"$1"m +%Y-%m-%dT%H:%M:%SZ
}

# graph_retry COMMAND...: runs an az command on the app registration, and runs it again while
# Microsoft Graph answers that the object does not exist: right after `az ad app create` the new
# application takes a while to reach every Graph replica (eventual consistency; Graph answers
# 404 Request_ResourceNotFound meanwhile). Any other failure stops at once. Its standard output
# passes through.
graph_retry() {
  attempt=1
  while :; do
    if "$@" 2>"$SCRATCH/graph.err"; then
      return 0
    fi
    if [ "$attempt" -ge "${GRAPH_ATTEMPTS:-12}" ] ||
      ! grep -qiE "does not exist|Request_ResourceNotFound|NotFound" "$SCRATCH/graph.err"; then
      cat "$SCRATCH/graph.err" >&2
      return 1
    fi
    log "waiting for Microsoft Graph to know the new app registration (attempt $attempt)"
    sleep "${GRAPH_RETRY_SECONDS:-10}"
    attempt=$((attempt + 1))
  done
}
