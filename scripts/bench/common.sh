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
