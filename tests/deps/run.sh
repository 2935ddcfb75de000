#!/usr/bin/env bash
# tests/deps/run.sh - scripts/deps.sh, with stand-ins for apt-get and
# dpkg-query (DEPS_APT_GET, DEPS_DPKG_QUERY) so that nothing on the machine
# is installed or removed:
#   - everything present: silent, exit 0, apt never run;
#   - "demo" asks only for the demo's packages (no Exim, no Check), "check"
#     for the rest as well;
#   - a package whose install would remove one (Exim against Postfix):
#     the package and what it would remove are named, nothing installed,
#     exit 1;
#   - a plain install runs apt-get install with --no-remove;
#   - a package apt cannot install: said, exit 1.
# Needs root only for the install paths (deps.sh refuses to install as
# another user); prints one line per failed check, "N passed, N failed".
set -u
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/report.sh
. "$ROOT/tests/lib/report.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vdkim-deps.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT

# The stand-ins: STUB_INSTALLED lists what dpkg-query calls installed;
# the apt-get log gets one line per call.  A dry run of STUB_CONFLICT
# removes postfix; STUB_BROKEN cannot be installed.
cat >"$WORK/dpkg-query" <<'STUB'
#!/bin/sh
for p; do :; done
case " $STUB_INSTALLED " in *" $p "*) echo "install ok installed" ;; *) exit 1 ;; esac
STUB
cat >"$WORK/apt-get" <<'STUB'
#!/bin/sh
echo "$*" >>"$STUB_LOG"
case " $* " in
*" -s "*)
	case " $* " in *" $STUB_BROKEN "*) echo "E: Unable to locate package $STUB_BROKEN"; exit 100 ;; esac
	case " $* " in *" $STUB_CONFLICT "*) echo "Remv postfix [3.7.11-0+deb12u1]" ;; esac
	echo "Inst something"
	;;
esac
exit 0
STUB
chmod +x "$WORK/dpkg-query" "$WORK/apt-get"

# The packages each mode asks for, as the script lists them.
list() {
	sed -n "/^$1=\"/,/^\"/p" "$ROOT/scripts/deps.sh" | sed '1d;$d' | tr '\n' ' '
}
DEMO=$(list DEMO_PACKAGES)
CHECK=$(list CHECK_PACKAGES)

# deps MODE INSTALLED [CONFLICT] [BROKEN]: runs deps.sh; OUT, RC, LOG.
deps() {
	: >"$WORK/apt.log"
	STUB_INSTALLED=$2 STUB_CONFLICT=${3:-none} STUB_BROKEN=${4:-none} \
	DEPS_POLICY_RC=$WORK/policy-rc.d STUB_LOG=$WORK/apt.log DEPS_APT_GET=$WORK/apt-get \
	DEPS_DPKG_QUERY=$WORK/dpkg-query \
	    sh "$ROOT/scripts/deps.sh" $1 >"$WORK/out" 2>&1
	RC=$?
	OUT=$(cat "$WORK/out")
	LOG=$(cat "$WORK/apt.log")
}

[[ $DEMO == *swaks* && $DEMO != *exim4* && $DEMO != *" check "* && $CHECK == *exim4-daemon-heavy* ]]
if [[ $? -eq 0 ]]; then ok "the demo's list has no Exim and no Check; the tests' has Exim"; else bad "package lists" "demo: $DEMO" "check: $CHECK"; fi

deps check "$DEMO $CHECK"
if [[ $RC -eq 0 && -z $OUT && -z $LOG ]]; then ok "all present: silent, apt not run"; else bad "all present: silent, apt not run (rc $RC)" "$OUT" "$LOG"; fi

deps demo "$DEMO"
if [[ $RC -eq 0 && -z $LOG ]]; then ok "demo with the demo's packages: nothing to do"; else bad "demo with the demo's packages: nothing to do (rc $RC)" "$OUT" "$LOG"; fi

if [[ $(id -u) -eq 0 ]]; then
	deps check "$DEMO"
	inst=$(grep -- "install -y" <<<"$LOG")
	if [[ $RC -eq 0 && $inst == *--no-remove* && $inst == *exim4-daemon-heavy* && $inst != *swaks* ]]; then
		ok "check installs only what the tests add, with --no-remove"
	else
		bad "check installs only what the tests add, with --no-remove (rc $RC)" "$OUT" "$LOG"
	fi

	deps check "${DEMO/swaks/} $CHECK"
	if [[ $RC -eq 0 && $LOG == *"install -y -qq --no-install-recommends --no-remove swaks"* ]]; then
		ok "a missing package: apt-get update, a dry run, install --no-remove"
	else
		bad "a missing package: install --no-remove (rc $RC)" "$OUT" "$LOG"
	fi

	deps check "$DEMO" exim4-daemon-heavy
	if [[ $RC -eq 1 && $OUT == *"exim4-daemon-heavy conflicts with what is installed: installing it would remove postfix"* &&
	    $OUT == *"nothing was installed"* && $LOG != *"install -y"* ]]; then
		ok "a conflict (Exim would remove Postfix): named, nothing installed, exit 1"
	else
		bad "a conflict: named, nothing installed, exit 1 (rc $RC)" "$OUT" "$LOG"
	fi

	deps check "$DEMO" none miltertest
	if [[ $RC -eq 1 && $OUT == *"apt cannot install"* && $LOG != *"install -y"* ]]; then
		ok "a package apt cannot install: said, nothing installed, exit 1"
	else
		bad "a package apt cannot install (rc $RC)" "$OUT" "$LOG"
	fi
else
	echo "deps: not root: the install paths are not run (not counted)" >&2
fi

deps bogus ""
if [[ $RC -eq 64 && $OUT == *"usage: sh scripts/deps.sh [demo|check|fuzz]"* ]]; then ok "a bad mode: usage, exit 64"; else bad "a bad mode: usage, exit 64 (rc $RC)" "$OUT"; fi
finish
