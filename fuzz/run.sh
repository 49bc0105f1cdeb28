#!/usr/bin/env bash
# Runs fuzz targets one at a time (-jobs=1, niced: the machine is shared) and prints, per
# target, the executions done and the time taken; exits non-zero on the first finding (the
# input is in fuzz/artifacts/<target>/).
#
#   fuzz/run.sh SECONDS RUNS [target...]     e.g. fuzz/run.sh 1800 10000000 (RUNS -1: no limit)
#
# With FUZZ_FRESH_CORPUS=1 (the smoke run of make test) the targets start from the seeds alone,
# in a temporary directory removed afterwards, so the run takes the same time however large
# fuzz/corpus/ has grown; otherwise they start from (and add to) fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
# cargo-fuzz where `make fuzz-tools` installs it, when it is not on PATH already.
export PATH="$PATH:$PWD/../.tools/bin"
seconds=$1 runs=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Limits every target runs under: no input may take more than 10 s, make the process hold
# more than 2 GiB, or ask for more than 256 MiB in one allocation.
limits=(-rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 -dict=dict/s3.dict -print_final_stats=1)
corpus=corpus logs=logs
if [ "${FUZZ_FRESH_CORPUS:-}" = 1 ]; then
  corpus=$(mktemp -d -t s3-resign-fuzz-corpus-XXXXXX)
  trap 'rm -rf "$corpus"' EXIT
  # Apart from the long runs' logs, which a smoke run beside them would overwrite.
  logs=logs/smoke
fi
python3 seeds.py "$corpus" >/dev/null
cargo +nightly fuzz build >/dev/null 2>build.log || { cat build.log; exit 1; }
mkdir -p "$logs"
printf '%-20s %14s %9s %10s\n' target executions seconds exec/s
for target in "${targets[@]}"; do
  mkdir -p "$corpus/$target" "artifacts/$target"
  log="$logs/$target.log"
  status=0
  nice -n 10 cargo +nightly fuzz run "$target" "$corpus/$target" -- \
    "${limits[@]}" -max_total_time="$seconds" -runs="$runs" \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1 || status=$?
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
  execs=$(grep -E 'stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -1)
  secs=$(echo "$done_line" | awk '{print $5}')
  secs=${secs:-$seconds}
  rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
  printf '%-20s %14s %9s %10s\n' "$target" "${execs:-?}" "$secs" "$rate"
  if [ "$status" -ne 0 ]; then
    echo "==> $target found something (exit $status); the log is fuzz/$log:"
    grep -E 'ERROR|panicked|SUMMARY|Test unit written|timeout|out-of-memory' "$log" | head -20
    exit "$status"
  fi
done
