#!/usr/bin/env bash
# Checks synthesized manifests against a real kube-apiserver on loopback.
#
# Usage: test/apiserver/run.sh DIR...
#   Each DIR holds a kustomization.yaml (for example dist/dev).
#
# What it does:
#   1. Starts etcd and kube-apiserver on free ports of 127.0.0.1, with every
#      file (data, certificates, keys, logs) in a temporary folder.
#   2. Applies every CRD in the CRD folder for real and waits until each one
#      is Established.
#   3. For each DIR, creates the namespaces that its objects use, labelled
#      for the restricted Pod Security level (enforce, audit and warn), and
#      runs `kubectl apply -k DIR --dry-run=server --validate=strict`.
#      The DIR fails when kustomize or kubectl exits non-zero or writes
#      anything to stderr, so every "Warning:" line (Pod Security, deprecated
#      APIs, kustomize deprecations) is a failure.
#   4. Stops both servers on exit, also after an error or a signal.
#
# Environment:
#   MORPHOGEN_TOOLS_DIR  where build.sh put the binaries
#                        (default $HOME/.cache/morphogen-k8s/tools)
#   K8S_VERSION          kube-apiserver and kubectl release (default v1.37.2)
#   ETCD_VERSION         etcd release (default v3.7.0)
#   KUBECTL              a kubectl to use instead of kubectl-$K8S_VERSION
#   MORPHOGEN_CRD_DIR    CRD folder (default: ../shared/crds from the
#                        repository root)
#   KEEP_TMP=1           keep the temporary folder (logs, kubeconfig)
#   STARTUP_TIMEOUT      seconds to wait for /readyz (default 120)
#
# Exit status: 0 when every DIR passed, 1 when one failed, 2 on a setup error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [ "$#" -eq 0 ]; then
  echo "usage: $0 DIR..." >&2
  exit 2
fi

tools_dir="${MORPHOGEN_TOOLS_DIR:-$HOME/.cache/morphogen-k8s/tools}"
k8s_version="${K8S_VERSION:-v1.37.2}"
etcd_version="${ETCD_VERSION:-v3.7.0}"
startup_timeout="${STARTUP_TIMEOUT:-120}"

crd_dir="${MORPHOGEN_CRD_DIR:-$repo/../shared/crds}"
if [ ! -d "$crd_dir" ]; then
  echo "CRD folder $crd_dir not found; set MORPHOGEN_CRD_DIR" >&2
  exit 2
fi

apiserver_bin="$tools_dir/kube-apiserver-$k8s_version"
etcd_bin="$tools_dir/etcd-$etcd_version"
kubectl_bin="${KUBECTL:-$tools_dir/kubectl-$k8s_version}"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "[run.sh] $*"; }
die() { echo "[run.sh] error: $*" >&2; exit 2; }

t_start="$(now)"

# Build the missing tools. build.sh reuses the binaries that are cached.
if [ ! -x "$apiserver_bin" ] || [ ! -x "$etcd_bin" ] || [ ! -x "$kubectl_bin" ]; then
  log "tools missing in $tools_dir, running build.sh $k8s_version"
  ETCD_VERSION="$etcd_version" "$here/build.sh" "$k8s_version" \
    || die "build.sh $k8s_version failed; run it alone to see the go build output"
fi
for b in "$apiserver_bin" "$etcd_bin" "$kubectl_bin" ; do
  [ -x "$b" ] || die "$b not found; run test/apiserver/build.sh $k8s_version"
done
for c in openssl node awk; do
  command -v "$c" >/dev/null || die "$c not found on PATH"
done

# Check the directories before a server starts.
dirs=()
for d in "$@"; do
  [ -d "$d" ] || die "$d not found or not a directory"
  [ -f "$d/kustomization.yaml" ] || [ -f "$d/kustomization.yml" ] || [ -f "$d/Kustomization" ] \
    || die "$d contains no kustomization.yaml"
  dirs+=("$(cd "$d" && pwd)")
done

work="$(mktemp -d "${TMPDIR:-/tmp}/morphogen-apiserver.XXXXXX")"
etcd_pid=""
apiserver_pid=""

# stop PID NAME: send SIGTERM to PID, and SIGKILL when it still runs 15 s later.
stop() {
  local pid="$1" name="$2" i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "[run.sh] $name (pid $pid) ignored SIGTERM, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$apiserver_pid" kube-apiserver
  stop "$etcd_pid" etcd
  if [ "${KEEP_TMP:-0}" = "1" ]; then
    echo "[run.sh] kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# show_log FILE: print the last lines of a server log after a failed start.
show_log() {
  echo "----- last lines of $1 -----" >&2
  tail -n 40 "$1" >&2 || true
  echo "-----" >&2
}

# Take three free TCP ports on 127.0.0.1. The sockets stay open until all
# three are bound, so the ports differ. Another process can still take a port
# before the servers bind it, and the start then fails.
read -r etcd_client_port etcd_peer_port apiserver_port < <(node -e '
  const net = require("net");
  const ports = [];
  const servers = [];
  const next = () => {
    if (ports.length === 3) {
      console.log(ports.join(" "));
      servers.forEach((s) => s.close());
      return;
    }
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); servers.push(s); next(); });
  };
  next();
')
[ -n "$apiserver_port" ] || die "finding free ports on 127.0.0.1 failed"

# ---- etcd ----------------------------------------------------------------
t0="$(now)"
mkdir -p "$work/etcd"
"$etcd_bin" \
  --name=default \
  --data-dir="$work/etcd" \
  --listen-client-urls="http://127.0.0.1:$etcd_client_port" \
  --advertise-client-urls="http://127.0.0.1:$etcd_client_port" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster="default=http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster-state=new \
  --unsafe-no-fsync \
  --log-level=warn \
  >"$work/etcd.log" 2>&1 &
etcd_pid=$!

etcd_ready=0
for _ in $(seq 1 300); do
  kill -0 "$etcd_pid" 2>/dev/null || break
  if (exec 3<>"/dev/tcp/127.0.0.1/$etcd_client_port") 2>/dev/null; then
    etcd_ready=1
    break
  fi
  sleep 0.1
done
if [ "$etcd_ready" != 1 ]; then
  show_log "$work/etcd.log"
  die "etcd failed to start (log above)"
fi
log "etcd $etcd_version up on 127.0.0.1:$etcd_client_port in $(elapsed "$t0")s"

# ---- credentials -----------------------------------------------------------
mkdir -p "$work/certs"
openssl genrsa -out "$work/sa.key" 2048 2>/dev/null
openssl rsa -in "$work/sa.key" -pubout -out "$work/sa.pub" 2>/dev/null
token="$(openssl rand -hex 24)"
# Static token file, one "token,user,uid,groups" line. The system:masters
# group has every permission under RBAC.
printf '%s,morphogen-admin,morphogen-admin,"system:masters"\n' "$token" >"$work/tokens.csv"
chmod 600 "$work/tokens.csv" "$work/sa.key"

# ---- kube-apiserver -----------------------------------------------------------
# --endpoint-reconciler-type=none: with the default reconciler, v1.37.2 exits
#   at start with "cannot use public IP 127.0.0.1 with endpoint reconciler:
#   may not be in the loopback range". No test needs those Endpoints.
# --service-cluster-ip-range: Services get ClusterIPs from it in dry-run.
#   Nothing here sends traffic to that range.
# Admission plugins keep their defaults. ServiceAccount admission checks
#   Pods only, and ensure_namespace creates the "default" ServiceAccount that
#   the controller manager would create, so the plugin can stay on.
t0="$(now)"
"$apiserver_bin" \
  --etcd-servers="http://127.0.0.1:$etcd_client_port" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$apiserver_port" \
  --cert-dir="$work/certs" \
  --token-auth-file="$work/tokens.csv" \
  --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$work/sa.pub" \
  --service-account-signing-key-file="$work/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --endpoint-reconciler-type=none \
  --profiling=false \
  >"$work/kube-apiserver.log" 2>&1 &
apiserver_pid=$!

kubeconfig="$work/kubeconfig"
cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$apiserver_port
    certificate-authority: $work/certs/apiserver.crt
users:
- name: admin
  user:
    token: $token
contexts:
- name: local
  context:
    cluster: local
    user: admin
    namespace: default
current-context: local
EOF
chmod 600 "$kubeconfig"
export KUBECONFIG="$kubeconfig"
# --cache-dir keeps kubectl's discovery cache for this server out of ~/.kube.
kc() { "$kubectl_bin" --kubeconfig="$kubeconfig" --cache-dir="$work/kube-cache" "$@"; }

ready=0
deadline=$(( $(date +%s) + startup_timeout ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  kill -0 "$apiserver_pid" 2>/dev/null || break
  if [ -s "$work/certs/apiserver.crt" ] \
    && [ "$(kc get --raw /readyz 2>/dev/null)" = "ok" ]; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ "$ready" != 1 ]; then
  show_log "$work/kube-apiserver.log"
  die "kube-apiserver /readyz timed out after ${startup_timeout}s (log above; raise STARTUP_TIMEOUT on a slow machine)"
fi
server_version="$(kc get --raw /version | awk -F'"' '/"gitVersion"/ { print $4 }')"
log "kube-apiserver $server_version ready on https://127.0.0.1:$apiserver_port in $(elapsed "$t0")s"

# ---- CRDs -------------------------------------------------------------------
t0="$(now)"
shopt -s nullglob
crd_files=("$crd_dir"/*.yaml "$crd_dir"/*.yml)
shopt -u nullglob
if [ "${#crd_files[@]}" -eq 0 ]; then
  log "no CRD files in $crd_dir"
else
  for f in "${crd_files[@]}"; do
    # Server-side apply, because a client-side apply stores the whole CRD in
    # an annotation, and annotations are limited to 256 KiB in total.
    if ! names="$(kc apply --server-side --field-manager=morphogen-test -f "$f" -o name \
        2>"$work/crd.err")"; then
      # An older server rejects CRD fields that it does not know, such as
      # spec.versions[].selectableFields on v1.27.4. Create the CRD without
      # them instead, and print the fields that the server dropped.
      if ! grep -q 'field not declared in schema' "$work/crd.err"; then
        cat "$work/crd.err" >&2
        die "applying CRD file $f failed"
      fi
      names="$(kc create --validate=warn -f "$f" -o name 2>"$work/crd.err")" || {
        cat "$work/crd.err" >&2
        die "creating CRD file $f failed"
      }
      log "NOTE: kube-apiserver $server_version dropped fields of $(basename "$f"):"
      sed 's/^/    | /' "$work/crd.err"
    fi
    for n in $names; do
      case "$n" in
        customresourcedefinition*) ;;
        *) die "$f contains $n, which is not a CRD" ;;
      esac
      kc wait --for=condition=Established --timeout=60s "$n" >/dev/null \
        || die "waiting for $n to become Established timed out after 60s"
      log "CRD ${n#*/} Established"
    done
  done
  log "CRDs from $crd_dir applied in $(elapsed "$t0")s"
fi

# ---- namespaces ------------------------------------------------------------
# ensure_namespace NAME: create NAME when it is missing, label it for the
# restricted Pod Security level and give it a "default" ServiceAccount.
# The namespace is created through client-side apply, because a later
# `kubectl apply` of a namespace made by `kubectl create` prints a warning
# about the missing last-applied-configuration annotation.
ensure_namespace() {
  local ns="$1"
  if ! kc get namespace "$ns" >/dev/null 2>&1; then
    kc apply -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Namespace
metadata:
  name: $ns
EOF
  fi
  kc label --overwrite namespace "$ns" \
    pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/enforce-version=latest \
    pod-security.kubernetes.io/audit=restricted \
    pod-security.kubernetes.io/audit-version=latest \
    pod-security.kubernetes.io/warn=restricted \
    pod-security.kubernetes.io/warn-version=latest >/dev/null || return 1
  if ! kc -n "$ns" get serviceaccount default >/dev/null 2>&1; then
    kc -n "$ns" create serviceaccount default >/dev/null || return 1
  fi
}

# namespace_documents FILE: print the Namespace objects of a kustomize output.
# kustomize writes each top-level key at column 0 and a "---" line between
# documents, so splitting on lines is enough.
namespace_documents() {
  awk '
    function flush() {
      if (is_namespace && is_core) printf "---\n%s", doc
      doc = ""; is_namespace = 0; is_core = 0
    }
    /^---[[:space:]]*$/ { flush(); next }
    { doc = doc $0 "\n" }
    /^kind:[[:space:]]*Namespace[[:space:]]*$/ { is_namespace = 1 }
    /^apiVersion:[[:space:]]*v1[[:space:]]*$/ { is_core = 1 }
    END { flush() }' "$1"
}

# Template for one "KIND NAMESPACE NAME" line per object, with "-" for no
# namespace. It accepts a List as well as a single object.
object_template='{{define "row"}}{{.kind}} {{with .metadata.namespace}}{{.}}{{else}}-{{end}} {{.metadata.name}}
{{end}}{{if .items}}{{range .items}}{{template "row" .}}{{end}}{{else}}{{template "row" .}}{{end}}'

# ---- each DIR --------------------------------------------------------------
pass=0
fail=0
summary=()
for dir in "${dirs[@]}"; do
  t0="$(now)"
  name="${dir#"$repo"/}"
  out="$work/out.$(( pass + fail ))"
  mkdir -p "$out"
  log "=== $name"
  ok=1

  # 1. Render the kustomization with kubectl's own kustomize.
  if ! kc kustomize "$dir" >"$out/rendered.yaml" 2>"$out/kustomize.err"; then
    sed 's/^/    /' "$out/kustomize.err"
    log "kustomize build failed"
    ok=0
  elif [ -s "$out/kustomize.err" ]; then
    sed 's/^/    /' "$out/kustomize.err"
    log "kustomize build wrote to stderr (counted as a failure)"
    ok=0
  fi

  # 2. List kind, namespace and name of every object. kubectl parses the YAML
  #    and maps each kind through the server, which has the CRDs by now.
  if [ "$ok" = 1 ]; then
    if ! kc create --dry-run=client -f "$out/rendered.yaml" \
        -o go-template="$object_template" >"$out/objects.txt" 2>"$out/objects.err"; then
      sed 's/^/    /' "$out/objects.err"
      log "listing the objects failed (a custom resource needs its CRD in $crd_dir)"
      ok=0
    fi
  fi

  if [ "$ok" = 1 ]; then
    # The namespaces that objects name, those that the DIR defines, and
    # "default", where kubectl puts a namespaced object that names none.
    namespaces="$(awk '
      $1 == "Namespace" { print $3; next }
      $2 != "-" { print $2 }
      END { print "default" }' "$out/objects.txt" | sort -u)"
    defined="$(awk '$1 == "Namespace" { print $3 }' "$out/objects.txt" | sort -u)"

    # Apply the DIR's own Namespace objects for real first. A server dry run
    # stores nothing, so the other objects would find no namespace.
    if [ -n "$defined" ]; then
      namespace_documents "$out/rendered.yaml" >"$out/namespaces.yaml"
      if ! kc apply -f "$out/namespaces.yaml" >"$out/namespaces.out" 2>"$out/namespaces.err" \
          || [ -s "$out/namespaces.err" ]; then
        sed 's/^/    | /' "$out/namespaces.err"
        log "applying the Namespace objects of $name failed or wrote to stderr"
        ok=0
      fi
    fi
    for ns in $namespaces; do
      if ! ensure_namespace "$ns"; then
        log "creating namespace $ns failed"
        ok=0
      fi
    done
    log "namespaces: $(echo $namespaces) (defined in DIR: $(echo ${defined:-none}))"
  fi

  # 3. The check.
  if [ "$ok" = 1 ]; then
    set +e
    kc apply -k "$dir" --dry-run=server --validate=strict >"$out/apply.out" 2>"$out/apply.err"
    rc=$?
    set -e
    sed 's/^/    /' "$out/apply.out"
    if [ -s "$out/apply.err" ]; then
      echo "    stderr:"
      sed 's/^/    | /' "$out/apply.err"
    fi
    warnings="$(grep -c -i 'warning' "$out/apply.err" || true)"
    objects="$(grep -c '(server dry run)' "$out/apply.out" || true)"
    if [ "$rc" -ne 0 ]; then
      log "kubectl apply exited $rc"
      ok=0
    elif [ "$warnings" -gt 0 ]; then
      log "warning lines: $warnings"
      ok=0
    elif [ -s "$out/apply.err" ]; then
      log "kubectl wrote to stderr"
      ok=0
    fi
  fi

  secs="$(elapsed "$t0")"
  if [ "$ok" = 1 ]; then
    pass=$(( pass + 1 ))
    summary+=("PASS  $name  objects: $objects  ${secs}s")
    log "PASS $name (objects: $objects, ${secs}s)"
  else
    fail=$(( fail + 1 ))
    summary+=("FAIL  $name  ${secs}s")
    log "FAIL $name (${secs}s)"
  fi
done

echo
kubectl_version="$("$kubectl_bin" version --client -o json 2>/dev/null | awk -F'"' '/"gitVersion"/ { print $4; exit }')"
echo "apiserver check: kube-apiserver $server_version, etcd $etcd_version, kubectl $kubectl_version"
for line in "${summary[@]}"; do
  echo "  $line"
done
echo "total $(elapsed "$t_start")s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1
