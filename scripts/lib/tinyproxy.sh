# tinyproxy for the proxy tests (sourced): Debian's tinyproxy (scripts/setup.sh installs it) on
# a free loopback port of this machine, with a configuration and a log of its own. Used where
# the tests cannot start it themselves: the C tests, and the .NET and Pester tests under Wine
# (a Windows program does not start a Linux one, and the cross root has no tinyproxy).
#
# tinyproxy_start DIR [USER PASSWORD]: starts one with its files in DIR (made anew), asking for
# Basic credentials when USER is given; sets tinyproxy_port and tinyproxy_log and waits until
# it listens (10 s at most). tinyproxy_stop stops every one started; call it on exit.
# tinyproxy_export_for_tests DIR [windows|linux]: starts an open one and one asking for alice /
# s3cret, and exports them as the .NET and Pester tests read them (AZMI_TEST_TINYPROXY_PORT and
# _LOG, AZMI_TEST_TINYPROXY_AUTH_PORT and _LOG; the logs as Windows programs under Wine name
# them, the default, or as Linux ones do: linux-arm64 under qemu, in the cross root that has
# no tinyproxy).
tinyproxy_pids=()

tinyproxy_start() {
  local dir=$1 user=${2:-} password=${3:-} pid
  command -v tinyproxy >/dev/null || { echo "tinyproxy is not installed: run scripts/setup.sh" >&2; return 2; }
  rm -rf "$dir"
  mkdir -p "$dir"
  tinyproxy_log="$dir/tinyproxy.log"
  tinyproxy_port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  {
    printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nLogLevel Connect\nLogFile "%s"\nDisableViaHeader Yes\n' \
      "$tinyproxy_port" "$tinyproxy_log"
    [ -z "$user" ] || printf 'BasicAuth %s %s\n' "$user" "$password"
    # As root, tinyproxy drops to another user unless told to stay (the log is this user's).
    [ "$(id -u)" != 0 ] || printf 'User root\nGroup root\n'
  } >"$dir/tinyproxy.conf"
  tinyproxy -d -c "$dir/tinyproxy.conf" >"$dir/tinyproxy.out" 2>&1 &
  pid=$!
  tinyproxy_pids+=("$pid")
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$tinyproxy_port") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "tinyproxy did not listen on port $tinyproxy_port:" >&2
  cat "$dir/tinyproxy.out" >&2
  return 2
}

tinyproxy_stop() {
  local pid
  for pid in "${tinyproxy_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  tinyproxy_pids=()
}

tinyproxy_export_for_tests() {
  local dir=$1 paths=${2:-windows}
  tinyproxy_start "$dir/open" || return
  export AZMI_TEST_TINYPROXY_PORT="$tinyproxy_port"
  AZMI_TEST_TINYPROXY_LOG="$(tinyproxy_path_for "$paths" "$tinyproxy_log")"
  tinyproxy_start "$dir/auth" alice s3cret || return
  export AZMI_TEST_TINYPROXY_AUTH_PORT="$tinyproxy_port"
  AZMI_TEST_TINYPROXY_AUTH_LOG="$(tinyproxy_path_for "$paths" "$tinyproxy_log")"
  export AZMI_TEST_TINYPROXY_LOG AZMI_TEST_TINYPROXY_AUTH_LOG
}

# tinyproxy_path_for windows|linux PATH: PATH as a Windows program under Wine names it (Z:\...),
# or as is.
tinyproxy_path_for() {
  case $1 in
    windows) echo "Z:${2//\//\\}" ;;
    *) echo "$2" ;;
  esac
}
