#!/usr/bin/env bash
# The Frappe suite, run inside a real bench against THIS checkout.
#
# The bench: $PERSONA_BENCH (a developer's own, site $PERSONA_SITE, default test.localhost)
# or, when unset, the project's own throwaway bench, built once by scripts/bench/build.sh
# and reused on every later run. Starts MariaDB and the bench's Redis when they are down,
# links this checkout in as apps/persona_threading, installs it into the bench's env,
# installs the app on the site (or migrates it), then runs the app's tests and Frappe's own
# Email Account tests (stock inbound behaviour must not regress with the app installed),
# with CI=1 (without it `bench run-tests` exits 0 on failures).
#
# The adoption test (scripts/adoption-test.sh) runs on $PERSONA_ADOPT_SITE (default
# adopt.localhost, ERPNext only): it installs and uninstalls the app there itself. A bench
# without that site gets it (new_erpnext_site, as build.sh makes it; the MariaDB login is
# $PERSONA_DB_ROOT_PASSWORD's root, else build.sh's own); with no login to make it, the run
# fails: a suite that did not run is no pass.
#
# The HD Ticket suite (persona_threading.tests.test_helpdesk and test_helpdesk_agents) runs on
# $PERSONA_HELPDESK_SITE (default helpdesk.localhost: ERPNext + Frappe Helpdesk, built by
# scripts/bench/build.sh); it skips itself on any site without Helpdesk. No such site:
# skipped, with a line saying so.
#
# The end-to-end suite (real Dovecot IMAP and an SMTP catcher on loopback, Frappe's real
# receive() and email queue) runs on a site of its own ($PERSONA_E2E_SITE, default
# e2e.localhost), so it never changes another site's default mail accounts.
#
#   scripts/run-frappe-tests.sh        the app's tests, Frappe's Email Account tests, e2e
#   scripts/run-frappe-tests.sh e2e    the end-to-end suite only (make e2e)
#   scripts/run-frappe-tests.sh helpdesk   the HD Ticket suite only, on the Helpdesk site
#   scripts/run-frappe-tests.sh fuzz   5,000 mutated and every real corpus mail through the
#                                      real receive() on the test site (make fuzz)
#
# Exit codes: 0 passed, 1 failed (or the bench could not be built: the reason is printed),
# 3 skipped on purpose (PERSONA_SKIP_FRAPPE=1). The last line is "RAN <n> tests".
set -u
only="${1:-all}"
here="$(cd "$(dirname "$0")/.." && pwd)"
. "$here/scripts/bench/common.sh"

if [ "${PERSONA_SKIP_FRAPPE:-0}" = 1 ]; then
  echo "SKIPPED Frappe suite: PERSONA_SKIP_FRAPPE=1"; exit 3
fi

if [ -n "${PERSONA_BENCH:-}" ]; then
  bench_dir="$PERSONA_BENCH"
  site="${PERSONA_SITE:-test.localhost}"
  e2e_site="${PERSONA_E2E_SITE:-e2e.localhost}"
  adopt_site="${PERSONA_ADOPT_SITE:-adopt.localhost}"
  helpdesk_site="${PERSONA_HELPDESK_SITE:-helpdesk.localhost}"
  [ -d "$bench_dir/apps/frappe" ] && [ -d "$bench_dir/apps/erpnext" ] \
    || die "PERSONA_BENCH=$bench_dir is not a bench with frappe and erpnext"
  [ -d "$bench_dir/sites/$site" ] || die "bench $bench_dir has no site $site (set PERSONA_SITE)"
  start_mariadb
  start_redis "$bench_dir"
else
  bash "$here/scripts/bench/build.sh" || exit 1
  bench_dir="$persona_bench" site="$persona_site" e2e_site="$persona_e2e_site" adopt_site="$persona_adopt_site"
  helpdesk_site="$persona_helpdesk_site"
fi
command -v bench >/dev/null 2>&1 || die "the bench CLI is not on PATH"
bench_cli() { (cd "$bench_dir" && bench "$@"); }
logs="$bench_dir/logs"; mkdir -p "$logs"

# --- install this checkout -----------------------------------------------------------
link="$bench_dir/apps/persona_threading"
if [ -e "$link" ] && [ ! -L "$link" ]; then
  die "$link is a directory, not a link to a checkout; move it away so this checkout can be tested"
fi
ln -sfn "$here" "$link"
grep -qx persona_threading "$bench_dir/sites/apps.txt" || printf '\npersona_threading\n' >> "$bench_dir/sites/apps.txt"
sed -i '/^$/d' "$bench_dir/sites/apps.txt"
step "installing this checkout into the bench's Python env"
"$bench_dir/env/bin/python" -m pip install -q --disable-pip-version-check -e "$here[test]" >"$logs/persona-pip.log" 2>&1 \
  || { tail -20 "$logs/persona-pip.log"; die "could not install this checkout into $bench_dir/env"; }
done_step

# Frappe caches each app's module list in Redis; a cache from before the link would make
# install-app sync none of the app's DocTypes (what `bench get-app` avoids by clearing it).
for each in "$site" "$e2e_site" "$helpdesk_site"; do
  [ -d "$bench_dir/sites/$each" ] && { bench_cli --site "$each" clear-cache >/dev/null 2>&1 || die "bench clear-cache failed on $each"; }
done
# The desk's asset map is cached bench-wide: drop it, so pages name the bundles on disk.
cache_port="$(awk '/^port/ {print $2}' "$bench_dir/config/redis_cache.conf" 2>/dev/null)"
[ -n "$cache_port" ] && redis-cli -p "$cache_port" del assets_json >/dev/null 2>&1

# The browser tests: Debian's Chromium (no browser download works here) and Playwright.
if ! [ -x /usr/bin/chromium ]; then
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || die "the browser tests need Chromium: apt-get install chromium"
  step "installing chromium (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >"$logs/persona-apt.log" 2>&1 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >"$logs/persona-apt.log" 2>&1; } \
    || { tail -5 "$logs/persona-apt.log"; die "apt-get install chromium failed"; }
  done_step
fi
"$bench_dir/env/bin/python" -c 'import playwright.sync_api' 2>/dev/null \
  || "$bench_dir/env/bin/python" -m pip install -q --disable-pip-version-check playwright >"$logs/persona-pip-playwright.log" 2>&1 \
  || die "could not install Playwright into $bench_dir/env"

# Install the app on a site, or migrate it there.
ready_site() {
  if bench_cli --site "$1" list-apps 2>/dev/null | grep -q '^persona_threading'; then
    step "bench migrate ($1)"
    bench_cli --site "$1" migrate >"$logs/persona-migrate-$1.log" 2>&1 \
      || { tail -40 "$logs/persona-migrate-$1.log"; die "bench migrate failed on $1"; }
  else
    step "bench install-app persona_threading ($1)"
    bench_cli --site "$1" install-app persona_threading >"$logs/persona-install-$1.log" 2>&1 \
      || { tail -40 "$logs/persona-install-$1.log"; die "install-app failed on $1"; }
  fi
  done_step
  bench_cli --site "$1" set-config allow_tests true >/dev/null
}
# make_site NAME PURPOSE: an ERPNext site the suites need, made when missing (an existing one is
# used as it is, never dropped); without a MariaDB login to make it the run stops: a suite
# that did not run is no pass.
make_site() {
  # A site this function began but did not finish (its marker beside the sites) is made again.
  local making="$bench_dir/sites/.persona-making-$1"
  [ -d "$bench_dir/sites/$1" ] && ! [ -f "$making" ] && return 0
  local db_user="" db_pass=""
  if [ -n "${PERSONA_DB_ROOT_PASSWORD:-}" ]; then
    db_user=root db_pass="$PERSONA_DB_ROOT_PASSWORD"
  elif [ -s "$persona_cache/db-admin-password" ]; then
    db_user=persona_admin db_pass="$(cat "$persona_cache/db-admin-password")"
  fi
  [ -n "$db_user" ] && mysql -h 127.0.0.1 -u "$db_user" -p"$db_pass" -e 'select 1' >/dev/null 2>&1 \
    || die "bench $bench_dir has no site $1 for $2 and no MariaDB login to make one:" \
           "set PERSONA_DB_ROOT_PASSWORD (the site is then made, ERPNext only) or name an existing site ($3)"
  step "bench new-site $1 with ERPNext ($2)"
  touch "$making"
  new_erpnext_site "$bench_dir" "$1" "$logs/persona-new-site-$1.log" "$db_user" "$db_pass" || die "$new_site_failed"
  touch "$bench_dir/sites/$1/.done-site" && rm -f "$making"
  done_step
}
case "$only" in
  helpdesk|fuzz) ;;
  e2e) make_site "$e2e_site" "the end-to-end suite" PERSONA_E2E_SITE ;;
  *) make_site "$adopt_site" "the adoption test (an ERPNext site without this app)" PERSONA_ADOPT_SITE
     make_site "$e2e_site" "the end-to-end suite" PERSONA_E2E_SITE ;;
esac
e2e=1
helpdesk=1
if [ "${PERSONA_HELPDESK:-1}" = 0 ]; then  # asked for: said in the summary, never silently
  helpdesk=0; echo "SKIPPED HD Ticket suite on request: PERSONA_HELPDESK=0"
elif ! [ -d "$bench_dir/sites/$helpdesk_site" ]; then
  case "$only" in e2e|fuzz) helpdesk=0 ;; *)
  die "bench $bench_dir has no site $helpdesk_site with Frappe Helpdesk for the HD Ticket suite:" \
      "name one (PERSONA_HELPDESK_SITE), or skip that suite on purpose with PERSONA_HELPDESK=0" ;;
  esac
fi
[ "$only" = e2e ] || [ "$only" = helpdesk ] || ready_site "$site"
if [ "$only" = fuzz ]; then
  step "mail through the real receive(): ${PERSONA_FUZZ_COUNT:-5000} mutated, then every corpus mail"
  bench_cli --site "$site" execute persona_threading.tests.receive_fuzz.main \
    --kwargs "{'count': ${PERSONA_FUZZ_COUNT:-5000}, 'seed': ${PERSONA_FUZZ_SEED:-0}}"
  exit $?
fi
[ "$only" = helpdesk ] && e2e=0
if [ "$helpdesk" = 1 ] && [ "$only" != e2e ]; then
  ready_site "$helpdesk_site"  # after Helpdesk (build.sh installs it first); install_order does both orders
fi
if [ "$e2e" = 1 ]; then
  ready_site "$e2e_site"
  bench_cli --site "$e2e_site" set-config persona_e2e 1 >/dev/null  # the e2e tests run only there
fi

# --- run -----------------------------------------------------------------------------
# Each suite's unittest summary ("Ran N tests" ... "OK"/"FAILED") is kept to count and judge.
ran=0 failed=0
run_suite() {
  local title="$1" on="$2"; shift 2
  step "$title"
  CI=1 bench_cli --site "$on" run-tests "$@" 2>&1 | tee "$logs/persona-tests.log"
  local rc=${PIPESTATUS[0]} n
  n="$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\}.*/\1/p' "$logs/persona-tests.log" | tail -1)"
  ran=$((ran + ${n:-0}))
  if [ "$rc" -ne 0 ] || [ -z "$n" ] || [ "${n:-0}" -eq 0 ]; then failed=1; echo "   FAILED: $title"; fi
  done_step
}
# run_driver TITLE NAME COMMAND...: a driver of real bench commands (install, uninstall) that
# prints PASS/FAIL lines and ends with "RAN <n> tests" (n: its checks).
run_driver() {
  local title="$1" name="$2" rc n; shift 2
  step "$title"
  "$@" | tee "$logs/persona-$name-run.log" | grep -v '^RAN '
  rc=${PIPESTATUS[0]}
  n="$(sed -n 's/^RAN \([0-9]*\) tests$/\1/p' "$logs/persona-$name-run.log" | tail -1)"
  ran=$((ran + ${n:-0}))
  if [ "$rc" -ne 0 ] || [ "${n:-0}" -eq 0 ]; then failed=1; echo "   FAILED: $name"; fi
  done_step
}
# Either install order, for real: Helpdesk reinstalled after the app, then the app after Helpdesk.
install_order() { (cd "$bench_dir/sites" && ../env/bin/python -m persona_threading.tests.install_order "$1"); }
if [ "$only" != e2e ] && [ "$only" != helpdesk ]; then
  run_suite "persona_threading tests" "$site" --app persona_threading
  # A default outgoing account, as on any helpdesk (and in Frappe's CI): four stock tests send mail.
  bench_cli --site "$site" execute persona_threading.tests.helpers.ensure_default_outgoing >/dev/null \
    || die "could not set up a default outgoing Email Account on $site"
  run_suite "Frappe's own Email Account tests, app installed" "$site" --doctype "Email Account"
  # Day one on a live helpdesk: stock history, then install-app only; then uninstall-app. On a
  # site of its own (ERPNext only), since it installs and uninstalls the app.
  # (make_site made the site or stopped the run: a suite that did not run is no pass)
  run_driver "adoption: history first, then install-app and uninstall-app ($adopt_site)" adoption \
    bash "$here/scripts/adoption-test.sh" "$bench_dir" "$adopt_site"
fi
if [ "$helpdesk" = 1 ] && [ "$only" != e2e ]; then
  run_driver "Frappe Helpdesk: either install order, with bench install-app ($helpdesk_site)" install-order \
    install_order "$helpdesk_site"
  run_suite "Frappe Helpdesk: mail into HD Ticket ($helpdesk_site)" "$helpdesk_site" --module persona_threading.tests.test_helpdesk
  run_suite "Frappe Helpdesk: teams, notes, preview, agent UI ($helpdesk_site)" "$helpdesk_site" --module persona_threading.tests.test_helpdesk_agents
elif [ "$only" = helpdesk ]; then
  failed=1
fi
if [ "$e2e" = 1 ]; then
  run_suite "end to end: real IMAP and SMTP servers ($e2e_site)" "$e2e_site" --module persona_threading.tests.test_e2e
elif [ "$only" = e2e ]; then
  failed=1
fi
echo "RAN $ran tests"
exit $failed
