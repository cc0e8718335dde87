#!/usr/bin/python3
"""Retraining loop: watch the drift service and retrain when it alerts.

Polls the drift service (GET <drift-url>/v1/drift); when the score
distribution or the live performance (or, with --on any, anything) is in
ALERT for --confirm consecutive windows, runs the training
tool on the offline store and labels with --promote, so the scorers hot-reload
the new version. A cooldown keeps one alert from retraining in a loop, and
--max-runs bounds it (the demo retrains once).

    tools/train/retrain-watch --drift-url http://127.0.0.1:8084 \\
        --offline run/.../offline --labels run/.../labels.jsonl

Cron alternative: run tools/train/train --promote on a schedule.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


MODEL_SIGNALS = ("__score__", "__performance__")


def latest_window(url):
    """The drift service's latest window report (GET /v1/drift), or None."""
    try:
        with urllib.request.urlopen(url + "/v1/drift", timeout=3) as r:
            return json.loads(r.read().decode())
    except (OSError, ValueError):
        return None


def alerting(report, on):
    """Does this window call for retraining? on=model: the score distribution
    or the live performance is in ALERT (what the model's users feel);
    on=any: anything is (the overall status, feature drift included)."""
    if on == "any":
        return report.get("status") == "ALERT"
    return any(r.get("feature") in MODEL_SIGNALS and r.get("metric") == "status"
               and r.get("status") == "ALERT" for r in report.get("results", []))


def main():
    ap = argparse.ArgumentParser(prog="retrain-watch", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--drift-url", default=os.environ.get("DRIFT_URL", "http://127.0.0.1:8084"))
    ap.add_argument("--offline", default=os.environ.get("OFFLINE_DIR", "offline"))
    ap.add_argument("--labels", nargs="+", help="label files (default: the offline store)")
    ap.add_argument("--model-store", default=os.environ.get("MODEL_STORE", "models"))
    ap.add_argument("--name", default=os.environ.get("MODEL_NAME", "card-fraud"))
    ap.add_argument("--interval", type=float, default=2.0, help="poll interval, seconds (2)")
    ap.add_argument("--on", choices=("model", "any"), default="model",
                    help="model: ALERT on the score distribution or live performance (default); "
                         "any: the overall status, feature drift included")
    ap.add_argument("--confirm", type=int, default=2, help="consecutive ALERT windows before training (2)")
    ap.add_argument("--warmup-windows", type=int, default=2,
                    help="windows ignored after start-up and after each model change: a fresh stack's "
                         "first windows see cold feature state (2)")
    ap.add_argument("--cooldown", type=float, default=300, help="seconds between trainings (300)")
    ap.add_argument("--max-runs", type=int, default=1, help="trainings before exiting, 0 = no limit (1)")
    ap.add_argument("--min-auc", type=float, default=0.7, help="do not promote below this AUC (0.7)")
    args = ap.parse_args()

    train = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train")
    streak, last, runs, seen = 0, 0.0, 0, None
    windows_of = {}  # model version -> windows seen
    log("watching %s for drift alerts (%s)" % (args.drift_url, args.on))
    while True:
        report = latest_window(args.drift_url)
        window = report and (report.get("model_version"), report.get("window_end"))
        if report and window != seen:  # each window counts once
            seen = window
            windows_of[window[0]] = windows_of.get(window[0], 0) + 1
            warm = windows_of[window[0]] > args.warmup_windows
            streak = streak + 1 if warm and alerting(report, args.on) else 0
        if streak >= args.confirm and time.time() - last >= args.cooldown:
            log("retraining: drift ALERT in %d consecutive windows (model %s)" % (streak, window[0]))
            cmd = [train, "--offline", args.offline, "--model-store", args.model_store,
                   "--name", args.name, "--min-auc", str(args.min_auc), "--include-open"]
            if args.labels:
                cmd += ["--labels"] + args.labels
            # train first; promote only a model that clears the floor
            report = os.path.join(tempfile.gettempdir(), "retrain-%d.json" % os.getpid())
            r = subprocess.run(cmd + ["--report", report], capture_output=True, text=True)
            sys.stdout.write(r.stderr + r.stdout)
            last, streak, runs = time.time(), 0, runs + 1
            if r.returncode == 0:
                try:
                    with open(report) as f:
                        version = json.load(f)["version"]
                    os.unlink(report)
                except (OSError, ValueError, KeyError):
                    version = None
                if version:
                    p = subprocess.run([train, "--promote-only", version, "--model-store", args.model_store,
                                        "--name", args.name], capture_output=True, text=True)
                    sys.stdout.write(p.stderr)
                    log(("promoted %s" % version) if p.returncode == 0 else "promotion of %s failed" % version)
            else:
                log("training failed (exit %d); keeping the active model" % r.returncode)
            if args.max_runs and runs >= args.max_runs:
                return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
