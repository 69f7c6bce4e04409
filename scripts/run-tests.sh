#!/usr/bin/env bash
# `make test`: the pure suite always, then the Frappe suite if a bench is found.
# Prints which suites ran, which were skipped and why; fails if any suite that ran failed.
set -u
py="$1"
cd "$(dirname "$0")/.."

echo "== pure suite (plain pytest, no Frappe needed)"
"$py" -m pytest -q tests
pure=$?

echo
echo "== Frappe suite (inside a real bench)"
bash scripts/run-frappe-tests.sh
frappe=$?

echo
echo "== summary"
[ $pure -eq 0 ] && echo "pure suite: ran, passed" || echo "pure suite: ran, FAILED"
case $frappe in
  0) echo "Frappe suite: ran, passed" ;;
  3) echo "Frappe suite: SKIPPED (reason above)" ;;
  *) echo "Frappe suite: ran, FAILED" ;;
esac
[ $pure -eq 0 ] && { [ $frappe -eq 0 ] || [ $frappe -eq 3 ]; }
