#!/usr/bin/env bash
# `make test`: the pure suite, then the Frappe suite in a real bench (built on first use).
# Prints which suites ran and how many tests; fails if any suite failed or could not run.
# The only skip is explicit: PERSONA_SKIP_FRAPPE=1 (the summary says so).
set -u
py="$1"
cd "$(dirname "$0")/.."
start=$(date +%s)

echo "== pure suite (plain pytest, no Frappe needed)"
"$py" -m pytest -q tests | tee .pytest-summary.log
pure=${PIPESTATUS[0]}
pure_count="$(tail -1 .pytest-summary.log | grep -oE '[0-9]+ passed' || true)"
rm -f .pytest-summary.log

echo
echo "== Frappe suite (inside a real bench)"
bash scripts/run-frappe-tests.sh 2>&1 | tee .frappe-summary.log
frappe=${PIPESTATUS[0]}
frappe_count="$(sed -n 's/^RAN \([0-9]*\) tests$/\1 tests/p' .frappe-summary.log | tail -1)"
why="$(grep -E '^(FAILED to prepare|SKIPPED Frappe suite)' .frappe-summary.log | tail -1)"
asked="$(grep -E '^SKIPPED .* on request' .frappe-summary.log || true)"  # a part skipped on purpose
rm -f .frappe-summary.log

echo
echo "== summary ($(( $(date +%s) - start )) s)"
[ "$pure" -eq 0 ] && echo "pure suite: ran, passed (${pure_count:-?})" || echo "pure suite: ran, FAILED"
case $frappe in
  0) echo "Frappe suite: ran, passed ($frappe_count)"; [ -z "$asked" ] || echo "  but: $asked" ;;
  3) echo "Frappe suite: SKIPPED on request ($why)" ;;
  *) if [ -n "$frappe_count" ]; then echo "Frappe suite: ran, FAILED ($frappe_count)"
     else echo "Frappe suite: did not run: ${why:-see above}"; fi ;;
esac
[ "$pure" -eq 0 ] && { [ "$frappe" -eq 0 ] || [ "$frappe" -eq 3 ]; }
