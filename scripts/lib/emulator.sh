# Reading azmi-emulator's banner (docs/emulator.md), for the scripts that start it: demo.sh,
# bench.sh, tests/c/run.sh and sdk_test.sh, and the bench/*.sh scripts (sourced, not run).

# emulator_wait LOG NAME [SECONDS]: waits until the emulator's output in LOG has its
# "export NAME=" line (10 s by default); else says so, with the output (secrets redacted), and
# fails. The seven fixed lines come in one write: AZMI_ARM_ENDPOINT, the last, means all.
emulator_wait() {
  local log=$1 name=$2 tries=$((${3:-10} * 10)) i
  for ((i = 0; i < tries; i++)); do
    grep -q "^export $name=" "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "error: azmi-emulator did not print $name:" >&2
  sed 's/\(HEADER\|SECRET\)=.*/\1=<redacted>/' "$log" >&2
  return 1
}

# emulator_value LOG NAME: the value of the output's "export NAME=" line.
emulator_value() {
  sed -n "s/^export $2=//p" "$1"
}

# emulator_services_url LOG: the Data Lake services' base URL ("azmi-emulator services on").
emulator_services_url() {
  sed -n 's/^azmi-emulator services on //p' "$1"
}

# emulator_source_last SOURCE: the last variable `--source SOURCE` prints (what to wait for).
emulator_source_last() {
  case $1 in
    imds) echo AZMI_ARM_ENDPOINT ;;
    app-service) echo IDENTITY_HEADER ;;
    azure-ml) echo DEFAULT_IDENTITY_CLIENT_ID ;;
    cloud-shell) echo MSI_ENDPOINT ;;
    arc) echo IMDS_ENDPOINT ;;
    service-fabric) echo IDENTITY_SERVER_THUMBPRINT ;;
    workload-identity) echo AZURE_FEDERATED_TOKEN_FILE ;;
    *) echo "emulator_source_last: unknown source '$1'" >&2; return 1 ;;
  esac
}

# emulator_source_env LOG SOURCE: NAME=value lines of what a client of that source sets: the
# source's own variables (IMDS: AZMI_IMDS_ENDPOINT), AZMI_CA_FILE, and for Arc the emulator's
# key folder as the agent's (AZMI_ARC_TOKENS_DIR).
emulator_source_env() {
  local log=$1 source=$2 arc_dir
  if [ "$source" = imds ]; then
    echo "AZMI_IMDS_ENDPOINT=$(emulator_value "$log" AZMI_IMDS_ENDPOINT)"
  else
    sed -n '/^azmi-emulator managed identity source /,$ s/^export //p' "$log"
  fi
  echo "AZMI_CA_FILE=$(emulator_value "$log" AZMI_CA_FILE)"
  arc_dir=$(sed -n 's/^azmi-emulator arc tokens folder //p' "$log")
  if [ -n "$arc_dir" ]; then echo "AZMI_ARC_TOKENS_DIR=$arc_dir"; fi
}
