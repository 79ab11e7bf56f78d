#!/usr/bin/env bash
# Installs cpdd and cpdctl from this source checkout on Debian: builds them (release), installs the
# binaries, the SQL, the systemd units, the sysusers.d and tmpfiles.d files and, if there is none
# yet, /etc/cpd/cpdd.conf; creates the account cpd and the directories. It enables and starts
# nothing. Safe to run again: an existing /etc/cpd/cpdd.conf is kept, everything else is replaced.
#
#   deploy/install.sh [--root DIR] [--no-build] [--bin-dir DIR]
#
#   --root DIR     install below DIR instead of / (for packaging or testing; DIR is created).
#                  Run as a normal user, file ownership is left as it falls.
#   --no-build     install binaries built before (swift build -c release), do not build.
#   --bin-dir DIR  where the built cpdd and cpdctl are (default: the checkout's .build/release).
#
# Installing into / needs root. See deploy/README.md.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 1; }
note() { echo "install.sh: $*"; }

checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=/
build=yes
bin_dir=""

while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
        --root=*) root=${1#--root=}; shift ;;
        --no-build) build=no; shift ;;
        --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory"; bin_dir=$2; shift 2 ;;
        --bin-dir=*) bin_dir=${1#--bin-dir=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[ -n "$root" ] || die "--root needs a directory"
mkdir -p "$root"
root=$(cd "$root" && pwd)
# Paths below are written as "$root$path"; with root=/ that would give //usr/..., harmless but ugly.
[ "$root" = / ] && prefix="" || prefix=$root

if [ "$(id -u)" -eq 0 ]; then
    privileged=yes
else
    privileged=no
    [ "$root" != / ] || die "installing into / needs root (or use --root DIR)"
    note "not root: files below $root keep your ownership"
fi

# --- build -------------------------------------------------------------------------------------
if [ "$build" = yes ]; then
    missing=()
    for package in libpq-dev pkg-config; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$privileged" = yes ] || die "missing packages ${missing[*]}: install them as root (apt-get install ${missing[*]})"
        note "installing ${missing[*]}"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    command -v swift >/dev/null || die "swift not found: install the Swift 6 toolchain, or build elsewhere and use --no-build"
    note "building cpdd and cpdctl (release)"
    (cd "$checkout" && swift build -c release --product cpdd && swift build -c release --product cpdctl)
    [ -n "$bin_dir" ] || bin_dir=$(cd "$checkout" && swift build -c release --show-bin-path)
fi
[ -n "$bin_dir" ] || bin_dir=$checkout/.build/release
for program in cpdd cpdctl; do
    [ -x "$bin_dir/$program" ] || die "$bin_dir/$program not found: build it (swift build -c release --product $program) or drop --no-build"
done

# --- files -------------------------------------------------------------------------------------
# put MODE SOURCE PATH: install SOURCE as $root/PATH, creating its directories.
put() { install -D -m "$1" "$2" "$prefix$3"; }

put 0755 "$bin_dir/cpdd" /usr/bin/cpdd
put 0755 "$bin_dir/cpdctl" /usr/bin/cpdctl

# The SQL is replaced whole, so that a file removed from the checkout does not linger.
sql=$prefix/usr/share/cpd/sql
rm -rf "$sql.new"
for folder in migrations demo; do
    install -d -m 0755 "$sql.new/$folder"
    for file in "$checkout/sql/$folder"/*.sql; do
        [ -e "$file" ] || continue
        install -m 0644 "$file" "$sql.new/$folder/"
    done
done
[ -n "$(ls -A "$sql.new/migrations")" ] || die "no migrations in $checkout/sql/migrations"
rm -rf "$sql"
mv "$sql.new" "$sql"

for unit in cpdd.service cpdd@.service cpd-report.service cpd-report.timer; do
    put 0644 "$checkout/deploy/$unit" "/usr/lib/systemd/system/$unit"
done
put 0644 "$checkout/deploy/sysusers.d/cpd.conf" /usr/lib/sysusers.d/cpd.conf
put 0644 "$checkout/deploy/tmpfiles.d/cpd.conf" /usr/lib/tmpfiles.d/cpd.conf

doc=/usr/share/doc/cpd
put 0644 "$checkout/deploy/README.md" "$doc/deploy.md"
put 0644 "$checkout/README.md" "$doc/README.md"
put 0644 "$checkout/deploy/cpdd.conf.example" "$doc/examples/cpdd.conf.example"
# Not /etc/cron.d: that would schedule the report. The next steps say how to choose cron.
put 0644 "$checkout/deploy/cron.d/cpd" "$doc/examples/cron.d/cpd"

# --- account and directories -------------------------------------------------------------------
if command -v systemd-sysusers >/dev/null; then
    mkdir -p "$prefix/etc"
    systemd-sysusers --root="$root" cpd.conf
elif [ "$root" = / ]; then
    getent group cpd >/dev/null || addgroup --system cpd
    getent passwd cpd >/dev/null || adduser --system --ingroup cpd --home /var/lib/cpd --no-create-home cpd
else
    die "systemd-sysusers not found: cannot create the account cpd below $root"
fi

if [ "$privileged" = yes ] && command -v systemd-tmpfiles >/dev/null; then
    systemd-tmpfiles --create --root="$root" cpd.conf
else
    # The same directories as tmpfiles.d/cpd.conf, without the owners.
    install -d -m 0750 "$prefix/run/cpd" "$prefix/var/lib/cpd" "$prefix/etc/cpd"
    install -d -m 0700 "$prefix/var/lib/cpd/reports"
    [ "$privileged" = no ] || note "systemd-tmpfiles not found: check the owners of /run/cpd, /var/lib/cpd, /etc/cpd"
fi

# The group cpd's number as the installed system knows it (below --root it may differ from ours).
cpd_gid=$(awk -F: '$1 == "cpd" { print $3 }' "$prefix/etc/group" 2>/dev/null || true)

config=$prefix/etc/cpd/cpdd.conf
if [ -e "$config" ]; then
    note "kept the existing /etc/cpd/cpdd.conf"
else
    install -m 0640 "$checkout/deploy/cpdd.conf.example" "$config"
    if [ "$privileged" = yes ]; then
        [ -n "$cpd_gid" ] || die "the group cpd does not exist in $prefix/etc/group"
        chown "0:$cpd_gid" "$config"
    fi
    note "installed /etc/cpd/cpdd.conf from the example"
fi

if [ "$root" = / ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

cat <<EOF

Installed below $root. Nothing was enabled or started. Next (deploy/README.md, installed as $doc/deploy.md):

  1. Database: create a database and the login role cpd in PostgreSQL, apply the migrations as
     the database owner, and let cpd work as cpd_app:
       runuser -u postgres -- createuser cpd
       runuser -u postgres -- createdb --template=template0 --encoding=UTF8 cpd
       runuser -u postgres -g cpd -- cpdd migrate --sql-dir /usr/share/cpd/sql \\
           --database "host=/run/postgresql dbname=cpd"
       runuser -u postgres -- psql -d cpd -c 'GRANT cpd_app TO cpd'
  2. Set database = "host=/run/postgresql dbname=cpd user=cpd" in /etc/cpd/cpdd.conf.
  3. Start cpdd:            systemctl enable --now cpdd.service
  4. The nightly report:    systemctl enable --now cpd-report.timer
     (or, with cron:        install -m 0644 $doc/examples/cron.d/cpd /etc/cron.d/cpd)
  5. Let an account in:     adduser NAME cpd
                            cpdctl principal add --user NAME --role provider --provider CODE
  After an upgrade: run step 1's cpdd migrate, then systemctl restart cpdd.
EOF
