#!/usr/bin/env bash
# The adoption test (issue 19): a site with history from stock Frappe + ERPNext, then
# `bench install-app persona_threading` and nothing else; the same with the app installed
# but switched off for the history; then `bench uninstall-app`. Install and uninstall are
# separate bench processes, so the checks are steps of persona_threading/tests/adoption.py,
# each run as a process of its own with the bench's Python. Every run starts from the site without the app (uninstalled
# first when a run before left it installed), so it is repeatable.
#
#   scripts/adoption-test.sh [BENCH_DIR] [SITE]   (default: the project's bench, adopt.localhost)
#
# Prints one "PASS …"/"FAIL …" line per check and ends with "RAN <n> tests" (n: checks);
# exit code 0 when every check passed, 1 otherwise.
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
. "$here/scripts/bench/common.sh"
bench_dir="${1:-$persona_bench}" site="${2:-$persona_adopt_site}"
bench_cli() { (cd "$bench_dir" && bench "$@"); }
log="$bench_dir/logs/persona-adoption.log"; : > "$log"
passed=0 failed=0

fail() { echo "FAIL $*"; failed=$((failed + 1)); }
installed() { bench_cli --site "$site" list-apps 2>>"$log" | grep -q '^persona_threading'; }
# run STEP [ARGS...]: one step of the driver; its PASS/FAIL lines are counted.
run() {
  local name="$1" out rc; shift
  out="$(cd "$bench_dir/sites" && ../env/bin/python -m persona_threading.tests.adoption "$site" "$name" "$@" 2>&1)"; rc=$?
  echo "$out" >> "$log"
  echo "$out" | grep -E '^(PASS|FAIL) '
  passed=$((passed + $(echo "$out" | grep -c '^PASS ')))
  failed=$((failed + $(echo "$out" | grep -c '^FAIL ')))
  if [ "$rc" -ne 0 ] && ! echo "$out" | grep -q '^FAIL '; then
    echo "$out" | tail -15; fail "step $name crashed (log: $log)"
  fi
  return "$rc"
}
# bench_step "what" ARGS...: a bench command that must succeed (install, uninstall).
bench_step() {
  local what="$1"; shift
  if bench_cli --site "$site" "$@" >>"$log" 2>&1; then echo "   $what"; return 0; fi
  tail -20 "$log"; fail "$what (log: $log)"; return 1
}

[ -d "$bench_dir/sites/$site" ] || { echo "FAIL the bench has no site $site (scripts/bench/build.sh makes it)"; echo "RAN 0 tests"; exit 1; }
bench_cli --site "$site" set-config allow_tests true >/dev/null 2>&1
# A module list cached before this checkout was linked would make install-app sync no DocType.
bench_cli --site "$site" clear-cache >/dev/null 2>&1
if installed; then
  bench_step "uninstalled the app left by an earlier run" uninstall-app persona_threading --yes --no-backup --force || { echo "RAN 0 tests"; exit 1; }
fi

# 1. history on stock Frappe, then install-app only
if run stock_history install && bench_step "bench install-app persona_threading" install-app persona_threading; then
  run replies install
fi
# 2. the app installed but switched off for the history, then switched on
if installed && run set_enabled 0 && run stock_history switch_on && run set_enabled 1; then
  run replies switch_on
fi
# 3. uninstall: stock receives again
if installed && bench_step "bench uninstall-app persona_threading" uninstall-app persona_threading --yes --no-backup --force; then
  run stock_again
fi

echo "adoption: $passed passed, $failed failed"
echo "RAN $((passed + failed)) tests"
[ "$failed" -eq 0 ]
