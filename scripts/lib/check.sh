# Pass/fail counting for the shell tests (sourced): check <description> <command...> runs the
# command, counts the outcome and reports a failure; $passes and $failures hold the counts.
failures=0
passes=0
check() {
  local what=$1
  shift
  if "$@"; then
    passes=$((passes + 1))
  else
    failures=$((failures + 1))
    echo "FAIL: $what" >&2
  fi
}

# fails <command...>: succeeds when the command fails (for check "... fails clearly" fails cmd).
fails() {
  if "$@"; then return 1; fi
}
