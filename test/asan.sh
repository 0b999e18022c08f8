#!/bin/sh
# The native addon under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer.
#
#   sh test/asan.sh [TEST_FILE...]      (root; CI runs it as a job of its own)
#
# Builds the addon with -fsanitize=address,undefined in a copy of the project (the real
# build/ is untouched), compiles the TypeScript there, and runs the native, codec and fuzz
# tests against it inside the usual sandbox. Node itself is not instrumented, so the ASan
# runtime is preloaded (LD_PRELOAD) into every process of the run. Exits non-zero when:
#   - a test fails or a process dies (ASan/UBSan stop the process at the first error);
#   - any sanitizer log holds an AddressSanitizer or UBSan ("runtime error") report;
#   - LeakSanitizer finds a leak allocated by the addon (the first frame above the
#     allocator is netplumb's code: netplumb::..., native/*.cc, netplumb.node)
#     (Node's own allocations that live until exit are not ours, and are only counted).
# Set NETPLUMB_ASAN_KEEP=1 to keep the work directory (logs in $WORK/logs).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/netplumb-asan.XXXXXX)
LOGS="$WORK/logs"
cleanup() { [ "${NETPLUMB_ASAN_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

if [ "$#" -eq 0 ]; then
  # (rtnl-monitor.test.js is left out: it waits a fixed 200 ms for events, too short under
  # ASan; reliability-monitor.test.js drives the same monitor path without a fixed wait.)
  set -- test/native.test.js test/netlink-codec.test.js test/rtnl-codec.test.js test/nft-fuzz.test.js \
    test/reliability-native-fuzz.test.js test/reliability-monitor.test.js test/reliability-faults.test.js \
    test/reliability-longrun.test.js
fi

echo "asan: building the addon with sanitizers in $WORK"
cp -a "$ROOT/native" "$ROOT/src" "$ROOT/test" "$ROOT/binding.gyp" "$ROOT/package.json" "$ROOT/tsconfig.json" "$WORK/"
ln -s "$ROOT/node_modules" "$WORK/node_modules"
mkdir -p "$LOGS"
cd "$WORK"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
CFLAGS="$SAN" CXXFLAGS="$SAN" LDFLAGS="-fsanitize=address,undefined" npx --no-install node-gyp rebuild >"$LOGS/build.log" 2>&1 || {
  cat "$LOGS/build.log"
  echo "asan: build failed"
  exit 1
}
npx --no-install tsc -p tsconfig.json
# The addon must really be instrumented (a silent fallback would prove nothing).
if ! nm -D build/Release/netplumb.node | grep -q __asan_report; then
  echo "asan: build/Release/netplumb.node is not instrumented"
  exit 1
fi

LIBASAN=$(gcc -print-file-name=libasan.so)
# detect_leaks: LSan runs at each process's exit and writes its report to the log instead
# of changing the exit status (exitcode=0), so `ip`, `nft` and Node's own leftovers do not
# fail the run; the reports are judged below. ASan errors keep their default: abort.
export ASAN_OPTIONS="detect_leaks=1:log_path=$LOGS/asan:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1"
export LSAN_OPTIONS="exitcode=0:report_objects=0:max_leaks=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/ubsan"

echo "asan: running $*"
status=0
LD_PRELOAD="$LIBASAN" node test/sandbox.js ava --timeout=5m "$@" || status=$?

# Judge the logs. A leak report is a block starting "Direct leak" or "Indirect leak".
errors=0
ours=0
theirs=0
for f in "$LOGS"/asan.* "$LOGS"/ubsan.*; do
  [ -e "$f" ] || continue
  if grep -q -e "ERROR: AddressSanitizer" -e "runtime error:" "$f"; then
    echo "asan: sanitizer error in $f:"
    cat "$f"
    errors=$((errors + 1))
  fi
  if grep -q "LeakSanitizer" "$f"; then
    # Ours: the first frame above the allocator (skipping libstdc++, libc and the sanitizer
    # runtime) is in the addon. Memory V8 allocates for itself while the addon calls N-API
    # (e.g. a property map at module init) is Node's, even with the addon deeper in the stack.
    counts=$(awk '
      function close_block() { if (block) { if (mine) o++; else t++ } block = 0 }
      /^(Direct|Indirect) leak/ { close_block(); block = 1; mine = 0; decided = 0; next }
      block && !decided && /^ *#[0-9]+ / && !/^ *#0 / {
        if ($0 ~ /libstdc\+\+\.so|libc\.so|libsanitizer|__interceptor|sysdeps/) next
        # Only the instrumented addon has debug info: its frames (std:: templates inlined
        # into it too) end in file:line; Node, ip and libraries end in (module+0xoffset).
        mine = ($0 ~ /netplumb/ || ($0 !~ /\(\/[^)]*\+0x[0-9a-f]+\)$/ && $0 ~ /:[0-9]+(:[0-9]+)?$/)); decided = 1
      }
      /^SUMMARY/ { close_block() }
      END { print o + 0, t + 0 }' "$f")
    o=${counts% *}
    t=${counts#* }
    if [ "$o" -gt 0 ]; then
      echo "asan: leaks through the addon in $f:"
      cat "$f"
    fi
    ours=$((ours + o))
    theirs=$((theirs + t))
  fi
done
echo "asan: sanitizer errors: $errors; leaks through the addon: $ours; other leak reports (node, tools): $theirs"
echo "ASAN {\"errors\":$errors,\"addonLeaks\":$ours,\"otherLeaks\":$theirs,\"testStatus\":$status}"
[ "$status" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$ours" -eq 0 ]
