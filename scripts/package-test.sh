#!/usr/bin/env bash
# scripts/package-test.sh BUILD_DIR: builds the Debian package of an already
# built build directory (cpack -G DEB), installs it, runs the installed
# sentryd as the unit would (user sentry, /etc/sentry/sentryd.toml), produces
# and consumes through it with the installed sentryctl, stops it with SIGTERM,
# then removes and purges the package and checks nothing is left.
#
# Needs root and a throwaway machine or container: it installs and purges the
# package sentry, and refuses to run when sentry is installed already.
# Prints PASS/FAIL lines; exits non-zero on the first failure, after stopping
# sentryd and purging the package.
#
# Environment: RECORDS (default 1000), READY_TIMEOUT and STOP_TIMEOUT in
# seconds (default 120 and 300).
set -Eeuo pipefail

RECORDS=${RECORDS:-1000}
READY_TIMEOUT=${READY_TIMEOUT:-120}
STOP_TIMEOUT=${STOP_TIMEOUT:-300}
TOPIC=package-test
UNIT=sentryd.service

WORK=$(mktemp -d /tmp/sentry-package-test.XXXXXX)
LOG=$WORK/sentryd.log
PID=""
NOTIFY_PID=""
INSTALLED=0
DROPIN=/run/systemd/system/$UNIT.d/package-test.conf

pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*" >&2
  if [ -s "$LOG" ]; then
    echo "---- sentryd log (last 40 lines): $LOG" >&2
    tail -n 40 "$LOG" >&2
    echo "----" >&2
  fi
  exit 1
}
trap 'fail "unexpected error (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

cleanup() {
  local rc=$?
  trap - ERR
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  if [ -n "$NOTIFY_PID" ]; then kill "$NOTIFY_PID" 2>/dev/null || true; wait "$NOTIFY_PID" 2>/dev/null || true; fi
  if [ -e "$DROPIN" ]; then
    rm -f "$DROPIN"
    rmdir "$(dirname "$DROPIN")" 2>/dev/null || true
    systemctl daemon-reload 2>/dev/null || true
  fi
  if [ "$INSTALLED" = 1 ]; then
    echo "cleanup: purging the package sentry" >&2
    dpkg --purge sentry >/dev/null 2>&1 || echo "cleanup: dpkg --purge sentry failed" >&2
  fi
  if [ "$rc" = 0 ]; then
    rm -rf "$WORK"
  elif ! rmdir "$WORK" 2>/dev/null; then
    echo "logs kept in $WORK" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd) || fail "no build directory $1"
[ "$(id -u)" = 0 ] || fail "must run as root (installs and purges the package sentry)"
export DEBIAN_FRONTEND=noninteractive
unset NOTIFY_SOCKET  # the manual run below must not talk to a service manager

# Refuse to touch an existing installation: purging it deletes its data.
status=$(dpkg-query -W -f='${Status}' sentry 2>/dev/null || true)
case "$status" in
  "" | *not-installed) ;;
  *) fail "package sentry is known to dpkg ($status); this test would purge it" ;;
esac
if getent passwd sentry >/dev/null || [ -e /var/lib/sentry ] || [ -e /etc/sentry ]; then
  fail "user sentry, /var/lib/sentry or /etc/sentry exist already; this test would delete them"
fi

apt_install() {
  apt-get install -y -q --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1 && return 0
  apt-get update -q >>"$WORK/apt.log" 2>&1 || true
  apt-get install -y -q --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1
}
command -v dpkg-shlibdeps >/dev/null || apt_install dpkg-dev || fail "cannot install dpkg-dev (see $WORK/apt.log)"
command -v systemd-analyze >/dev/null || apt_install systemd || fail "cannot install systemd (see $WORK/apt.log)"

# ---- 1. Build the package -------------------------------------------------
OUT=$BUILD_DIR/package
mkdir -p "$OUT"
rm -f "$OUT"/sentry_*.deb
(cd "$BUILD_DIR" && cpack -G DEB -B "$OUT") >"$WORK/cpack.log" 2>&1 || {
  tail -n 30 "$WORK/cpack.log" >&2; fail "cpack -G DEB"; }
debs=("$OUT"/sentry_*.deb)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then fail "cpack made no single sentry_*.deb in $OUT"; fi
DEB=${debs[0]}
ARCH=$(dpkg --print-architecture)
VERSION=$(dpkg-deb -f "$DEB" Version)
[ "$(basename "$DEB")" = "sentry_${VERSION}_${ARCH}.deb" ] ||
  fail "package file $(basename "$DEB") is not sentry_${VERSION}_${ARCH}.deb"
pass "cpack -G DEB made $DEB"

# ---- 2. Look inside -------------------------------------------------------
[ "$(dpkg-deb -f "$DEB" Package)" = sentry ] || fail "Package: is not sentry"
depends=$(dpkg-deb -f "$DEB" Depends)
dep_names=$(echo "$depends" | sed 's/([^)]*)//g; s/|/,/g' | tr ',' '\n' | awk 'NF {print $1}' | sort -u)
echo "$dep_names" | grep -qx adduser || fail "Depends lacks adduser: $depends"
# Every shared library the executables load must come from a package in
# Depends (what dpkg-shlibdeps is for).
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
needed=""
for exe in sentryd sentryctl sentry-bench; do
  [ -x "$BUILD_DIR/$exe" ] || fail "$BUILD_DIR/$exe not built (the test needs SENTRY_BUILD_TOOLS=ON)"
  needed="$needed $(objdump -p "$BUILD_DIR/$exe" | awk '$1 == "NEEDED" {print $2}')"
done
for lib in $(echo "$needed" | tr ' ' '\n' | sort -u); do
  pkgs=$(dpkg -S "*/$MULTIARCH/$lib" 2>/dev/null | awk -v s="/$MULTIARCH/$lib" 'substr($0, length($0) - length(s) + 1) == s' | cut -d: -f1 | sort -u || true)
  [ -n "$pkgs" ] || fail "no installed package provides $lib"
  found=0
  for p in $pkgs; do  # the package or a name it Provides (libspdlog1.10-fmt9)
    provides=$(dpkg-query -W -f='${Provides}' "$p" 2>/dev/null | sed 's/([^)]*)//g' | tr -d ' ' | tr ',' ' ')
    for name in $p $provides; do
      if echo "$dep_names" | grep -qx "$name"; then found=1; fi
    done
  done
  [ $found = 1 ] || fail "Depends lacks the package of $lib ($pkgs): $depends"
done
pass "Depends: $depends"

dpkg-deb -c "$DEB" | awk '{print $1, $6}' >"$WORK/contents"
for f in ./usr/bin/sentryd ./usr/bin/sentryctl ./usr/bin/sentry-bench; do
  grep -qE "^-rwxr-xr-x $f\$" "$WORK/contents" || fail "$f missing or not 0755 in the package"
done
for f in ./etc/sentry/sentryd.toml ./lib/systemd/system/sentryd.service ./usr/share/doc/sentry/README.md; do
  grep -qE "^-rw-r--r-- $f\$" "$WORK/contents" || fail "$f missing or not 0644 in the package"
done
if grep -q " ./var/lib/sentry" "$WORK/contents"; then fail "the package ships /var/lib/sentry (postinst makes it)"; fi
pass "contents: executables, config, unit, docs"

dpkg-deb --ctrl-tarfile "$DEB" | tar -tvf - | awk '{print $1, $6}' >"$WORK/control"
for s in postinst prerm postrm; do
  grep -qE "^-rwxr-xr-x (\./)?$s\$" "$WORK/control" || fail "maintainer script $s missing or not 0755"
done
[ "$(dpkg-deb -I "$DEB" conffiles)" = /etc/sentry/sentryd.toml ] || fail "conffiles is not /etc/sentry/sentryd.toml"
dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./etc/sentry/sentryd.toml >"$WORK/sentryd.toml"
grep -qx '"data-dir" = "/var/lib/sentry"' "$WORK/sentryd.toml" || fail "packaged sentryd.toml does not set data-dir"
for setting in '"kafka.sasl" = "required"' '"native.sasl" = "required"' '"authorizer.enabled" = true' \
               '"super.users" = "User:admin"' '"http.host" = "127.0.0.1"'; do
  grep -qxF "$setting" "$WORK/sentryd.toml" || fail "packaged sentryd.toml does not set $setting"
done
pass "control: postinst, prerm, postrm, conffile /etc/sentry/sentryd.toml (data-dir set, SASL and ACLs on)"

# ---- 3. Install -----------------------------------------------------------
INSTALLED=1
apt_install "$DEB" || { tail -n 30 "$WORK/apt.log" >&2; fail "apt-get install $DEB"; }
dpkg-query -W -f='${Status}' sentry | grep -q "install ok installed" || fail "sentry not installed"
pass "apt-get install $(basename "$DEB")"

for f in /usr/bin/sentryd /usr/bin/sentryctl /usr/bin/sentry-bench; do
  [ -x "$f" ] || fail "$f not installed"
done
for f in /etc/sentry/sentryd.toml /lib/systemd/system/sentryd.service /usr/share/doc/sentry/README.md; do
  [ -f "$f" ] || fail "$f not installed"
done
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd sentry) || fail "user sentry not created"
[ "$uid" -lt 1000 ] || fail "user sentry is not a system user (uid $uid)"
[ "$home" = /var/lib/sentry ] || fail "home of sentry is $home"
case "$shell" in */nologin|/bin/false) ;; *) fail "user sentry has a login shell: $shell" ;; esac
[ "$(getent group sentry | cut -d: -f3)" = "$gid" ] || fail "primary group of sentry is not sentry"
[ "$(stat -c '%U:%G %a' /var/lib/sentry)" = "sentry:sentry 750" ] ||
  fail "/var/lib/sentry is $(stat -c '%U:%G %a' /var/lib/sentry), not sentry:sentry 750"
pass "user and group sentry (uid $uid, home /var/lib/sentry, $shell); /var/lib/sentry sentry:sentry 0750"

# The super user admin: a password only root and sentry read, and its
# credentials in the data directory (owned by sentry).
[ "$(stat -c '%U:%G %a' /etc/sentry/admin.password)" = "root:sentry 640" ] ||
  fail "/etc/sentry/admin.password missing or not root:sentry 0640"
[ "$(wc -c </etc/sentry/admin.password)" -ge 20 ] || fail "/etc/sentry/admin.password is too short"
grep -q ' SCRAM-SHA-512 ' /var/lib/sentry/scram-credentials 2>/dev/null ||
  fail "no SCRAM-SHA-512 credential of admin in /var/lib/sentry/scram-credentials"
pass "super user admin created: /etc/sentry/admin.password (root:sentry 0640), its credentials in /var/lib/sentry"

if [ -L /etc/systemd/system/multi-user.target.wants/$UNIT ]; then
  pass "$UNIT enabled (multi-user.target.wants)"
else
  fail "$UNIT not enabled"
fi
systemd-analyze verify /lib/systemd/system/$UNIT >"$WORK/verify.log" 2>&1 || {
  cat "$WORK/verify.log" >&2; fail "systemd-analyze verify /lib/systemd/system/$UNIT"; }
pass "systemd-analyze verify /lib/systemd/system/$UNIT"

# ---- 4. Run the installed broker -------------------------------------------
USED_PORTS=" "
free_port() {  # free_port VAR: a port nothing listens on, below the ephemeral range
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    case "$USED_PORTS" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS="$USED_PORTS$p "
      printf -v "$1" %s "$p"
      return 0
    fi
  done
  fail "no free port found"
}
free_port PORT
free_port KAFKA_PORT
free_port HTTP_PORT
ARGS=(--port "$PORT" --kafka.port "$KAFKA_PORT")
HTTP=0
if /usr/bin/sentryd --help 2>/dev/null | grep -q -- '--http.port'; then
  HTTP=1
  ARGS+=(--http.port "$HTTP_PORT")
  command -v curl >/dev/null || apt_install curl || fail "cannot install curl"
fi
CTL=(/usr/bin/sentryctl --broker "127.0.0.1:$PORT" --user admin
     --password-file /etc/sentry/admin.password)

# When systemd runs, the package started the service with the file's ports:
# first the real thing (Type=notify: start returns once READY=1 is sent),
# with the test's ports in a runtime drop-in; then stop it for the manual run.
if [ -d /run/systemd/system ]; then
  mkdir -p "$(dirname "$DROPIN")"
  printf '[Service]\nExecStart=\nExecStart=/usr/bin/sentryd --config /etc/sentry/sentryd.toml %s\n' \
    "${ARGS[*]}" >"$DROPIN"
  systemctl daemon-reload
  timeout "$READY_TIMEOUT" systemctl restart $UNIT || {
    journalctl -u $UNIT -n 40 --no-pager >&2 || true; fail "systemctl restart $UNIT (READY=1 not received?)"; }
  systemctl is-active --quiet $UNIT || fail "$UNIT not active after start"
  "${CTL[@]}" topic list >/dev/null || fail "sentryctl cannot reach the broker started by systemd"
  pass "systemctl restart $UNIT: active (READY=1), answers sentryctl"
  timeout "$STOP_TIMEOUT" systemctl stop $UNIT || fail "systemctl stop $UNIT"
  journalctl -u $UNIT -n 20 --no-pager 2>/dev/null | grep -q "stopped cleanly" ||
    fail "journal of $UNIT does not say 'stopped cleanly'"
  rm -f "$DROPIN"; rmdir "$(dirname "$DROPIN")" 2>/dev/null || true
  systemctl daemon-reload
  pass "systemctl stop $UNIT: stopped cleanly"
else
  echo "note: systemd is not running here; the broker runs by hand as the unit would"
fi

# sd_notify (Type=notify) without systemd: when sentryd has it, a datagram
# socket stands in for systemd's NOTIFY_SOCKET and records what it is sent.
NOTIFY=0
if grep -qaF 'READY=1' /usr/bin/sentryd; then
  command -v python3 >/dev/null || apt_install python3 || fail "cannot install python3"
  NOTIFY=1
  chmod 0711 "$WORK"
  mkdir -m 0755 "$WORK/notify"
  export NOTIFY_SOCKET=$WORK/notify/socket
  : >"$WORK/notify.log"
  python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        f.write(s.recv(65536).decode(errors="replace").replace("\n", " ") + "\n")
' "$NOTIFY_SOCKET" "$WORK/notify.log" &
  NOTIFY_PID=$!
  for _ in $(seq 1 100); do grep -q LISTENING "$WORK/notify.log" && break; sleep 0.1; done
  grep -q LISTENING "$WORK/notify.log" || fail "notify socket listener did not start"
fi

# As the unit runs it: user and group sentry, no new privileges, working
# directory /var/lib/sentry, UMask 0027, LimitNOFILE 1048576.
: >"$LOG"
(
  cd /var/lib/sentry
  umask 027
  ulimit -n 1048576 2>/dev/null || true
  exec setpriv --reuid=sentry --regid=sentry --init-groups --no-new-privs -- \
    /usr/bin/sentryd --config /etc/sentry/sentryd.toml "${ARGS[@]}"
) >>"$LOG" 2>&1 &
PID=$!
ports="ports $PORT, kafka $KAFKA_PORT"
[ $HTTP = 0 ] || ports="$ports, http $HTTP_PORT"
echo "started /usr/bin/sentryd (pid $PID) as sentry: $ports"

# Ready: /health/ready answers 200 (when there is an HTTP listener), then
# sentryctl gets an answer. Polled until READY_TIMEOUT.
deadline=$((SECONDS + READY_TIMEOUT))
ready() {
  if [ $NOTIFY = 1 ]; then grep -q 'READY=1' "$WORK/notify.log" || return 1; fi
  if [ $HTTP = 1 ]; then
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$HTTP_PORT/health/ready")" = 200 ] || return 1
  fi
  timeout 5 "${CTL[@]}" topic list >/dev/null 2>&1
}
until ready; do
  kill -0 "$PID" 2>/dev/null || { wait "$PID" && rc=0 || rc=$?; PID=""; fail "sentryd exited (code $rc) before it was ready"; }
  [ $SECONDS -lt $deadline ] || fail "sentryd not ready after ${READY_TIMEOUT}s"
  sleep 0.2
done
how="sentryctl answers"
[ $HTTP = 0 ] || how="GET /health/ready: 200, $how"
[ $NOTIFY = 0 ] || how="sd_notify READY=1, $how"
pass "sentryd ready ($how) with /etc/sentry/sentryd.toml, data in /var/lib/sentry"

timeout 30 "${CTL[@]}" topic create "$TOPIC" --partitions 3 >"$WORK/create.log" 2>&1 || {
  cat "$WORK/create.log" >&2; fail "sentryctl topic create $TOPIC"; }
seq 1 "$RECORDS" >"$WORK/sent"
timeout 60 "${CTL[@]}" produce "$TOPIC" <"$WORK/sent" >"$WORK/produce.log" 2>&1 || {
  cat "$WORK/produce.log" >&2; fail "sentryctl produce"; }
timeout 60 "${CTL[@]}" consume "$TOPIC" --from earliest >"$WORK/received" 2>"$WORK/consume.log" || {
  cat "$WORK/consume.log" >&2; fail "sentryctl consume"; }
got=$(wc -l <"$WORK/received")
[ "$got" -eq "$RECORDS" ] || fail "consumed $got records, produced $RECORDS"
sort -n "$WORK/received" | cmp -s - "$WORK/sent" || fail "consumed records differ from the produced ones"
pass "topic $TOPIC (3 partitions): produced $RECORDS records, consumed the same $RECORDS back"
if /usr/bin/sentryctl --broker "127.0.0.1:$PORT" topic list >"$WORK/anonymous.log" 2>&1; then
  fail "sentryctl without --user was served by the packaged broker"
fi
grep -q ILLEGAL_SASL_STATE "$WORK/anonymous.log" || {
  cat "$WORK/anonymous.log" >&2; fail "sentryctl without --user: no ILLEGAL_SASL_STATE"; }
pass "without --user sentryctl is refused (ILLEGAL_SASL_STATE): security is on"

stray=$(find /var/lib/sentry -mindepth 1 \( ! -user sentry -o ! -group sentry \) | head -n 3)
[ -z "$stray" ] || fail "files in /var/lib/sentry not owned by sentry:sentry: $stray"
[ -n "$(find /var/lib/sentry -mindepth 1 -print -quit)" ] || fail "nothing written to /var/lib/sentry"
pass "data written to /var/lib/sentry, owned by sentry:sentry"

kill -TERM "$PID"
deadline=$((SECONDS + STOP_TIMEOUT))
while kill -0 "$PID" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || fail "sentryd still running ${STOP_TIMEOUT}s after SIGTERM"
  sleep 0.1
done
wait "$PID" && rc=0 || rc=$?
PID=""
[ "$rc" = 0 ] || fail "sentryd exited with code $rc after SIGTERM"
grep -q "stopped cleanly" "$LOG" || fail "sentryd's log does not say 'stopped cleanly'"
pass "SIGTERM: sentryd exited 0, 'stopped cleanly'"
if [ $NOTIFY = 1 ]; then
  grep -q 'STOPPING=1' "$WORK/notify.log" || fail "sentryd sent no STOPPING=1 on SIGTERM"
  pass "sd_notify: READY=1 once ready, STOPPING=1 on SIGTERM"
  kill "$NOTIFY_PID"; wait "$NOTIFY_PID" 2>/dev/null || true; NOTIFY_PID=""
  unset NOTIFY_SOCKET
fi

# ---- 5. Reinstall, remove, purge --------------------------------------------
echo "# edited by package-test" >>/etc/sentry/sentryd.toml
dpkg -i "$DEB" >"$WORK/reinstall.log" 2>&1 || { cat "$WORK/reinstall.log" >&2; fail "dpkg -i (reinstall)"; }
grep -q "^# edited by package-test" /etc/sentry/sentryd.toml || fail "reinstall replaced the edited conffile"
[ "$(stat -c '%U:%G %a' /var/lib/sentry)" = "sentry:sentry 750" ] || fail "reinstall changed /var/lib/sentry"
[ -n "$(find /var/lib/sentry -mindepth 1 -print -quit)" ] || fail "reinstall emptied /var/lib/sentry"
pass "reinstall (postinst configure again): edited conffile and data kept"

dpkg --remove sentry >"$WORK/remove.log" 2>&1 || { cat "$WORK/remove.log" >&2; fail "dpkg --remove sentry"; }
[ ! -e /usr/bin/sentryd ] || fail "/usr/bin/sentryd left after remove"
[ -f /etc/sentry/sentryd.toml ] || fail "remove deleted the conffile (only purge should)"
if [ ! -d /var/lib/sentry ] || ! getent passwd sentry >/dev/null; then
  fail "remove deleted the data or the user (only purge should)"
fi
pass "dpkg --remove: executables gone; config, data and user kept"

dpkg --purge sentry >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; fail "dpkg --purge sentry"; }
INSTALLED=0
for f in /usr/bin/sentryd /usr/bin/sentryctl /usr/bin/sentry-bench /etc/sentry /var/lib/sentry \
         /lib/systemd/system/$UNIT /etc/systemd/system/multi-user.target.wants/$UNIT /usr/share/doc/sentry; do
  if [ -e "$f" ] || [ -L "$f" ]; then fail "$f left after purge"; fi
done
if getent passwd sentry >/dev/null; then fail "user sentry left after purge"; fi
if getent group sentry >/dev/null; then fail "group sentry left after purge"; fi
status=$(dpkg-query -W -f='${Status}' sentry 2>/dev/null || true)
case "$status" in "" | *not-installed) ;; *) fail "dpkg still knows sentry after purge ($status)" ;; esac
pass "dpkg --purge: executables, /etc/sentry, /var/lib/sentry, unit, user and group sentry gone"

echo "PASS: package test ($(basename "$DEB"))"
