#!/usr/bin/env bash
# Builds the tools that test/apiserver/run.sh needs, from the Go module proxy:
#   kube-apiserver-vX.Y.Z  (k8s.io/kubernetes/cmd/kube-apiserver)
#   kubectl-vX.Y.Z         (k8s.io/kubernetes/cmd/kubectl, same release)
#   etcd-vA.B.C            (go.etcd.io/etcd/server/v3, the release k8s pins)
# into ${MORPHOGEN_TOOLS_DIR:-$HOME/.cache/morphogen-k8s/tools}. A binary that
# is already there and prints its version is reused, not rebuilt.
#
# Usage: test/apiserver/build.sh [K8S_VERSION...]
#   K8S_VERSION is the k8s.io/kubernetes release, e.g. v1.37.2 (the default).
#   Each needs a helper module in tools/k8s-<version>/ (see README.md).
#   ETCD_VERSION (default v3.7.0) picks tools/etcd-<version>/.
#   SKIP_ETCD=1 builds no etcd.
#
# Prints one line per tool, "<name> <path> <seconds>", and the build times.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="${MORPHOGEN_TOOLS_DIR:-$HOME/.cache/morphogen-k8s/tools}"
etcd_version="${ETCD_VERSION:-v3.7.0}"
default_k8s="v1.37.2"

if [ "$#" -eq 0 ]; then
  set -- "$default_k8s"
fi

command -v go >/dev/null || { echo "build.sh: go not found on PATH" >&2; exit 1; }
mkdir -p "$tools_dir"

# Build without cgo, as the Kubernetes release does, so the binaries are static.
export CGO_ENABLED=0
# go.sum in each helper module pins every download, and -mod=readonly makes
# the build fail rather than change go.mod. GOWORK=off keeps a go.work file
# higher up in the tree from taking part.
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
export GOWORK=off

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# usable NAME BIN: succeed when BIN exists and prints its version.
usable() {
  [ -x "$2" ] || return 1
  case "$1" in
    kubectl) "$2" version --client >/dev/null 2>&1 ;;
    *) "$2" --version >/dev/null 2>&1 ;;
  esac
}

# build_one NAME MODULE_DIR PACKAGE OUT LDFLAGS: build PACKAGE into OUT.
# Each step checks its own status, because `set -e` has no effect inside a
# function that is called on the left of `||`.
build_one() {
  local name="$1" mod="$2" pkg="$3" out="$4" ldflags="$5"
  local t0 tmp
  t0="$(now)"
  if usable "$name" "$out"; then
    echo "$name $out cached $(elapsed "$t0")s"
    return 0
  fi
  if [ ! -f "$mod/go.mod" ]; then
    echo "build.sh: helper module $mod/go.mod not found for $name (see README.md to add one)" >&2
    return 1
  fi
  # Build to a temporary name first, so an interrupted build leaves no
  # half-written binary that a later run would take as cached.
  tmp="$out.tmp.$$"
  if ! (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    echo "build.sh: go build $pkg failed in $mod" >&2
    return 1
  fi
  mv -f "$tmp" "$out" || return 1
  if ! usable "$name" "$out"; then
    echo "build.sh: $out was built but failed to print its version" >&2
    return 1
  fi
  echo "$name $out built $(elapsed "$t0")s"
}

# k8s_ldflags VERSION: print the version stamps that the Kubernetes release
# build sets, so that /version and `kubectl version` report the release.
k8s_ldflags() {
  local v="$1" major minor flags="-s -w" pkg
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean"
  done
  printf '%s' "$flags"
}

total0="$(now)"
status=0
for v in "$@"; do
  case "$v" in v*) ;; *) v="v$v" ;; esac
  mod="$here/tools/k8s-$v"
  ld="$(k8s_ldflags "$v")"
  build_one "kube-apiserver" "$mod" k8s.io/kubernetes/cmd/kube-apiserver \
    "$tools_dir/kube-apiserver-$v" "$ld" || status=1
  build_one "kubectl" "$mod" k8s.io/kubernetes/cmd/kubectl \
    "$tools_dir/kubectl-$v" "$ld" || status=1
done

if [ "${SKIP_ETCD:-0}" != "1" ]; then
  build_one "etcd" "$here/tools/etcd-$etcd_version" go.etcd.io/etcd/server/v3 \
    "$tools_dir/etcd-$etcd_version" "-s -w" || status=1
fi

echo "total $(elapsed "$total0")s"
exit "$status"
