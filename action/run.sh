#!/usr/bin/env bash
# The GitHub Action's one step.
#   plan:  plan a pull request and keep one comment on it; the comment records the plan
#          as the one its reviewers approve.
#   apply: on push to main, plan again, check that every change was approved on the
#          merged pull request, apply, and report in its comment.
#   drift: plan on a schedule and keep one issue open while the account differs.
#   scheduled: apply on a schedule what the reviewed roster dates ask for today
#          (seasonal staff starting or ending), with the same guards.
set -uo pipefail
# Apply takes its day from the saved plan: ROSTER_NOW (the day plan compares the users'
# dates with) is removed from apply's environment, where it conflicts with --plan.

plan_file="${RUNNER_TEMP:-/tmp}/roster-plan.json"
rm -f "$plan_file"
allow=()
[ -n "${ROSTER_ALLOW:-}" ] && allow=(--allow-deactivations "$ROSTER_ALLOW")
# Comma-separated team or queue names, each passed as one flag (names may hold spaces).
if [ -n "${ROSTER_ALLOW_UNDERSTAFFED:-}" ]; then
  IFS=',' read -r -a understaffed <<<"$ROSTER_ALLOW_UNDERSTAFFED"
  for name in "${understaffed[@]}"; do
    name="${name#"${name%%[![:space:]]*}"}"
    name="${name%"${name##*[![:space:]]}"}"
    [ -n "$name" ] && allow+=(--allow-understaffed "$name")
  done
fi
mask=()
[ "${ROSTER_MASK:-false}" = "true" ] && mask=(--mask-pii)
common=(--path "$ROSTER_PATH" --bot-login "${ROSTER_BOT_LOGIN:-github-actions[bot]}" "${mask[@]}")

case "$ROSTER_COMMAND" in
  plan | apply | drift | scheduled) ;;
  *)
    echo "::error::command must be plan, apply, drift or scheduled, not $ROSTER_COMMAND"
    exit 1
    ;;
esac

# A pull request from a fork gets no secrets: say so where its author looks.
if [ -z "${TALKDESK_CLIENT_ID:-}${TALKDESK_SCIM_TOKEN:-}${CLOUDTALK_ACCESS_KEY_ID:-}" ]; then
  reason="roster could not plan: no credentials reached this job. GitHub gives a pull request from a fork no secrets, so a maintainer has to push its branch to this repository for a plan (nothing is approved until then). Otherwise, set the provider's secrets: TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET, or CLOUDTALK_ACCESS_KEY_ID and CLOUDTALK_ACCESS_KEY_SECRET."
  [ "$ROSTER_COMMAND" = plan ] && roster github note "${common[@]}" --text "$reason"
  echo "::error::$reason"
  exit 1
fi

# A scheduled run plans only what the roster's dates cause today: nothing else it
# finds was reviewed, so it is listed as not applied and left for a pull request.
dated=()
[ "$ROSTER_COMMAND" = scheduled ] && dated=(--only-dated)
roster plan "$ROSTER_PATH" --out "$plan_file" --detailed-exitcode "${allow[@]}" "${mask[@]}" "${dated[@]}"
code=$?
if [ ! -f "$plan_file" ]; then
  echo "exitcode=$code" >> "$GITHUB_OUTPUT"
  if [ "$ROSTER_COMMAND" = plan ]; then
    roster github note "${common[@]}" \
      --text "roster could not plan this pull request (exit $code): the errors are in the job's log."
  fi
  exit "$code"
fi

case "$ROSTER_COMMAND" in
  plan)
    roster github comment --plan "$plan_file" --comment "$ROSTER_COMMENT" --exitcode "$code" "${common[@]}" || exit 1
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
    verdict="$(roster github verify --plan "$plan_file" "${force[@]}" "${common[@]}")" || exit $?
    forced=()
    [ "$verdict" = "forced" ] && forced=(--forced)
    env -u ROSTER_NOW roster apply "$ROSTER_PATH" --plan "$plan_file" --auto-approve "${mask[@]}"
    applied=$?
    status=applied
    [ "$applied" -ne 0 ] && status=failed
    roster github comment --plan "$plan_file" --status "$status" --comment true \
      --exitcode "$applied" "${forced[@]}" "${common[@]}"
    exit "$applied"
    ;;
  scheduled)
    # The dates were reviewed when the roster merged; the guards still hold, simulated
    # on this plan of the dated changes alone.
    [ "$code" -eq 0 ] && exit 0
    [ "$code" -eq 3 ] && exit 3
    env -u ROSTER_NOW roster apply "$ROSTER_PATH" --plan "$plan_file" --auto-approve "${mask[@]}"
    exit $?
    ;;
  drift)
    # A plan refused by a guard (3) is still drift to report; only errors fail the job.
    roster github drift --plan "$plan_file" "${common[@]}" || exit 1
    exit 0
    ;;
esac
