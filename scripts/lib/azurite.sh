# Azurite's blob service for the tests and benchmarks (sourced; tests/c/run.sh,
# bench/blob-bench.sh, ...): HTTPS with a fresh certificate for 127.0.0.1, `--oauth basic` (it
# checks the emulator's bearer tokens), a free port and an empty workspace, as
# tests/common/mod.rs starts it. Azurite comes from tools/azurite (scripts/setup.sh). The caller
# sets root (the checkout).
#
# azurite_start DIR: starts it with its files in DIR (made anew); sets azurite_port, azurite_cert
# (the PEM to trust), azurite_url (the account, path-style) and azurite_pid, and waits until it
# listens (60 s at most). azurite_stop stops it; call it on exit.
azurite_start() {
  local dir=$1 bin="$root/tools/azurite/node_modules/.bin/azurite-blob" i
  [ -e "$bin" ] || { echo "Azurite is not installed ($bin is missing): run scripts/setup.sh" >&2; return 2; }
  rm -rf "$dir"
  mkdir -p "$dir/data"
  azurite_cert="$dir/cert.pem"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
    -keyout "$dir/key.pem" -out "$azurite_cert" >/dev/null 2>&1 \
    || { echo "openssl could not make a certificate for Azurite" >&2; return 2; }
  azurite_port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  "$bin" --blobHost 127.0.0.1 --blobPort "$azurite_port" --oauth basic --silent \
    --skipApiVersionCheck --disableTelemetry --cert "$azurite_cert" --key "$dir/key.pem" \
    --location "$dir/data" >"$dir/azurite.log" 2>&1 &
  azurite_pid=$!
  azurite_url="https://127.0.0.1:$azurite_port/devstoreaccount1"
  for ((i = 0; i < 600; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$azurite_port") 2>/dev/null && return 0
    kill -0 "$azurite_pid" 2>/dev/null || { echo "Azurite exited:" >&2; cat "$dir/azurite.log" >&2; return 2; }
    sleep 0.1
  done
  echo "Azurite did not listen on port $azurite_port within 60 s:" >&2
  cat "$dir/azurite.log" >&2
  return 2
}

azurite_stop() {
  if [ -n "${azurite_pid:-}" ]; then
    kill "$azurite_pid" 2>/dev/null || true
    wait "$azurite_pid" 2>/dev/null || true
    azurite_pid=""
  fi
}
