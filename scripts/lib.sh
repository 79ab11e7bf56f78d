# Shared by scripts/run and scripts/test: install what cpd needs when it is missing.
# Works as root (apt-get directly), as a user with password-less sudo, and otherwise says what to run.

# Debian packages cpd needs: the libpq headers and pkg-config to build, the PostgreSQL server for the
# built-in private database and the tests, socat to talk to the socket by hand (and one test),
# util-linux for runuser/setsid, bsdutils for script(1) (a terminal for the cpdctl shell's test).
cpd_packages=(libpq-dev pkg-config postgresql socat util-linux bsdutils)

cpd_missing_packages() {
    local missing=()
    if [ "${1:-}" = test ]; then
        # Only the tests need these: a browser to render the nightly report's page, and
        # systemd-analyze to check deploy/'s units.
        command -v chromium >/dev/null 2>&1 || missing+=(chromium)
        command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
    fi
    if [ "${1:-}" = bench ]; then
        # Only scripts/bench needs it: Redis's PING is the anchor of cpdd's ping figure.
        command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    fi
    [ -f /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
    command -v socat >/dev/null 2>&1 || missing+=(socat)
    { [ -x /usr/sbin/runuser ] || [ -x /sbin/runuser ]; } && command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
    command -v script >/dev/null 2>&1 || missing+=(bsdutils)
    echo "${missing[@]}"
}

# ensure_dependencies [test|bench]: with "test", also what only the tests need; with "bench", also
# what only scripts/bench needs.
ensure_dependencies() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "cpd: the Swift toolchain (swift 6.x) is not on PATH; install it from swift.org first." >&2
        exit 1
    fi
    local missing
    missing=$(cpd_missing_packages "${1:-}")
    [ -z "$missing" ] && return 0
    echo "cpd: installing missing Debian packages: $missing" >&2
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "cpd: missing packages ($missing) and no root: run 'sudo apt-get install -y $missing' and try again." >&2
            exit 1
        fi
    fi
    # No main cluster from the Debian package: cpd runs its own clusters, on Unix sockets only.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        "${sudo[@]}" mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    # shellcheck disable=SC2086
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends $missing >/dev/null
    missing=$(cpd_missing_packages "${1:-}")
    if [ -n "$missing" ]; then
        echo "cpd: still missing after apt-get: $missing" >&2
        exit 1
    fi
}
