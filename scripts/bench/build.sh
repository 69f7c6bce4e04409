#!/usr/bin/env bash
# Build (once) and reuse a throwaway Frappe v15 + ERPNext bench for the Frappe suite.
#
#   scripts/bench/build.sh     (the bench and site it makes: see common.sh, persona_bench/_site)
#
# Cold (nothing installed): system packages, tools, bench, assets, sites: ~12-15 minutes on
# 2 cores, plus ~5 for Frappe Helpdesk (stage 7; measured: unpack and relock 1 min, get-app
# 20 s, Vite build 2 min, site 2 min). Warm: checks and service starts only, seconds. Every stage leaves a marker file
# when it has finished; a stage without its marker (a run killed half-way) is removed and
# built again, so an interrupted run never breaks the next one.
#
# Inputs (all optional):
#   PERSONA_CACHE             where the bench lives (default ~/.cache/persona-threading)
#   PERSONA_FRAPPE_SOURCES    folder with frappe-*.tar.gz, erpnext-*.tar.gz, gunicorn-*.tar.gz,
#                             air-datepicker-*.tar.gz (default: ../shared/frappe-platform
#                             beside this checkout when it exists; else upstream version-15)
#   PERSONA_DB_ROOT_PASSWORD  root password of an existing MariaDB we cannot log in to as root
#   PERSONA_HELPDESK=0        skip Frappe Helpdesk and its site (stage 7)
#
# Stage 7 adds Frappe Helpdesk v1.14.0 (helpdesk-*.tar.gz from the same folder, else the
# v1.14.0 tag from GitHub) and a site of its own ($persona_helpdesk_site: ERPNext + Helpdesk;
# the test runner installs this app there). Three build fixes are applied to the unpacked
# copy in the cache (never in this repository): see helpdesk_build_fixes below.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
. "$here/scripts/bench/common.sh"

cache="$persona_cache" bench="$persona_bench" site="$persona_site" e2e_site="$persona_e2e_site"
adopt_site="$persona_adopt_site"
sources="${PERSONA_FRAPPE_SOURCES:-}"
[ -z "$sources" ] && [ -d "$here/../shared/frappe-platform" ] && sources="$(cd "$here/../shared/frappe-platform" && pwd)"
python_bin="$(command -v python3.11 || command -v python3.12 || command -v python3.10 || true)"
[ -n "$python_bin" ] || die "Frappe v15 needs Python 3.10-3.12 (none found on PATH)"
mkdir -p "$cache"

# One build at a time: a second `make test` waits for the first instead of racing it.
# flock -o: the lock stays with flock itself, so the daemons this build starts (MariaDB,
# Redis) do not inherit it and hold it forever.
if [ -z "${PERSONA_BUILD_LOCKED:-}" ]; then
  PERSONA_BUILD_LOCKED=1 exec flock -o "$cache/.lock" bash "$0" "$@"
fi

# --- 1. system packages (MariaDB, Redis) -------------------------------------------------
missing=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v mysql >/dev/null 2>&1 || missing+=(mariadb-client)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# pkg-config + the client headers: the mysqlclient wheel some Frappe deps build from source.
[ -e /usr/include/mariadb/mysql.h ] || missing+=(libmariadb-dev pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get here: install them with this system's package manager"
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run 'sudo apt-get install ${missing[*]}' (this script installs them only as root)"
  step "installing ${missing[*]} (apt-get)"
  # utf8mb4_unicode_ci is what Frappe expects; written before the server's first start.
  mkdir -p /etc/mysql/mariadb.conf.d
  printf '[mysqld]\ncharacter-set-client-handshake = FALSE\ncharacter-set-server = utf8mb4\ncollation-server = utf8mb4_unicode_ci\n\n[mysql]\ndefault-character-set = utf8mb4\n' \
    > /etc/mysql/mariadb.conf.d/99-persona-threading.cnf
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
  done_step
fi
start_mariadb

# --- 2. a MariaDB login for creating sites ------------------------------------------------
# Our own admin user (password kept in the cache), created through root's unix-socket login
# (Debian's default for root). root's own login is left untouched, so the init script can
# still stop the server. An existing server we cannot enter that way: PERSONA_DB_ROOT_PASSWORD.
db_user=persona_admin
db_pass_file="$cache/db-admin-password"
[ -s "$db_pass_file" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$db_pass_file")
db_pass="$(cat "$db_pass_file")"
can_login() { mysql -h 127.0.0.1 -u "$1" -p"$2" -e 'select 1' >/dev/null 2>&1; }
if [ -n "${PERSONA_DB_ROOT_PASSWORD:-}" ]; then
  db_user=root db_pass="$PERSONA_DB_ROOT_PASSWORD"
  can_login root "$db_pass" || die "cannot log in to MariaDB as root with PERSONA_DB_ROOT_PASSWORD"
elif ! can_login "$db_user" "$db_pass"; then
  mysql -u root -e 'select 1' >/dev/null 2>&1 \
    || die "cannot log in to MariaDB as root through its socket: set PERSONA_DB_ROOT_PASSWORD to its root password"
  mysql -u root <<SQL || die "could not create the MariaDB user $db_user"
CREATE OR REPLACE USER '$db_user'@'localhost' IDENTIFIED BY '$db_pass';
CREATE OR REPLACE USER '$db_user'@'127.0.0.1' IDENTIFIED BY '$db_pass';
GRANT ALL PRIVILEGES ON *.* TO '$db_user'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$db_user'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
fi

# --- 3. tools: yarn 1.x and the bench CLI, inside the cache (nothing global) -------------
tools="$cache/tools"  # on PATH already (common.sh)
command -v node >/dev/null 2>&1 || die "Node.js 18+ is needed (Debian/Ubuntu: apt-get install nodejs npm)"
if [ ! -f "$tools/.done" ]; then
  step "installing yarn 1.x (npm) and the bench CLI (PyPI) into $tools"
  rm -rf "$tools"; mkdir -p "$tools"
  # yarn 1: Frappe's install breaks with yarn 2+ (what a bare `npm i yarn` may bring).
  npm install --silent --no-audit --no-fund --prefix "$tools" yarn@1 >/dev/null || die "npm could not install yarn@1"
  "$python_bin" -m venv "$tools/bench-cli"
  # setuptools<80: newer ones dropped pkg_resources, which bench and Frappe deps import.
  "$tools/bench-cli/bin/pip" install -q --disable-pip-version-check 'frappe-bench>=5.22,<6' 'setuptools<80' \
    >"$cache/tools.log" 2>&1 || { tail -5 "$cache/tools.log"; die "pip could not install frappe-bench"; }
  touch "$tools/.done"
  done_step
fi
# The bench CLI runs `uv` by name: it lives in the bench CLI's venv (on PATH above).
# Same pin for every venv bench creates and every build it runs.
printf 'setuptools<80\n' > "$tools/constraints.txt"
export PIP_CONSTRAINT="$tools/constraints.txt" UV_CONSTRAINT="$tools/constraints.txt" UV_BUILD_CONSTRAINT="$tools/constraints.txt"

# --- 4. Frappe and ERPNext sources as local git repositories ------------------------------
src="$cache/src"
if [ ! -f "$src/.done" ]; then
  rm -rf "$src"; mkdir -p "$src"
  if [ -n "$sources" ]; then
    step "unpacking Frappe and ERPNext from $sources"
    for name in frappe erpnext gunicorn air-datepicker; do
      tarball="$(ls "$sources"/"$name"-[0-9a-f]*.tar.gz 2>/dev/null | head -1)"
      [ -n "$tarball" ] || die "no $name-*.tar.gz in $sources"
      tar -xzf "$tarball" -C "$src"
    done
    # Frappe pins two git dependencies on GitHub; point them at the unpacked copies.
    sed -i "s|\"gunicorn @ git+https://github.com/frappe/gunicorn@[0-9a-f]*\"|\"gunicorn @ file://$src/gunicorn\"|" "$src/frappe/pyproject.toml"
    sed -i "s|\"air-datepicker\": \"github:frappe/air-datepicker\"|\"air-datepicker\": \"file:$src/air-datepicker\"|" "$src/frappe/package.json"
    # yarn.lock must agree with package.json, or yarn fetches the locked GitHub tarball.
    sed -i "s|^\"air-datepicker@github:frappe/air-datepicker\":|\"air-datepicker@file:$src/air-datepicker\":|; \\|resolved \"https://codeload.github.com/frappe/air-datepicker/|d" "$src/frappe/yarn.lock"
    grep -q "file://$src/gunicorn" "$src/frappe/pyproject.toml" || die "could not repoint Frappe's gunicorn dependency"
  else
    step "cloning Frappe and ERPNext version-15 from GitHub"
    git clone -q --depth 1 -b version-15 https://github.com/frappe/frappe "$src/frappe" || die "git clone frappe failed"
    git clone -q --depth 1 -b version-15 https://github.com/frappe/erpnext "$src/erpnext" || die "git clone erpnext failed"
  fi
  # `bench init --frappe-path` and `bench get-app` run `git clone`: each app must be a repo.
  for app in frappe erpnext; do
    (cd "$src/$app" && { [ -d .git ] || git init -q -b version-15; } && git add -A \
      && git -c user.name=persona -c user.email=persona@localhost commit -q -m "local sources" --allow-empty) \
      || die "could not make $src/$app a git repository"
  done
  touch "$src/.done"
  done_step
fi

# --- 5. the bench ------------------------------------------------------------------------
bench_cli() { (cd "$bench" && bench "$@"); }
if [ ! -f "$bench/.done-init" ]; then
  rm -rf "$bench"
  step "bench init (Python env and node modules of Frappe)"
  # Running as root: bench refuses unless frappe_user is set, and `bench init` reads it from
  # ./sites/common_site_config.json of the folder it runs in.
  work="$cache/init-cwd"; mkdir -p "$work/sites"
  printf '{"frappe_user": "%s"}\n' "$(id -un)" > "$work/sites/common_site_config.json"
  (cd "$work" && bench init "$bench" --frappe-path "$src/frappe" --frappe-branch version-15 \
      --python "$python_bin" --skip-assets --no-backups >"$cache/init.log" 2>&1) \
    || { tail -25 "$cache/init.log"; die "bench init failed (log: $cache/init.log)"; }
  # frappe_user in the bench itself, for every later bench command run as root.
  "$bench/env/bin/python" - "$bench/sites/common_site_config.json" "$(id -un)" <<'PY'
import json, sys
path, user = sys.argv[1:]
conf = json.load(open(path))
conf["frappe_user"] = user
json.dump(conf, open(path, "w"), indent=1)
PY
  "$bench/env/bin/python" -m pip install -q --disable-pip-version-check 'setuptools<80' >/dev/null 2>&1 || true
  touch "$bench/.done-init"
  done_step
fi
# Redis on ports of this bench's own: `bench init` writes 11000/13000, which every other bench
# on the machine uses too, and two benches on one Redis read each other's bench-wide cache
# keys (the desk's asset map among them). Two free ports are chosen once and kept.
if [ ! -f "$bench/.done-redis-ports" ]; then
  step "Redis ports of this bench's own"
  "$bench/env/bin/python" - "$bench" <<'PY' || die "could not choose Redis ports for $bench"
import json, re, socket, sys
from pathlib import Path

bench = Path(sys.argv[1])
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
queue, cache = [p for p in range(21100, 21900) if free(p)][:2]
path = bench / "sites" / "common_site_config.json"
conf = json.loads(path.read_text())
conf["redis_queue"] = f"redis://127.0.0.1:{queue}"
conf["redis_cache"] = conf["redis_socketio"] = f"redis://127.0.0.1:{cache}"
path.write_text(json.dumps(conf, indent=1))
for name, port in (("redis_queue.conf", queue), ("redis_cache.conf", cache)):
    conf_file = bench / "config" / name
    conf_file.write_text(re.sub(r"(?m)^port .*$", f"port {port}", conf_file.read_text()))
print(f"   queue on {queue}, cache on {cache}")
PY
  touch "$bench/.done-redis-ports"
  done_step
fi
start_redis "$bench"

if [ ! -f "$bench/.done-erpnext" ]; then
  rm -rf "$bench/apps/erpnext"; sed -i '/^erpnext$/d' "$bench/sites/apps.txt"
  step "bench get-app erpnext"
  bench_cli get-app --skip-assets "$src/erpnext" >"$cache/get-app.log" 2>&1 \
    || { tail -25 "$cache/get-app.log"; die "bench get-app erpnext failed (log: $cache/get-app.log)"; }
  touch "$bench/.done-erpnext"
  done_step
fi

if [ ! -f "$bench/.done-assets" ]; then
  # --force: build locally (without it bench tries to download prebuilt assets). Sending
  # mail needs the built CSS (it is inlined into every mail).
  step "bench build --force (JS/CSS assets)"
  CI=1 bench_cli build --force >"$cache/build.log" 2>&1 \
    || { tail -25 "$cache/build.log"; die "bench build failed (log: $cache/build.log)"; }
  touch "$bench/.done-assets"
  done_step
fi

# --- 6. the sites: the test site, the end-to-end site (its own mail accounts), the adoption site
# Made once (new_erpnext_site in common.sh) and reused while finished and answering.
make_site() {
  site_ready "$bench" "$1" .done-site && return 0
  step "bench new-site $1 with ERPNext, setup wizard done"
  new_erpnext_site "$bench" "$1" "$cache/new-site-$1.log" "$db_user" "$db_pass" || die "$new_site_failed"
  touch "$bench/sites/$1/.done-site"
  done_step
}
make_site "$site"
make_site "$e2e_site"
# The adoption test's site: ERPNext only; the test installs and uninstalls the app itself.
make_site "$adopt_site"
echo "   bench ready: $bench, sites $site, $e2e_site and $adopt_site"

# --- 7. Frappe Helpdesk and its site (HD Ticket beside Issue) ------------------------------
[ "${PERSONA_HELPDESK:-1}" = 0 ] && { echo "SKIPPED Frappe Helpdesk: PERSONA_HELPDESK=0"; exit 0; }
helpdesk_site="$persona_helpdesk_site"
hd_die() { die "Frappe Helpdesk: $*"; }

# The three changes an offline build of v1.14.0 needs (../shared/frappe-platform/README.md),
# made in the unpacked copy and committed there: changes of the build, not of Helpdesk.
helpdesk_build_fixes() {
  local app="$1" copy
  "$bench/env/bin/python" - "$app" <<'PY' || return 1
import json, re, sys
app = sys.argv[1]
def rewrite(path, change):
    with open(path) as f:
        text = f.read()
    new = change(text)
    with open(path, "w") as f:
        f.write(new)
# 1. no yarn workspaces: yarn then reads desk/yarn.lock instead of resolving everything afresh
root = json.load(open(f"{app}/package.json"))
root.pop("workspaces", None)
json.dump(root, open(f"{app}/package.json", "w"), indent="\t")
# 2. versions the npm registry serves (same ranges) and 3. a Tailwind that loads an ESM config
desk = json.load(open(f"{app}/desk/package.json"))
desk["dependencies"].update({"@iconify-json/lucide": "1.1.101", "lucide-static": "^0.277.0", "tailwindcss": "3.4.17"})
json.dump(desk, open(f"{app}/desk/package.json", "w"), indent=2)
# their stale lock entries go; yarn locks the new ones (every other entry is kept)
stale = re.compile(r'^("@iconify-json/lucide@\^1\.1\.99"|lucide-static@\^0\.276\.0|tailwindcss@\^3\.2\.7):\n(?:  .*\n)*\n?', re.M)
rewrite(f"{app}/desk/yarn.lock", lambda text: stale.sub("", text))
PY
  # Relock in a copy of desk/ (its node_modules is thrown away; bench get-app installs again
  # from yarn's cache).
  copy="$(mktemp -d)"
  cp "$app/desk/package.json" "$app/desk/yarn.lock" "$copy/"
  (cd "$copy" && yarn install --ignore-scripts --non-interactive --silent >"$cache/helpdesk-relock.log" 2>&1) \
    || { rm -rf "$copy"; return 1; }
  cp "$copy/yarn.lock" "$app/desk/yarn.lock"; rm -rf "$copy"
  grep -q '^tailwindcss@3.4.17' "$app/desk/yarn.lock"
}

if [ ! -f "$src/.done-helpdesk" ]; then
  rm -rf "$src/helpdesk"
  hd_tarball="$(ls "$sources"/helpdesk-[0-9]*.tar.gz 2>/dev/null | head -1)"
  if [ -n "$hd_tarball" ]; then
    step "unpacking Frappe Helpdesk from $hd_tarball, with the build fixes"
    tar -xzf "$hd_tarball" -C "$src" || hd_die "could not unpack $hd_tarball"
  else
    step "cloning Frappe Helpdesk v1.14.0 from GitHub, with the build fixes"
    git clone -q --depth 1 -b v1.14.0 https://github.com/frappe/helpdesk "$src/helpdesk" || hd_die "git clone helpdesk v1.14.0 failed"
    rm -rf "$src/helpdesk/.git"
  fi
  helpdesk_build_fixes "$src/helpdesk" \
    || { tail -5 "$cache/helpdesk-relock.log" 2>/dev/null; hd_die "the build fixes (package.json, desk/yarn.lock relock) failed (log: $cache/helpdesk-relock.log)"; }
  (cd "$src/helpdesk" && git init -q -b main && git add -A \
    && git -c user.name=persona -c user.email=persona@localhost commit -q -m "helpdesk v1.14.0 + offline build fixes") \
    || hd_die "could not make $src/helpdesk a git repository"
  touch "$src/.done-helpdesk"
  done_step
fi

if [ ! -f "$bench/.done-helpdesk" ]; then
  rm -rf "$bench/apps/helpdesk" "$bench/sites/assets/helpdesk"; sed -i '/^helpdesk$/d' "$bench/sites/apps.txt"
  step "bench get-app helpdesk"
  bench_cli get-app --skip-assets "$src/helpdesk" >"$cache/get-app-helpdesk.log" 2>&1 \
    || { tail -25 "$cache/get-app-helpdesk.log"; hd_die "bench get-app failed (log: $cache/get-app-helpdesk.log)"; }
  touch "$bench/.done-helpdesk"
  done_step
fi

if [ ! -f "$bench/.done-helpdesk-assets" ]; then
  # Without public/ bench links no sites/assets/helpdesk and /helpdesk's scripts answer 404.
  mkdir -p "$bench/apps/helpdesk/helpdesk/public"
  step "bench build --app helpdesk (the agent UI: Vite, ~1.5 min, ~4 GB)"
  CI=1 bench_cli build --app helpdesk >"$cache/build-helpdesk.log" 2>&1 \
    || { tail -25 "$cache/build-helpdesk.log"; hd_die "bench build --app helpdesk failed (log: $cache/build-helpdesk.log)"; }
  ls "$bench/sites/assets/helpdesk/desk/"*.js "$bench/sites/assets/helpdesk/desk/assets/"*.js >/dev/null 2>&1 \
    || hd_die "bench build --app helpdesk made no sites/assets/helpdesk/desk (log: $cache/build-helpdesk.log)"
  touch "$bench/.done-helpdesk-assets"
  done_step
fi

make_site "$helpdesk_site"
if [ ! -f "$bench/sites/$helpdesk_site/.done-helpdesk" ]; then
  step "bench install-app helpdesk ($helpdesk_site)"
  bench_cli --site "$helpdesk_site" install-app helpdesk >"$cache/install-helpdesk.log" 2>&1 \
    || { tail -25 "$cache/install-helpdesk.log"; hd_die "install-app helpdesk failed on $helpdesk_site (log: $cache/install-helpdesk.log)"; }
  touch "$bench/sites/$helpdesk_site/.done-helpdesk"
  done_step
fi
echo "   Helpdesk ready: site $helpdesk_site"
