# Shared by ./portal and the scripts in scripts/ (sourced, not run). Sets strict mode and a trap, so that no step ends
# silently: a failing command prints itself, its file and line, the step it was part of and what to do.
#
# A script sets SCRIPT_NAME before sourcing this file, and marks its steps with `step "what it does" "what to do if
# it fails"`: the trap names the last step begun.
# shellcheck shell=bash

set -Eeuo pipefail

: "${SCRIPT_NAME:=${0##*/}}"
CURRENT_STEP=""
CURRENT_ADVICE=""

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m%s:\033[0m %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }

# step DESCRIPTION [ADVICE]: what the script does from here on, and what a person should do if it fails.
step() {
  CURRENT_STEP=$1
  CURRENT_ADVICE=${2:-}
}

# The ERR trap (inherited by functions and subshells through set -E). A failure inside a command substitution is
# reported once, by the shell that ran the substitution, with the whole command; a background job marks itself with
# REPORT_IN_SUBSHELL=1 to report its own failures.
on_error() {
  local status=$1 line=$2 command=$3 source=${4:-$SCRIPT_NAME}
  if [ "${BASH_SUBSHELL:-0}" -gt 0 ] && [ "${REPORT_IN_SUBSHELL:-0}" != 1 ]; then
    return 0
  fi
  {
    printf '\033[1;31m%s:\033[0m a step failed (exit status %s).\n' "$SCRIPT_NAME" "$status"
    printf '  command:  %s\n' "$command"
    printf '  where:    %s, line %s\n' "${source##*/}" "$line"
    [ -n "$CURRENT_STEP" ] && printf '  step:     %s\n' "$CURRENT_STEP"
    if [ -n "$CURRENT_ADVICE" ]; then
      printf '  what to do: %s\n' "$CURRENT_ADVICE"
    else
      printf '  what to do: read the output above for the cause, mend it, and run the same command again (every step\n'
      printf '              picks up what an earlier run finished). PORTAL_TRACE=1 shows each command as it runs.\n'
    fi
  } >&2
}

trap 'on_error "$?" "$LINENO" "$BASH_COMMAND" "${BASH_SOURCE[0]}"' ERR

if [ "${PORTAL_TRACE:-}" = 1 ]; then set -x; fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "this step needs root: $* (run as root, or install it yourself)"; fi
}

# let_through USER-OR-UID PATH: a server's user (or the mail uid) must reach what it reads: a folder above PATH that is
# closed to others (a home folder, a CI workspace) gets an ACL entry that lets that user through it, and nothing more.
# A bare uid runs with MAIL_GID as its group.
let_through() { # user-or-uid path
  local who=$1 target dir=/ part uid gid
  target=$(cd "$2" && pwd)
  uid=$(id -u "$who" 2>/dev/null || echo "$who") gid=$(id -g "$who" 2>/dev/null || echo "${MAIL_GID:-$uid}")
  local -a parts
  IFS=/ read -ra parts <<< "${target#/}"
  for part in "${parts[@]}"; do
    if ! setpriv --reuid="$uid" --regid="$gid" --clear-groups test -x "$dir" 2>/dev/null; then
      setfacl -m "u:$uid:x" "$dir" || die "user $who cannot reach $target: $dir is closed to it (setfacl failed)"
    fi
    dir=${dir%/}/$part
  done
}

# tls_certificate FOLDER NAME: a self-signed certificate (cert.pem, key.pem) that a server presents until Portal
# installs one for the name a client asks for (the tests' clients trust it explicitly).
tls_certificate() { # folder name
  [ -s "$1/cert.pem" ] && return 0
  mkdir -p "$1"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2.portal.invalid" -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null \
    || die "openssl could not make a certificate in $1"
  chmod 600 "$1/key.pem"
}

# wait_port ADDRESS PORT SECONDS: whether something listens there within that time (a server just started).
wait_port() { # address port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if ( exec 3<>"/dev/tcp/$1/$2" ) 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# apt_install PACKAGE...: installs Debian packages that are missing (the package lists are refreshed only when the
# first try fails), without starting the services they bring (there may be no systemd; nothing should listen yet).
apt_install() {
  local saved_step=$CURRENT_STEP saved_advice=$CURRENT_ADVICE
  step "installing $* from Debian's packages" \
    "check that this machine reaches its Debian mirror (apt-get update shows why not) and that no other apt-get runs, then run this again."
  log "Installing from Debian's packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ "$(id -u)" = 0 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1
  fi
  local status=0
  if ! as_root apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; then
    as_root apt-get update -qq >/dev/null || status=$?
    [ "$status" = 0 ] && { as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null || status=$?; }
  fi
  [ "$made_policy" = 1 ] && rm -f "$policy"
  if [ "$status" != 0 ]; then
    die "apt-get could not install $* (exit status $status; its message is above). Check the network and the Debian mirror in /etc/apt/sources.list*, then run this again."
  fi
  step "$saved_step" "$saved_advice"
}
