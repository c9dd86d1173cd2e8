# Shared by scripts/run, scripts/test and bench/run. Source it; it defines functions (and sets
# ROOT, PATH and SQLX_OFFLINE). Every installer is idempotent: it checks first and installs only
# what is missing.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

CARGO_LEPTOS_VERSION=0.3.10
SQLX_CLI_VERSION=0.8.6
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

export PATH="$HOME/.cargo/bin:$PATH"
# Builds use the committed .sqlx/ query data (as .cargo/config.toml says for bare cargo), even
# when the shell exported SQLX_OFFLINE: the scripts export DATABASE_URL for databases they have
# just created, which a build must not check its queries against.
export SQLX_OFFLINE=true

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $* (install it by hand, then run this again)"; fi
}

apt_install() {
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { as_root apt-get update -q >/dev/null && \
         as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; } \
    || die "apt-get install $* failed"
}

# Exports LEPTOS_* from Leptos.toml (the one place they are written) unless already set, so that
# cargo-leptos builds into the same place the server reads from.
export_leptos_toml() {
  local key value var
  while IFS='=' read -r key value; do
    key="$(echo "$key" | tr -d '[:space:]')"
    case "$key" in ''|\#*) continue ;; esac
    value="$(echo "$value" | sed -e 's/[[:space:]]*#.*$//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's/^"//' -e 's/"$//')"
    var="LEPTOS_$(echo "$key" | tr 'a-z-' 'A-Z_')"
    if [ -z "${!var:-}" ]; then export "$var=$value"; fi
  done < "$ROOT/Leptos.toml"
}

ensure_wasm_target() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || { say "adding the wasm32-unknown-unknown target"; rustup target add wasm32-unknown-unknown; }
}

ensure_cargo_leptos() {
  if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (a few minutes, once)"
    # --debug builds in half the time and runs fast enough; no_downloads: this machine cannot
    # fetch tool binaries, so cargo-leptos must use the ones on PATH.
    cargo install --locked --debug cargo-leptos --version "$CARGO_LEPTOS_VERSION" --features no_downloads
  fi
}

# wasm-bindgen-cli must be exactly the wasm-bindgen in Cargo.lock.
ensure_wasm_bindgen() {
  local want
  want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
  [ -n "$want" ] || die "wasm-bindgen not found in Cargo.lock"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $want" ]; then
    say "installing wasm-bindgen-cli $want (matches Cargo.lock)"
    # Not --locked: its lockfile wants a crate release the registry does not serve.
    cargo install wasm-bindgen-cli --version "=$want" --force
  fi
}

ensure_sqlx_cli() {
  if [ "$(cargo sqlx --version 2>/dev/null)" != "sqlx-cli-sqlx $SQLX_CLI_VERSION" ]; then
    say "installing sqlx-cli $SQLX_CLI_VERSION"
    cargo install --locked --debug sqlx-cli --version "$SQLX_CLI_VERSION" \
      --no-default-features --features postgres,rustls
  fi
}

# end2end's npm packages: Playwright, axe-core, and binaryen's wasm-opt. Debian's wasm-opt (108)
# silently breaks the release WASM; binaryen 132 from npm does not, so release builds put
# end2end/node_modules/.bin first on PATH.
ensure_npm_packages() {
  local dir="$ROOT/end2end"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] \
     || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "installing end2end npm packages (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

# The Python packages of tests/python/requirements.txt (customers' verification libraries), in a
# venv under target/; the API tests run its interpreter ($PORTAL_TEST_PYTHON).
ensure_python_packages() {
  local venv="$ROOT/target/python" requirements="$ROOT/tests/python/requirements.txt"
  if [ ! -f "$venv/.installed" ] || [ "$requirements" -nt "$venv/.installed" ]; then
    say "installing the tests' Python packages (pip)"
    rm -rf "$venv"
    python3 -m venv "$venv" || { rm -rf "$venv"; apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    touch "$venv/.installed"
  fi
  export PORTAL_TEST_PYTHON="$venv/bin/python"
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

ensure_haproxy() {
  command -v haproxy >/dev/null || apt_install haproxy
}

ensure_postgres() {
  [ -x "$PG_BIN/initdb" ] || apt_install postgresql
  [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL server binaries in $PG_BIN (set PG_BIN)"
}

# --- A private PostgreSQL cluster -----------------------------------------------------------
# initdb and postgres refuse to run as root: when we are root, the cluster belongs to the
# `postgres` system user (created by Debian's package) and runs through runuser.

pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_prepare_dir DIR: creates DIR for the cluster's owner.
pg_prepare_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$1"; fi
  chmod 700 "$1"
}

# pg_reachable DIR: can the cluster's owner reach DIR (every parent must be searchable)?
pg_reachable() {
  pg_as_owner test -x "$1" 2>/dev/null
}

# pg_start DATADIR SOCKETDIR [postgres -c options...]: initdb once, then start (no TCP: a unix
# socket only, in SOCKETDIR, mode 0700). Prints the DATABASE_URL of the `postgres` database.
pg_start() {
  local data="$1" socket="$2"; shift 2
  local opts="-c listen_addresses='' -c unix_socket_directories='$socket' -c unix_socket_permissions=0700"
  for o in "$@"; do opts="$opts -c $o"; done
  if [ ! -f "$data/PG_VERSION" ]; then
    pg_prepare_dir "$data"
    pg_as_owner "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed for $data"
  fi
  pg_prepare_dir "$socket"
  if ! pg_as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -o "$opts" -w -t 30 start >/dev/null \
      || { tail -20 "$data/server.log" >&2; die "PostgreSQL did not start (log: $data/server.log)"; }
  fi
}

pg_stop() {
  pg_as_owner "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}

# pg_url SOCKETDIR DBNAME [ROLE]
pg_url() {
  echo "postgres://${3:-postgres}@localhost/$2?host=$1"
}

# pg_setup_roles SOCKETDIR DBNAME: least privilege (docs/operations.md, "Database roles"). portal_owner
# owns the database and everything in it and runs the migrations; portal_server, which the
# server connects as, is granted rows only (by a migration). A database that an older version
# of these scripts migrated as `postgres` has its objects handed to portal_owner.
pg_setup_roles() {
  psql -h "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<SQL || die "cannot set up the database roles"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal_owner') THEN CREATE ROLE portal_owner LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal_server') THEN CREATE ROLE portal_server LOGIN; END IF;
END \$\$;
ALTER ROLE portal_server LOGIN;
ALTER DATABASE "$2" OWNER TO portal_owner;
SQL
  psql -h "$1" -U postgres -d "$2" -v ON_ERROR_STOP=1 -q >/dev/null <<'SQL' || die "cannot hand the database's objects to portal_owner"
DO $$ DECLARE stmt text; BEGIN
  FOR stmt IN
    SELECT format('ALTER SCHEMA %I OWNER TO portal_owner', nspname) FROM pg_namespace
     WHERE nspname = 'tower_sessions' AND pg_get_userbyid(nspowner) = 'postgres'
    UNION ALL
    SELECT format('ALTER TABLE %I.%I OWNER TO portal_owner', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('public', 'tower_sessions') AND c.relkind IN ('r', 'p')
       AND pg_get_userbyid(c.relowner) = 'postgres'
    UNION ALL
    SELECT format('ALTER FUNCTION %s OWNER TO portal_owner', p.oid::regprocedure)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) = 'postgres'
  LOOP EXECUTE stmt; END LOOP;
END $$;
SQL
}

# pg_create_db SOCKETDIR DBNAME: creates the database unless it exists.
pg_create_db() {
  local exists
  exists="$(psql -h "$1" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$2'")"
  [ "$exists" = 1 ] || psql -h "$1" -U postgres -d postgres -qc "CREATE DATABASE \"$2\"" >/dev/null
}

# portal_database DATA_DIR: what a local portal (scripts/run, scripts/cluster) runs on. Unless
# PORTAL_SECRETS_KEYS is set, the development master key is DATA_DIR/secrets.keys (the server
# creates it, mode 600, on its first start in DEV). Unless DATABASE_URL is set, a private
# PostgreSQL cluster in DATA_DIR, started if it is not running, and its `portal` database, with
# DATABASE_URL (the server's role) and DATABASE_MIGRATION_URL (the owner's) exported. Sets
# PORTAL_PG_STARTED to the cluster's data directory if this call started it (the caller stops it
# on exit), else to nothing.
portal_database() {
  local data_dir="$1" data socket
  PORTAL_PG_STARTED=
  if [ -z "${PORTAL_SECRETS_KEYS:-}" ]; then
    export PORTAL_SECRETS_KEY_FILE="${PORTAL_SECRETS_KEY_FILE:-$data_dir/secrets.keys}"
  fi
  [ -z "${DATABASE_URL:-}" ] || return 0
  ensure_postgres
  data="$data_dir/pg"
  socket="$data_dir/pg-socket"
  if ! pg_reachable "$data_dir"; then
    # e.g. a clone inside a private mktemp directory: the postgres user cannot enter it.
    data="/var/tmp/portal-pg-$(echo "$data_dir" | md5sum | cut -c1-12)"
    say "the postgres user cannot reach $data_dir; keeping the database in $data"
    socket="$data-socket"
  fi
  # Unix socket paths are limited to ~107 bytes.
  if [ "${#socket}" -gt 90 ]; then socket="/tmp/portal-pg-$(echo "$data_dir" | md5sum | cut -c1-12)"; fi
  if ! pg_as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "starting PostgreSQL (data: $data)"
    pg_start "$data" "$socket"
    PORTAL_PG_STARTED="$data"
  fi
  pg_create_db "$socket" portal
  pg_setup_roles "$socket" portal
  export DATABASE_URL="$(pg_url "$socket" portal portal_server)"
  export DATABASE_MIGRATION_URL="$(pg_url "$socket" portal portal_owner)"
}
