# Starting Azurite's blob service as azmi's tests and benchmarks use it: HTTPS with a fresh
# certificate for 127.0.0.1, `--oauth basic` (bearer tokens accepted), a free port, an empty
# workspace (sourced, not run; tests/c/run.sh and bench/blob-bench.sh).
#
# azurite_start DIR: starts tools/azurite's azurite-blob (scripts/setup.sh installs it) with its
#   certificate, key, workspace and log in DIR, waits until it listens (60 s at most) and sets
#   azurite_pid, azurite_port, azurite_cert (the certificate to trust) and azurite_account (the
#   path-style URL of its account devstoreaccount1). Fails, with Azurite's output, when it does
#   not start. The caller stops it (kill "$azurite_pid").

azurite_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tools/azurite/node_modules/.bin/azurite-blob"

azurite_start() {
  local dir=$1 i
  [ -e "$azurite_bin" ] || {
    echo "error: Azurite is not installed ($azurite_bin is missing): run scripts/setup.sh" >&2
    return 2
  }
  mkdir -p "$dir/data"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || {
    echo "error: openssl could not make a certificate for Azurite" >&2
    return 2
  }
  azurite_cert="$dir/cert.pem"
  azurite_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  "$azurite_bin" --blobHost 127.0.0.1 --blobPort "$azurite_port" --oauth basic --silent \
    --skipApiVersionCheck --disableTelemetry --cert "$dir/cert.pem" --key "$dir/key.pem" \
    --location "$dir/data" >"$dir/azurite.log" 2>&1 &
  azurite_pid=$!
  azurite_account="https://127.0.0.1:$azurite_port/devstoreaccount1"
  for ((i = 0; i < 600; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$azurite_port") 2>/dev/null && return 0
    kill -0 "$azurite_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: Azurite did not listen on port $azurite_port:" >&2
  cat "$dir/azurite.log" >&2
  return 2
}
