#!/bin/sh
# Sync one sales export to PleasureStock, for cron or a systemd timer, and act on the exit code.
#
#   sales-sync.sh EXPORT [more pleasurestock sales sync options...]
#
# The key and the state come from the environment (never the command line): the file named by
# $PLEASURESTOCK_ENV (default /etc/pleasurestock/sync.env, mode 0600) is read when it exists:
#   PLEASURESTOCK_API_KEY=pk_live_...
#   PLEASURESTOCK_STATE=/var/lib/pleasurestock/sales-state.db   # or postgresql://...?state=NAME
#
# Exit codes: 0 nothing to do (stored, acknowledged, held in quarantine, or another run was
# still busy); 3 or 4 a person should look; anything else failed. Each but 0 prints one line
# to stderr saying what to do: cron mails it, systemd marks the unit failed.
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 EXPORT [pleasurestock sales sync options...]" >&2
    exit 2
fi
env_file=${PLEASURESTOCK_ENV:-/etc/pleasurestock/sync.env}
if [ -r "$env_file" ]; then
    set -a
    . "$env_file"
    set +a
fi
export_file=$1
shift

# A run that finds the previous one still going waits for it, then syncs what is left. The
# command's summary and progress go to $SALES_SYNC_LOG when set (cron), else to the output
# (systemd's journal); the lines below, for a person, always go to stderr.
if [ -n "${SALES_SYNC_LOG:-}" ]; then
    pleasurestock sales sync "$export_file" --wait-lock "${PLEASURESTOCK_WAIT_LOCK:-600}" "$@" \
        >>"$SALES_SYNC_LOG" 2>&1
else
    pleasurestock sales sync "$export_file" --wait-lock "${PLEASURESTOCK_WAIT_LOCK:-600}" "$@"
fi
code=$?

case $code in
    0) ;;
    3) echo "sales-sync: invalid lines or ids refused for the first time (exit 3): fix the" \
            "export or the catalogue; refused ids are held, not resent" >&2 ;;
    4) echo "sales-sync: something needs attention (exit 4): run" \
            "'pleasurestock sales status' for the batches in doubt and discrepancies," \
            "and the commands that settle them" >&2 ;;
    5) echo "sales-sync: the API key was refused (exit 5): check PLEASURESTOCK_API_KEY" >&2 ;;
    6) echo "sales-sync: the previous run still holds the state after" \
            "${PLEASURESTOCK_WAIT_LOCK:-600} s; this run is skipped, the next one catches up" >&2
       code=0 ;;
    7) echo "sales-sync: the state belongs to another account or address (exit 7): never" \
            "rebind it unless the data is the same (pleasurestock sales state rebind)" >&2 ;;
    130|143) echo "sales-sync: stopped by a signal (exit $code); the next run resumes" >&2 ;;
    *) echo "sales-sync: failed (exit $code)" >&2 ;;
esac
exit $code
