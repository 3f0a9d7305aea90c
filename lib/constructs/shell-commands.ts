/**
 * The shell that runs inside containers: the wait init containers and the
 * exec probes. Each builder returns a complete `command` array of the form
 * `sh -c SCRIPT NAME ARG...`, so the script text is constant and the values
 * travel as positional parameters. Tests run exactly these arrays with a
 * mock server's URL swapped into the arguments.
 *
 * The scripts need only POSIX sh, curl, tr, date and sleep, which the server
 * image (Debian slim) and the nginx image (Alpine) both have.
 */

/**
 * Body of every wait: `check` is a shell function that sets `reason` and
 * returns non-zero while the dependency is not ready. The loop logs the
 * reason of each failed attempt and never sleeps past the deadline.
 */
function waitLoop(check: string): string {
  return [
    'set -u',
    'name=$0 url=$1 attempt=$2 interval=$3 deadline=$4',
    'start=$(date +%s)',
    check,
    'echo "waiting for $name at $url (each attempt ${attempt}s, every ${interval}s, at most ${deadline}s)"',
    'while :; do',
    '  reason=""',
    '  if check; then echo "$name is ready"; exit 0; fi',
    '  elapsed=$(( $(date +%s) - start ))',
    '  if [ $(( elapsed + interval )) -gt "$deadline" ]; then',
    '    echo "gave up waiting for $name at $url after ${elapsed}s: $reason" >&2',
    '    exit 1',
    '  fi',
    '  echo "$name not ready after ${elapsed}s: $reason"',
    '  sleep "$interval"',
    'done',
  ].join('\n');
}

/** Reads a URL with curl into `body`, or sets `reason` to curl's error. */
const FETCH = [
  'fetch() {',
  '  if body=$(curl -fsS --max-time "$attempt" "$1" 2>&1); then',
  '    body=$(printf "%s" "$body" | tr -d " \\t\\r\\n")',
  '    return 0',
  '  fi',
  '  reason="GET $1 failed: $(printf "%.200s" "$body")"',
  '  return 1',
  '}',
].join('\n');

/**
 * Server health: /health must report status ok, and /epoch must carry an
 * epoch_id and a non-zero num_rows. The /epoch body is never logged,
 * because with page PIR enabled it includes the PRG parameters.
 */
const SERVER_CHECK = [
  FETCH,
  'check() {',
  '  fetch "$url/health" || return 1',
  '  case "$body" in',
  '    *\'"status":"ok"\'*) ;;',
  '    *) reason="/health status is not ok: $(printf "%.200s" "$body")"; return 1 ;;',
  '  esac',
  '  fetch "$url/epoch" || return 1',
  '  case "$body" in',
  '    *\'"epoch_id":\'*) ;;',
  '    *) reason="/epoch returned no epoch_id"; return 1 ;;',
  '  esac',
  '  case "$body" in',
  '    *\'"num_rows":\'[1-9]*) return 0 ;;',
  '    *) reason="/epoch reports no rows (num_rows missing or 0)"; return 1 ;;',
  '  esac',
  '}',
].join('\n');

/**
 * Code-data health: a HEAD request for the dictionary must succeed with a
 * non-zero Content-Length, without downloading a file of many megabytes.
 */
const DICTIONARY_CHECK = [
  'check() {',
  '  if ! headers=$(curl -fsSI --max-time "$attempt" "$url" 2>&1); then',
  '    reason="HEAD $url failed: $(printf "%.200s" "$headers")"',
  '    return 1',
  '  fi',
  '  length=$(printf "%s\\n" "$headers" | tr -d "\\r" | tr "A-Z" "a-z" | sed -n "s/^content-length: *//p" | tail -n 1)',
  '  case "$length" in',
  '    ""|0) reason="dictionary is empty or has no Content-Length"; return 1 ;;',
  '    *) return 0 ;;',
  '  esac',
  '}',
].join('\n');

/** Timing of a wait init container, in whole seconds. */
export interface WaitTiming {
  /** Timeout of one HTTP request. */
  readonly attemptSeconds: number;
  /** Pause between attempts. */
  readonly intervalSeconds: number;
  /** Overall bound; the command exits 1 once another attempt would pass it. */
  readonly timeoutSeconds: number;
}

function waitCommand(check: string, name: string, url: string, timing: WaitTiming): string[] {
  return [
    'sh',
    '-c',
    waitLoop(check),
    name,
    url,
    String(timing.attemptSeconds),
    String(timing.intervalSeconds),
    String(timing.timeoutSeconds),
  ];
}

/**
 * Builds the init container command that waits until a morphogen-server
 * returns status ok from /health and a non-empty matrix from /epoch.
 *
 * @param name what the log lines call the server, for example `server-a`
 * @param baseUrl the server's in-cluster URL without a trailing slash
 */
export function waitForServerCommand(name: string, baseUrl: string, timing: WaitTiming): string[] {
  return waitCommand(SERVER_CHECK, name, baseUrl, timing);
}

/** Builds the init container command that waits until code-data serves a non-empty dictionary. */
export function waitForDictionaryCommand(name: string, dictionaryUrl: string, timing: WaitTiming): string[] {
  return waitCommand(DICTIONARY_CHECK, name, dictionaryUrl, timing);
}

/**
 * Builds the adapter's readiness command: a JSON-RPC web3_clientVersion
 * call to the loopback listener that must return a `result`. The adapter
 * forwards this method upstream, so curl's timeout is the upstream timeout
 * plus a margin; the probe's own timeoutSeconds must exceed it.
 */
export function rpcReadinessCommand(url: string, maxTimeSeconds: number): string[] {
  const script = [
    'set -u',
    'url=$1 max=$2',
    'request=\'{"jsonrpc":"2.0","id":1,"method":"web3_clientVersion","params":[]}\'',
    'if ! body=$(curl -sS --max-time "$max" -H "content-type: application/json" --data "$request" "$url" 2>&1); then',
    '  echo "web3_clientVersion to $url failed: $(printf "%.200s" "$body")" >&2',
    '  exit 1',
    'fi',
    'body=$(printf "%s" "$body" | tr -d " \\t\\r\\n")',
    'case "$body" in',
    '  *\'"error":\'*) ;;',
    '  *\'"result":\'*) exit 0 ;;',
    'esac',
    'echo "web3_clientVersion returned no result: $(printf "%.200s" "$body")" >&2',
    'exit 1',
  ].join('\n');
  return ['sh', '-c', script, 'rpc-readiness', url, String(maxTimeSeconds)];
}

/**
 * Builds the adapter's liveness command: any HTTP response from the loopback
 * listener counts. It sends no JSON-RPC call, so an upstream outage never
 * restarts adapters.
 */
export function rpcLivenessCommand(url: string, maxTimeSeconds: number): string[] {
  const script = [
    'set -u',
    'url=$1 max=$2',
    'if ! out=$(curl -sS -o /dev/null --max-time "$max" "$url" 2>&1); then',
    '  echo "no HTTP response from $url: $(printf "%.200s" "$out")" >&2',
    '  exit 1',
    'fi',
  ].join('\n');
  return ['sh', '-c', script, 'rpc-liveness', url, String(maxTimeSeconds)];
}

/**
 * Builds code-data's readiness command: the dictionary file is non-empty and
 * cas/ has at least one entry.
 */
export function codeDataReadinessCommand(root: string): string[] {
  const script = [
    'set -u',
    'root=$1',
    'if [ ! -s "$root/mainnet_compact.dict" ]; then',
    '  echo "$root/mainnet_compact.dict is missing or empty" >&2',
    '  exit 1',
    'fi',
    'if [ -z "$(ls -A "$root/cas" 2>/dev/null | head -n 1)" ]; then',
    '  echo "$root/cas has no entries" >&2',
    '  exit 1',
    'fi',
  ].join('\n');
  return ['sh', '-c', script, 'code-data-readiness', root];
}

/**
 * Builds the init container command that verifies the matrix file's
 * SHA-256 before the server starts. sha256sum runs in the background while
 * the loop logs how far it has read, taken from the `pos` of its file
 * descriptor in /proc, so a check of tens of GB shows progress. The check
 * only reads, so it works on a volume mounted read-only.
 */
export function verifyMatrixCommand(file: string, expectedSha256: string, timeoutSeconds: number, progressSeconds = 30): string[] {
  const script = [
    'set -u',
    'file=$1 expected=$2 deadline=$3 every=$4',
    'if [ ! -e "$file" ]; then echo "matrix file $file not found" >&2; exit 1; fi',
    'if [ ! -r "$file" ]; then echo "matrix file $file is not readable by uid $(id -u)" >&2; exit 1; fi',
    // A symlinked snapshot is measured and tracked through its target.
    'file=$(readlink -f "$file")',
    'size=$(stat -c %s "$file")',
    'echo "verifying sha256 of $file ($size bytes, at most ${deadline}s)"',
    'out=$(mktemp)',
    'sha256sum "$file" > "$out" 2>&1 &',
    'pid=$!',
    'start=$(date +%s)',
    'last=$start',
    'while kill -0 "$pid" 2>/dev/null; do',
    '  now=$(date +%s)',
    '  if [ $(( now - start )) -ge "$deadline" ]; then',
    '    kill "$pid" 2>/dev/null',
    '    echo "sha256 of $file did not finish within ${deadline}s" >&2',
    '    exit 1',
    '  fi',
    '  if [ $(( now - last )) -ge "$every" ]; then',
    '    last=$now',
    '    read=0',
    '    for fd in /proc/$pid/fd/*; do',
    '      if [ "$(readlink "$fd" 2>/dev/null)" = "$file" ]; then',
    '        read=$(sed -n "s/^pos:[[:space:]]*//p" "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null)',
    '      fi',
    '    done',
    '    echo "read ${read:-0} of $size bytes after $(( now - start ))s"',
    '  fi',
    '  sleep 1',
    'done',
    'if ! wait "$pid"; then echo "sha256sum failed: $(head -c 200 "$out")" >&2; exit 1; fi',
    'actual=$(cut -d " " -f 1 "$out")',
    'if [ "$actual" != "$expected" ]; then',
    '  echo "matrix checksum mismatch for $file: expected $expected, actual $actual" >&2',
    '  exit 1',
    'fi',
    'echo "matrix checksum verified: $actual"',
  ].join('\n');
  return ['sh', '-c', script, 'verify-matrix', file, expectedSha256, String(timeoutSeconds), String(progressSeconds)];
}
