# Shared by the bench scripts (sourced, not run): step timing and the services a bench needs.
# Services never survive a new session here (no systemd), so every run checks and starts them.

# Where the project's own bench lives (built by scripts/bench/build.sh, reused afterwards).
persona_cache="${PERSONA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/persona-threading}"
persona_bench="$persona_cache/bench-v15"
persona_site="test.localhost"
persona_e2e_site="e2e.localhost"  # real IMAP/SMTP accounts live here, never on the test site
persona_adopt_site="adopt.localhost"  # ERPNext only: the adoption test installs and uninstalls the app here
persona_helpdesk_site="helpdesk.localhost"  # ERPNext + Frappe Helpdesk (+ the app): the HD Ticket suite runs here only
# bench CLI, uv and yarn 1, all installed by build.sh inside the cache (nothing global).
export PATH="$persona_cache/tools/node_modules/.bin:$persona_cache/tools/bench-cli/bin:$PATH"

# step "what": prints what is about to happen; done_step prints how long it took.
step() { _step_name="$1"; _step_start=$(date +%s); echo "-- $1 ..."; }
done_step() { echo "   done: $_step_name ($(( $(date +%s) - _step_start )) s)"; }
# die "reason": one clear line, then exit 1 (make test fails and says why).
die() { echo "FAILED to prepare the Frappe bench: $*" >&2; exit 1; }

mariadb_up() { mysqladmin --connect-timeout=2 ping >/dev/null 2>&1 || mysqladmin --connect-timeout=2 -h 127.0.0.1 ping >/dev/null 2>&1; }

# Start MariaDB when it is installed but down. apt does not start it (no systemd), and the
# init script is the only starter that also stops it cleanly later.
start_mariadb() {
  mariadb_up && return 0
  command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] \
    || die "MariaDB is not installed (Debian/Ubuntu: apt-get install mariadb-server mariadb-client)"
  step "starting MariaDB"
  if [ -x /etc/init.d/mariadb ]; then /etc/init.d/mariadb start >/dev/null 2>&1
  elif command -v service >/dev/null 2>&1; then service mariadb start >/dev/null 2>&1 || service mysql start >/dev/null 2>&1
  fi
  if ! mariadb_up; then  # a server left half-started by a killed run: start it by hand
    (nohup "$(command -v mariadbd-safe || command -v mysqld_safe)" >/dev/null 2>&1 &)
  fi
  for _ in $(seq 1 60); do mariadb_up && break; sleep 1; done
  mariadb_up || die "MariaDB is installed but will not start (see /var/log/mysql/error.log)"
  done_step
}

# Start the bench's own Redis servers (cache and queue; ports from the bench's config).
start_redis() {
  local bench_dir="$1" conf port
  for conf in "$bench_dir"/config/redis_cache.conf "$bench_dir"/config/redis_queue.conf; do
    [ -f "$conf" ] || continue
    port="$(awk '/^port/ {print $2}' "$conf")"
    if redis-cli -p "$port" ping >/dev/null 2>&1; then
      # Only this bench's own Redis will do: another bench's would share its cache keys.
      [ "$(redis-cli -p "$port" config get dir 2>/dev/null | tail -1)" = "$(awk '/^dir/ {print $2}' "$conf")" ] \
        || die "port $port (from $conf) answers with another Redis; stop it or choose other ports there"
      continue
    fi
    command -v redis-server >/dev/null 2>&1 || die "redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)"
    step "starting Redis on port $port"
    (cd "$bench_dir/config" && redis-server "$conf" --daemonize yes >/dev/null)
    for _ in $(seq 1 20); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.5; done
    redis-cli -p "$port" ping >/dev/null 2>&1 || die "Redis will not start with $conf"
    done_step
  done
}

# bench_in DIR ARGS...: the bench CLI run in the bench at DIR.
bench_in() { local dir="$1"; shift; (cd "$dir" && bench "$@"); }

# site_ready BENCH NAME MARKER: the site was finished (MARKER, a file in its folder) and its
# database answers (checked with MariaDB's own client: a bench command would also fail on a
# broken checkout of this app, not the site).
site_ready() {
  [ -f "$1/sites/$2/$3" ] || return 1
  local conf="$1/sites/$2/site_config.json" name pass
  name="$("$1/env/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["db_name"])' "$conf")" || return 1
  pass="$("$1/env/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["db_password"])' "$conf")" || return 1
  mysql -h 127.0.0.1 -u "$name" -p"$pass" "$name" -e 'select name from tabCompany limit 1' 2>/dev/null | grep -q .
}

# new_erpnext_site BENCH NAME LOG DB_USER DB_PASS: `bench new-site` with ERPNext, the setup
# wizard done by ERPNext's own test set-up (a Company, fiscal year, defaults), allow_tests on.
# What a killed run left of the site (or a site whose database was lost) is dropped first.
# On failure: the log's tail, new_site_failed says what failed, and it returns 1.
new_erpnext_site() {
  local bench="$1" name="$2" log="$3" db_user="$4" db_pass="$5"
  if [ -d "$bench/sites/$name" ]; then
    bench_in "$bench" drop-site "$name" --force --no-backup --db-root-username "$db_user" --db-root-password "$db_pass" \
      >"$log" 2>&1 || true
    rm -rf "$bench/sites/$name" "$bench/archived/sites/$name"
  fi
  bench_in "$bench" new-site "$name" --db-root-username "$db_user" --db-root-password "$db_pass" \
      --admin-password admin --install-app erpnext >>"$log" 2>&1 \
    || { tail -25 "$log"; new_site_failed="bench new-site $name failed (log: $log)"; return 1; }
  bench_in "$bench" --site "$name" set-config allow_tests true >/dev/null \
    || { new_site_failed="bench set-config allow_tests failed on $name"; return 1; }
  bench_in "$bench" --site "$name" execute erpnext.setup.utils.before_tests >>"$log" 2>&1 \
    || { tail -25 "$log"; new_site_failed="completing the setup wizard on $name failed (log: $log)"; return 1; }
}
