#!/usr/bin/env bash
# The Frappe suite, run inside a real bench against THIS checkout.
#
# Finds the bench at $PERSONA_BENCH (default ~/frappe-bench) and the site $PERSONA_SITE
# (default test.localhost). Starts MariaDB and the bench's Redis servers when they are
# installed but down, links this checkout in as apps/persona_threading, installs it into
# the bench's env, installs the app on the site (or migrates it), then runs the app's
# Frappe tests with CI=1 (without it `bench run-tests` exits 0 on failures).
#
# Exit codes: 0 passed, 1 failed, 3 skipped (the reason is printed).
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
bench_dir="${PERSONA_BENCH:-$HOME/frappe-bench}"
site="${PERSONA_SITE:-test.localhost}"

skip() { echo "SKIPPED Frappe suite: $*"; exit 3; }

[ -d "$bench_dir/apps/frappe" ] || skip "no bench at $bench_dir (set PERSONA_BENCH to a bench with frappe + erpnext)"
[ -d "$bench_dir/apps/erpnext" ] || skip "bench $bench_dir has no erpnext app"
[ -d "$bench_dir/sites/$site" ] || skip "bench $bench_dir has no site $site (set PERSONA_SITE)"
command -v bench >/dev/null 2>&1 || [ -x "$bench_dir/env/bin/bench" ] || skip "the bench CLI is not installed"
bench_cli="$(command -v bench || echo "$bench_dir/env/bin/bench")"

# --- services ------------------------------------------------------------------------
if ! mysqladmin ping >/dev/null 2>&1; then
  if command -v mysqld_safe >/dev/null 2>&1 || command -v mariadbd-safe >/dev/null 2>&1; then
    echo "starting MariaDB"
    (service mariadb start || service mysql start) >/dev/null 2>&1 \
      || (nohup "$(command -v mariadbd-safe || command -v mysqld_safe)" >/dev/null 2>&1 &)
    for _ in $(seq 1 60); do mysqladmin ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  mysqladmin ping >/dev/null 2>&1 || skip "MariaDB is not installed or will not start"
fi
for conf in "$bench_dir"/config/redis_cache.conf "$bench_dir"/config/redis_queue.conf; do
  [ -f "$conf" ] || continue
  port="$(awk '/^port/ {print $2}' "$conf")"
  if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    command -v redis-server >/dev/null 2>&1 || skip "redis-server is not installed"
    echo "starting Redis on port $port"
    (cd "$bench_dir/config" && redis-server "$conf" --daemonize yes >/dev/null)
    for _ in $(seq 1 20); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
done

# --- install this checkout -----------------------------------------------------------
link="$bench_dir/apps/persona_threading"
if [ -e "$link" ] && [ ! -L "$link" ]; then
  skip "$link is a directory, not a link to a checkout; move it away so this checkout can be tested"
fi
ln -sfn "$here" "$link"
grep -qx persona_threading "$bench_dir/sites/apps.txt" || printf '\npersona_threading\n' >> "$bench_dir/sites/apps.txt"
sed -i '/^$/d' "$bench_dir/sites/apps.txt"
"$bench_dir/env/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation \
  --no-deps -e "$here" || { echo "could not install this checkout into $bench_dir/env"; exit 1; }
"$bench_dir/env/bin/python" -m pip install -q --disable-pip-version-check html2text >/dev/null 2>&1

cd "$bench_dir" || exit 1
if "$bench_cli" --site "$site" list-apps 2>/dev/null | grep -q '^persona_threading'; then
  echo "migrating $site"
  "$bench_cli" --site "$site" migrate >/tmp/persona-migrate.log 2>&1 \
    || { tail -40 /tmp/persona-migrate.log; echo "migrate failed"; exit 1; }
else
  echo "installing persona_threading on $site"
  "$bench_cli" --site "$site" install-app persona_threading >/tmp/persona-install.log 2>&1 \
    || { tail -40 /tmp/persona-install.log; echo "install-app failed"; exit 1; }
fi
"$bench_cli" --site "$site" set-config allow_tests true >/dev/null

echo "running the Frappe suite on $site (bench $bench_dir)"
CI=1 "$bench_cli" --site "$site" run-tests --app persona_threading
