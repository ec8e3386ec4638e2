#!/usr/bin/env bash
# The GitHub Action's one step: plan (and comment) on pull requests; on push, re-plan,
# check the plan is the approved one, apply, and mark the comment applied.
set -uo pipefail

plan_file="${RUNNER_TEMP:-/tmp}/roster-plan.json"
allow=()
[ -n "${ROSTER_ALLOW:-}" ] && allow=(--allow-deactivations "$ROSTER_ALLOW")
mask=()
[ "${ROSTER_MASK:-false}" = "true" ] && mask=(--mask-pii)

roster plan "$ROSTER_PATH" --out "$plan_file" --detailed-exitcode "${allow[@]}"
code=$?
if [ ! -f "$plan_file" ]; then
  echo "exitcode=$code" >> "$GITHUB_OUTPUT"
  exit "$code"
fi

case "$ROSTER_COMMAND" in
  plan)
    roster github comment --plan "$plan_file" --path "$ROSTER_PATH" --comment "$ROSTER_COMMENT" --exitcode "$code" "${mask[@]}" || exit 1
    # Changes (2) are what a pull request is for; a refused plan (3) fails the check.
    [ "$code" -eq 2 ] && exit 0
    exit "$code"
    ;;
  apply)
    [ "$code" -eq 3 ] && exit 3
    if [ "$code" -eq 0 ]; then
      echo "No changes to apply."
      exit 0
    fi
    force=()
    [ "${ROSTER_FORCE:-false}" = "true" ] && force=(--force-apply)
    roster github verify --plan "$plan_file" --path "$ROSTER_PATH" "${force[@]}" "${mask[@]}" || exit $?
    roster apply "$ROSTER_PATH" --plan "$plan_file" --auto-approve
    applied=$?
    if [ "$applied" -eq 0 ]; then
      roster github comment --plan "$plan_file" --path "$ROSTER_PATH" --status applied --comment true --exitcode 0 "${mask[@]}"
    fi
    exit "$applied"
    ;;
  *)
    echo "::error::command must be plan or apply, not $ROSTER_COMMAND"
    exit 1
    ;;
esac
