#!/usr/bin/env bash
# `make bench`, second part: per-mail receive() cost with the app beside stock Frappe.
#
# Two sites of the project's own bench (scripts/bench/build.sh), made once and reused:
#   pt-bench-app.localhost     ERPNext + persona_threading
#   pt-bench-stock.localhost   ERPNext only: it never gets the app
# benchmarks/stock_vs_app/ (python -m stock_vs_app) then resets both to their first state,
# generates the same history on both (1k, then 100k Issues with their Communications; on the
# app site also the app's routing records of that history, as its backfill makes them), feeds
# the same mails through the real EmailAccount.receive() (only the mail server patched),
# checks that each landed where its system's rules say and writes benchmarks/results/<date>/.
# Targets are reported MET / NOT MET; the exit code is 0 either way. A mail that landed
# elsewhere (MISPLACED) is an error: one line, exit 1, as is failing to prepare the bench or
# the sites.
#
# Inputs (all optional): PT_BENCH_SIZES (default "1000 100000"), PT_BENCH_MAILS (mails per
# size, default 200), PT_BENCH_APP_SITE / PT_BENCH_STOCK_SITE (site names, must start with
# pt-bench-), PERSONA_CACHE and PERSONA_DB_ROOT_PASSWORD as for build.sh.
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
. "$here/scripts/bench/common.sh"
fail() { echo "FAILED to prepare the benchmark sites: $*" >&2; exit 1; }

if [ "${PERSONA_SKIP_FRAPPE:-0}" = 1 ]; then
  echo "SKIPPED app vs stock benchmark: PERSONA_SKIP_FRAPPE=1"; exit 0
fi

bench_dir="$persona_bench"
app_site="${PT_BENCH_APP_SITE:-pt-bench-app.localhost}"
stock_site="${PT_BENCH_STOCK_SITE:-pt-bench-stock.localhost}"
case "$app_site$stock_site" in pt-bench-*pt-bench-*) ;; *) fail "benchmark site names must start with pt-bench- (they are reset on every run)";; esac

# --- the bench: built as scripts/run-frappe-tests.sh builds it, only when it is missing --
# (a warm bench is only checked: build.sh would also repair the test sites, which are not ours)
if [ -f "$bench_dir/.done-init" ] && [ -f "$bench_dir/.done-erpnext" ] && [ -f "$bench_dir/.done-assets" ]; then
  start_mariadb
  start_redis "$bench_dir"
else
  bash "$here/scripts/bench/build.sh" || exit 1
fi
command -v bench >/dev/null 2>&1 || fail "the bench CLI is not on PATH"
bench_cli() { (cd "$bench_dir" && bench "$@"); }
py="$bench_dir/env/bin/python"
# The Python part (benchmarks/stock_vs_app/), run with the bench's Python from where it is called.
stock_vs_app() { PYTHONPATH="$here/benchmarks${PYTHONPATH:+:$PYTHONPATH}" "$py" -m stock_vs_app "$@"; }
logs="$bench_dir/logs"; mkdir -p "$logs"

db_user=persona_admin db_pass="$(cat "$persona_cache/db-admin-password" 2>/dev/null)"
[ -n "${PERSONA_DB_ROOT_PASSWORD:-}" ] && db_user=root db_pass="$PERSONA_DB_ROOT_PASSWORD"
[ -n "$db_pass" ] || fail "no MariaDB admin password in $persona_cache/db-admin-password (run scripts/bench/build.sh)"

# --- the app, in the bench ---------------------------------------------------------------
# This checkout is what is measured: linked in exactly as scripts/run-frappe-tests.sh does
# (so do not run `make bench` and `make test` of two checkouts at once on one bench).
link="$bench_dir/apps/persona_threading"
if [ -e "$link" ] && [ ! -L "$link" ]; then
  fail "$link is a directory, not a link to a checkout; move it away so this checkout can be measured"
fi
if [ "$(readlink "$link" 2>/dev/null)" != "$here" ]; then
  step "linking this checkout into the bench (apps/persona_threading)"
  ln -sfn "$here" "$link"
  grep -qx persona_threading "$bench_dir/sites/apps.txt" || printf '\npersona_threading\n' >> "$bench_dir/sites/apps.txt"
  sed -i '/^$/d' "$bench_dir/sites/apps.txt"
  "$py" -m pip install -q --disable-pip-version-check -e "$here[test]" >"$logs/persona-pip.log" 2>&1 \
    || { tail -20 "$logs/persona-pip.log"; fail "could not install this checkout into $bench_dir/env"; }
  done_step
fi
[ -d "$link/persona_threading" ] || fail "$link is not a checkout of persona_threading"

# The plot: matplotlib in the bench's env (a tool, not the app).
if ! "$py" -c 'import matplotlib' >/dev/null 2>&1; then
  step "installing matplotlib into the bench's Python env (for the plot)"
  "$py" -m pip install -q --disable-pip-version-check matplotlib >"$logs/pt-bench-pip.log" 2>&1 \
    || echo "   (matplotlib could not be installed: the run goes on without its PNG; see $logs/pt-bench-pip.log)"
  done_step
fi

# --- the two sites: made once (a marker when finished), reused afterwards ----------------
make_site() {  # make_site NAME with-app|stock
  local name="$1" kind="$2" log="$logs/pt-bench-new-site-$1.log"
  site_ready "$bench_dir" "$name" .done-pt-bench-site && return 0
  step "bench new-site $name (ERPNext$([ "$kind" = with-app ] && echo ' + persona_threading'), setup wizard done)"
  new_erpnext_site "$bench_dir" "$name" "$log" "$db_user" "$db_pass" || fail "$new_site_failed"
  bench_cli --site "$name" set-config allow_tests false >/dev/null
  if [ "$kind" = with-app ]; then
    bench_cli --site "$name" clear-cache >/dev/null 2>&1
    bench_cli --site "$name" install-app persona_threading >>"$log" 2>&1 \
      || { tail -40 "$log"; fail "install-app persona_threading on $name failed (log: $log)"; }
  fi
  # Mail is received by this benchmark only: no scheduler pulling or sending on its own.
  bench_cli --site "$name" disable-scheduler >>"$log" 2>&1 || true
  (cd "$bench_dir/sites" && stock_vs_app setup "$name" >>"$log" 2>&1) \
    || { tail -25 "$log"; fail "setting up $name for the benchmark failed (log: $log)"; }
  touch "$bench_dir/sites/$name/.done-pt-bench-site"
  done_step
}
make_site "$stock_site" stock
make_site "$app_site" with-app

# The linked app may have moved on since the app site was made: migrate when its schema did.
schema="$(cd "$link" && find persona_threading -name '*.json' -path '*doctype*' -o -name hooks.py -o -name install.py -o -name patches.txt \
  | sort | xargs cat | sha1sum | cut -c1-16)"
if [ "$(cat "$bench_dir/sites/$app_site/.pt-bench-schema" 2>/dev/null)" != "$schema" ]; then
  step "bench migrate $app_site (the linked app changed)"
  bench_cli --site "$app_site" clear-cache >/dev/null 2>&1
  bench_cli --site "$app_site" migrate >"$logs/pt-bench-migrate.log" 2>&1 \
    || { tail -40 "$logs/pt-bench-migrate.log"; fail "bench migrate failed on $app_site (log: $logs/pt-bench-migrate.log)"; }
  echo "$schema" > "$bench_dir/sites/$app_site/.pt-bench-schema"
  done_step
fi
if bench_cli --site "$stock_site" list-apps 2>/dev/null | grep -q '^persona_threading'; then
  fail "$stock_site has persona_threading installed; it must stay stock (drop the site: it is made again)"
fi

# --- the run -------------------------------------------------------------------------------
cd "$bench_dir/sites" || exit 1
stock_vs_app run "$app_site" "$stock_site" --results "$here/benchmarks/results"
rc=$?
# Hostile mails through Frappe's receive() on the app site (issue 18): linear, < 2 s at 1 MB.
step "pathological mails through receive() ($app_site)"
bench_cli --site "$app_site" execute persona_threading.tests.receive_fuzz.pathological || rc=1
done_step
# The preview (issue 13): 10,000 Communications replayed on the app site, progress and rate.
step "the preview over ${PT_BENCH_PREVIEW_MAILS:-10000} Communications ($app_site)"
"$py" "$here/benchmarks/preview_history.py" "$app_site" --mails "${PT_BENCH_PREVIEW_MAILS:-10000}" || rc=1
done_step
exit $rc
