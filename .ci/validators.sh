#!/usr/bin/env bash
# Validate synthesized Kubernetes manifests with kubeconform, kube-linter,
# Polaris and Checkov.
#
# Usage:
#   .ci/validators.sh [--install-only] [DIR ...]
#
# With no DIR, every dist/*/ folder of the repository is checked. Each DIR is
# checked as one set: every *.yaml / *.yml file in it (sub-folders included),
# except the kustomize file (kustomization.yaml), which is not a cluster object.
# The exit status is non-zero when any validator reports anything.
#
# The tools are installed on first use into a cache outside the repository,
# one folder per tool version. Later runs find them there and only validate.
# Environment variables:
#   MORPHOGEN_TOOLS_DIR   cache folder (default ~/.cache/morphogen-k8s/tools)
#   MORPHOGEN_CRD_DIR     CRD YAML files to build kubeconform schemas from
#                         (default: ../shared/crds next to the repository)
#   MORPHOGEN_REQUIRE_ALL_TOOLS=1
#                         fail when a validator cannot be installed; by default
#                         such a validator is reported as SKIPPED and the run
#                         goes on with the others.
#   MORPHOGEN_KUBECONFORM_SKIP
#                         comma-separated kinds (or group/version/kind) that
#                         kubeconform should not look for a schema for.
#   MORPHOGEN_PYTHON      Python used to create the venvs (default python3).
#
# Per-object exceptions go on the object itself, never in this script:
#   kube-linter  metadata.annotations: ignore-check.kube-linter.io/<check>: "<reason>"
#   Polaris      metadata.annotations: polaris.fairwinds.com/<check>-exempt: "true"
#   Checkov      metadata.annotations: checkov.io/skip1: CKV_K8S_<n>=<reason>
#                (skip2, skip3, ... for more)
set -euo pipefail

# ---- pinned versions ---------------------------------------------------------
KUBECONFORM_MODULE=github.com/yannh/kubeconform/cmd/kubeconform
KUBECONFORM_VERSION=v0.8.0
# kube-linter's go.mod names golang.stackrox.io/kube-linter. Both spellings are
# tried in this order.
# NOTE: the kube-linter and Polaris pins, kube-linter.yaml and polaris.yaml have
# not been run yet, because the Go proxy used here rejects both modules (403).
KUBE_LINTER_MODULES=(golang.stackrox.io/kube-linter/cmd/kube-linter
                     github.com/stackrox/kube-linter/cmd/kube-linter)
KUBE_LINTER_VERSION=v0.8.1
# Polaris release tags have no "v" prefix (4.0.2, 8.5.0) and its go.mod has no
# /vN suffix, so the tag is given as a revision query, which Go resolves to a
# pseudo-version.
POLARIS_MODULE=github.com/fairwindsops/polaris
POLARIS_VERSION=10.1.8
CHECKOV_VERSION=3.3.30
SCHEMA_GENERATOR=openapi2jsonschema2
SCHEMA_GENERATOR_VERSION=1.1.37
# Kubernetes releases the built-in kinds are checked against: the oldest
# cluster version supported and the newest release the Go proxy serves.
K8S_SCHEMA_VERSIONS=(v1.27.16 v1.37.2)

# ---- paths and options ---------------------------------------------------------
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
TOOLS_DIR=${MORPHOGEN_TOOLS_DIR:-$HOME/.cache/morphogen-k8s/tools}
CRD_DIR=${MORPHOGEN_CRD_DIR:-$REPO_ROOT/../shared/crds}
REQUIRE_ALL=${MORPHOGEN_REQUIRE_ALL_TOOLS:-0}
KUBECONFORM_SKIP=${MORPHOGEN_KUBECONFORM_SKIP:-}
PYTHON=${MORPHOGEN_PYTHON:-python3}
KUBE_LINTER_CONFIG=$SCRIPT_DIR/kube-linter.yaml
POLARIS_CONFIG=$SCRIPT_DIR/polaris.yaml

INSTALL_ONLY=0
DIRS=()
for arg in "$@"; do
  case $arg in
    --install-only) INSTALL_ONLY=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "validators.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) DIRS+=("$arg") ;;
  esac
done

# Go downloads land in the cache folder too. -modcacherw keeps them deletable.
export GOMODCACHE=$TOOLS_DIR/go/mod
export GOFLAGS="${GOFLAGS:-} -modcacherw"
# Checkov: no calls to the vendor platform, no update check.
export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true

mkdir -p "$TOOLS_DIR"
LOG_DIR=$TOOLS_DIR/logs
mkdir -p "$LOG_DIR"

declare -A TOOL_BIN=()       # tool -> executable (or schema folder)
declare -A TOOL_MISSING=()   # tool -> reason it could not be installed
INSTALL_TIMES=()

say() { printf '%s\n' "$*"; }
err() { printf '%s\n' "$*" >&2; }

# Serialise installs when several runs share one cache.
exec 9>"$TOOLS_DIR/.lock"
flock 9

# ---- installers ------------------------------------------------------------------
# go_install NAME VERSION BINARY MODULE... : builds BINARY into
# $TOOLS_DIR/NAME/VERSION/bin, trying each module path in turn.
go_install() {
  local name=$1 version=$2 binary=$3
  shift 3
  local dest=$TOOLS_DIR/$name/$version
  if [[ -x $dest/bin/$binary ]]; then
    TOOL_BIN[$name]=$dest/bin/$binary
    return 0
  fi
  local log=$LOG_DIR/$name-$version.log start=$SECONDS module
  : >"$log"
  for module in "$@"; do
    rm -rf "$dest.partial"
    mkdir -p "$dest.partial/bin"
    say "installing $name: go install $module@$version"
    if (cd "$dest.partial" && GOBIN=$dest.partial/bin go install "$module@$version") >>"$log" 2>&1; then
      rm -rf "$dest"
      mv "$dest.partial" "$dest"
      TOOL_BIN[$name]=$dest/bin/$binary
      INSTALL_TIMES+=("$name $version: $((SECONDS - start))s")
      return 0
    fi
  done
  rm -rf "$dest.partial"
  TOOL_MISSING[$name]="go install failed for ${*/%/@$version}: $(grep -v '^go: downloading' "$log" | tail -n 3 | tr '\n' ' ')"
  return 1
}

# venv_install NAME VERSION BINARY PIP_SPEC : pip-installs PIP_SPEC into a venv
# at $TOOLS_DIR/NAME/VERSION/venv.
venv_install() {
  local name=$1 version=$2 binary=$3 spec=$4
  local dest=$TOOLS_DIR/$name/$version
  if [[ -x $dest/venv/bin/$binary && -f $dest/.complete ]]; then
    TOOL_BIN[$name]=$dest/venv/bin/$binary
    return 0
  fi
  local log=$LOG_DIR/$name-$version.log start=$SECONDS
  say "installing $name: pip install $spec"
  rm -rf "$dest"
  mkdir -p "$dest"
  if "$PYTHON" -m venv "$dest/venv" >"$log" 2>&1 &&
     "$dest/venv/bin/python" -m pip install --disable-pip-version-check -q "$spec" >>"$log" 2>&1; then
    touch "$dest/.complete"
    TOOL_BIN[$name]=$dest/venv/bin/$binary
    INSTALL_TIMES+=("$name $version: $((SECONDS - start))s")
    return 0
  fi
  TOOL_MISSING[$name]="pip install $spec failed: $(tail -n 3 "$log" | tr '\n' ' ')"
  rm -rf "$dest"
  return 1
}

# Kubernetes JSON schemas in kubeconform's layout:
#   $base/<vX.Y.Z>-standalone-strict/<kind>-<group>-<version>.json
k8s_schemas() {
  local base=$TOOLS_DIR/schemas/k8s-$SCHEMA_GENERATOR-$SCHEMA_GENERATOR_VERSION
  local gen=${TOOL_BIN[$SCHEMA_GENERATOR]:-}
  local version todo=()

  for version in "${K8S_SCHEMA_VERSIONS[@]}"; do
    [[ -f $base/$version-standalone-strict/.complete ]] || todo+=("$version")
  done
  if ((${#todo[@]} == 0)); then
    TOOL_BIN[k8s-schemas]=$base
    return 0
  fi
  if [[ -z $gen ]]; then
    TOOL_MISSING[k8s-schemas]="no schema generator ($SCHEMA_GENERATOR could not be installed)"
    return 1
  fi

  local start=$SECONDS pids=() failed=0 i
  mkdir -p "$base"
  for version in "${todo[@]}"; do
    (
      set -euo pipefail
      log=$LOG_DIR/k8s-schemas-$version.log
      work=$base/$version-standalone-strict.partial
      rm -rf "$work"
      mkdir -p "$work"
      # Only the swagger.json of the module is used. The source tree and the
      # module zip are removed again afterwards.
      info=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$version" 2>>"$log")
      src=$(printf '%s' "$info" | "$gen_python" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
      swagger=$src/api/openapi-spec/swagger.json
      cp "$swagger" "$work/swagger.json"
      chmod -R u+w "$src" && rm -rf "$src"
      rm -f "$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$version".*

      # The generator resolves $refs relative to its working directory, so it
      # runs from $work with a relative output folder.
      (cd "$work" && "$gen" --expanded --kubernetes --stand-alone --strict \
          -o out swagger.json) >>"$log" 2>&1

      for must in deployment-apps-v1 service-v1 networkpolicy-networking-v1 poddisruptionbudget-policy-v1; do
        [[ -s $work/out/$must.json ]] || { echo "missing $must.json" >>"$log"; exit 1; }
      done
      rm -rf "$base/$version-standalone-strict"
      mv "$work/out" "$base/$version-standalone-strict"
      rm -rf "$work"
      touch "$base/$version-standalone-strict/.complete"
    ) &
    pids+=($!)
  done

  say "generating Kubernetes schemas for ${todo[*]} (in parallel)"
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      failed=1
      TOOL_MISSING[k8s-schemas]+="schema generation for ${todo[$i]} failed, see $LOG_DIR/k8s-schemas-${todo[$i]}.log; "
    fi
  done
  ((failed == 0)) || return 1
  TOOL_BIN[k8s-schemas]=$base
  INSTALL_TIMES+=("k8s schemas ${todo[*]}: $((SECONDS - start))s")
}

# CRD JSON schemas: $base/<group>/<kind>_<version>.json, keyed by a hash of the
# CRD files and of the converter.
crd_schemas() {
  local files=()
  if [[ -d $CRD_DIR ]]; then
    mapfile -t files < <(find "$CRD_DIR" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
  fi
  if ((${#files[@]} == 0)); then
    say "note: no CRD files in $CRD_DIR; custom resources will have no schema"
    return 0
  fi
  local key
  key=$(cat "${files[@]}" "$SCRIPT_DIR/crd_schemas.py" | sha256sum | cut -c1-16)
  local base=$TOOLS_DIR/schemas/crds-$key
  if [[ ! -f $base/.complete ]]; then
    local py=${gen_python:-}
    if [[ -z $py ]]; then
      TOOL_MISSING[crd-schemas]="no Python with PyYAML ($SCHEMA_GENERATOR venv missing)"
      return 1
    fi
    rm -rf "$base.partial"
    if ! "$py" "$SCRIPT_DIR/crd_schemas.py" "$base.partial" "${files[@]}" >"$LOG_DIR/crd-schemas.log" 2>&1; then
      TOOL_MISSING[crd-schemas]="crd_schemas.py failed: $(tail -n 3 "$LOG_DIR/crd-schemas.log" | tr '\n' ' ')"
      return 1
    fi
    rm -rf "$base"
    mv "$base.partial" "$base"
    touch "$base/.complete"
  fi
  TOOL_BIN[crd-schemas]=$base
}

# Polaris loads its checks from files embedded at build time, and a binary
# built without them could report nothing. So audit one bare Deployment and
# expect it to be flagged.
polaris_selftest() {
  local bin=$1 tmp
  tmp=$(mktemp -d)
  cat >"$tmp/probe.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: probe, namespace: probe}
spec:
  selector: {matchLabels: {app: probe}}
  template:
    metadata: {labels: {app: probe}}
    spec:
      containers: [{name: probe, image: "example.invalid/probe:1"}]
EOF
  local out
  out=$("$bin" audit --audit-path "$tmp" --config "$POLARIS_CONFIG" --format json 2>/dev/null || true)
  rm -rf "$tmp"
  grep -q 'livenessProbeMissing' <<<"$out"
}

install_all() {
  go_install kubeconform "$KUBECONFORM_VERSION" kubeconform "$KUBECONFORM_MODULE" || true
  go_install kube-linter "$KUBE_LINTER_VERSION" kube-linter "${KUBE_LINTER_MODULES[@]}" || true
  if go_install polaris "$POLARIS_VERSION" polaris "$POLARIS_MODULE"; then
    if ! polaris_selftest "${TOOL_BIN[polaris]}"; then
      TOOL_MISSING[polaris]="built, but its self-test audit of a bare Deployment did not report livenessProbeMissing (embedded checks missing, or the audit itself failed)"
      unset 'TOOL_BIN[polaris]'
    fi
  fi
  venv_install checkov "$CHECKOV_VERSION" checkov "checkov==$CHECKOV_VERSION" || true
  venv_install "$SCHEMA_GENERATOR" "$SCHEMA_GENERATOR_VERSION" "$SCHEMA_GENERATOR" \
    "$SCHEMA_GENERATOR==$SCHEMA_GENERATOR_VERSION" || true
  gen_python=
  if [[ -n ${TOOL_BIN[$SCHEMA_GENERATOR]:-} ]]; then
    gen_python=$(dirname "${TOOL_BIN[$SCHEMA_GENERATOR]}")/python
  fi
  k8s_schemas || true
  crd_schemas || true
}

# go_module_version BINARY : the module path and version recorded in a Go binary.
go_module_version() {
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" {print $2, $3; exit}'
}

print_versions() {
  say "== validator versions"
  if [[ -n ${TOOL_BIN[kubeconform]:-} ]]; then
    say "kubeconform   $(go_module_version "${TOOL_BIN[kubeconform]}")"
  fi
  if [[ -n ${TOOL_BIN[kube-linter]:-} ]]; then
    say "kube-linter   $(go_module_version "${TOOL_BIN[kube-linter]}") ($("${TOOL_BIN[kube-linter]}" version 2>&1 | head -n1))"
  fi
  if [[ -n ${TOOL_BIN[polaris]:-} ]]; then
    say "polaris       $(go_module_version "${TOOL_BIN[polaris]}") ($("${TOOL_BIN[polaris]}" version 2>&1 | head -n1))"
  fi
  if [[ -n ${TOOL_BIN[checkov]:-} ]]; then
    say "checkov       $("${TOOL_BIN[checkov]}" --version 2>&1 | tail -n1)"
  fi
  if [[ -n ${TOOL_BIN[k8s-schemas]:-} ]]; then
    say "k8s schemas   ${K8S_SCHEMA_VERSIONS[*]} ($SCHEMA_GENERATOR $SCHEMA_GENERATOR_VERSION, standalone strict)"
  fi
  if [[ -n ${TOOL_BIN[crd-schemas]:-} ]]; then
    say "CRD schemas   $(cd "${TOOL_BIN[crd-schemas]}" && find . -name '*.json' | sed 's|^\./||' | sort | tr '\n' ' ')"
  fi
  local tool
  for tool in "${!TOOL_MISSING[@]}"; do
    say "$tool   NOT AVAILABLE: ${TOOL_MISSING[$tool]}"
  done
}

install_all
flock -u 9

print_versions
if ((${#INSTALL_TIMES[@]})); then
  say "== install times"
  printf '  %s\n' "${INSTALL_TIMES[@]}"
fi

if ((${#TOOL_MISSING[@]})) && [[ $REQUIRE_ALL == 1 ]]; then
  err "validators.sh: MORPHOGEN_REQUIRE_ALL_TOOLS=1 and some validators are missing"
  exit 3
fi
((INSTALL_ONLY)) && exit 0

# ---- what to check ---------------------------------------------------------------
if ((${#DIRS[@]} == 0)); then
  shopt -s nullglob
  for d in "$REPO_ROOT"/dist/*/; do DIRS+=("${d%/}"); done
  shopt -u nullglob
  if ((${#DIRS[@]} == 0)); then
    err "validators.sh: no dist/*/ folders under $REPO_ROOT (synthesize first, or pass folders)"
    exit 2
  fi
fi

STAGE_ROOT=$(mktemp -d)
trap 'rm -rf "$STAGE_ROOT"' EXIT

FAILURES=()

# run_tool LABEL COMMAND... : runs a validator, keeps its output, records a
# failure when it exits non-zero. Paths of the staged copies in the output are
# turned back into the paths of the checked folder ($stage -> $dir).
run_tool() {
  local label=$1
  shift
  local out=$STAGE_ROOT/out.txt rc=0
  "$@" >"$out" 2>&1 || rc=$?
  if ((rc == 0)); then
    say "-- $label: ok"
  else
    say "-- $label: FAILED (exit $rc)"
    sed -e "s|$stage|$dir|g" -e 's/^/   /' "$out"
    FAILURES+=("$label")
  fi
  # kubeconform's summary line is worth keeping even on success.
  if ((rc == 0)) && [[ $label == kubeconform* ]]; then
    grep -E '^Summary:' "$out" | sed 's/^/   /' || true
  fi
}

index=0
for dir in "${DIRS[@]}"; do
  [[ $dir == / ]] || dir=${dir%/}
  if [[ ! -d $dir ]]; then
    err "validators.sh: $dir is not a folder"
    FAILURES+=("$dir: not a folder")
    continue
  fi
  name=$(basename "$dir")
  index=$((index + 1))
  stage=$STAGE_ROOT/$index-$name
  mkdir -p "$stage"
  # Copy the manifests (same relative paths) so that every tool reads the same
  # set and none of them picks up the kustomize file.
  mapfile -t files < <(find "$dir" -type f \( -name '*.yaml' -o -name '*.yml' \) \
      ! -name kustomization.yaml ! -name kustomization.yml | sort)
  say ""
  say "== $dir (${#files[@]} manifest files)"
  if ((${#files[@]} == 0)); then
    say "-- no manifests found"
    FAILURES+=("$dir: no manifests")
    continue
  fi
  for f in "${files[@]}"; do
    rel=${f#"$dir"/}
    mkdir -p "$stage/$(dirname "$rel")"
    cp "$f" "$stage/$rel"
  done

  if [[ -n ${TOOL_BIN[kubeconform]:-} && -n ${TOOL_BIN[k8s-schemas]:-} ]]; then
    for version in "${K8S_SCHEMA_VERSIONS[@]}"; do
      args=(-strict -summary -output text -kubernetes-version "${version#v}"
            -schema-location "${TOOL_BIN[k8s-schemas]}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json")
      if [[ -n ${TOOL_BIN[crd-schemas]:-} ]]; then
        args+=(-schema-location "${TOOL_BIN[crd-schemas]}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
      fi
      [[ -n $KUBECONFORM_SKIP ]] && args+=(-skip "$KUBECONFORM_SKIP")
      run_tool "kubeconform (Kubernetes $version) $name" "${TOOL_BIN[kubeconform]}" "${args[@]}" "$stage"
    done
  else
    say "-- kubeconform: SKIPPED (not available, see above)"
  fi

  if [[ -n ${TOOL_BIN[kube-linter]:-} ]]; then
    run_tool "kube-linter $name" "${TOOL_BIN[kube-linter]}" lint --config "$KUBE_LINTER_CONFIG" "$stage"
  else
    say "-- kube-linter: SKIPPED (not available, see above)"
  fi

  if [[ -n ${TOOL_BIN[polaris]:-} ]]; then
    run_tool "polaris $name" "${TOOL_BIN[polaris]}" audit --audit-path "$stage" \
      --config "$POLARIS_CONFIG" --format pretty --only-show-failed-tests \
      --set-exit-code-on-danger --set-exit-code-below-score 100
  else
    say "-- polaris: SKIPPED (not available, see above)"
  fi

  if [[ -n ${TOOL_BIN[checkov]:-} ]]; then
    # Checks that do not fit an object are skipped by checkov.io/skip
    # annotations on that object, each with its reason.
    run_tool "checkov $name" "${TOOL_BIN[checkov]}" --framework kubernetes -d "$stage" \
      --compact --quiet --skip-download
  else
    say "-- checkov: SKIPPED (not available, see above)"
  fi
done

say ""
if ((${#TOOL_MISSING[@]})); then
  say "validators not run: ${!TOOL_MISSING[*]}"
fi
if ((${#FAILURES[@]})); then
  say "FAILED: ${#FAILURES[@]} validator run(s) reported findings:"
  printf '  %s\n' "${FAILURES[@]}"
  exit 1
fi
say "all validators that ran reported zero findings"
